"""`assistant replay FILE` (score a conversation file) and `assistant replay diff OLD.json NEW.json`.

The command only parses options, builds a transport, calls the evaluation modules and maps the
outcome onto exit codes: 0 passed, 1 a turn failed (or a threshold was missed, when thresholds are
given), 2 nothing could be judged (usage error, unusable file, unreachable service, no index).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from assistant.cli_errors import CommandFailed, ReportingGroup

if TYPE_CHECKING:
    from assistant.evaluation.conversations_file import Case
    from assistant.evaluation.replay import ReplayRun
    from assistant.evaluation.transports import Transport
    from assistant.settings import Settings

REPORT_OPTIONS = ("json", "html", "junit", "csv")


class ReplayGroup(ReportingGroup):
    """Runs ``run`` when the first argument is not a subcommand, so `assistant replay FILE` keeps working."""

    failure_exit_code = 2

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=ReplayGroup, no_args_is_help=True)
def replay() -> None:
    """Replay scripted conversations (`assistant replay FILE ...`) or compare two reports (`replay diff`)."""


def _build_transport(settings: Settings, base_url: str | None, api_key: str | None,
                     timeout: float) -> tuple[Transport, str | None, frozenset[str] | None, list[str]]:
    """The transport, the index generation, the indexed source ids (None: unknown) and warnings."""
    from assistant.evaluation.transports import HttpTransport, InProcessTransport, ReplayError

    try:
        if base_url:
            http = HttpTransport(base_url, api_key, timeout)
            ready = http.check_ready()
            try:
                ids: frozenset[str] | None = http.source_ids()
                warnings = []
            except ReplayError as exc:
                ids, warnings = None, [f"gold ids not checked against the index ({exc})"]
            return http, ready.get("collection"), ids, warnings
        from assistant.services import build_services

        local = InProcessTransport(build_services(settings))
        return local, local.index_generation(), local.source_ids(), []
    except ReplayError as exc:
        raise CommandFailed(str(exc), exit_code=2) from None


def _unknown_gold_warning(cases: list[Case], known: frozenset[str] | None) -> list[str]:
    from assistant.evaluation.scoring import unknown_gold

    where = [(f"{case.id}#{n}", gold) for case in cases for n, turn in enumerate(case.turns, 1)
             for gold in unknown_gold(turn, known)]
    if not where:
        return []
    listed = ", ".join(f"{gold} ({label})" for label, gold in where[:10]) + (" ..." if len(where) > 10 else "")
    return [f"{len(where)} gold id(s) match no indexed source, and their turns fail: {listed}"]


@replay.command("run")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--url", "base_url", help="Base URL of a running service (POST /v1/chat); unset: in-process.")
@click.option("--api-key", envvar="ASSISTANT_API_KEY", help="Bearer key for --url (default: $ASSISTANT_API_KEY).")
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the JSON report (every turn with its answer; what `replay diff` compares).")
@click.option("--html", "html_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write a self-contained HTML report for people.")
@click.option("--junit", "junit_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write JUnit XML, one testcase per turn.")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write CSV, one row per turn.")
@click.option("--report", "report_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write PATH.json or PATH.html, chosen by the suffix (older spelling of --json/--html).")
@click.option("--min-hit5", type=click.FloatRange(0, 1), help="Minimum share of gold turns citing gold in the top 5.")
@click.option("--min-facts", type=click.FloatRange(0, 1), help="Minimum share of expected facts found.")
@click.option("--min-caveat", type=click.FloatRange(0, 1), help="Minimum share of caveat turns with both caveats.")
@click.option("--min-behaviour", type=click.FloatRange(0, 1), help="Minimum share of turns behaving as their kind.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Conversations scored at once; above 1, latency comes from an extra one-at-a-time pass.")
@click.option("--warmup", type=click.IntRange(0, 1000), default=1, show_default=True,
              help="Questions asked and discarded before anything is timed.")
@click.option("--store", is_flag=True,
              help="Store the turns (in-process: channel 'replay'; --url: as web conversations). Default: not.")
@click.option("--strict", is_flag=True, help="Refuse unknown keys in FILE instead of keeping them as metadata.")
@click.option("--scorer", "scorer_specs", multiple=True, metavar="MODULE:FUNCTION",
              help="Also run this check on every answered turn (repeatable); MODULE may be a path/to/file.py.")
@click.option("--case", "case_ids", multiple=True, help="Replay only this conversation id (repeatable).")
@click.option("--timeout", type=click.FloatRange(min=1), default=60.0, show_default=True,
              help="Seconds to wait for one HTTP answer.")
@click.pass_context
def run(ctx: click.Context, file: Path, base_url: str | None, api_key: str | None, json_path: Path | None,
        html_path: Path | None, junit_path: Path | None, csv_path: Path | None, report_path: Path | None,
        min_hit5: float | None, min_facts: float | None, min_caveat: float | None, min_behaviour: float | None,
        concurrency: int, warmup: int, store: bool, strict: bool, scorer_specs: tuple[str, ...],
        case_ids: tuple[str, ...], timeout: float) -> None:
    """Replay scripted conversations and score every turn.

    Exit 0 when every turn passed (or, with --min-* thresholds, when every threshold is met and
    every turn was answered), 1 otherwise, 2 on a usage error, an unusable FILE (each bad line is
    named) or a service or index that is not there.
    """
    from assistant.evaluation import provenance
    from assistant.evaluation.conversations_file import CaseFileError, load_cases
    from assistant.evaluation.replay import Scoring
    from assistant.evaluation.replay import replay as run_replay
    from assistant.evaluation.reports import REPORT_SUFFIXES, write_report
    from assistant.evaluation.scorers import ScorerSpecError, load_scorers
    from assistant.evaluation.scoring import LeakGuard
    from assistant.evaluation.summary import render_failures, render_summary

    reports = {fmt: path for fmt, path in zip(REPORT_OPTIONS, (json_path, html_path, junit_path, csv_path),
                                                strict=True) if path}
    if report_path:
        if report_path.suffix.lower() not in REPORT_SUFFIXES:
            raise click.BadParameter("must end in .json or .html", ctx, param_hint="--report")
        reports.setdefault(REPORT_SUFFIXES[report_path.suffix.lower()], report_path)
    if base_url and not base_url.startswith(("http://", "https://")):
        raise click.BadParameter("must start with http:// or https://", ctx, param_hint="--url")
    try:
        scorers = load_scorers(scorer_specs)
    except ScorerSpecError as exc:
        raise click.BadParameter(str(exc), ctx, param_hint="--scorer") from None
    try:
        case_file = load_cases(file, strict=strict)
    except CaseFileError as exc:
        raise CommandFailed(*(str(p) for p in exc.problems), exit_code=2) from None
    cases = case_file.cases
    if case_ids:
        unknown = sorted(set(case_ids) - {case.id for case in cases})
        if unknown:
            raise click.BadParameter(f"not in {file}: {', '.join(unknown)}", ctx, param_hint="--case")
        cases = [case for case in cases if case.id in case_ids]
    settings: Settings = ctx.find_root().obj
    transport, generation, known, warnings = _build_transport(settings, base_url, api_key, timeout)
    warnings = [*case_file.warnings, *warnings, *_unknown_gold_warning(cases, known)]
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    thresholds = {metric: value for metric, value in (
        ("hit_at_5", min_hit5), ("fact_recall", min_facts), ("caveat_rate", min_caveat),
        ("behaviour_rate", min_behaviour)) if value is not None}
    scoring = Scoring(LeakGuard.from_prompts(settings.prompts_dir), known, scorers)
    outcome = run_replay(cases, transport, scoring, concurrency, thresholds, store=store, warmup=warmup)
    outcome.warnings = warnings
    outcome.provenance = provenance.collect(
        file, settings=None if base_url else settings, index_generation=generation,
        engine=_engine(outcome) if base_url else settings.answer.engine, url=base_url)
    click.echo(render_summary(outcome))
    click.echo(render_failures(outcome))
    for fmt, path in reports.items():
        write_report(outcome, path, fmt)
        click.echo(f"{fmt} report written to {path}")
    sys.exit(0 if outcome.ok else 1)


def _engine(outcome: ReplayRun) -> str | None:
    engines = sorted({r.answer.engine for r in outcome.results if r.answer})
    return ", ".join(engines) or None


@replay.command("diff")
@click.argument("old", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.argument("new", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the comparison as JSON.")
def diff(old: Path, new: Path, json_path: Path | None) -> None:
    """Compare two JSON reports: regressed and improved turns, the change in each total.

    Exit 1 when any turn regressed, 0 otherwise, 2 when a file is not a replay JSON report.
    """
    import json

    from assistant.evaluation.diff import ReportError, diff_reports, load_report, render_diff

    try:
        result = diff_reports(load_report(old), load_report(new))
    except ReportError as exc:
        raise CommandFailed(str(exc), exit_code=2) from None
    click.echo(render_diff(result))
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    sys.exit(1 if result.regressed else 0)
