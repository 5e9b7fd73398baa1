"""Real servers that deployments put beside the app (Redis, PostgreSQL, a Chroma server), on loopback.

A test that needs one starts it here and stops it when done; CI gets the programs from
`make test` (redis-server and postgresql from Debian's packages, `chroma` from the Chroma package).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
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


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    if not found:
        pytest.fail("PostgreSQL is missing: `make test` installs it (apt-get install postgresql)")
    return found[-1].parent


class PostgresServer:
    """A throwaway PostgreSQL cluster (trust auth, no fsync) on a fixed loopback port; can be stopped
    and started again over the same data.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres`` user
    that Debian's package creates, in a directory outside pytest's root-only temp folder.
    """

    def __init__(self) -> None:
        self.bin_dir = _postgres_bin()
        self.run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.data = Path(tempfile.mkdtemp(prefix="assistant-pg-"))
        if self.run_as:
            shutil.chown(self.data, "postgres", "postgres")
        subprocess.run([*self.run_as, str(self.bin_dir / "initdb"), "-D", str(self.data), "-A", "trust",
                        "-U", "assistant", "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database, as the user ``assistant``."""
        return f"postgresql+psycopg://assistant@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [*self.run_as, str(self.bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-k", str(self.data), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
             "-c", "max_connections=200"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.process, "postgres")
        self._wait_until_accepting()

    def _wait_until_accepting(self, timeout_s: float = 60.0) -> None:
        """The port opens before recovery ends ("not yet accepting connections" after an immediate stop):
        started means connections are accepted, as pg_isready reports it."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            probe = subprocess.run([str(self.bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port),
                                    "-t", "5"], capture_output=True)
            if probe.returncode == 0:
                return
            time.sleep(0.1)
        pytest.fail(f"postgres did not accept connections on {self.port} within {timeout_s:.0f} s")

    def stop(self) -> None:
        if self.process is None:
            return
        subprocess.run([*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                        "stop"], capture_output=True)
        self.process.wait(timeout=20)
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.remove()


def fresh_database(server_url: str, name: str) -> str:
    """A new, empty database on the server; returns its URL."""
    import sqlalchemy as sa

    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"
