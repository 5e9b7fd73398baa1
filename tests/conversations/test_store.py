"""The conversation store keeps every turn, in order, under concurrent writers and across restarts,
on SQLite (one machine) and on PostgreSQL (several instances), through the same interface."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from assistant.conversations import SqlConversationStore, make_store
from assistant.conversations.store import MIGRATIONS
from assistant.domain import Answer, Safety
from tests import servers


def answer(text: str) -> Answer:
    return Answer(answer=text, safety=Safety(category="clinical"))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'conversations.sqlite3'}"
    return servers.fresh_database(request.getfixturevalue("postgres"), f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def store(database_url: str) -> SqlConversationStore:
    return SqlConversationStore(database_url)


def test_sqlite_is_the_default_and_runs_in_wal_mode(tmp_path: Path) -> None:
    store = make_store(None, tmp_path)
    assert store.url == f"sqlite:///{(tmp_path / 'conversations.sqlite3').resolve()}"
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"


def test_migrations_are_recorded_and_idempotent(store: SqlConversationStore) -> None:
    with store.engine.connect() as conn:
        versions = [row[0] for row in conn.execute(sa.text("SELECT version FROM schema_migrations"))]
    assert versions == [version for version, _, _ in MIGRATIONS]
    assert store.migrate() == []


def test_instances_starting_at_once_migrate_a_new_database_exactly_once(database_url: str) -> None:
    barrier = threading.Barrier(6)
    stores: list[SqlConversationStore] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            stores.append(SqlConversationStore(database_url))
        except BaseException as exc:  # a failed start-up is what this test looks for
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with stores[0].engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM schema_migrations")).scalar() == len(MIGRATIONS)


def test_turns_history_feedback_and_delete(store: SqlConversationStore) -> None:
    conversation = store.create_conversation()
    first = store.add_turn(conversation, "q1", answer("a1"))
    store.add_turn(conversation, "q2", answer("a2"))
    assert [t.user for t in store.history(conversation)] == ["q1", "q2"]
    assert [t.assistant for t in store.history(conversation, limit=1)] == ["a2"]
    store.add_feedback(first, "up", "clear", "web")
    assert [f.rating for f in store.feedback_for(first)] == ["up"]
    assert store.delete_conversation(conversation)
    assert store.get_conversation(conversation) is None and not store.message_exists(first)
    assert not store.delete_conversation(conversation)


def test_external_refs_map_to_one_conversation(store: SqlConversationStore) -> None:
    ref = "slack:T1:C1:1700000000.000100"
    assert store.get_or_create_by_ref(ref, "slack") == store.get_or_create_by_ref(ref, "slack")


def test_sixteen_concurrent_writers_lose_nothing_and_keep_order(store: SqlConversationStore) -> None:
    conversation = store.create_conversation()
    per_thread = 10
    barrier = threading.Barrier(16)

    def writer(n: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            store.add_turn(conversation, f"t{n:02d}-{i:02d}", answer(f"a{n}-{i}"))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    turns = store.get_conversation(conversation).turns
    assert len(turns) == 16 * per_thread
    assert [t.seq for t in turns] == list(range(1, 16 * per_thread + 1))
    users = [t.user for t in turns]
    assert len(set(users)) == len(users)
    for n in range(16):
        mine = [u for u in users if u.startswith(f"t{n:02d}-")]
        assert mine == sorted(mine)


def test_two_instances_share_one_database(database_url: str) -> None:
    a, b = SqlConversationStore(database_url), SqlConversationStore(database_url)
    conversation = a.create_conversation()
    a.add_turn(conversation, "on instance a", answer("x"))
    b.add_turn(conversation, "on instance b", answer("y"))
    assert [t.user for t in a.history(conversation)] == ["on instance a", "on instance b"]
