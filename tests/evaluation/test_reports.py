"""One replay run writes every report format, each with the run's provenance and every turn."""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.evaluation.provenance import package_version
from tests.conftest import REPO
from tests.evaluation.conftest import eval_lines, write_cases

IMPOSSIBLE = {"id": "impossible", "origin": "held-out", "turns": [
    {"user": "What did TRANSFORM-2 find? <script>alert('x')</script>", "kind": "clinical",
     "gold": ["10.1176/appi.ajp.2019.19020172"], "facts": [["a fact <b>no answer</b> contains"]], "notes": "n1"}]}


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def reports(cli_env: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    """One run of a passing crisis turn, a passing refusal and a failing clinical turn, in all four formats."""
    path = write_cases(tmp_path / "cases.jsonl", [*eval_lines("c059", "c066"), IMPOSSIBLE])
    paths = {fmt: tmp_path / "out" / f"replay.{suffix}"
             for fmt, suffix in (("json", "json"), ("html", "html"), ("junit", "xml"), ("csv", "csv"))}
    options = [arg for fmt, p in paths.items() for arg in (f"--{fmt}", str(p))]
    code, out, err = invoke(cli_env, "replay", str(path), *options)
    return {"code": code, "out": out, "err": err, **{fmt: p.read_text(encoding="utf-8") for fmt, p in paths.items()}}


def test_the_run_fails_on_its_failing_turn_and_writes_every_format(reports: dict[str, Any]) -> None:
    assert reports["code"] == 1
    for fmt in ("json", "html", "junit", "csv"):
        assert f"{fmt} report written to " in reports["out"]


def test_every_report_carries_the_provenance_of_the_run(reports: dict[str, Any]) -> None:
    provenance = json.loads(reports["json"])["provenance"]
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", provenance["run_at"])
    assert provenance["package_version"] == package_version() and provenance["git"]["sha"] == head
    assert provenance["index_generation"].startswith("evidence-")
    assert re.fullmatch(r"[0-9a-f]{16}", provenance["prompts_fingerprint"])
    assert provenance["engine"] == "extractive" and provenance["target"] == "in-process"
    shaping = provenance["answer_settings"]
    assert shaping["retrieval"]["top_k"] > 0 and "max_sentences" in shaping["answer"]
    assert "llm_api_key" not in json.dumps(shaping)  # never a secret

    suite = ET.fromstring(reports["junit"]).find("testsuite")
    assert suite is not None
    properties = {p.get("name"): p.get("value") for p in suite.iterfind("properties/property")}
    assert properties["git.sha"] == head and properties["index_generation"] == provenance["index_generation"]
    assert properties["prompts_fingerprint"] == provenance["prompts_fingerprint"]
    assert json.loads(properties["answer_settings.retrieval.top_k"]) == shaping["retrieval"]["top_k"]

    rows = list(csv.DictReader(reports["csv"].splitlines()))
    assert {row["git_commit"] for row in rows} == {head}
    assert {row["prompts_fingerprint"] for row in rows} == {provenance["prompts_fingerprint"]}
    assert json.loads(rows[0]["answer_settings"]) == shaping

    for value in (head, provenance["index_generation"], provenance["prompts_fingerprint"]):
        assert value in reports["html"]


def test_junit_has_one_testcase_per_turn_with_the_reason_of_each_failure(reports: dict[str, Any]) -> None:
    root = ET.fromstring(reports["junit"])
    cases = root.findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == ["c059#1", "c066#1", "impossible#1"]
    assert [c.get("classname") for c in cases] == ["replay.crisis", "replay.refuse", "replay.clinical"]
    assert root.get("tests") == "3" and root.get("failures") == "1" and root.get("errors") == "0"
    [failure] = cases[2].findall("failure")
    assert failure.get("message") == "missing facts: a fact <b>no answer</b> contains"
    assert not cases[0].findall("failure") and not cases[1].findall("failure")
    meta = {p.get("name"): p.get("value") for p in cases[2].iterfind("properties/property")}
    assert meta == {"meta.origin": "held-out", "meta.notes": "n1"}


def test_csv_has_one_row_per_turn(reports: dict[str, Any]) -> None:
    rows = list(csv.DictReader(reports["csv"].splitlines()))
    assert [(r["case_id"], r["turn"], r["kind"], r["passed"]) for r in rows] == [
        ("c059", "1", "crisis", "true"), ("c066", "1", "refuse", "true"), ("impossible", "1", "clinical", "false")]
    assert rows[2]["problems"] == "missing facts: a fact <b>no answer</b> contains"
    assert json.loads(rows[2]["meta"]) == {"origin": "held-out", "notes": "n1"}
    assert float(rows[0]["latency_ms"]) > 0 and rows[0]["retries"] == "0"


def test_html_shows_every_turn_collapsed_failing_first(reports: dict[str, Any]) -> None:
    page = reports["html"]
    assert not re.search(r"<script|<link|\bsrc=|@import", page, re.I), "no scripts or external resources"
    ids = re.findall(r'<details class="turn[^"]*" id="([^"]+)">', page)
    assert ids == ["impossible#1", "c059#1", "c066#1"]
    assert "<details open" not in page  # collapsed until a reviewer opens one
    assert "Bottom line:" in page  # a passing clinical answer would be as readable; the failing one is
    assert "meta: origin=held-out, notes=n1" in page


def test_metadata_is_warned_about_once_and_kept_in_the_json_report(reports: dict[str, Any]) -> None:
    assert reports["err"].count("unknown keys kept as metadata") == 1
    assert "notes (1x), origin (1x)" in reports["err"]
    turn = json.loads(reports["json"])["turns"][2]
    assert turn["meta"] == {"origin": "held-out", "notes": "n1"}
