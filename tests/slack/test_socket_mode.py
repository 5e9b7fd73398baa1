"""Socket Mode: no public URL; the bot connects out to (a fake of) Slack's WebSocket and answers from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from assistant.index import MiniLMEmbedder
from assistant.services import build_services
from assistant.settings import Settings
from assistant.slack import drain_slack
from assistant.web import create_app
from tests.slack.fake_slack import BOT_USER_ID, FakeSlack
from tests.slack.fake_socket_mode import FakeSocketMode
from tests.slack.helpers import CHANNEL, TEAM, USER, extension, next_ts, slack_settings, texts

APP_TOKEN = "xapp-1-A0APP-1234-socketmodetoken"


@pytest.fixture
def socket_server(fake_slack: FakeSlack) -> Iterator[FakeSocketMode]:
    server = FakeSocketMode().start()
    fake_slack.socket_url = server.url
    yield server
    server.stop()


@pytest.fixture
def socket_app(shipped_settings: Settings, embedder: MiniLMEmbedder, fake_slack: FakeSlack,
               socket_server: FakeSocketMode, tmp_path: Path) -> Iterator[Flask]:
    settings = slack_settings(shipped_settings, tmp_path, fake_slack.api_url, signing_secret=None,
                              socket_mode=True, app_token=APP_TOKEN)
    app = create_app(settings, build_services(settings, embedder=embedder))
    yield app
    drain_slack(app, 20.0)


def test_a_mention_over_the_socket_is_acknowledged_and_answered_in_its_thread(
        socket_app: Flask, fake_slack: FakeSlack, socket_server: FakeSocketMode) -> None:
    (opened,) = fake_slack.calls("apps.connections.open")
    assert opened.authorization == f"Bearer {APP_TOKEN}"
    ts = next_ts()
    event = {"type": "app_mention", "user": USER, "text": f"<@{BOT_USER_ID}> Does IV ketamine help depression?",
             "ts": ts, "channel": CHANNEL, "team": TEAM}
    socket_server.send("env-1", "events_api", {"team_id": TEAM, "api_app_id": "A0APP", "type": "event_callback",
                                               "event_id": "EvSOCKET1", "event_time": 1700001000, "event": event})

    assert socket_server.wait_for_ack("env-1") == {"envelope_id": "env-1"}
    (placeholder,) = fake_slack.wait_for("chat.postMessage")
    (answer,) = fake_slack.wait_for("chat.update")
    assert placeholder.body["thread_ts"] == ts and "*References*" in texts(answer.blocks)
    assert socket_app.test_client().get("/readyz").get_json()["details"]["slack"] == {"ready": True}
    assert socket_app.test_client().post("/slack/events").status_code == 404, "no public endpoint in socket mode"


def test_without_an_app_level_token_socket_mode_is_disabled_with_the_reason(
        shipped_settings: Settings, embedder: MiniLMEmbedder, fake_slack: FakeSlack, tmp_path: Path) -> None:
    settings = slack_settings(shipped_settings, tmp_path, fake_slack.api_url, signing_secret=None,
                              socket_mode=True, app_token="xoxb-not-an-app-token")
    app = create_app(settings, build_services(settings, embedder=embedder))
    try:
        body = app.test_client().get("/readyz").get_json()
    finally:
        extension(app).worker.shutdown()

    assert body["ready"] is True
    assert body["details"]["slack"]["ready"] is False and "app-level token" in body["details"]["slack"]["reason"]
    assert fake_slack.calls("apps.connections.open") == []
