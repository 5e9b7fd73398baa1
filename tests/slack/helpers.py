"""Requests as Slack sends them, and small readers for what the bot posted back.

Requests are signed with the test signing secret exactly as Slack signs them
(``v0:{timestamp}:{body}``, HMAC-SHA256) and posted through Flask's test client. ``settle``
waits (bounded) until the bot's background work is done before a test counts what was posted.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from assistant.settings import Settings, SlackSettings, WebSettings
from assistant.slack import EXTENSION, SlackExtension
from assistant.slack.verify import signature
from tests.slack.fake_slack import BOT_USER_ID, FakeSlack

SECRET = "test-signing-secret-5f1c0a9e"
TOKEN = "xoxb-1111-2222-testbottokenneverlogged"
TEAM = "T1"
CHANNEL = "C0EVIDENCE"
USER = "U0ASKER"
_ids = itertools.count(1)


def next_ts() -> str:
    return f"1700001000.{next(_ids):06d}"


def slack_settings(base: Settings, tmp_path: Path, api_url: str, **slack: Any) -> Settings:
    values: dict[str, Any] = {"signing_secret": SECRET, "bot_token": TOKEN, "api_base_url": api_url, "workers": 1}
    values.update(slack)
    web = WebSettings(**{**base.web.model_dump(),
                         "conversations_url": f"sqlite:///{tmp_path / 'conversations.sqlite3'}"})
    return base.model_copy(update={"slack": SlackSettings(**values), "web": web})


class Slack:
    """Sends what Slack would send, signed as Slack signs it."""

    def __init__(self, client: FlaskClient, fake: FakeSlack) -> None:
        self.client = client
        self.fake = fake

    def post(self, body: bytes, content_type: str, *, timestamp: int | None = None, secret: str = SECRET,
             signed: bool = True, headers: dict[str, str] | None = None) -> TestResponse:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        sent = {"Content-Type": content_type, **(headers or {})}
        if signed:
            sent |= {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature(secret, stamp, body)}
        return self.client.post("/slack/events", data=body, headers=sent)

    def event(self, event: dict[str, Any], *, event_id: str | None = None, **kwargs: Any) -> TestResponse:
        body = {"token": "legacy-verification-token", "team_id": TEAM, "api_app_id": "A0APP",
                "type": "event_callback", "event_id": event_id or f"Ev{next(_ids):08d}", "event_time": 1700001000,
                "authorizations": [{"team_id": TEAM, "user_id": BOT_USER_ID, "is_bot": True}], "event": event}
        return self.post(json.dumps(body).encode(), "application/json", **kwargs)

    def mention(self, text: str, *, ts: str | None = None, thread_ts: str | None = None, **kwargs: Any) -> TestResponse:
        event = {"type": "app_mention", "user": USER, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts or next_ts(),
                 "channel": CHANNEL, "team": TEAM}
        if thread_ts:
            event["thread_ts"] = thread_ts
        return self.event(event, **kwargs)

    def direct_message(self, text: str, *, ts: str | None = None, channel: str = "D0DIRECT",
                       **extra: Any) -> TestResponse:
        event = {"type": "message", "channel_type": "im", "channel": channel, "user": USER, "text": text,
                 "ts": ts or next_ts(), **extra}
        return self.event(event)

    def command(self, text: str, *, channel: str = CHANNEL, response_url: str | None = None) -> TestResponse:
        form = {"token": "legacy-verification-token", "team_id": TEAM, "team_domain": "test", "channel_id": channel,
                "channel_name": "evidence", "user_id": USER, "user_name": "asker", "command": "/evidence",
                "text": text, "api_app_id": "A0APP", "trigger_id": f"{next(_ids)}.1.abc",
                "response_url": response_url or self.fake.response_url()}
        return self.post(urlencode(form).encode(), "application/x-www-form-urlencoded")

    def click(self, action_id: str, value: str, *, channel: str = CHANNEL, ephemeral: bool = False,
              response_url: str | None = None, user: str = USER) -> TestResponse:
        payload = {"type": "block_actions", "team": {"id": TEAM, "domain": "test"},
                   "user": {"id": user, "team_id": TEAM}, "api_app_id": "A0APP", "token": "legacy-verification-token",
                   "container": {"type": "message", "message_ts": next_ts(), "channel_id": channel,
                                 "is_ephemeral": ephemeral},
                   "trigger_id": f"{next(_ids)}.1.def", "channel": {"id": channel, "name": "evidence"},
                   "response_url": response_url or self.fake.response_url("T1/5678/actionsecret"),
                   "actions": [{"action_id": action_id, "block_id": "answer_actions", "value": value,
                                "type": "button", "action_ts": "1700001000.1"}]}
        return self.post(urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded")


def extension(app: Flask) -> SlackExtension:
    found: SlackExtension = app.extensions[EXTENSION]
    return found


def settle(app: Flask) -> None:
    """Wait (at most 20 s) until the bot has finished everything it accepted."""
    assert extension(app).worker.drain(20.0), "background Slack work did not finish within 20 s"


def texts(blocks: list[dict[str, Any]]) -> str:
    """Every piece of text in a list of blocks, in order, for assertions that read like the message."""
    found: list[str] = []
    for block in blocks:
        if "text" in block:
            found.append(block["text"]["text"])
        found.extend(e["text"] if isinstance(e.get("text"), str) else e["text"]["text"]
                     for e in block.get("elements", []))
    return "\n".join(found)
