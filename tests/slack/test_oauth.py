"""OAuth installs into many workspaces: bolt's OAuth flow, installations in the conversation database.

Each workspace is installed through ``/slack/install`` and the redirect URL exactly as a browser
would (state in the URL and in a cookie, the code exchanged with ``oauth.v2.access`` on the fake
Slack), and each is then answered with its own token. ``tokens_revoked`` and ``app_uninstalled``
delete an installation, after which that workspace is no longer answered.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from assistant.index import MiniLMEmbedder
from assistant.services import build_services
from assistant.settings import Settings
from assistant.web import create_app
from tests.slack.fake_slack import BOT_USER_ID, OAUTH_TOKEN_PREFIX, FakeSlack
from tests.slack.helpers import CHANNEL, USER, Slack, extension, next_ts, settle, slack_settings


@pytest.fixture
def oauth_app(shipped_settings: Settings, embedder: MiniLMEmbedder, fake_slack: FakeSlack,
              tmp_path: Path) -> Iterator[Flask]:
    settings = slack_settings(shipped_settings, tmp_path, fake_slack.api_url, bot_token=None,
                              client_id="1111.2222", client_secret="oauth-client-secret-3c9f")
    app = create_app(settings, build_services(settings, embedder=embedder))
    yield app
    extension(app).worker.shutdown(wait=True)


def install(client: FlaskClient, team: str) -> int:
    """Click "Add to Slack", approve in Slack (code-<team>), come back to the redirect URL."""
    started = client.get("/slack/install")
    assert started.status_code == 302
    authorize = urlparse(started.headers["Location"])
    query = parse_qs(authorize.query)
    assert query["client_id"] == ["1111.2222"]
    assert query["scope"] == ["app_mentions:read,chat:write,im:history,commands"]
    return client.get(f"/slack/oauth_redirect?code=code-{team}&state={query['state'][0]}").status_code


def mention(slack: Slack, team: str, text: str) -> None:
    event = {"type": "app_mention", "user": USER, "text": f"<@{BOT_USER_ID}> {text}", "ts": next_ts(),
             "channel": CHANNEL, "team": team}
    slack_event(slack, team, event)


def slack_event(slack: Slack, team: str, event: dict[str, Any]) -> None:
    body = {"team_id": team, "api_app_id": "A0APP", "type": "event_callback", "event_id": f"Ev{next_ts()}",
            "event_time": 1700001000, "event": event}
    assert slack.post(json.dumps(body).encode(), "application/json").status_code == 200


def installed_teams(app: Flask) -> list[str]:
    engine = app.extensions["assistant"].conversations.engine
    with engine.connect() as conn:
        return sorted(r[0] for r in conn.execute(sa.text("SELECT DISTINCT team_id FROM slack_bots")))


def test_two_workspaces_install_and_each_is_answered_with_its_own_token(
        oauth_app: Flask, fake_slack: FakeSlack) -> None:
    browser = oauth_app.test_client()
    assert install(browser, "T1") == 200 and install(browser, "T2") == 200
    assert installed_teams(oauth_app) == ["T1", "T2"]
    (exchange, _) = fake_slack.calls("oauth.v2.access")
    assert exchange.body["code"] == "code-T1"
    assert exchange.authorization == "Basic " + base64.b64encode(b"1111.2222:oauth-client-secret-3c9f").decode()

    slack = Slack(oauth_app.test_client(), fake_slack)
    mention(slack, "T1", "Does IV ketamine help treatment-resistant depression?")
    mention(slack, "T2", "How fast does esketamine work?")
    updates = fake_slack.wait_for("chat.update", count=2)
    settle(oauth_app)

    assert sorted(u.authorization for u in updates) == [f"Bearer {OAUTH_TOKEN_PREFIX}T1",
                                                        f"Bearer {OAUTH_TOKEN_PREFIX}T2"]
    assert oauth_app.test_client().get("/readyz").get_json()["details"]["slack"] == {"ready": True}


def test_an_install_with_a_forged_state_is_refused_and_stores_nothing(
        oauth_app: Flask, fake_slack: FakeSlack) -> None:
    browser = oauth_app.test_client()
    browser.get("/slack/install")

    response = browser.get("/slack/oauth_redirect?code=code-T9&state=forged-state")

    assert response.status_code >= 400
    assert fake_slack.calls("oauth.v2.access") == [] and installed_teams(oauth_app) == []


@pytest.mark.parametrize("event", [
    {"type": "app_uninstalled"},
    {"type": "tokens_revoked", "tokens": {"bot": [BOT_USER_ID]}},
])
def test_revoked_or_uninstalled_workspaces_are_forgotten_and_no_longer_answered(
        oauth_app: Flask, fake_slack: FakeSlack, event: dict[str, Any]) -> None:
    browser = oauth_app.test_client()
    install(browser, "T1")
    install(browser, "T2")
    slack = Slack(oauth_app.test_client(), fake_slack)

    slack_event(slack, "T2", event)
    settle(oauth_app)
    assert installed_teams(oauth_app) == ["T1"]

    fake_slack.forget()
    mention(slack, "T2", "Does ketamine help depression?")
    mention(slack, "T1", "Does ketamine help depression?")
    (update,) = fake_slack.wait_for("chat.update")
    settle(oauth_app)
    assert update.authorization == f"Bearer {OAUTH_TOKEN_PREFIX}T1"
    assert not [c for c in fake_slack.calls() if c.authorization == f"Bearer {OAUTH_TOKEN_PREFIX}T2"
                and c.method != "auth.test"]
