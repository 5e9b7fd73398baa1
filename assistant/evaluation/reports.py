"""Writing replay reports: JSON for machines and `replay diff`, HTML for people, JUnit XML and CSV for CI.

One run can write any of them; each carries the run's provenance.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from assistant.evaluation.replay import ReplayRun
from assistant.evaluation.report_csv import render_csv
from assistant.evaluation.report_html import render_html
from assistant.evaluation.report_junit import render_junit


def render_json(run: ReplayRun) -> str:
    return json.dumps(run.to_dict(), indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[str, Callable[[ReplayRun], str]] = {
    "json": render_json, "html": render_html, "junit": render_junit, "csv": render_csv}
# `--report PATH` (kept from before the per-format options) picks the format by the suffix.
REPORT_SUFFIXES = {".json": "json", ".html": "html"}


def write_report(run: ReplayRun, path: Path, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(RENDERERS[fmt](run), encoding="utf-8")
