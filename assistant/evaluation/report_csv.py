"""The replay run as CSV: one row per turn, for spreadsheets and notebooks.

Provenance is repeated on every row (run time, version, commit, index generation, prompts
fingerprint, engine, answer settings as JSON), so rows of several runs appended into one sheet
still say which run each came from. Scorer verdicts get three columns each.
"""

from __future__ import annotations

import csv
import io
import json

from assistant.evaluation.replay import ReplayRun

COLUMNS = ("case_id", "turn", "kind", "user", "passed", "problems", "latency_ms", "retries", "backoff_s",
           "gold", "gold_hit", "unknown_gold", "top_cited", "facts_found", "facts_total", "caveat_ok",
           "behaviour_ok", "markers_ok", "error", "safety_category", "abstained", "meta")
PROVENANCE = ("run_at", "package_version", "git_commit", "index_generation", "prompts_fingerprint", "engine",
              "answer_settings")


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
    return value


def _provenance(run: ReplayRun) -> list[object]:
    p = run.provenance
    git = p.get("git") or {}
    values = [p.get("run_at"), p.get("package_version"), git.get("sha"), p.get("index_generation"),
              p.get("prompts_fingerprint"), p.get("engine"), p.get("answer_settings")]
    return [_cell(v) for v in values]


def render_csv(run: ReplayRun) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    scorer_columns = [f"scorer.{name}.{part}" for name in run.scorers for part in ("passed", "score", "reason")]
    writer.writerow([*COLUMNS, *scorer_columns, *PROVENANCE])
    provenance = _provenance(run)
    for r in run.results:
        s = r.score
        row = [r.case_id, r.index, r.turn.kind, r.turn.user, s.passed, r.problems(),
               None if r.latency_ms is None else round(r.latency_ms, 1), r.retries, round(r.backoff_s, 3),
               r.turn.gold, s.gold_hit, s.unknown_gold, s.top_cited, s.facts_found, s.facts_total, s.caveat_ok,
               s.behaviour_ok, s.markers_ok, s.error, r.answer.safety.category if r.answer else None,
               r.answer.abstained if r.answer else None, r.meta]
        verdicts = {v.scorer: v for v in s.verdicts}
        for name in run.scorers:
            v = verdicts.get(name)
            row += [None, None, None] if v is None else [v.passed, v.score, v.reason]
        writer.writerow([*(_cell(v) for v in row), *provenance])
    return out.getvalue()
