"""Writing a replay report: JSON for machines, self-contained HTML for people, chosen by the suffix."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.evaluation.replay import ReplayRun
from assistant.evaluation.report_html import render_html

REPORT_SUFFIXES = (".json", ".html")


def write_report(run: ReplayRun, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix not in REPORT_SUFFIXES:
        raise ValueError(f"a report path must end in {' or '.join(REPORT_SUFFIXES)}, not {path.name!r}")
    text = json.dumps(run.to_dict(), indent=2, ensure_ascii=False) + "\n" if suffix == ".json" else render_html(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
