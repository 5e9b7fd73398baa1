"""What `assistant replay` prints: totals and one row per kind, thresholds, then every failing turn."""

from __future__ import annotations

from assistant.evaluation.replay import THRESHOLD_OPTIONS, ReplayRun
from assistant.evaluation.scoring import Rate


def _cell(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _rate(rate: Rate) -> str:
    return f"{_cell(rate.value)} ({rate.hits}/{rate.total})"


def render_summary(run: ReplayRun) -> str:
    header = (f"{'kind':<10}{'turns':>6}{'pass':>6}{'err':>5}{'hit@5':>8}{'facts':>8}{'caveat':>8}"
              f"{'behaviour':>11}{'markers':>9}{'p50 ms':>9}{'p95 ms':>9}")
    lines = [f"replay: {run.conversations} conversations, {len(run.results)} turns, {run.transport} "
             f"(concurrency {run.concurrency}), {run.seconds:.1f} s", header]
    rows = [*run.per_kind().items(), ("all", run.totals)]
    for kind, m in rows:
        lat = m.latency()
        lines.append(f"{kind:<10}{m.turns:>6}{m.passed:>6}{m.errors:>5}{_cell(m.hit_at_5.value):>8}"
                     f"{_cell(m.fact_recall.value):>8}{_cell(m.caveat_rate.value):>8}"
                     f"{_cell(m.behaviour_rate.value):>11}{_cell(m.marker_rate.value):>9}"
                     f"{_cell(lat['p50_ms'], 0):>9}{_cell(lat['p95_ms'], 0):>9}")
    totals = run.totals
    lines.append(f"hit@5 {totals.hit_at_5.hits}/{totals.hit_at_5.total}, facts {totals.fact_recall.hits}/"
                 f"{totals.fact_recall.total}, caveats {totals.caveat_rate.hits}/{totals.caveat_rate.total}, "
                 f"behaviour {totals.behaviour_rate.hits}/{totals.behaviour_rate.total}, markers "
                 f"{totals.marker_rate.hits}/{totals.marker_rate.total}")
    lines.append(f"bottom line {_rate(totals.bottom_line)}; abstention precision {_rate(totals.abstain_precision)}, "
                 f"recall {_rate(totals.abstain_recall)}; wrong abstentions on answerable turns "
                 f"{_rate(totals.wrong_abstain)}")
    lines.extend(f"scorer {name}: {rate.hits}/{rate.total} passed" for name, rate in totals.scorers)
    source = (f"a concurrency-1 pass ({run.latency_pass_seconds:.1f} s)" if run.latency_pass_seconds is not None
              else f"the scoring pass (concurrency {run.concurrency})")
    lines.append(f"latency from {source}, after {run.warmup} warm-up question(s); "
                 f"{run.retries} rate-limit retries ({run.backoff_s:.1f} s of back-off, not counted as latency)")
    if totals.unknown_gold:
        lines.append(f"{totals.unknown_gold} turn(s) name a gold id that matches no indexed source")
    for metric, minimum, value, met in run.threshold_checks():
        verdict = "met" if met else "MISSED"
        lines.append(f"threshold {THRESHOLD_OPTIONS.get(metric, metric)} {minimum:.3f}: {metric} "
                     f"{_cell(value)} {verdict}")
    if totals.errors:
        lines.append(f"{totals.errors} turn(s) got no answer: the run fails whatever the thresholds")
    return "\n".join(lines)


def render_failures(run: ReplayRun) -> str:
    failing = run.failing
    if not failing:
        return "failing turns: none"
    lines = [f"failing turns ({len(failing)}):"]
    for result in failing:
        lines.append(f"  {result.label} [{result.turn.kind}] {_short(result.turn.user)}")
        lines.extend(f"      - {problem}" for problem in result.problems())
    return "\n".join(lines)


def _short(text: str, limit: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
