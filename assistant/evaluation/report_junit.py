"""The replay run as JUnit XML: one testcase per turn, for CI systems that chart test results.

A turn that failed a check is a ``<failure>`` whose message is its first problem and whose text
lists them all; a turn that got no answer is an ``<error>``. Provenance goes into the suite's
``<properties>``, scorer verdicts and metadata into each testcase's ``<properties>``. ElementTree
escapes every value, so anything typed into a conversation file stays text.
"""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from assistant.evaluation.replay import ReplayRun, TurnResult


def _flat(prefix: str, value: object) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in _flat(f"{prefix}.{key}" if prefix else key, item)]
    return [(prefix, "" if value is None else value if isinstance(value, str) else json.dumps(value))]


def _properties(parent: ET.Element, pairs: list[tuple[str, str]]) -> None:
    if pairs:
        properties = ET.SubElement(parent, "properties")
        for name, value in pairs:
            ET.SubElement(properties, "property", name=name, value=value)


def _testcase(suite: ET.Element, result: TurnResult) -> None:
    seconds = (result.latency_ms or 0.0) / 1000
    case = ET.SubElement(suite, "testcase", classname=f"replay.{result.turn.kind}", name=result.label,
                         time=f"{seconds:.3f}")
    pairs = [(f"scorer.{v.scorer}.{key}", "" if value is None else str(value))
             for v in result.score.verdicts for key, value in (("passed", v.passed), ("score", v.score),
                                                                ("reason", v.reason))]
    _properties(case, pairs + _flat("meta", result.meta) if result.meta else pairs)
    problems = result.problems()
    if result.score.error:
        ET.SubElement(case, "error", message=problems[0], type="no_answer").text = "\n".join(problems)
    elif problems:
        ET.SubElement(case, "failure", message=problems[0], type="check_failed").text = "\n".join(problems)
    ET.SubElement(case, "system-out").text = f"user: {result.turn.user}\n\n" + (
        result.answer.answer if result.answer else "(no answer)")


def render_junit(run: ReplayRun) -> str:
    totals = run.totals
    root = ET.Element("testsuites", name="assistant replay", tests=str(totals.turns),
                      failures=str(totals.turns - totals.passed - totals.errors), errors=str(totals.errors),
                      time=f"{run.seconds:.3f}")
    suite = ET.SubElement(root, "testsuite", name="replay", tests=str(totals.turns),
                          failures=str(totals.turns - totals.passed - totals.errors), errors=str(totals.errors),
                          skipped="0", time=f"{run.seconds:.3f}", timestamp=str(run.provenance.get("run_at", "")))
    _properties(suite, _flat("", run.provenance))
    for result in run.results:
        _testcase(suite, result)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
