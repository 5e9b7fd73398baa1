"""The replay report as one self-contained HTML page: no scripts, no external files.

Every turn is on the page, each collapsed into a ``<details>`` element (which opens without
scripts), failing turns first, so a reviewer can read a passing answer as easily as a failing one.
Every value that came from the conversation file or from an answer is HTML-escaped, since both
can hold anything a user typed (including markup meant to run in a reviewer's browser).
"""

from __future__ import annotations

import json
from html import escape

from assistant.evaluation.replay import THRESHOLD_OPTIONS, ReplayRun, TurnResult
from assistant.evaluation.scoring import Metrics, Rate

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#17642b}.fail{color:#a31515;font-weight:600}
details.turn{border:1px solid #ddd;border-left:4px solid #a31515;padding:.25rem 1rem;margin:.4rem 0}
details.turn.passed{border-left-color:#17642b}summary{cursor:pointer}
pre{white-space:pre-wrap;background:#f8f8f8;padding:.5rem;border:1px solid #eee}
ul.problems li{color:#a31515}small{color:#666}
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _rate(rate: Rate) -> str:
    if rate.value is None:
        return "<td class=num>-</td>"
    return f"<td class=num>{rate.value:.3f} <small>({rate.hits}/{rate.total})</small></td>"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _metrics_row(label: str, m: Metrics) -> str:
    lat = m.latency()
    return (f"<tr><th>{_e(label)}</th><td class=num>{m.turns}</td><td class=num>{m.passed}</td>"
            f"<td class=num>{m.errors}</td>{_rate(m.hit_at_5)}{_rate(m.fact_recall)}{_rate(m.caveat_rate)}"
            f"{_rate(m.behaviour_rate)}{_rate(m.marker_rate)}<td class=num>{_ms(lat['p50_ms'])}</td>"
            f"<td class=num>{_ms(lat['p95_ms'])}</td><td class=num>{_ms(lat['max_ms'])}</td></tr>")


def _summary(run: ReplayRun) -> str:
    head = ("<tr><th>kind</th><th>turns</th><th>passed</th><th>errors</th><th>hit@5</th><th>fact recall</th>"
            "<th>caveats</th><th>behaviour</th><th>markers</th><th>p50 ms</th><th>p95 ms</th><th>max ms</th></tr>")
    rows = "".join(_metrics_row(kind, m) for kind, m in run.per_kind().items())
    scorers = "".join(f"<li>scorer {_e(name)}: {rate.hits}/{rate.total} passed</li>"
                      for name, rate in run.totals.scorers)
    return (f"<table id=per-kind>{head}{rows}{_metrics_row('all', run.totals)}</table>"
            + (f"<ul id=scorers>{scorers}</ul>" if scorers else ""))


def _thresholds(run: ReplayRun) -> str:
    checks = run.threshold_checks()
    if not checks:
        return "<p>No thresholds were set.</p>"
    rows = "".join(
        f"<tr><td>{_e(THRESHOLD_OPTIONS.get(metric, metric))}</td><td class=num>{minimum:.3f}</td>"
        f"<td class=num>{'-' if value is None else f'{value:.3f}'}</td>"
        f"<td class={'pass' if met else 'fail'}>{'met' if met else 'missed'}</td></tr>"
        for metric, minimum, value, met in checks)
    return f"<table id=thresholds><tr><th>threshold</th><th>minimum</th><th>value</th><th></th></tr>{rows}</table>"


def latency_histogram(latencies: tuple[float, ...], bins: int = 12, width: int = 640, height: int = 200) -> str:
    """An inline SVG bar chart of turn latencies."""
    if not latencies:
        return "<p>No latencies recorded.</p>"
    low, high = min(latencies), max(latencies)
    step = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in latencies:
        counts[min(bins - 1, int((value - low) / step))] += 1
    top = max(counts)
    pad, plot_h = 30, height - 50
    bar_w = (width - 2 * pad) / bins
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="Histogram of turn latencies in milliseconds">']
    for i, count in enumerate(counts):
        h = plot_h * count / top if top else 0
        x, y = pad + i * bar_w, 10 + plot_h - h
        start, end = low + i * step, low + (i + 1) * step
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" fill="#4a78b5">'
                     f'<title>{start:.0f}-{end:.0f} ms: {count} turn(s)</title></rect>')
        if count:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 2:.1f}" font-size="10" '
                         f'text-anchor="middle">{count}</text>')
    base = 10 + plot_h
    parts.append(f'<line x1="{pad}" y1="{base}" x2="{width - pad}" y2="{base}" stroke="#333"/>')
    for i in range(0, bins + 1, max(1, bins // 6)):
        x = pad + i * bar_w
        parts.append(f'<text x="{x:.1f}" y="{base + 14}" font-size="10" text-anchor="middle">'
                     f'{low + i * step:.0f}</text>')
    parts.append(f'<text x="{width / 2:.0f}" y="{height - 4}" font-size="11" text-anchor="middle">'
                 f'latency per turn (ms)</text></svg>')
    return "".join(parts)


def _citations(result: TurnResult) -> str:
    answer = result.answer
    if answer is None or not answer.citations:
        return "<p><small>No citations.</small></p>"
    rows = "".join(
        f"<tr><td class=num>[{c.marker}]</td><td>{_e(c.doc_id)}</td><td>{_e(c.doi or c.pmid or '')}</td>"
        f"<td>{_e(c.authors)} ({_e(c.year)}). {_e(c.title)}</td><td>{_e(c.section)}</td></tr>"
        for c in sorted(answer.citations, key=lambda c: c.marker))
    return (f"<table><tr><th>marker</th><th>doc id</th><th>DOI / PMID</th><th>source</th><th>section</th></tr>"
            f"{rows}</table>")


def _details(result: TurnResult) -> str:
    status = "pass" if result.score.passed else "fail"
    summary = (f"<summary><b>{_e(result.label)}</b> <small>{_e(result.turn.kind)}</small> "
               f"<span class={status}>{status}</span> <small>{_ms(result.latency_ms)} ms</small> "
               f"{_e(result.turn.user)}</summary>")
    problems = "".join(f"<li>{_e(p)}</li>" for p in result.problems())
    parts = [f'<details class="turn{" passed" if result.score.passed else ""}" id="{_e(result.label)}">{summary}',
             f"<ul class=problems>{problems}</ul>" if problems else ""]
    if result.meta:
        parts.append("<p><small>meta: " + _e(", ".join(f"{k}={v}" for k, v in result.meta.items())) + "</small></p>")
    if result.score.verdicts:
        rows = "".join(f"<tr><td>{_e(v.scorer)}</td><td>{_e(v.passed)}</td><td class=num>{_e(v.score)}</td>"
                       f"<td>{_e(v.reason)}</td></tr>" for v in result.score.verdicts)
        parts.append(f"<table><tr><th>scorer</th><th>passed</th><th>score</th><th>reason</th></tr>{rows}</table>")
    answer = result.answer
    if answer is not None:
        caveats = ", ".join(c.id for c in answer.caveats) or "none"
        parts.append(
            f"<p><small>safety {_e(answer.safety.category)}{', escalated' if answer.safety.escalated else ''}; "
            f"abstained {str(answer.abstained).lower()}; caveats {_e(caveats)}; retries {result.retries}; "
            f"gold {_e(', '.join(result.turn.gold) or '-')}</small></p>")
        if answer.standalone_query and answer.standalone_query != result.turn.user:
            parts.append(f"<p><small>retrieval saw: {_e(answer.standalone_query)}</small></p>")
        parts.append(f"<pre>{_e(answer.answer)}</pre>")
    parts.append(_citations(result) + "</details>")
    return "".join(parts)


def _provenance(run: ReplayRun) -> str:
    rows = []
    for key, value in run.provenance.items():
        shown = "-" if value is None else value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        rows.append(f"<tr><th>{_e(key)}</th><td><code>{_e(shown)}</code></td></tr>")
    return f"<table id=provenance>{''.join(rows)}</table>"


def render_html(run: ReplayRun, title: str = "Replay report") -> str:
    totals = run.totals
    verdict = "passed" if run.ok else "FAILED"
    failing = run.failing
    body = [
        f"<h1>{_e(title)}</h1>",
        f"<p>{run.conversations} conversations, {totals.turns} turns, {totals.passed} passed, "
        f"{totals.turns - totals.passed} failing; {_e(run.transport)} (concurrency {run.concurrency}), "
        f"{run.seconds:.1f} s. <b class={'pass' if run.ok else 'fail'}>{verdict}</b></p>",
        *(f"<p class=fail>{_e(w)}</p>" for w in run.warnings),
        "<h2>Provenance</h2>", _provenance(run),
        "<h2>Scores by kind</h2>", _summary(run),
        "<h2>Thresholds</h2>", _thresholds(run),
        "<h2>Latency</h2>",
        f"<p>{'From a concurrency-1 pass' if run.latency_pass_seconds is not None else 'From the scoring pass'}, "
        f"after {run.warmup} warm-up question(s); {run.retries} rate-limit retries "
        f"({run.backoff_s:.1f} s of back-off) are not counted.</p>",
        latency_histogram(totals.latencies_ms),
        f"<h2>Failing turns ({len(failing)})</h2>",
        "".join(_details(r) for r in failing) or "<p>None.</p>",
        f"<h2>Passing turns ({totals.passed})</h2>",
        "".join(_details(r) for r in run.results if r.score.passed) or "<p>None.</p>",
    ]
    return ("<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
            f"<meta name=viewport content=\"width=device-width,initial-scale=1\"><title>{_e(title)}</title>"
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")
