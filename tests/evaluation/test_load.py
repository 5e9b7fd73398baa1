"""The load benchmark's parts, and short runs of it against a real `assistant serve` (gunicorn).

The full figures (32 clients for 60 s, JSON and streaming) come from `assistant bench load` and go
into closing notes; here the same code runs for seconds, and what must hold at any size is
asserted: no failed request, every completed turn stored, a killed worker replaced.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.evaluation.load import LoadPlan, LoadResult, Sample, run_load, sse_events
from assistant.evaluation.load_bench import (
    BenchReport,
    GreedyClient,
    Run,
    render_report,
    run_bench,
    worst_growth,
)
from assistant.evaluation.load_protocols import Protocol
from assistant.index import MiniLMEmbedder
from assistant.settings import Settings, WebSettings
from tests import servers
from tests.conftest import REPO

QUESTIONS = ["What did the TRANSFORM-2 trial find?", "How fast does IV ketamine work in depression?",
             "What are the side effects of esketamine nasal spray?", "Is ketamine good for migraine?"]
WORKERS, THREADS = 2, 2
GREEDY_LIMIT = 40


def test_sse_lines_are_read_back_into_events_as_a_browser_would() -> None:
    lines = ["event: meta", 'data: {"message_id": "m1"}', "", ": a comment", "event: delta",
             'data: {"text": "Hello. "}', "", "event: done", 'data: {"message_id": "m1", "conversation_id": "c1"}']
    assert list(sse_events(iter(lines))) == [
        ("meta", {"message_id": "m1"}), ("delta", {"text": "Hello. "}),
        ("done", {"message_id": "m1", "conversation_id": "c1"})]


def test_a_result_counts_only_answered_requests_as_throughput() -> None:
    samples = [Sample(0, 0.0, 0.1, 200, message_id="a"), Sample(1, 0.1, 0.3, 200, message_id="b"),
               Sample(0, 0.2, 0.01, None, "ConnectError: refused"), Sample(1, 0.4, 0.2, 503, "http 503: not ready")]
    result = LoadResult(LoadPlan(2, 1.0), wall_s=2.0, samples=samples)
    assert len(result.completed) == 2 and result.requests_per_s == 1.0
    assert result.latency_ms(50) == pytest.approx(100.0)
    assert result.statuses() == {"200": 2, "no response": 1, "503": 1}
    assert result.error_kinds() == {"ConnectError": 1, "http 503": 1}


def test_failures_are_told_apart_by_when_they_were_sent_relative_to_the_kill_and_the_exit() -> None:
    # The run began at t=100; SIGKILL at t=105, the worker had exited at t=105.02.
    failed = [Sample(0, 4.0, 1.5, None, "ReadError"), Sample(1, 5.01, 0.1, None, "ReadError"),
              Sample(2, 6.0, 0.1, None, "RemoteProtocolError")]
    result = LoadResult(LoadPlan(3, 10.0), wall_s=10.0, samples=[Sample(0, 0.0, 0.1, 200), *failed], began=100.0)
    report = BenchReport(2, 4, results=[("json", result)], killed=[123], kill_sent_at=105.0, killed_at=105.02)

    assert report.errors == 3
    assert report.errors_while_exiting() == 1
    assert report.errors_on_kept_connections() == 0
    assert report.unexplained_errors() == 1  # sent after the worker was gone: the bench fails on it
    assert ("1 requests sent before the kill, 1 sent while it was exiting, 0 sent after it on a connection kept "
            "from before it, 1 sent after it had exited") in render_report(report)


def test_a_clients_first_request_after_the_exit_may_fail_on_the_connection_it_kept_from_before_the_kill() -> None:
    # Client 0 was answered just before the SIGKILL at t=105 and kept its connection to that worker; its next
    # request, sent after the exit, went out on it. Client 1's second failure after the exit is the bench's.
    samples = [Sample(0, 4.9, 0.05, 200), Sample(0, 5.1, 0.01, None, "ReadError"), Sample(0, 5.2, 0.1, 200),
               Sample(1, 4.0, 0.1, 200), Sample(1, 5.3, 0.1, 200), Sample(1, 5.5, 0.01, None, "ReadError")]
    result = LoadResult(LoadPlan(2, 10.0), wall_s=10.0, samples=samples, began=100.0)
    report = BenchReport(2, 4, results=[("json", result)], killed=[123], kill_sent_at=105.0, killed_at=105.02)

    assert report.errors_on_kept_connections() == 1
    assert report.unexplained_errors() == 1


@pytest.mark.slow
def test_concurrent_clients_get_every_answer_and_every_turn_is_stored_while_a_greedy_one_is_limited(
        shipped_settings: Settings, tmp_path: Path) -> None:
    # Each ordinary client sends at most 2 x 12 requests: well under the limit (the warm-up has its own keys).
    runs = [Run("4 clients json", LoadPlan(4, 4.0, max_requests=12)),
            Run("4 clients stream", LoadPlan(4, 4.0, stream=True, max_requests=12))]
    with servers.redis_server(tmp_path / "redis") as redis_url:
        web = WebSettings(**{**shipped_settings.web.model_dump(), "rate_limit_storage": redis_url})
        report = run_bench(shipped_settings.model_copy(update={"web": web}), QUESTIONS, runs, tmp_path,
                           WORKERS, THREADS, greedy=GreedyClient(limit_per_hour=GREEDY_LIMIT), warm_up_s=2.0)

    for _, result in report.results:
        assert result.errors == [], result.error_kinds()
        assert len(result.completed) >= 4
    streamed = report.results[1][1]
    assert all(s.first_event_s is not None and s.first_event_s <= s.seconds for s in streamed.completed)
    assert report.missing_turns == 0
    assert report.stored_turns == report.completed_turns > 0
    assert [len(workers) for _, workers in report.memory] == [WORKERS] * 3
    assert not math.isnan(worst_growth(report))  # both workers lived from the first reading to the last
    assert report.greedy is not None
    assert report.greedy.statuses[200] == GREEDY_LIMIT and report.greedy.statuses[429] > 0
    assert report.greedy.served_by == set(report.memory[0][1][i].pid for i in range(WORKERS))
    assert all("429" not in result.statuses() for _, result in report.results)  # the others: never refused
    text = render_report(report)
    assert "4 clients stream" in text and "0 completed turns missing" in text
    assert f"the greedy client got {GREEDY_LIMIT} answers" in text


@pytest.mark.slow
def test_a_worker_killed_under_load_is_replaced_and_no_completed_turn_is_lost(
        shipped_settings: Settings, tmp_path: Path) -> None:
    runs = [Run("6 clients json", LoadPlan(6, 12.0))]
    report = run_bench(shipped_settings, QUESTIONS, runs, tmp_path, WORKERS, THREADS, kill_worker_after_s=3.0)

    assert len(report.killed) == 1
    assert len(report.replacements) == 1 and report.replacements[0] not in report.killed
    result = report.results[0][1]
    # Only requests already sent to the killed worker may fail, at most one per client; none sent later.
    assert report.unexplained_errors() == 0, result.error_kinds()
    assert len(result.errors) == len({s.client for s in result.errors}) <= 6
    assert report.missing_turns == 0
    assert report.stored_turns >= report.completed_turns
    # Service went on: answers completed after the kill, and after the replacement had time to boot.
    assert any(s.started > 3.0 + 5.0 for s in result.completed)


@pytest.mark.slow
def test_bench_http_prints_one_and_eight_client_rows_and_with_the_llm_engine_the_first_sentence_times(
        shipped_settings: Settings, tmp_path: Path) -> None:
    """One run covers both: the rows every bench prints, and the LLM engine's table (against the bench's own
    stub model on loopback, here at 1 ms a token)."""
    questions = tmp_path / "questions.jsonl"
    questions.write_text((REPO / "eval" / "questions.jsonl").read_text().splitlines()[0] + "\n")
    env = {"ASSISTANT_DATA_DIR": str(shipped_settings.data_dir), "ASSISTANT_PROMPTS_DIR": str(REPO / "prompts"),
           "ASSISTANT_WEB__WORKERS": "1", "ASSISTANT_WEB__THREADS": "2"}
    result = CliRunner().invoke(main, ["bench", "http", "--duration", "2", "--questions", str(questions),
                                       "--engine", "llm", "--token-ms", "1"], env=env)

    assert result.exit_code == 0, result.output
    labels = ("1 client", "8 clients", "1 stream")
    generic, _, llm_part = result.output.partition("LLM engine against a stub model on loopback")
    rows = [line.split() for line in generic.splitlines() if line.startswith(labels)]
    assert [row[:3] for row in rows] == [["1", "client", "1"], ["8", "clients", "8"], ["1", "stream", "/v1/chat"],
                                         ["1", "stream", "chat/compl."], ["1", "stream", "/api/chat"]]
    assert all(row[-1] == "0" for row in rows)  # errors column
    assert result.output.count("first text delta p50") == 3, "one line per streaming endpoint"
    assert "worker memory" in result.output and "peak" in result.output
    cold = [line.split() for line in result.output.splitlines() if line.startswith(("cold (first", "warm (new"))]
    assert [row[3] for row in cold] == ["1", "1"] and all(row[-1] == "0" for row in cold)  # one client, no errors
    assert "cold p50" in result.output and "never-asked questions" in result.output
    assert llm_part.startswith(": one token every 1 ms")
    table = llm_part.split("first sentence p50", 1)[1].splitlines()[1:4]
    assert [line.split()[:3] for line in table] == [["1", "stream", "/v1/chat"], ["1", "stream", "chat/compl."],
                                                    ["1", "stream", "/api/chat"]]


@pytest.mark.slow
@pytest.mark.parametrize(("protocol", "stream"), [("openai", False), ("openai", True), ("ai-sdk", True)])
def test_the_stateless_protocols_are_asked_turn_after_turn_and_timed_to_the_first_text(
        serve: Callable[[Settings, MiniLMEmbedder], str], replay_settings: Settings, embedder: MiniLMEmbedder,
        protocol: Protocol, stream: bool) -> None:
    base_url = serve(replay_settings, embedder)

    result = run_load(base_url, QUESTIONS[:2], LoadPlan(1, 120, stream=stream, protocol=protocol,
                                                        turns_per_conversation=2, max_requests=2))

    assert not result.errors and len(result.completed) == 2
    assert all(sample.reply for sample in result.completed), "each reply is kept to send back as history"
    if stream:
        assert all(s.first_event_s is not None and s.first_delta_s is not None and s.first_event_s <= s.first_delta_s
                   for s in result.completed)


@pytest.mark.slow
def test_bench_load_refuses_a_server_that_is_not_ready(tmp_path: Path) -> None:
    env = {"ASSISTANT_DATA_DIR": str(tmp_path / "empty"), "ASSISTANT_PROMPTS_DIR": str(REPO / "prompts"),
           "ASSISTANT_WEB__WORKERS": "1", "ASSISTANT_WEB__THREADS": "1"}
    result = CliRunner().invoke(main, ["bench", "load", "--duration", "1", "--clients", "1"], env=env)
    assert result.exit_code == 2
    assert "not ready" in result.output and "assistant ingest" in result.output
