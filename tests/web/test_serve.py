"""`assistant serve` under gunicorn: workers load the index once, at start-up, and answer over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.settings import Settings
from tests.fakes import free_port

pytestmark = pytest.mark.slow
WORKERS = 2
START_TIMEOUT_S = 60


@pytest.fixture(scope="module")
def served(shipped_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """One server for the module: starting gunicorn and its workers is the slow part."""
    tmp_path = tmp_path_factory.mktemp("serve")
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ,
           "ASSISTANT_DATA_DIR": str(shipped_settings.data_dir),
           "ASSISTANT_PROMPTS_DIR": str(shipped_settings.prompts_dir),
           "ASSISTANT_INDEX__RELOAD_INTERVAL_S": "0",
           "ASSISTANT_WEB__CONVERSATIONS_URL": f"sqlite:///{tmp_path / 'conversations.sqlite3'}"}
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(WORKERS), "--threads", "2"], env=env, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, process)
        yield base, log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, "assistant serve exited during start-up"
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            # The kernel queues a connection on the listening socket before any worker has finished loading
            # the index, so an early request can time out rather than be refused: both mean "not yet".
            time.sleep(0.3)
    pytest.fail("assistant serve did not become ready in time")


def post(url: str, body: dict) -> tuple[int, dict, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def index_loads(log: Path) -> list[int]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line["pid"] for line in lines if line.get("message") == "index loaded"]


def test_each_worker_loads_the_index_once_at_start_up_and_never_per_request(served: tuple[str, Path]) -> None:
    base, log = served
    deadline = time.monotonic() + 20
    while len(index_loads(log)) < WORKERS and time.monotonic() < deadline:
        time.sleep(0.2)
    at_start = index_loads(log)
    assert len(at_start) == len(set(at_start)) == WORKERS

    for _ in range(6):
        status, headers, body = post(base + "/v1/chat", {"message": "Does ketamine help depression quickly?"})
        assert status == 200 and body["citations"] and headers["X-Request-ID"]

    assert index_loads(log) == at_start


def test_bad_input_over_real_http_is_a_json_error(served: tuple[str, Path]) -> None:
    base, _ = served

    status, headers, body = post(base + "/v1/chat", {"message": "x" * 5000})

    assert status == 422 and body["error"]["field"] == "message"
    assert headers["X-Request-ID"] == body["error"]["request_id"]
