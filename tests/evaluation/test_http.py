"""Replay over HTTP against a real server on a loopback port gives what in-process replay gives."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.conversations import make_store
from assistant.evaluation.conversations_file import load_cases
from assistant.evaluation.replay import Scoring, replay
from assistant.evaluation.scoring import LeakGuard
from assistant.evaluation.transports import HttpTransport, InProcessTransport, ReplayError, Thread
from assistant.index import MiniLMEmbedder
from assistant.services import Services
from assistant.settings import Settings, WebSettings
from tests.conftest import REPO
from tests.evaluation.conftest import eval_lines, write_cases
from tests.fakes import free_port

pytestmark = pytest.mark.slow
GUARD = Scoring(LeakGuard.from_prompts(REPO / "prompts"))
Serve = Callable[[Settings, MiniLMEmbedder], str]


def server_settings(base: Settings, tmp_path: Path, **web: Any) -> Settings:
    """The server keeps its conversations in a store of its own, apart from the in-process run's."""
    values = {**base.web.model_dump(), "conversations_url": f"sqlite:///{tmp_path / 'server.sqlite3'}", **web}
    return base.model_copy(update={"web": WebSettings(**values)})


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_url_gives_the_same_results_as_in_process(
        serve: Serve, replay_settings: Settings, replay_services: Services, embedder: MiniLMEmbedder,
        subset_file: Path, cli_env: dict[str, str], tmp_path: Path) -> None:
    served = server_settings(replay_settings, tmp_path)
    url = serve(served, embedder)
    cases = load_cases(subset_file).cases

    local = replay(cases, InProcessTransport(replay_services), GUARD, concurrency=2)
    remote = replay(cases, HttpTransport(url), GUARD, concurrency=2)

    assert remote.transport == "http" and remote.totals.errors == 0
    for a, b in zip(local.results, remote.results, strict=True):
        assert (a.label, a.answer, a.score) == (b.label, b.answer, b.score), a.label
    pairs = zip(remote.results, remote.results[1:], strict=False)
    follow_ups = [(before, r) for before, r in pairs if r.index > 1]
    assert follow_ups and all(r.conversation_id == before.conversation_id for before, r in follow_ups)

    # Replays kept the server's conversation store empty: nothing was stored, follow-ups sent their history.
    assert make_store(served.web.conversations_url, served.data_dir).count_turns() == 0

    # The command gives the same report either way (apart from where and how long).
    reports = {}
    for name, extra in (("local", []), ("remote", ["--url", url])):
        path = tmp_path / f"{name}.json"
        code, out, _ = invoke(cli_env, "replay", str(subset_file), "--report", str(path), "--min-behaviour", "0",
                              *extra)
        assert code == 0, out  # a threshold that accepts anything: only a turn without an answer fails
        reports[name] = json.loads(path.read_text(encoding="utf-8"))
    volatile = {"latency_ms", "conversation_id", "message_id"}
    strip = [[{k: v for k, v in t.items() if k not in volatile} for t in reports[n]["turns"]] for n in reports]
    assert strip[0] == strip[1]
    for key in ("hit_at_5", "fact_recall", "caveat_rate", "behaviour_rate", "marker_rate"):
        assert reports["local"]["totals"][key] == reports["remote"]["totals"][key]
    local, remote = reports["local"]["provenance"], reports["remote"]["provenance"]
    assert local["index_generation"] == remote["index_generation"] and local["index_generation"].startswith("evidence")
    assert remote["target"] == url and remote["engine"] == "extractive" and remote["prompts_fingerprint"] is None
    assert make_store(served.web.conversations_url, served.data_dir).count_turns() == 0


def test_store_keeps_replayed_turns_as_web_conversations_on_the_server(
        serve: Serve, replay_settings: Settings, embedder: MiniLMEmbedder, cli_env: dict[str, str],
        tmp_path: Path) -> None:
    served = server_settings(replay_settings, tmp_path)
    url = serve(served, embedder)
    path = write_cases(tmp_path / "cases.jsonl", eval_lines("c035"))
    code, out, _ = invoke(cli_env, "replay", str(path), "--url", url, "--store", "--warmup", "2",
                          "--min-behaviour", "0", "--report", str(tmp_path / "r.json"))
    assert code == 0, out
    turns = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["turns"]
    store = make_store(served.web.conversations_url, served.data_dir)
    assert store.count_turns() == 2  # the two scored turns; warm-up questions are never stored
    conversation = store.get_conversation(turns[0]["conversation_id"])
    assert conversation is not None and conversation.channel == "web"
    assert [t.message_id for t in conversation.turns] == [t["message_id"] for t in turns]


def test_an_unreachable_url_exits_2(cli_env: dict[str, str], subset_file: Path) -> None:
    code, _, err = invoke(cli_env, "replay", str(subset_file), "--url", f"http://127.0.0.1:{free_port()}")
    assert code == 2 and "error: cannot reach http://127.0.0.1:" in err


def test_the_api_key_is_sent_and_a_refused_turn_fails_the_run(
        serve: Serve, replay_settings: Settings, embedder: MiniLMEmbedder, cli_env: dict[str, str],
        tmp_path: Path) -> None:
    url = serve(server_settings(replay_settings, tmp_path, api_keys=["s3cret"]), embedder)
    path = write_cases(tmp_path / "cases.jsonl", eval_lines("c035"))
    code, out, _ = invoke(cli_env, "replay", str(path), "--url", url)
    assert code == 1
    assert "no answer: HTTP 401: A valid API key is required" in out
    assert "no answer: not run, turn 1 failed" in out  # the follow-up is not sent without its context
    code, out, _ = invoke({**cli_env, "ASSISTANT_API_KEY": "s3cret"}, "replay", str(path), "--url", url,
                          "--min-behaviour", "0")
    assert code == 0 and "2 turns, http" in out


def test_rate_limited_requests_are_retried_after_the_advertised_wait(
        serve: Serve, replay_settings: Settings, embedder: MiniLMEmbedder, tmp_path: Path) -> None:
    url = serve(server_settings(replay_settings, tmp_path, rate_limit="1/minute"), embedder)
    waits: list[float] = []
    transport = HttpTransport(url, retries=2, sleep=waits.append)
    transport.ask("Does ketamine help depression?", Thread(), store=False)
    with pytest.raises(ReplayError, match="HTTP 429"):
        transport.ask("Does ketamine help depression?", Thread(), store=False)
    assert len(waits) == 2 and all(0 < w <= 30 for w in waits)


def test_back_off_is_counted_apart_from_latency(
        serve: Serve, replay_settings: Settings, embedder: MiniLMEmbedder, tmp_path: Path) -> None:
    url = serve(server_settings(replay_settings, tmp_path, rate_limit="1/second"), embedder)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    transport = HttpTransport(url, retries=5, sleep=sleep)
    first = transport.ask("Does ketamine help depression?", Thread(), store=False)
    assert (first.retries, first.backoff_s) == (0, 0.0) and not waits
    # Once warm, answers come well within a second, so one of a few quick requests meets the limit.
    replies = [transport.ask("Does ketamine help depression?", Thread(), store=False) for _ in range(3)]
    retried = [r for r in replies if r.retries]
    assert retried and sum(r.retries for r in replies) == len(waits)
    assert sum(r.backoff_s for r in replies) == sum(waits) > 0
    assert all(r.answer == first.answer and r.latency_ms > 0 for r in replies)
