"""`assistant replay` on files written outside the project: encodings, line ends, metadata, mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main
from tests.evaluation.conftest import eval_lines


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_spreadsheet_export_with_a_bom_and_crlf_replays(cli_env: dict[str, str], tmp_path: Path,
                                                          encoding: str) -> None:
    path = tmp_path / "export.jsonl"
    path.write_bytes("\r\n".join([*eval_lines("c059", "c066"), ""]).encode(encoding))
    code, out, err = invoke(cli_env, "replay", str(path))
    assert code == 0, (out, err)
    assert "replay: 2 conversations, 2 turns" in out and "failing turns: none" in out


def test_strict_makes_an_unknown_key_an_error_that_exits_2(cli_env: dict[str, str], tmp_path: Path) -> None:
    case = json.loads(eval_lines("c059")[0]) | {"origin": "held-out"}
    path = tmp_path / "held-out.jsonl"
    path.write_text(json.dumps(case) + "\n", encoding="utf-8")
    code, out, err = invoke(cli_env, "replay", str(path), "--strict")
    assert code == 2 and out == ""
    assert f"error: {path}:1: origin: unknown key (--strict" in err
    code, out, err = invoke(cli_env, "replay", str(path))
    assert code == 0 and "warning: " in err and "origin (1x)" in err


def test_a_json_array_exits_2_with_one_message(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "cases.json"
    path.write_text(json.dumps([json.loads(line) for line in eval_lines("c059", "c066")], indent=2),
                    encoding="utf-8")
    code, _, err = invoke(cli_env, "replay", str(path))
    assert code == 2
    assert err.strip().splitlines() == [f"error: {path}: the file is a JSON array; replay reads JSONL, one "
                                        f"conversation object per line (convert it with: jq -c '.[]' {path})"]


def test_a_gold_id_that_matches_no_indexed_source_is_reported_as_such(cli_env: dict[str, str],
                                                                     tmp_path: Path) -> None:
    case = {"id": "typo", "turns": [
        {"user": "What did TRANSFORM-2 find?", "gold": ["10.1176/appi.ajp.2019.19020172", "10.9999/not-indexed"]},
        {"user": "And SUSTAIN-1?", "gold": ["sustain_one_typo"]}]}
    path = tmp_path / "typo.jsonl"
    path.write_text(json.dumps(case) + "\n", encoding="utf-8")
    report = tmp_path / "r.json"
    code, out, err = invoke(cli_env, "replay", str(path), "--json", str(report))
    assert code == 1
    assert ("warning: 2 gold id(s) match no indexed source, and their turns fail: "
            "10.9999/not-indexed (typo#1), sustain_one_typo (typo#2)") in err
    assert "gold sustain_one_typo matches no indexed source (check the id, or the index)" in out
    data = json.loads(report.read_text(encoding="utf-8"))
    first, second = data["turns"]
    assert first["unknown_gold"] == ["10.9999/not-indexed"] and first["passed"] is False
    assert second["unknown_gold"] == ["sustain_one_typo"] and second["gold_hit"] is None  # not a retrieval miss
    assert data["totals"]["unknown_gold"] == 2
    assert data["totals"]["hit_at_5"]["total"] == 1  # only the turn with a known gold id is measured
