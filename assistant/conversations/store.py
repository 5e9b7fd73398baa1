"""Where conversations live between requests.

SQLite under the data directory by default (WAL, so readers never block the writer), any
SQLAlchemy URL (PostgreSQL) when several instances must share one store. A turn is written in
one transaction once its answer is complete, so a crash loses at most the turn in flight.
Schema changes are numbered migrations recorded in ``schema_migrations``.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assistant.domain import Answer, Turn
from assistant.errors import StoreUnavailable

Rating = Literal["up", "down"]
log = logging.getLogger("assistant.conversations")
OUTAGE = (sa.exc.OperationalError, sa.exc.InterfaceError)


@dataclass(frozen=True)
class StoredTurn:
    message_id: str
    seq: int
    user: str
    answer: dict[str, Any]
    created_at: float


@dataclass(frozen=True)
class Conversation:
    id: str
    channel: str
    external_ref: str | None
    created_at: float
    turns: list[StoredTurn] = field(default_factory=list)


@dataclass(frozen=True)
class FeedbackRecord:
    id: str
    message_id: str
    rating: Rating
    comment: str | None
    source: str
    created_at: float


class ConversationStore(Protocol):
    engine: Engine  # the Slack installation store shares the database

    def create_conversation(self, channel: str = "web", external_ref: str | None = None) -> str: ...
    def get_or_create_by_ref(self, external_ref: str, channel: str) -> str: ...
    def get_conversation(self, conversation_id: str) -> Conversation | None: ...
    def history(self, conversation_id: str, limit: int = 6) -> list[Turn]: ...
    def add_turn(self, conversation_id: str, user: str, answer: Answer) -> str: ...
    def delete_conversation(self, conversation_id: str) -> bool: ...
    def message_exists(self, message_id: str) -> bool: ...
    def add_feedback(self, message_id: str, rating: Rating, comment: str | None, source: str) -> str: ...
    def feedback_for(self, message_id: str) -> list[FeedbackRecord]: ...
    def vote(self, message_id: str, voter: str, rating: Rating, source: str) -> str: ...
    def find_by_ref(self, external_ref: str) -> str | None: ...
    def latest_by_ref_prefix(self, prefix: str) -> tuple[str, float] | None: ...
    def count_turns(self) -> int: ...
    def ping(self) -> None: ...


metadata = sa.MetaData()
conversations = sa.Table(
    "conversations", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("external_ref", sa.String(255), unique=True, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
)
turns = sa.Table(
    "turns", metadata,
    sa.Column("message_id", sa.String(64), primary_key=True),
    sa.Column("conversation_id", sa.String(64), sa.ForeignKey("conversations.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("user_message", sa.Text, nullable=False),
    sa.Column("answer_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("conversation_id", "seq", name="uq_turn_seq"),
)
feedback = sa.Table(
    "feedback", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("message_id", sa.String(64), sa.ForeignKey("turns.message_id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("rating", sa.String(8), nullable=False),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)
# One row per (answer, voter): the voter's current feedback row. A new vote replaces the old one,
# so one person counts once per answer and their latest vote is the one that counts.
votes = sa.Table(
    "feedback_votes", metadata,
    sa.Column("message_id", sa.String(64), sa.ForeignKey("turns.message_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("voter", sa.String(128), primary_key=True),
    sa.Column("feedback_id", sa.String(64), nullable=False),
)
migrations = sa.Table(
    "schema_migrations", metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("applied_at", sa.Float, nullable=False),
)

# Ordered and append-only: a new schema change is a new entry, never an edit of an old one.
MIGRATIONS: list[tuple[int, str, list[sa.Table]]] = [
    (1, "conversations, turns and feedback", [conversations, turns, feedback]),
    (2, "one vote per voter per answer", [votes]),
]


MIGRATE_ATTEMPTS = 10


def _available(method: Any) -> Any:
    """Turn a lost database connection into StoreUnavailable (503, retry later) instead of a 500,
    and apply the schema first if the database was down when this store was created."""

    @functools.wraps(method)
    def wrapper(self: SqlConversationStore, *args: Any, **kwargs: Any) -> Any:
        try:
            self._ensure_schema()
            return method(self, *args, **kwargs)
        except OUTAGE as exc:
            raise StoreUnavailable(f"The conversation store does not answer ({exc.__class__.__name__}).") from exc

    return wrapper


def _turn(user: str, answer: dict[str, Any]) -> Turn:
    """An earlier exchange as the answer service needs it: what was said, and whether it escalated (a
    conversation that escalated once keeps the crisis resources on every later turn)."""
    return Turn(user=user, assistant=answer.get("answer", ""),
                escalated=bool((answer.get("safety") or {}).get("escalated")))


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


class SqlConversationStore:
    def __init__(self, url: str) -> None:
        self.url = url
        is_sqlite = url.startswith("sqlite")
        self.engine: Engine = sa.create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False} if is_sqlite else {},
            pool_pre_ping=not is_sqlite,
        )
        if is_sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        # Serialises turn numbering inside one process; the unique (conversation, seq) key and a
        # retry keep it right across processes.
        self._write_lock = threading.Lock()
        self._migrated = False
        try:
            self._ensure_schema()
        except OUTAGE as exc:  # start anyway: /readyz reports the store, the first use migrates
            log.warning("conversation store unreachable at start-up: %s", exc.__class__.__name__)

    def _ensure_schema(self) -> None:
        if not self._migrated:
            self.migrate()
            self._migrated = True

    def migrate(self) -> list[int]:
        """Bring the schema up to date; returns the versions applied now.

        Several processes may start at once on a new database (gunicorn workers, a second
        instance): all but one then fail to create a table that another has just created. Each
        migration runs in one transaction, so a retry sees the winner's work and applies nothing.
        """
        for attempt in range(MIGRATE_ATTEMPTS):
            try:
                return self._migrate_once()
            except (sa.exc.OperationalError, sa.exc.IntegrityError, sa.exc.ProgrammingError) as exc:
                lost_race = not isinstance(exc, sa.exc.OperationalError) or any(
                    sign in str(exc) for sign in ("already exists", "database is locked"))
                if not lost_race or attempt == MIGRATE_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
        return []

    def _migrate_once(self) -> list[int]:
        applied: list[int] = []
        with self.engine.begin() as conn:
            migrations.create(conn, checkfirst=True)
            done = {row[0] for row in conn.execute(sa.select(migrations.c.version))}
            for version, name, tables in MIGRATIONS:
                if version in done:
                    continue
                for table in tables:
                    table.create(conn, checkfirst=True)
                conn.execute(migrations.insert().values(version=version, name=name, applied_at=time.time()))
                applied.append(version)
        return applied

    @_available
    def create_conversation(self, channel: str = "web", external_ref: str | None = None) -> str:
        conversation_id = _new_id("conv")
        with self.engine.begin() as conn:
            conn.execute(conversations.insert().values(
                id=conversation_id, channel=channel, external_ref=external_ref, created_at=time.time()))
        return conversation_id

    @_available
    def get_or_create_by_ref(self, external_ref: str, channel: str) -> str:
        query = sa.select(conversations.c.id).where(conversations.c.external_ref == external_ref)
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar()
        if found:
            return str(found)
        try:
            return self.create_conversation(channel, external_ref)
        except sa.exc.IntegrityError:  # another process created it first
            with self.engine.connect() as conn:
                return str(conn.execute(query).scalar_one())

    @_available
    def get_conversation(self, conversation_id: str) -> Conversation | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(conversations).where(conversations.c.id == conversation_id)).first()
            if row is None:
                return None
            rows = conn.execute(
                sa.select(turns).where(turns.c.conversation_id == conversation_id).order_by(turns.c.seq)
            ).all()
        return Conversation(
            id=row.id, channel=row.channel, external_ref=row.external_ref, created_at=row.created_at,
            turns=[StoredTurn(r.message_id, r.seq, r.user_message, json.loads(r.answer_json), r.created_at)
                   for r in rows],
        )

    @_available
    def history(self, conversation_id: str, limit: int = 6) -> list[Turn]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(turns.c.user_message, turns.c.answer_json)
                .where(turns.c.conversation_id == conversation_id)
                .order_by(turns.c.seq.desc())
                .limit(limit)
            ).all()
        return [_turn(r.user_message, json.loads(r.answer_json)) for r in reversed(rows)]

    @_available
    def add_turn(self, conversation_id: str, user: str, answer: Answer) -> str:
        message_id = _new_id("msg")
        payload = answer.model_dump_json()
        for attempt in range(20):
            try:
                with self._write_lock, self.engine.begin() as conn:
                    seq = conn.execute(
                        sa.select(sa.func.coalesce(sa.func.max(turns.c.seq), 0)).where(
                            turns.c.conversation_id == conversation_id)
                    ).scalar_one() + 1
                    conn.execute(turns.insert().values(
                        message_id=message_id, conversation_id=conversation_id, seq=seq, user_message=user,
                        answer_json=payload, created_at=time.time()))
                return message_id
            except sa.exc.IntegrityError:
                if not self._conversation_exists(conversation_id):
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise RuntimeError("could not number the turn after repeated conflicts")

    def _conversation_exists(self, conversation_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(conversations.c.id).where(conversations.c.id == conversation_id)).first() is not None

    @_available
    def delete_conversation(self, conversation_id: str) -> bool:
        with self.engine.begin() as conn:
            message_ids = sa.select(turns.c.message_id).where(turns.c.conversation_id == conversation_id)
            conn.execute(votes.delete().where(votes.c.message_id.in_(message_ids)))
            conn.execute(feedback.delete().where(feedback.c.message_id.in_(message_ids)))
            conn.execute(turns.delete().where(turns.c.conversation_id == conversation_id))
            result = conn.execute(conversations.delete().where(conversations.c.id == conversation_id))
        return bool(result.rowcount)

    @_available
    def message_exists(self, message_id: str) -> bool:
        with self.engine.connect() as conn:
            query = sa.select(turns.c.message_id).where(turns.c.message_id == message_id)
            return conn.execute(query).first() is not None

    @_available
    def add_feedback(self, message_id: str, rating: Rating, comment: str | None, source: str) -> str:
        feedback_id = _new_id("fb")
        with self.engine.begin() as conn:
            conn.execute(feedback.insert().values(
                id=feedback_id, message_id=message_id, rating=rating, comment=comment, source=source,
                created_at=time.time()))
        return feedback_id

    @_available
    def feedback_for(self, message_id: str) -> list[FeedbackRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(feedback).where(feedback.c.message_id == message_id).order_by(feedback.c.created_at)).all()
        return [FeedbackRecord(r.id, r.message_id, r.rating, r.comment, r.source, r.created_at) for r in rows]

    @_available
    def vote(self, message_id: str, voter: str, rating: Rating, source: str) -> str:
        """Record ``voter``'s feedback on an answer, replacing their earlier vote on it (if any)."""
        for attempt in range(5):
            feedback_id = _new_id("fb")
            try:
                with self._write_lock, self.engine.begin() as conn:
                    key = (votes.c.message_id == message_id) & (votes.c.voter == voter)
                    previous = conn.execute(sa.select(votes.c.feedback_id).where(key)).scalar()
                    if previous is not None:
                        conn.execute(feedback.delete().where(feedback.c.id == previous))
                        conn.execute(votes.delete().where(key))
                    conn.execute(feedback.insert().values(
                        id=feedback_id, message_id=message_id, rating=rating, comment=None, source=source,
                        created_at=time.time()))
                    conn.execute(votes.insert().values(message_id=message_id, voter=voter, feedback_id=feedback_id))
                return feedback_id
            except sa.exc.IntegrityError:  # another process recorded this voter's vote at the same moment
                if not self.message_exists(message_id):
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise RuntimeError("could not record the vote after repeated conflicts")

    @_available
    def find_by_ref(self, external_ref: str) -> str | None:
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(conversations.c.id).where(conversations.c.external_ref == external_ref)).scalar()
        return str(found) if found else None

    @_available
    def latest_by_ref_prefix(self, prefix: str) -> tuple[str, float] | None:
        """The conversation under ``prefix`` with the most recent activity, and when that was."""
        last = sa.func.max(sa.func.coalesce(turns.c.created_at, conversations.c.created_at))
        query = (sa.select(conversations.c.id, last.label("last"))
                 .select_from(conversations.outerjoin(turns, turns.c.conversation_id == conversations.c.id))
                 .where(conversations.c.external_ref.startswith(prefix, autoescape=True))
                 .group_by(conversations.c.id).order_by(sa.desc("last")).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return (str(row.id), float(row.last)) if row else None

    @_available
    def count_turns(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(turns)).scalar_one())

    def ping(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            raise StoreUnavailable(f"The conversation store does not answer ({exc.__class__.__name__}).") from exc


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_store(url: str | None, data_dir: Path) -> SqlConversationStore:
    if url is None:
        data_dir.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{(data_dir / 'conversations.sqlite3').resolve()}"
    return SqlConversationStore(url)
