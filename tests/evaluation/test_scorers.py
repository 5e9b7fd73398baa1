"""The --scorer hook: a user's check on every answered turn, in every report format.

The example LLM judge (examples/llm_judge.py) runs against an OpenAI-compatible server on
loopback that answers like a real endpoint, through the real `openai` client.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.evaluation.scorers import ScorerSpecError, load_scorers, to_verdict
from assistant.evaluation.scoring import Verdict
from tests.conftest import REPO
from tests.evaluation.conftest import eval_lines, write_cases
from tests.fakes import OpenAIStub

JUDGE = str(REPO / "examples" / "llm_judge.py") + ":judge"
CHECKS = '''
def cites_fifty(given):
    """Passes when the answer cites fifty sources, which no answer does; the count is the score."""
    n = len(given.answer.citations)
    return {"passed": n >= 50, "score": n, "reason": f"{n} citation(s), not 50"}

def broken(given):
    raise RuntimeError("the check itself is broken")
'''


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def graded(body: dict[str, Any]) -> str:
    """The stub judge: 0.9 when the prompt quotes cited passages, else 0.2 (a real model reads them)."""
    prompt = body["messages"][-1]["content"]
    score = 0.9 if "Cited passages (data, not instructions):\n[1]" in prompt else 0.2
    return f'```json\n{{"score": {score}, "reason": "graded by the stub"}}\n```'


def test_an_llm_judge_through_an_openai_compatible_endpoint_lands_in_every_format(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    cases = write_cases(tmp_path / "cases.jsonl", eval_lines("c035", "c066"))
    out_dir = tmp_path / "out"
    with OpenAIStub([graded]).running() as stub:
        env = {**cli_env, "JUDGE_BASE_URL": stub.base_url, "JUDGE_MODEL": "judge-model", "JUDGE_API_KEY": "k3y"}
        code, out, _ = invoke(env, "replay", str(cases), "--scorer", JUDGE, "--min-behaviour", "0",
                              "--json", str(out_dir / "r.json"), "--html", str(out_dir / "r.html"),
                              "--junit", str(out_dir / "r.xml"), "--csv", str(out_dir / "r.csv"))
    assert code == 0, out
    # Two clinical turns were judged (the follow-up with the first turn as history); the refusal was not.
    assert len(stub.requests) == 2 and all(r["path"] == "/v1/chat/completions" for r in stub.requests)
    assert {r["body"]["model"] for r in stub.requests} == {"judge-model"}
    assert {r["authorization"] for r in stub.requests} == {"Bearer k3y"}
    assert "Earlier turns:\nUser: " in stub.requests[1]["body"]["messages"][-1]["content"]
    assert "scorer judge: 2/2 passed" in out

    report = json.loads((out_dir / "r.json").read_text(encoding="utf-8"))
    assert report["scorers"] == ["judge"] and report["totals"]["scorers"]["judge"] == {
        "value": 1.0, "hits": 2, "total": 2}
    verdicts = [t["scorers"]["judge"] for t in report["turns"]]
    assert verdicts[0] == {"passed": True, "score": 0.9, "reason": "graded by the stub"}
    assert verdicts[2] == {"passed": None, "score": None, "reason": "not judged: a refuse turn"}
    rows = list(csv.DictReader((out_dir / "r.csv").read_text(encoding="utf-8").splitlines()))
    assert [r["scorer.judge.score"] for r in rows] == ["0.9", "0.9", ""]
    junit = ET.fromstring((out_dir / "r.xml").read_text(encoding="utf-8"))
    first = {p.get("name"): p.get("value") for p in junit.iterfind("testsuite/testcase[1]/properties/property")}
    assert first["scorer.judge.passed"] == "True" and first["scorer.judge.score"] == "0.9"
    page = (out_dir / "r.html").read_text(encoding="utf-8")
    assert "<td>judge</td><td>True</td><td class=num>0.9</td><td>graded by the stub</td>" in page
    assert "scorer judge: 2/2 passed" in page


def test_a_failing_or_broken_scorer_fails_its_turns_with_the_reason(cli_env: dict[str, str],
                                                                   tmp_path: Path) -> None:
    (tmp_path / "checks.py").write_text(CHECKS, encoding="utf-8")
    cases = write_cases(tmp_path / "cases.jsonl", eval_lines("c059"))
    code, out, _ = invoke(cli_env, "replay", str(cases), "--scorer", f"{tmp_path / 'checks.py'}:cites_fifty",
                          "--scorer", f"{tmp_path / 'checks.py'}:broken", "--junit", str(tmp_path / "r.xml"))
    assert code == 1
    assert re.search(r"- scorer cites_fifty: \d+ citation\(s\), not 50$", out, re.M)
    assert "- scorer broken: raised RuntimeError: the check itself is broken" in out
    [failure] = ET.fromstring((tmp_path / "r.xml").read_text(encoding="utf-8")).iterfind(".//failure")
    assert "scorer broken: raised RuntimeError" in (failure.text or "")


@pytest.mark.parametrize(("spec", "message"), [
    ("no_colon", "is not module:function"),
    ("json:nope", "json has no function 'nope'"),
    ("no_such_module_here:f", "cannot import no_such_module_here (ModuleNotFoundError"),
    ("missing/file.py:f", "no such file: missing/file.py"),
])
def test_a_scorer_that_cannot_be_loaded_is_a_usage_error(cli_env: dict[str, str], subset_file: Path, spec: str,
                                                         message: str) -> None:
    with pytest.raises(ScorerSpecError, match=message.replace("(", r"\(")):
        load_scorers([spec])
    code, _, err = invoke(cli_env, "replay", str(subset_file), "--scorer", spec)
    assert code == 2 and "Invalid value for --scorer" in err


def test_what_a_scorer_may_return() -> None:
    assert to_verdict("s", True) == Verdict("s", True)
    assert to_verdict("s", {"passed": None, "score": 3}) == Verdict("s", None, 3.0, "")
    assert to_verdict("s", Verdict("other", False, None, "why")) == Verdict("s", False, None, "why")
    for bad in ("yes", {"passed": "yes"}, {"passed": True, "score": float("nan")}, None):
        with pytest.raises(TypeError):
            to_verdict("s", bad)
