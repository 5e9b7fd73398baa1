"""`assistant replay diff OLD.json NEW.json`: what changed between two runs of the same file.

Turns are matched by conversation id and position. A turn that passed before and fails now is a
regression; the reverse an improvement. A turn whose question changed, or that exists in only one
run, is listed but not judged, since there is nothing to compare it with. Totals are compared
rate by rate, and provenance fields that differ are named, so a change can be traced to the
index, the prompts or the code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RATES = ("hit_at_5", "fact_recall", "caveat_rate", "behaviour_rate", "marker_rate", "bottom_line",
         "abstain_precision", "abstain_recall", "wrong_abstain")
COUNTS = ("turns", "passed", "failed", "errors", "unknown_gold")
LATENCY = ("p50_ms", "p95_ms")
PROVENANCE = ("package_version", "git", "index_generation", "prompts_fingerprint", "engine", "answer_settings",
              "file", "target")


class ReportError(Exception):
    """A file that is not a replay JSON report."""


@dataclass(frozen=True)
class TurnChange:
    label: str
    user: str
    problems: list[str]  # the new run's problems (regressions) or the old run's (improvements)


@dataclass
class RunDiff:
    regressed: list[TurnChange] = field(default_factory=list)
    improved: list[TurnChange] = field(default_factory=list)
    changed_question: list[str] = field(default_factory=list)
    only_old: list[str] = field(default_factory=list)
    only_new: list[str] = field(default_factory=list)
    totals: list[tuple[str, float | None, float | None]] = field(default_factory=list)
    provenance: list[tuple[str, Any, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "regressed": [vars(c) for c in self.regressed], "improved": [vars(c) for c in self.improved],
            "changed_question": self.changed_question, "only_old": self.only_old, "only_new": self.only_new,
            "totals": [{"metric": m, "old": a, "new": b, "change": _change(a, b)} for m, a, b in self.totals],
            "provenance": [{"field": f, "old": a, "new": b} for f, a, b in self.provenance],
        }


def load_report(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: cannot be read as JSON ({exc.__class__.__name__}: {exc})") from None
    if not (isinstance(data, dict) and isinstance(data.get("turns"), list) and isinstance(data.get("totals"), dict)):
        raise ReportError(f"{path}: not a replay report (write one with `assistant replay FILE --json PATH`)")
    return data


def _by_label(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{t['case_id']}#{t['turn']}": t for t in report["turns"]}


def _change(old: float | None, new: float | None) -> float | None:
    return None if old is None or new is None else new - old


def _total(totals: dict[str, Any], metric: str) -> float | None:
    if metric in RATES:
        return (totals.get(metric) or {}).get("value")
    if metric in LATENCY:
        return (totals.get("latency") or {}).get(metric)
    return totals.get(metric)


def diff_reports(old: dict[str, Any], new: dict[str, Any]) -> RunDiff:
    result = RunDiff()
    before, after = _by_label(old), _by_label(new)
    for label, turn in after.items():
        previous = before.get(label)
        if previous is None:
            result.only_new.append(label)
        elif previous.get("user") != turn.get("user"):
            result.changed_question.append(label)
        elif previous.get("passed") and not turn.get("passed"):
            result.regressed.append(TurnChange(label, turn.get("user", ""), list(turn.get("problems", []))))
        elif not previous.get("passed") and turn.get("passed"):
            result.improved.append(TurnChange(label, turn.get("user", ""), list(previous.get("problems", []))))
    result.only_old = [label for label in before if label not in after]
    scorers = sorted(set(old["totals"].get("scorers") or {}) | set(new["totals"].get("scorers") or {}))
    for metric in (*COUNTS, *RATES, *LATENCY):
        result.totals.append((metric, _total(old["totals"], metric), _total(new["totals"], metric)))
    for name in scorers:
        values = [((r["totals"].get("scorers") or {}).get(name) or {}).get("value") for r in (old, new)]
        result.totals.append((f"scorer {name}", values[0], values[1]))
    old_p, new_p = (_leaves({f: (r.get("provenance") or {}).get(f) for f in PROVENANCE}) for r in (old, new))
    result.provenance = [(f, old_p.get(f), new_p.get(f)) for f in dict.fromkeys([*old_p, *new_p])
                         if old_p.get(f) != new_p.get(f)]
    return result


def _leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"answer": {"top_k": 6}}`` -> ``{"answer.top_k": 6}``: a difference is named down to the setting."""
    if isinstance(value, dict) and value:
        return {k: v for key, item in value.items() for k, v in _leaves(item, f"{prefix}.{key}" if prefix else key)
                .items()}
    return {prefix: value}


def _number(value: float | None, metric: str) -> str:
    if value is None:
        return "-"
    if metric in COUNTS:
        return f"{value:.0f}"
    return f"{value:.0f}" if metric in LATENCY else f"{value:.3f}"


def render_diff(diff: RunDiff) -> str:
    lines = [f"regressed turns ({len(diff.regressed)}):" if diff.regressed else "regressed turns: none"]
    for change in diff.regressed:
        lines.append(f"  {change.label} {change.user}")
        lines.extend(f"      - {problem}" for problem in change.problems)
    lines.append(f"improved turns ({len(diff.improved)}):" if diff.improved else "improved turns: none")
    lines.extend(f"  {change.label} {change.user}" for change in diff.improved)
    for title, labels in (("question changed, not compared", diff.changed_question),
                          ("only in the old run", diff.only_old), ("only in the new run", diff.only_new)):
        if labels:
            lines.append(f"{title}: {', '.join(labels)}")
    lines.append(f"{'total':<22}{'old':>10}{'new':>10}{'change':>10}")
    for metric, old, new in diff.totals:
        change = _change(old, new)
        shown = "-" if change is None else f"{'+' if change > 0 else ''}{_number(change, metric)}"
        lines.append(f"{metric:<22}{_number(old, metric):>10}{_number(new, metric):>10}{shown:>10}")
    for name, old, new in diff.provenance:
        lines.append(f"provenance {name}: {json.dumps(old)} -> {json.dumps(new)}")
    return "\n".join(lines)
