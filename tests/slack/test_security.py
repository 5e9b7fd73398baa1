"""Only Slack gets in: signed, fresh requests; the bot is off without a secret; no secret in any log."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from flask import Flask

from assistant.index import MiniLMEmbedder
from assistant.services import build_services
from assistant.settings import Settings
from assistant.web import create_app
from tests.slack.fake_slack import FakeSlack
from tests.slack.helpers import SECRET, TOKEN, Slack, settle, slack_settings

QUESTION = {"type": "app_mention", "user": "U0ASKER", "text": "<@UBOT0001> Does ketamine help depression?",
            "ts": "1700002000.000100", "channel": "C0EVIDENCE"}
BODY = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": "EvSEC1", "event": QUESTION}).encode()


def test_the_url_verification_challenge_is_echoed(slack: Slack) -> None:
    body = json.dumps({"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"}).encode()

    response = slack.post(body, "application/json")

    assert response.status_code == 200
    assert response.get_json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


@pytest.mark.parametrize("how", ["unsigned", "wrong secret", "stale timestamp", "future timestamp",
                                 "body changed after signing"])
def test_requests_not_signed_by_slack_now_are_refused_and_nothing_happens(
        slack: Slack, slack_app: Flask, fake_slack: FakeSlack, how: str) -> None:
    now = int(time.time())
    if how == "unsigned":
        response = slack.post(BODY, "application/json", signed=False)
    elif how == "wrong secret":
        response = slack.post(BODY, "application/json", secret="not-the-signing-secret")
    elif how == "stale timestamp":
        response = slack.post(BODY, "application/json", timestamp=now - 5 * 60 - 1)
    elif how == "future timestamp":
        response = slack.post(BODY, "application/json", timestamp=now + 5 * 60 + 30)
    else:
        stamp = str(now)
        from assistant.slack.verify import signature
        response = slack.client.post("/slack/events", data=BODY.replace(b"help", b"harm"), headers={
            "Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature(SECRET, stamp, BODY)})

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    settle(slack_app)
    assert fake_slack.calls() == []
    store = slack_app.extensions["assistant"].conversations
    assert store.count_turns() == 0
    assert slack_app.extensions["assistant.slack"].recent.claim("event:EvSEC1"), "not even the event id was seen"


def test_a_refused_request_is_logged_with_its_reason_only(slack: Slack, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="assistant")

    slack.post(BODY, "application/json", timestamp=int(time.time()) - 3600)

    (refusal,) = [r for r in caplog.records if r.getMessage().startswith("slack request refused")]
    assert refusal.getMessage() == "slack request refused: stale"
    assert "ketamine" not in caplog.text, "the unverified body is never parsed or logged"


@pytest.mark.parametrize("secret", [None, "", "   "])
def test_without_a_signing_secret_there_is_no_slack_route(
        shipped_settings: Settings, embedder: MiniLMEmbedder, tmp_path: Path, secret: str | None) -> None:
    settings = slack_settings(shipped_settings, tmp_path, "http://127.0.0.1:9/api/", signing_secret=secret)
    app = create_app(settings, build_services(settings, embedder=embedder))

    response = app.test_client().post("/slack/events", data=BODY, headers={"Content-Type": "application/json"})

    assert response.status_code == 404
    assert "assistant.slack" not in app.extensions


def test_no_token_secret_or_response_url_reaches_any_log_even_at_debug(
        slack: Slack, slack_app: Flask, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="assistant")
    response_url = fake_slack.response_url("T1/4242/hooksecretpath")

    slack.mention("Does ketamine help depression?")
    slack.command("How fast does esketamine work?", response_url=response_url)
    slack.post(BODY, "application/json", secret="wrong")
    (post,) = fake_slack.wait_for("chat.update")
    fake_slack.wait_for("chat.postEphemeral")
    (actions,) = [b for b in post.blocks if b["type"] == "actions"]
    slack.click("feedback_up", actions["elements"][0]["value"], response_url=response_url)
    fake_slack.wait_for("response_url")
    settle(slack_app)

    assert post.authorization == f"Bearer {TOKEN}", "the token is used..."
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert any(r.name.startswith("assistant.slack.api") for r in caplog.records), "...the clients did log at DEBUG..."
    for secret in (TOKEN, SECRET, "hooksecretpath", "legacy-verification-token"):
        assert secret not in logged, f"...but {secret!r} never appears"


def test_user_questions_stay_out_of_info_logs(
        slack: Slack, slack_app: Flask, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    slack.mention("My name is Ada Example; does ketamine help my depression?")
    fake_slack.wait_for("chat.postMessage")
    settle(slack_app)

    assert any(r.getMessage() == "slack answer posted" for r in caplog.records)
    assert "Ada Example" not in caplog.text
