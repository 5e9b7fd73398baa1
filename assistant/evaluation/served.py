"""`assistant serve` started as a real process on a loopback port, for benchmarks and fault tests.

The benchmarks measure the deployment as it runs (gunicorn master, forked workers, threads),
not the Flask app in-process, so they start the same command an operator would. The gunicorn
master is the process started here; its children are the workers, whose memory is read from
``/proc`` through psutil (resident now, and the kernel's high-water mark).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from assistant.settings import Settings, to_env

# Workers load the index before they serve, so a 503 that lasts this long after they are up is not a slow start.
NOT_READY_GRACE_S = 8.0


class ServeError(Exception):
    """The server did not start or did not become ready; the message carries its log's tail."""


@dataclass(frozen=True)
class WorkerMemory:
    pid: int
    rss_mb: float
    peak_mb: float  # VmHWM: the largest resident size this process ever had


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServedApp:
    """A running `assistant serve`; use :func:`serve` to start one."""

    def __init__(self, process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
        self.process = process
        self.base_url = base_url
        self.log_path = log_path

    def worker_pids(self) -> list[int]:
        try:
            return sorted(child.pid for child in psutil.Process(self.process.pid).children())
        except psutil.NoSuchProcess:
            return []

    def worker_memory(self) -> list[WorkerMemory]:
        found = []
        for pid in self.worker_pids():
            try:
                found.append(WorkerMemory(pid, psutil.Process(pid).memory_info().rss / 2**20, _peak_mb(pid)))
            except (psutil.NoSuchProcess, FileNotFoundError, ProcessLookupError):
                continue  # a worker that gunicorn is replacing right now
        return found

    def kill_worker(self, pid: int, timeout_s: float = 10.0) -> None:
        """SIGKILL a worker and return once it has exited (its sockets are closed then).

        A kill is not instantaneous: a 700 MB process takes some milliseconds to be torn down, and
        until then the kernel still hands new connections to the listening socket it owns (gunicorn
        gives each worker its own with ``reuse_port``). Requests sent in that window went to a dying
        worker; returning only after the exit lets a caller tell them from requests sent afterwards.
        """
        if pid not in self.worker_pids():
            raise ValueError(f"{pid} is not a worker of this server")
        worker = psutil.Process(pid)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if worker.status() == psutil.STATUS_ZOMBIE:  # exited; gunicorn has not reaped it yet
                    return
            except psutil.NoSuchProcess:
                return
            time.sleep(0.001)
        raise ServeError(f"worker {pid} was still running {timeout_s:.0f} s after SIGKILL")

    def wait_for_workers(self, count: int, timeout_s: float = 60.0, exclude: frozenset[int] = frozenset()) -> None:
        """Until ``count`` workers not in ``exclude`` are up and /readyz answers 200 again."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if len(set(self.worker_pids()) - exclude) >= count and self.ready():
                return
            time.sleep(0.2)
        raise ServeError(f"{count} workers were not back within {timeout_s:.0f} s\n{self.log_tail()}")

    def ready(self) -> bool:
        try:
            return httpx.get(self.base_url + "/readyz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def readiness(self) -> str:
        """/readyz's own words, for an error message."""
        try:
            return httpx.get(self.base_url + "/readyz", timeout=5).text
        except httpx.HTTPError as exc:
            return f"/readyz does not answer ({exc.__class__.__name__})"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def serve(settings: Settings, log_path: Path, workers: int, threads: int, port: int | None = None,
          start_timeout_s: float = 120.0) -> Iterator[ServedApp]:
    """Start `assistant serve` configured exactly by ``settings`` and stop it on exit.

    Ready means /readyz says 200 *and* every worker is up: gunicorn answers from the first worker
    that booted, so waiting for one 200 would start a benchmark on half the capacity. A server whose
    workers are up but which stays not-ready (no index, say) fails fast with /readyz's reason.
    """
    port = port or free_port()
    # The child's configuration comes only from ``settings``; the rest of the environment (PATH,
    # HOME, locale) is passed through because Python and gunicorn need it.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "SLACK_"))}
    env.update(to_env(settings))
    command = [sys.executable, "-m", "assistant.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers), "--threads", str(threads)]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    served = ServedApp(process, f"http://127.0.0.1:{port}", log_path)
    try:
        deadline = time.monotonic() + start_timeout_s
        workers_up_at: float | None = None
        while not (len(served.worker_pids()) >= workers and served.ready()):
            if process.poll() is not None:
                raise ServeError(f"assistant serve exited with {process.returncode}\n{served.log_tail()}")
            if time.monotonic() > deadline:
                raise ServeError(f"assistant serve was not ready within {start_timeout_s:.0f} s\n{served.log_tail()}")
            if len(served.worker_pids()) >= workers:
                workers_up_at = workers_up_at or time.monotonic()
                if time.monotonic() - workers_up_at > NOT_READY_GRACE_S:
                    raise ServeError(f"assistant serve is up but not ready: {served.readiness()}")
            time.sleep(0.2)
        _warm_every_worker(served, workers)
        yield served
    finally:
        stop(process)


def _warm_every_worker(served: ServedApp, workers: int) -> None:
    """Workers load models at boot, but a first request still pays for lazy imports; pay it now."""
    with httpx.Client(base_url=served.base_url, timeout=30) as http:
        for _ in range(workers * 2):
            http.get("/readyz")


def stop(process: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        for child in psutil.Process(process.pid).children(recursive=True):
            child.kill()
        process.kill()
        process.wait()
