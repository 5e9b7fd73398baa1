"""`assistant bench http` and `assistant bench load`: the served API under concurrent clients.

Both start `assistant serve` (gunicorn, the configured workers and threads) on a loopback port
with the caller's settings, except two things a benchmark must not inherit: its own conversation
store in a scratch directory (thousands of benchmark turns do not belong in the real one) and a
rate limit high enough that the benchmark measures answering, not refusing. A warm-up with as
many clients as the largest run (at least one per server thread) runs first, so "memory at the
start" is a worker that has embedded its answer sentences and grown its inference buffers to
full concurrency, not one that has only booted; growth after that is what a leak would show.

Before that warm-up, `bench http` can measure what a fresh server costs a new question: one
client asks ``cold_questions`` questions nobody has asked yet, one turn each, then as many other
never-asked questions about the same studies. The two medians, side by side, show how much of an
answer's time goes into work a worker does on first sight (embedding sentences, loading a
generation) rather than into the question itself.
"""

from __future__ import annotations

import dataclasses
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from assistant.conversations import make_store
from assistant.evaluation.load import HEADER, LoadPlan, LoadResult, Sample, render, run_load
from assistant.evaluation.served import ServedApp, WorkerMemory, serve
from assistant.settings import Settings, WebSettings

BENCH_RATE_LIMIT = "1000000/minute"
WARM_UP_S = 10.0


@dataclass(frozen=True)
class Run:
    label: str
    plan: LoadPlan


@dataclass(frozen=True)
class GreedyClient:
    """One extra client that asks as fast as it can under its own key, to show the limit holds:
    it must get exactly ``limit`` answers in all (whichever worker answers), while the ordinary
    clients, each under its own key and well below the limit, get no 429 at all. The limit is per
    hour so that a run never straddles two windows."""

    limit_per_hour: int


@dataclass
class GreedyResult:
    limit_per_hour: int
    storage: str
    statuses: Counter[int] = field(default_factory=Counter)
    served_by: set[int] = field(default_factory=set)  # worker pids (from the access log) that answered 200


@dataclass
class BenchReport:
    workers: int
    threads: int
    results: list[tuple[str, LoadResult]] = field(default_factory=list)
    memory: list[tuple[str, list[WorkerMemory]]] = field(default_factory=list)  # (when, per worker)
    killed: list[int] = field(default_factory=list)
    kill_sent_at: float | None = None  # time.monotonic() of the SIGKILL
    killed_at: float | None = None  # time.monotonic() once the worker had exited
    greedy: GreedyResult | None = None
    replacements: list[int] = field(default_factory=list)
    completed_turns: int = 0
    stored_turns: int = 0
    missing_turns: int = 0
    cold: tuple[LoadResult, LoadResult] | None = None  # (first ask, same questions again) on a fresh server

    @property
    def errors(self) -> int:
        return sum(len(result.errors) for _, result in self.results)

    def unexplained_errors(self) -> int:
        """Failures other than requests sent to a killed worker: those sent before it had exited (in flight, on a
        connection or in the accept queue of the dying worker) and those sent after it on a connection kept alive
        from before the kill (``errors_on_kept_connections``) may fail; anything else sent after it was gone must
        not."""
        if self.killed_at is None:
            return self.errors
        return sum(1 for _, result in self.results for sample in result.errors
                   if result.began + sample.started >= self.killed_at) - self.errors_on_kept_connections()

    def errors_on_kept_connections(self) -> int:
        """Failures of requests sent after the killed worker had exited, each the first its client sent after the
        kill, whose previous request had been answered before the kill: a client keeps its connection alive, so
        that request went out on the connection it last used, which may have been to the killed worker. A client
        drops a connection that failed, so each client has at most one such failure."""
        if self.kill_sent_at is None or self.killed_at is None:
            return 0
        count = 0
        for _, result in self.results:
            by_client: dict[int, list[Sample]] = {}
            for sample in sorted(result.samples, key=lambda s: s.started):
                by_client.setdefault(sample.client, []).append(sample)
            for samples in by_client.values():
                after = next((i for i, s in enumerate(samples) if result.began + s.started >= self.kill_sent_at),
                             None)
                if after is None or after == 0:
                    continue
                first, previous = samples[after], samples[after - 1]
                if (not first.ok and result.began + first.started >= self.killed_at and previous.ok
                        and result.began + previous.started + previous.seconds < self.kill_sent_at):
                    count += 1
        return count

    def errors_while_exiting(self) -> int:
        """Failures of requests sent after the SIGKILL but before the worker had exited."""
        if self.kill_sent_at is None or self.killed_at is None:
            return 0
        return sum(1 for _, result in self.results for sample in result.errors
                   if self.kill_sent_at <= result.began + sample.started < self.killed_at)

    def growth(self) -> list[tuple[int, float, float, float]]:
        """(pid, start MB, end MB, growth %) for workers alive at both the first and the last reading."""
        if len(self.memory) < 2:
            return []
        start = {m.pid: m.rss_mb for m in self.memory[0][1]}
        end = {m.pid: m.rss_mb for m in self.memory[-1][1]}
        return [(pid, start[pid], end[pid], (end[pid] - start[pid]) / start[pid] * 100)
                for pid in sorted(start.keys() & end.keys())]


GREEDY_KEY = "bench-greedy-client"
GREEDY_OVERTIME_S = 60.0


def client_keys(clients: int, prefix: str = "bench-client") -> list[str]:
    return [f"{prefix}-{n}" for n in range(clients)]


def bench_settings(settings: Settings, workdir: Path, greedy: GreedyClient | None = None,
                   clients: int = 0, warm_up_clients: int = 0) -> Settings:
    web = settings.web.model_dump()
    web.update(rate_limit=BENCH_RATE_LIMIT, conversations_url=f"sqlite:///{(workdir / 'bench.sqlite3').resolve()}")
    if greedy is not None:
        # The warm-up has keys of its own, so the measured clients start with untouched limits.
        web.update(rate_limit=f"{greedy.limit_per_hour}/hour", api_keys=[
            *client_keys(clients), *client_keys(warm_up_clients, "bench-warm-up"), GREEDY_KEY])
    return settings.model_copy(update={"web": WebSettings(**web)})


def run_bench(settings: Settings, questions: Sequence[str], runs: Sequence[Run], workdir: Path,
              workers: int, threads: int, kill_worker_after_s: float | None = None,
              greedy: GreedyClient | None = None, warm_up_s: float = WARM_UP_S,
              cold_questions: int = 0) -> BenchReport:
    """Serve, warm up, run each plan in turn, and read worker memory before, between and after.

    ``kill_worker_after_s`` SIGKILLs one worker that many seconds into the first measured run;
    afterwards every completed turn must be in the conversation store. ``greedy`` adds a client
    over its rate limit for the whole of the measured runs. ``cold_questions`` first times that
    many never-asked questions on the fresh server, then as many others.
    """
    clients = max((run.plan.clients for run in runs), default=1)
    # As many warm-up clients as the largest run (and at least one per thread): the kernel spreads
    # connections over the workers unevenly, and a worker that warmed up below its full thread
    # concurrency reaches its steady memory only during the run, which would read as growth.
    warm_clients = max(workers * threads, clients)
    settings = bench_settings(settings, workdir, greedy, clients, warm_clients)
    report = BenchReport(workers, threads)
    keys = (client_keys(clients) if greedy is not None
            else [key.get_secret_value() for key in settings.web.api_keys[:1]])
    warm_up_keys = client_keys(warm_clients, "bench-warm-up") if greedy is not None else keys
    completed_ids: list[str] = []
    with serve(settings, workdir / "serve.log", workers, threads) as served:
        if cold_questions:
            report.cold = _cold_then_warm(served.base_url, questions, cold_questions, keys)
        warm_up = LoadPlan(clients=warm_clients, duration_s=warm_up_s)
        warm = run_load(served.base_url, questions, _with_keys(warm_up, warm_up_keys))
        completed_ids += [s.message_id for s in warm.completed if s.message_id]
        report.memory.append(("start (after warm-up)", served.worker_memory()))
        greedy_thread, greedy_stop = None, threading.Event()
        if greedy is not None:
            report.greedy = GreedyResult(greedy.limit_per_hour, settings.web.rate_limit_storage)
            greedy_thread = threading.Thread(target=_ask_greedily, args=(
                served.base_url, greedy_stop, report.greedy), daemon=True)
            greedy_thread.start()
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
        greedy_stop.set()
        if greedy_thread is not None:
            greedy_thread.join()
        report.replacements = sorted(set(served.worker_pids()) - {m.pid for m in report.memory[0][1]})
        if report.greedy is not None:
            report.greedy.served_by = _greedy_workers(served.log_path)
    store = make_store(settings.web.conversations_url, settings.data_dir)
    report.completed_turns = len(completed_ids)
    report.stored_turns = store.count_turns()
    report.missing_turns = sum(not store.message_exists(message_id) for message_id in completed_ids)
    return report


def _cold_then_warm(base_url: str, questions: Sequence[str], count: int,
                    keys: list[str]) -> tuple[LoadResult, LoadResult]:
    """``count`` distinct questions spread over the file (so over many studies), one turn each, on the
    fresh server; then ``count`` other questions, interleaved with the first (so about the same
    studies), which the now warm server has not been asked either. Both pay for their own question
    embedding; what the cold ones pay on top is work the server does on first sight."""
    distinct = list(dict.fromkeys(questions))
    step = max(2, len(distinct) // count)
    cold = distinct[::step][:count]
    warm = distinct[step // 2::step][:count] or cold  # a file of one question can only be asked again
    plan = LoadPlan(1, duration_s=3600, turns_per_conversation=1)
    return (run_load(base_url, cold, _with_keys(dataclasses.replace(plan, max_requests=len(cold)), keys)),
            run_load(base_url, warm, _with_keys(dataclasses.replace(plan, max_requests=len(warm)), keys)))


def _with_keys(plan: LoadPlan, keys: list[str]) -> LoadPlan:
    return dataclasses.replace(plan, api_keys=tuple(keys) or plan.api_keys)


def _ask_greedily(base_url: str, stop: threading.Event, result: GreedyResult) -> None:
    """GET /v1/sources (cheap, so the limit and not the answer time bounds it) on fresh connections,
    which the kernel spreads over the workers, as fast as one thread can; after ``stop``, it goes on
    until it has been refused once (at most GREEDY_OVERTIME_S), so that the limit is always reached."""
    headers = {"Authorization": f"Bearer {GREEDY_KEY}", "Connection": "close"}
    overtime: float | None = None
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
        while True:
            if stop.is_set():
                overtime = overtime or time.monotonic() + GREEDY_OVERTIME_S
                if result.statuses[429] or time.monotonic() > overtime:
                    return
            try:
                status = http.get("/v1/sources").status_code
            except httpx.HTTPError:
                status = 0
            result.statuses[status] += 1


def _greedy_workers(log_path: Path) -> set[int]:
    pids = set()
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("{") and '"/v1/sources"' in line:
            entry = json.loads(line)
            if entry.get("path") == "/v1/sources" and entry.get("status") == 200:
                pids.add(int(entry["pid"]))
    return pids


def _kill_one(served: ServedApp, report: BenchReport) -> None:
    pids = served.worker_pids()
    if pids:
        report.kill_sent_at = time.monotonic()
        served.kill_worker(pids[0])
        report.killed_at = time.monotonic()
        report.killed.append(pids[0])


def render_report(report: BenchReport) -> str:
    lines = [f"assistant serve: {report.workers} workers x {report.threads} threads (gunicorn gthread), loopback",
             "", HEADER]
    if report.cold is not None:
        cold, warm = report.cold
        lines += [render(cold, "cold (first ask)"), render(warm, "warm (new questions)")]
    for label, result in report.results:
        lines.append(render(result, label))
        if result.plan.stream:
            lines.append(f"{'':<22} first SSE event p50 {result.first_event_ms(50):.1f} ms, "
                         f"p95 {result.first_event_ms(95):.1f} ms; first text delta p50 "
                         f"{result.first_delta_ms(50):.1f} ms, p95 {result.first_delta_ms(95):.1f} ms")
        if result.errors:
            kinds = ", ".join(f"{kind} x{count}" for kind, count in result.error_kinds().most_common())
            lines.append(f"{'':<22} errors: {kinds}")
    if report.cold is not None:
        cold, warm = report.cold
        lines.append(f"{'':<22} cold p50 {cold.latency_ms(50):.1f} ms / warm p50 {warm.latency_ms(50):.1f} ms = "
                     f"{cold.latency_ms(50) / warm.latency_ms(50):.2f}x on a fresh server, "
                     f"{len(cold.samples)} + {len(warm.samples)} never-asked questions")
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
        kept = report.errors_on_kept_connections()
        before = report.errors - report.unexplained_errors() - report.errors_while_exiting() - kept
        lines.append(f"\nkilled worker(s) {report.killed} with SIGKILL; gunicorn started {report.replacements}; "
                     f"it exited {(report.killed_at or 0) - (report.kill_sent_at or 0):.3f} s after the signal; "
                     f"failed: {before} requests sent before the kill, {report.errors_while_exiting()} sent while it "
                     f"was exiting, {kept} sent after it on a connection kept from before it, "
                     f"{report.unexplained_errors()} sent after it had exited")
    if report.greedy is not None:
        g = report.greedy
        others = sum(result.statuses().get("429", 0) for _, result in report.results)
        lines.append(f"\nrate limit {g.limit_per_hour}/hour per key, storage {g.storage}: the greedy client got "
                     f"{g.statuses.get(200, 0)} answers and {g.statuses.get(429, 0)} refusals (429), answered by "
                     f"{len(g.served_by)} worker(s); the other clients got {others} refusals")
    lines.append(f"turns: {report.completed_turns} completed by clients, {report.stored_turns} in the store, "
                 f"{report.missing_turns} completed turns missing from the store")
    return "\n".join(lines)


def worst_growth(report: BenchReport) -> float:
    growth = report.growth()
    return max((g for *_, g in growth), default=math.nan)
