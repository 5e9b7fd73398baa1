"""`assistant bench http` and `assistant bench load`: the served API under concurrent clients.

Both start `assistant serve` (gunicorn, the configured workers and threads) on a loopback port
with the caller's settings, except two things a benchmark must not inherit: its own conversation
store in a scratch directory (thousands of benchmark turns do not belong in the real one) and a
rate limit high enough that the benchmark measures answering, not refusing. A warm-up with as
many clients as the server has threads runs first, so "memory at the start" is a worker that has
embedded its answer sentences and grown its inference buffers to full concurrency, not one that
has only booted; growth after that is what a leak would show.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.conversations import make_store
from assistant.evaluation.load import HEADER, LoadPlan, LoadResult, render, run_load
from assistant.evaluation.served import ServedApp, WorkerMemory, serve
from assistant.settings import Settings, WebSettings

BENCH_RATE_LIMIT = "1000000/minute"
WARM_UP_S = 10.0


@dataclass(frozen=True)
class Run:
    label: str
    plan: LoadPlan


@dataclass
class BenchReport:
    workers: int
    threads: int
    results: list[tuple[str, LoadResult]] = field(default_factory=list)
    memory: list[tuple[str, list[WorkerMemory]]] = field(default_factory=list)  # (when, per worker)
    killed: list[int] = field(default_factory=list)
    killed_at: float | None = None  # time.monotonic() of the SIGKILL
    replacements: list[int] = field(default_factory=list)
    completed_turns: int = 0
    stored_turns: int = 0
    missing_turns: int = 0

    @property
    def errors(self) -> int:
        return sum(len(result.errors) for _, result in self.results)

    def unexplained_errors(self) -> int:
        """Failures other than requests already sent when a worker was killed (those were in flight,
        on a connection the dead worker held, and may fail; anything sent later must not)."""
        if self.killed_at is None:
            return self.errors
        return sum(1 for _, result in self.results for sample in result.errors
                   if result.began + sample.started >= self.killed_at)

    def growth(self) -> list[tuple[int, float, float, float]]:
        """(pid, start MB, end MB, growth %) for workers alive at both the first and the last reading."""
        if len(self.memory) < 2:
            return []
        start = {m.pid: m.rss_mb for m in self.memory[0][1]}
        end = {m.pid: m.rss_mb for m in self.memory[-1][1]}
        return [(pid, start[pid], end[pid], (end[pid] - start[pid]) / start[pid] * 100)
                for pid in sorted(start.keys() & end.keys())]


def bench_settings(settings: Settings, workdir: Path) -> Settings:
    web = settings.web.model_dump()
    web.update(rate_limit=BENCH_RATE_LIMIT, conversations_url=f"sqlite:///{(workdir / 'bench.sqlite3').resolve()}")
    return settings.model_copy(update={"web": WebSettings(**web)})


def run_bench(settings: Settings, questions: Sequence[str], runs: Sequence[Run], workdir: Path,
              workers: int, threads: int, kill_worker_after_s: float | None = None) -> BenchReport:
    """Serve, warm up, run each plan in turn, and read worker memory before, between and after.

    ``kill_worker_after_s`` SIGKILLs one worker that many seconds into the first measured run;
    afterwards every completed turn must be in the conversation store.
    """
    settings = bench_settings(settings, workdir)
    report = BenchReport(workers, threads)
    keys = [key.get_secret_value() for key in settings.web.api_keys[:1]]
    completed_ids: list[str] = []
    with serve(settings, workdir / "serve.log", workers, threads) as served:
        warm_up = LoadPlan(clients=workers * threads, duration_s=WARM_UP_S)
        warm = run_load(served.base_url, questions, _with_keys(warm_up, keys))
        completed_ids += [s.message_id for s in warm.completed if s.message_id]
        report.memory.append(("start (after warm-up)", served.worker_memory()))
        for number, run in enumerate(runs):
            killer = None
            if number == 0 and kill_worker_after_s is not None:
                killer = threading.Timer(kill_worker_after_s, _kill_one, args=(served, report))
                killer.start()
            result = run_load(served.base_url, questions, _with_keys(run.plan, keys))
            if killer is not None:
                killer.join()
            report.results.append((run.label, result))
            completed_ids += [s.message_id for s in result.completed if s.message_id]
            report.memory.append((f"after {run.label}", served.worker_memory()))
        report.replacements = sorted(set(served.worker_pids()) - {m.pid for m in report.memory[0][1]})
    store = make_store(settings.web.conversations_url, settings.data_dir)
    report.completed_turns = len(completed_ids)
    report.stored_turns = store.count_turns()
    report.missing_turns = sum(not store.message_exists(message_id) for message_id in completed_ids)
    return report


def _with_keys(plan: LoadPlan, keys: list[str]) -> LoadPlan:
    return dataclasses.replace(plan, api_keys=tuple(keys) or plan.api_keys)


def _kill_one(served: ServedApp, report: BenchReport) -> None:
    pids = served.worker_pids()
    if pids:
        report.killed_at = time.monotonic()
        served.kill_worker(pids[0])
        report.killed.append(pids[0])


def render_report(report: BenchReport) -> str:
    lines = [f"assistant serve: {report.workers} workers x {report.threads} threads (gunicorn gthread), loopback",
             "", HEADER]
    for label, result in report.results:
        lines.append(render(result, label))
        if result.plan.stream:
            lines.append(f"{'':<22} first SSE event p50 {result.first_event_ms(50):.1f} ms, "
                         f"p95 {result.first_event_ms(95):.1f} ms")
        if result.errors:
            kinds = ", ".join(f"{kind} x{count}" for kind, count in result.error_kinds().most_common())
            lines.append(f"{'':<22} errors: {kinds}")
    lines += ["", "worker memory (RSS MB; peak = VmHWM since the worker started):"]
    for when, workers in report.memory:
        shown = "  ".join(f"pid {m.pid}: {m.rss_mb:.0f} (peak {m.peak_mb:.0f})" for m in workers)
        lines.append(f"  {when:<28} {shown}")
    growth = report.growth()
    if growth:
        worst = max(g for *_, g in growth)
        lines.append("  growth start->end: " + ", ".join(f"pid {pid} {a:.0f}->{b:.0f} MB ({g:+.1f}%)"
                                                       for pid, a, b, g in growth) + f"; worst {worst:+.1f}%")
    if report.killed:
        lines.append(f"\nkilled worker(s) {report.killed} with SIGKILL; gunicorn started {report.replacements}; "
                     f"{report.errors - report.unexplained_errors()} requests in flight failed, "
                     f"{report.unexplained_errors()} sent after the kill failed")
    lines.append(f"turns: {report.completed_turns} completed by clients, {report.stored_turns} in the store, "
                 f"{report.missing_turns} completed turns missing from the store")
    return "\n".join(lines)


def worst_growth(report: BenchReport) -> float:
    growth = report.growth()
    return max((g for *_, g in growth), default=math.nan)
