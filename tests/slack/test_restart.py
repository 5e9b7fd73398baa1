"""A redeploy loses no acknowledged Slack question: SIGTERM during a burst, restart, count every answer.

``assistant serve`` runs under gunicorn with the bot on, talking to the fake Slack. The fake holds
every Web API call (its gate is closed) while the first half of a burst is acknowledged, so when
SIGTERM arrives none of those questions has been answered yet: all of them sit in the worker's
queue. The gate opens once the worker has logged that it is draining; the process must answer
them all before it exits. A second server on the same conversation store then takes the second
half. Slack resends nothing it had a 200 for, so every acknowledged question must be answered.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.settings import Settings
from assistant.slack.verify import signature
from tests.fakes import free_port
from tests.slack.fake_slack import BOT_USER_ID, FakeSlack
from tests.slack.helpers import CHANNEL, SECRET, TEAM, TOKEN, USER
from tests.web.test_serve import wait_until_ready

pytestmark = pytest.mark.slow
BURST = 12
QUESTIONS = ["Does IV ketamine work for treatment-resistant depression?", "How fast does esketamine act?",
             "What are the side effects of ketamine?", "Does ketamine reduce suicidal thoughts?"]


class Served:
    def __init__(self, settings: Settings, fake: FakeSlack, workdir: Path, name: str) -> None:
        self.port = free_port()
        self.log = workdir / f"{name}.log"
        env = {**os.environ,
               "ASSISTANT_DATA_DIR": str(settings.data_dir),
               "ASSISTANT_PROMPTS_DIR": str(settings.prompts_dir),
               "ASSISTANT_INDEX__RELOAD_INTERVAL_S": "0",
               "ASSISTANT_WEB__RATE_LIMIT": "1000/minute",
               "ASSISTANT_WEB__CONVERSATIONS_URL": f"sqlite:///{workdir / 'conversations.sqlite3'}",
               "SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": TOKEN, "SLACK_API_BASE_URL": fake.api_url,
               "SLACK_WORKERS": "1"}
        with self.log.open("w") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "assistant.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--workers", "1", "--threads", "4"], env=env, stdout=sink, stderr=subprocess.STDOUT)
        wait_until_ready(f"http://127.0.0.1:{self.port}", self.process)

    def mention(self, n: int) -> int:
        ts = f"1700009000.{n:06d}"
        event = {"type": "app_mention", "user": USER, "channel": CHANNEL, "team": TEAM, "ts": ts,
                 "text": f"<@{BOT_USER_ID}> {QUESTIONS[n % len(QUESTIONS)]}"}
        body = json.dumps({"team_id": TEAM, "api_app_id": "A0APP", "type": "event_callback", "event_id": f"EvR{n:05d}",
                           "event_time": 1700009000, "event": event}).encode()
        stamp = str(int(time.time()))
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/slack/events", data=body, method="POST",
            headers={"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
                     "X-Slack-Signature": signature(SECRET, stamp, body)})
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)

    def logged(self, message_prefix: str) -> list[dict]:
        lines = [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]
        return [line for line in lines if str(line.get("message", "")).startswith(message_prefix)]

    def wait_logged(self, message_prefix: str, timeout_s: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if found := self.logged(message_prefix):
                return found[0]
            time.sleep(0.1)
        raise AssertionError(f"{message_prefix!r} not logged within {timeout_s}s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.gate.set()
    fake.stop()


def answered(fake: FakeSlack) -> set[str]:
    """Thread roots that got an answer (the placeholder's thread, once updated)."""
    threads = {c.reply["ts"]: c.body["thread_ts"] for c in fake.calls("chat.postMessage")}
    return {threads[c.body["ts"]] for c in fake.calls("chat.update") if c.body["ts"] in threads}


def test_sigterm_during_a_burst_then_restart_answers_every_acknowledged_question(
        shipped_settings: Settings, fake: FakeSlack, tmp_path: Path) -> None:
    first = Served(shipped_settings, fake, tmp_path, "first")
    try:
        fake.gate.clear()  # from here on, Slack "is slow": nothing can be answered yet
        acks = [first.mention(n) for n in range(BURST // 2)]
        first.process.send_signal(signal.SIGTERM)
        draining = first.wait_logged("slack draining")
        fake.gate.set()
        exit_code = first.process.wait(timeout=60)
    finally:
        fake.gate.set()
        if first.process.poll() is None:
            first.stop()

    assert acks == [200] * (BURST // 2) and exit_code == 0
    assert draining["pending"] == BURST // 2, "SIGTERM arrived with the whole first half still unanswered"
    assert first.logged("slack drained") and not first.logged("slack drain timed out")

    second = Served(shipped_settings, fake, tmp_path, "second")
    try:
        acks += [second.mention(n) for n in range(BURST // 2, BURST)]
        fake.wait_for("chat.update", count=BURST, timeout_s=120)
    finally:
        second.stop()

    expected = {f"1700009000.{n:06d}" for n in range(BURST)}
    print(f"restart test: {len(acks)} acknowledged, {len(answered(fake))} answered, "
          f"{len(expected - answered(fake))} lost")
    assert acks == [200] * BURST
    assert answered(fake) == expected, "every acknowledged question answered, none twice"
    assert len(fake.calls("chat.update")) == len(fake.calls("chat.postMessage")) == BURST
