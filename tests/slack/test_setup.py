"""Setting the bot up in the order Slack asks for things: a Slack problem never takes the HTTP API down.

Slack verifies the Events URL before the app is installed, so the service must come up with the
signing secret alone. A token that is missing, of the wrong kind, or refused by ``auth.test``
disables the bot with the reason, in the log and in ``/readyz``; the HTTP API stays ready.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask

from assistant.index import MiniLMEmbedder
from assistant.services import build_services
from assistant.settings import Settings
from assistant.web import create_app
from tests.slack.fake_slack import FakeSlack
from tests.slack.helpers import TOKEN, Slack, extension, settle, slack_settings


@pytest.fixture
def make_slack_app(shipped_settings: Settings, embedder: MiniLMEmbedder, fake_slack: FakeSlack,
                   tmp_path: Path) -> Iterator[Any]:
    made: list[Flask] = []

    def make(**slack: Any) -> Flask:
        settings = slack_settings(shipped_settings, tmp_path, fake_slack.api_url, **slack)
        app = create_app(settings, build_services(settings, embedder=embedder))
        made.append(app)
        return app

    yield make
    for app in made:
        extension(app).worker.shutdown(wait=True)


def readyz(app: Flask) -> tuple[int, dict[str, Any]]:
    response = app.test_client().get("/readyz")
    return response.status_code, response.get_json()


def test_with_the_signing_secret_alone_the_service_starts_and_answers_url_verification(
        make_slack_app: Any, fake_slack: FakeSlack) -> None:
    app = make_slack_app(bot_token=None)
    slack = Slack(app.test_client(), fake_slack)

    body = {"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification"}
    response = slack.post(json.dumps(body).encode(), "application/json")

    assert response.status_code == 200
    assert response.get_json() == {"challenge": body["challenge"]}
    status, ready = readyz(app)
    assert status == 200 and ready["ready"] is True
    assert ready["details"]["slack"] == {"ready": False, "reason": "no bot token"}
    assert app.test_client().get("/v1/sources").status_code == 200


def test_without_a_token_events_are_acknowledged_and_not_answered_and_a_command_is_told_why(
        make_slack_app: Any, fake_slack: FakeSlack) -> None:
    app = make_slack_app(bot_token=None)
    slack = Slack(app.test_client(), fake_slack)

    assert slack.mention("Does ketamine help depression?").status_code == 200
    command = slack.command("Does ketamine help depression?")

    assert command.status_code == 200
    assert command.get_json()["response_type"] == "ephemeral" and "not set up" in command.get_json()["text"]
    settle(app)
    assert fake_slack.calls() == []


@pytest.mark.parametrize(("token", "reason"), [
    ("xapp-1-A0APP-1234-appleveltoken", "wrong token type (xapp-)"),
    ("xoxp-1111-2222-usertoken", "wrong token type (xoxp-)"),
    ("not-a-token-at-all", "wrong token type (not a Slack token)"),
])
def test_a_token_of_the_wrong_type_disables_the_bot_with_that_reason(
        make_slack_app: Any, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture, token: str, reason: str) -> None:
    with caplog.at_level(logging.WARNING, logger="assistant.slack"):
        app = make_slack_app(bot_token=token)

    status, ready = readyz(app)
    assert status == 200 and ready["ready"] is True
    assert ready["details"]["slack"]["ready"] is False and ready["details"]["slack"]["reason"].startswith(reason)
    (logged,) = [r for r in caplog.records if r.getMessage().startswith("slack bot disabled")]
    assert reason in logged.getMessage()
    assert token not in json.dumps(ready) and token not in caplog.text
    assert fake_slack.calls("auth.test") == [], "a token of the wrong kind is not even sent to Slack"


def test_a_token_that_fails_auth_test_disables_the_bot_with_slacks_error(
        make_slack_app: Any, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    fake_slack.errors["auth.test"] = "invalid_auth"
    with caplog.at_level(logging.WARNING, logger="assistant.slack"):
        app = make_slack_app()
    slack = Slack(app.test_client(), fake_slack)

    _, ready = readyz(app)
    assert ready["ready"] is True
    assert ready["details"]["slack"] == {"ready": False, "reason": "auth.test failed: invalid_auth"}
    assert "slack bot disabled: auth.test failed: invalid_auth" in caplog.text
    slack.mention("Does ketamine help depression?")
    settle(app)
    assert [c.method for c in fake_slack.calls()] == ["auth.test"], "nothing is posted with a refused token"


def test_a_good_token_is_checked_once_at_start_up_and_the_bot_is_ready(
        make_slack_app: Any, fake_slack: FakeSlack) -> None:
    app = make_slack_app()

    (check,) = fake_slack.calls("auth.test")
    assert check.authorization == f"Bearer {TOKEN}"
    _, ready = readyz(app)
    assert ready["details"]["slack"] == {"ready": True}


def test_slack_being_unreachable_at_start_up_disables_the_bot_not_the_service(
        make_slack_app: Any, fake_slack: FakeSlack) -> None:
    fake_slack.stop()
    app = make_slack_app()

    status, ready = readyz(app)
    assert status == 200 and ready["details"]["slack"]["ready"] is False
    assert ready["details"]["slack"]["reason"].startswith("auth.test failed: Slack not reachable")


def test_bolt_does_not_warn_that_the_token_from_the_environment_is_unused(
        make_slack_app: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)  # bolt reads it itself; the settings read it too
    with caplog.at_level(logging.WARNING):
        make_slack_app()

    assert not [r for r in caplog.records if "unused" in r.getMessage() or "ignored" in r.getMessage()]


def test_a_forged_request_is_still_refused_while_the_bot_is_disabled(
        make_slack_app: Any, fake_slack: FakeSlack) -> None:
    app = make_slack_app(bot_token=None)
    slack = Slack(app.test_client(), fake_slack)
    form = urlencode({"command": "/evidence", "text": "hi"}).encode()

    assert slack.post(form, "application/x-www-form-urlencoded", secret="not-the-secret").status_code == 401
    assert slack.post(form, "application/x-www-form-urlencoded", timestamp=1).status_code == 401
