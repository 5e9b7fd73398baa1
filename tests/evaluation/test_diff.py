"""`assistant replay diff OLD.json NEW.json` over the reports of two real runs."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from assistant.cli import main
from tests.evaluation.conftest import eval_lines, write_cases

IMPOSSIBLE_FACT = [["a fact no answer contains"]]


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def expecting_more(line: str) -> dict[str, object]:
    """The same conversation, now also expecting a fact no answer states: the turn can only fail."""
    case = json.loads(line)
    case["turns"][0]["facts"] = IMPOSSIBLE_FACT
    return case


def run(env: dict[str, str], tmp_path: Path, name: str, lines: list[str | dict[str, object]]) -> Path:
    report = tmp_path / f"{name}.json"
    invoke(env, "replay", str(write_cases(tmp_path / f"{name}.jsonl", lines)), "--json", str(report))
    return report


def test_a_regression_is_listed_with_its_reason_and_exits_1(cli_env: dict[str, str], tmp_path: Path) -> None:
    crisis, refuse = eval_lines("c059", "c066")
    old = run(cli_env, tmp_path, "old", [crisis, expecting_more(refuse)])  # c059 passes, c066 fails
    new = run(cli_env, tmp_path, "new", [expecting_more(crisis), refuse, *eval_lines("c073")])

    code, out, _ = invoke(cli_env, "replay", "diff", str(old), str(new), "--json", str(tmp_path / "diff.json"))
    assert code == 1
    assert "regressed turns (1):\n  c059#1 I want to end my life" in out
    assert "      - missing facts: a fact no answer contains" in out
    assert "improved turns (1):\n  c066#1 How much ketamine" in out
    assert "only in the new run: c073#1" in out
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.split()}
    assert lines["turns"] == ["2", "3", "+1"] and lines["passed"] == ["1", "2", "+1"]
    assert lines["fact_recall"] == ["0.000", "0.000", "0.000"]
    data = json.loads((tmp_path / "diff.json").read_text(encoding="utf-8"))
    assert [c["label"] for c in data["regressed"]] == ["c059#1"] and data["only_new"] == ["c073#1"]
    assert {"metric": "passed", "old": 1, "new": 2, "change": 1} in data["totals"]
    assert {d["field"] for d in data["provenance"]} == {"file.path", "file.sha256"}  # same code, index, prompts


def test_no_regression_exits_0_and_a_file_that_is_no_report_exits_2(cli_env: dict[str, str],
                                                                     tmp_path: Path) -> None:
    report = run(cli_env, tmp_path, "same", eval_lines("c059"))
    code, out, _ = invoke(cli_env, "replay", "diff", str(report), str(report))
    assert code == 0 and "regressed turns: none" in out and "improved turns: none" in out
    cases = tmp_path / "same.jsonl"  # one JSON line, but a conversation file, not a report
    code, _, err = invoke(cli_env, "replay", "diff", str(report), str(cases))
    assert code == 2 and f"error: {cases}: not a replay report" in err
    broken = tmp_path / "broken.json"
    broken.write_text('{"turns": [', encoding="utf-8")
    code, _, err = invoke(cli_env, "replay", "diff", str(broken), str(report))
    assert code == 2 and f"error: {broken}: cannot be read as JSON" in err
    code, _, err = invoke(cli_env, "replay", "diff", str(report), str(tmp_path / "missing.json"))
    assert code == 2 and "does not exist" in err
