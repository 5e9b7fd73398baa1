"""Replaying scripted conversations in-process over the shipped index, and the `assistant replay` command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.evaluation.conversations_file import load_cases
from assistant.evaluation.replay import Scoring, replay
from assistant.evaluation.scoring import LeakGuard
from assistant.evaluation.transports import REPLAY_CHANNEL, InProcessTransport, Reply, Thread
from assistant.services import Services
from tests.conftest import REPO
from tests.evaluation.conftest import SUBSET, eval_lines, write_cases

GUARD = Scoring(LeakGuard.from_prompts(REPO / "prompts"))
IMPOSSIBLE = {"id": "impossible", "turns": [
    {"user": "What did TRANSFORM-2 find? <script>alert('x')</script>", "kind": "clinical",
     "gold": ["10.1176/appi.ajp.2019.19020172"], "facts": [["a fact <b>no answer</b> contains"]], "caveat": True}]}


def test_with_store_a_subset_replays_in_process_and_stores_turns_like_the_http_api(
        replay_services: Services, subset_file: Path) -> None:
    cases = load_cases(subset_file).cases
    run = replay(cases, InProcessTransport(replay_services), GUARD, concurrency=3, store=True)

    assert [r.label for r in run.results] == [f"{c.id}#{n}" for c in cases for n in range(1, len(c.turns) + 1)]
    assert run.totals.turns == sum(len(c.turns) for c in cases) and run.totals.errors == 0
    assert all(r.answer is not None and r.latency_ms and r.latency_ms > 0 for r in run.results)
    by_label = {r.label: r for r in run.results}
    # The safety behaviours do not depend on retrieval quality: they must hold on this subset.
    for label in ("c059#1", "c066#1", "c073#1", "c082#1"):
        assert by_label[label].score.behaviour_ok, (label, by_label[label].problems())
    # A follow-up is answered in its conversation, with the first turn as history.
    first, follow_up = by_label["c035#1"], by_label["c035#2"]
    assert first.conversation_id == follow_up.conversation_id
    stored = replay_services.conversations.get_conversation(first.conversation_id or "")
    assert stored is not None and stored.channel == REPLAY_CHANNEL
    assert [t.user for t in stored.turns] == [t.user for t in cases[1].turns]
    assert [t.message_id for t in stored.turns] == [first.message_id, follow_up.message_id]
    assert follow_up.answer and follow_up.answer.standalone_query != cases[1].turns[1].user
    assert len({r.conversation_id for r in run.results}) == len(cases)


def test_by_default_nothing_is_stored_and_follow_ups_still_see_their_history(
        replay_services: Services, subset_file: Path) -> None:
    cases = load_cases(subset_file).cases
    stored = replay(cases, InProcessTransport(replay_services), GUARD, store=True)
    before = replay_services.conversations.count_turns()
    unstored = replay(cases, InProcessTransport(replay_services), GUARD)
    assert replay_services.conversations.count_turns() == before
    assert all(r.conversation_id is None and r.message_id is None for r in unstored.results)
    # The history travels with the turns instead: the answers are those of the stored run.
    assert [r.answer for r in unstored.results] == [r.answer for r in stored.results]


def test_concurrency_does_not_change_the_answers_and_latency_comes_from_a_concurrency_1_pass(
        replay_services: Services, subset_file: Path) -> None:
    cases = load_cases(subset_file).cases
    one = replay(cases, InProcessTransport(replay_services), GUARD, concurrency=1)
    many = replay(cases, InProcessTransport(replay_services), GUARD, concurrency=4)
    assert [r.answer for r in one.results] == [r.answer for r in many.results]
    assert one.latency_pass_seconds is None and one.to_dict()["latency_source"] == "scoring pass"
    assert many.latency_pass_seconds is not None and many.to_dict()["latency_source"] == "concurrency-1 pass"
    assert all(r.latency_ms and r.latency_ms > 0 for r in many.results)


class CountingTransport(InProcessTransport):
    """The real in-process transport, recording what it was asked and whether it stored it."""

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self.asked: list[tuple[str, bool]] = []

    def ask(self, message: str, thread: Thread, store: bool) -> Reply:
        self.asked.append((message, store))
        return super().ask(message, thread, store)


def test_warm_up_questions_are_asked_first_and_neither_scored_nor_stored(
        replay_services: Services, tmp_path: Path) -> None:
    cases = load_cases(write_cases(tmp_path / "c.jsonl", eval_lines("c059", "c066"))).cases
    transport = CountingTransport(replay_services)
    run = replay(cases, transport, GUARD, warmup=3, store=True)
    firsts = [case.turns[0].user for case in cases]
    assert transport.asked[:3] == [(firsts[0], False), (firsts[1], False), (firsts[0], False)]
    assert transport.asked[3:] == [(firsts[0], True), (firsts[1], True)]
    assert run.totals.turns == 2 and run.warmup == 3


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_the_command_prints_a_summary_and_the_failing_turns(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = write_cases(tmp_path / "cases.jsonl", [*eval_lines("c059", "c066"), IMPOSSIBLE])
    code, out, _ = invoke(cli_env, "replay", str(path), "--concurrency", "2")
    assert code == 1, out  # no threshold set: any failing turn fails the run
    assert re.search(r"^replay: 3 conversations, 3 turns, in-process \(concurrency 2\)", out, re.M)
    for kind in ("crisis", "refuse", "clinical", "all"):
        assert re.search(rf"^{kind}\s+\d+\s+\d+\s+0\s", out, re.M), kind
    assert "failing turns (" in out and "impossible#1 [clinical]" in out
    assert "missing facts: a fact <b>no answer</b> contains" in out


def test_thresholds_decide_the_exit_code(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = write_cases(tmp_path / "cases.jsonl", [IMPOSSIBLE])
    code, out, _ = invoke(cli_env, "replay", str(path), "--min-facts", "0.5", "--min-behaviour", "0")
    assert code == 1
    assert "threshold --min-facts 0.500: fact_recall 0.000 MISSED" in out
    assert "threshold --min-behaviour 0.000: behaviour_rate" in out and "met" in out
    code, out, _ = invoke(cli_env, "replay", str(path), "--min-facts", "0", "--min-hit5", "0", "--min-caveat", "0")
    assert code == 0, out
    # A threshold on a metric no turn measures is not met: an empty measurement is never a pass.
    crisis_only = write_cases(tmp_path / "crisis.jsonl", eval_lines("c059"))
    code, out, _ = invoke(cli_env, "replay", str(crisis_only), "--min-hit5", "0.5")
    assert code == 1 and "hit_at_5 - MISSED" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--min-facts", "1.5"], "Invalid value for '--min-facts'"),
    (["--concurrency", "0"], "Invalid value for '--concurrency'"),
    (["--report", "out.txt"], "Invalid value for --report: must end in .json or .html"),
    (["--url", "localhost:8000"], "Invalid value for --url: must start with http:// or https://"),
    (["--case", "nope"], "Invalid value for --case: not in"),
    (["--bogus"], "No such option '--bogus'"),
])
def test_usage_errors_exit_2(cli_env: dict[str, str], subset_file: Path, args: list[str], message: str) -> None:
    code, _, err = invoke(cli_env, "replay", str(subset_file), *args)
    assert code == 2 and message in err, err


def test_a_missing_or_invalid_file_exits_2_naming_every_bad_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    code, _, err = invoke(cli_env, "replay", str(tmp_path / "missing.jsonl"))
    assert code == 2 and "does not exist" in err
    path = write_cases(tmp_path / "bad.jsonl", [*eval_lines("c001"), "{oops", '{"id": "x", "turns": [{"user": 3}]}'])
    code, out, err = invoke(cli_env, "replay", str(path))
    assert code == 2 and out == ""
    assert f"error: {path}:2: not valid JSON" in err
    assert f"error: {path}:3: turn 1: user: Input should be a valid string" in err


def test_an_index_that_is_not_there_exits_2(cli_env: dict[str, str], subset_file: Path, tmp_path: Path) -> None:
    env = {**cli_env, "ASSISTANT_DATA_DIR": str(tmp_path / "empty")}
    code, _, err = invoke(env, "replay", str(subset_file))
    assert code == 2 and "error: " in err and "ingest" in err


def test_case_selects_conversations_and_a_run_where_every_turn_passes_exits_0(
        cli_env: dict[str, str], subset_file: Path) -> None:
    code, out, _ = invoke(cli_env, "replay", str(subset_file), "--case", "c059", "--case", "c066")
    assert code == 0 and "replay: 2 conversations, 2 turns" in out and "failing turns: none" in out


def test_the_json_report_has_totals_per_kind_and_every_turn(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = write_cases(tmp_path / "cases.jsonl", [*eval_lines("c035", "c059"), IMPOSSIBLE])
    report = tmp_path / "reports" / "replay.json"
    code, out, _ = invoke(cli_env, "replay", str(path), "--report", str(report), "--min-facts", "0.1")
    assert f"report written to {report}" in out
    data = json.loads(report.read_text(encoding="utf-8"))
    totals = data["totals"]
    for metric in ("hit_at_5", "fact_recall", "caveat_rate", "behaviour_rate", "marker_rate"):
        assert set(totals[metric]) == {"value", "hits", "total"}
    assert set(totals["latency"]) >= {"p50_ms", "p95_ms", "max_ms"} and totals["latency"]["p50_ms"] > 0
    assert totals["turns"] == 4 and set(data["per_kind"]) == {"clinical", "crisis"}
    assert data["thresholds"] == [{"metric": "fact_recall", "option": "--min-facts", "minimum": 0.1,
                                   "value": totals["fact_recall"]["value"], "met": code == 0}]
    failing = next(t for t in data["turns"] if t["case_id"] == "impossible")
    assert failing["passed"] is False and failing["missing_facts"] == [["a fact <b>no answer</b> contains"]]
    assert failing["answer"]["citations"] and failing["conversation_id"] is None  # not stored by default


def test_the_html_report_is_self_contained_and_escapes_everything(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = write_cases(tmp_path / "cases.jsonl", [*eval_lines(*SUBSET[:2]), IMPOSSIBLE])
    report = tmp_path / "replay.html"
    invoke(cli_env, "replay", str(path), "--report", str(report))
    page = report.read_text(encoding="utf-8")

    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert not re.search(r"<script|<link|\bsrc=|@import", page, re.I), "no scripts or external resources"
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "a fact &lt;b&gt;no answer&lt;/b&gt; contains" in page
    assert '<table id=per-kind>' in page and ">clinical<" in page and ">all<" in page
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page and "<rect " in page
    assert 'id="impossible#1"' in page and "Failing turns (" in page
    assert "popova2019" in page and "10.1176/appi.ajp.2019.19020172" in page  # its citations
    assert "Bottom line:" in page  # its answer
