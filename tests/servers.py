"""Real servers that deployments put beside the app (Redis, a Chroma server), started on loopback.

A test that needs one starts it here and stops it when done; CI gets the programs from
`make test` (redis-server from Debian's packages, `chroma` from the Chroma package).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.fakes import free_port


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"{what} exited early with {process.returncode}")
            time.sleep(0.1)
    process.kill()
    pytest.fail(f"{what} did not listen on {port} within {timeout_s:.0f} s")


@contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """A throwaway Redis (no persistence) on a free loopback port; yields its URL."""
    program = shutil.which("redis-server")
    if program is None:
        pytest.fail("redis-server is missing: `make test` installs it (apt-get install redis-server)")
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process, "redis-server")
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


class ChromaServer:
    """`chroma run` on a fixed loopback port over a data path; can be stopped and started again."""

    def __init__(self, path: Path, port: int | None = None) -> None:
        self.path = path
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        chroma = Path(sys.executable).with_name("chroma")
        self.process = subprocess.Popen(
            [str(chroma), "run", "--host", "127.0.0.1", "--port", str(self.port), "--path", str(self.path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.process, "chroma run")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None


@contextmanager
def chroma_server(path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
