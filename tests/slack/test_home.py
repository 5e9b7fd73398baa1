"""The App Home tab: what the bot does, how to ask, its limits, and where crisis help is."""

from __future__ import annotations

import json

from flask import Flask

from tests.slack.fake_slack import FakeSlack
from tests.slack.helpers import USER, Slack, settle, texts


def test_opening_the_home_tab_publishes_the_guide_with_the_products_crisis_text(
        slack: Slack, fake_slack: FakeSlack, slack_app: Flask) -> None:
    slack.event({"type": "app_home_opened", "user": USER, "channel": "D0DIRECT", "tab": "home",
                 "event_ts": "1700005000.000001"})

    (call,) = fake_slack.wait_for("views.publish")
    view = json.loads(call.body["view"]) if isinstance(call.body["view"], str) else call.body["view"]
    assert call.body["user_id"] == USER and view["type"] == "home"
    shown = texts(view["blocks"])
    for heading in ("*What this bot does*", "*How to ask*", "*Limits*"):
        assert heading in shown
    assert "`/evidence <question>`" in shown
    crisis = slack_app.extensions["assistant"].answers.crisis.resources("en")
    first_line = crisis.strip().splitlines()[0]
    assert first_line.split(",")[0] in shown, "the crisis help is the product's crisis text, not a copy"
    assert len(view["blocks"]) <= 100 and all(len(b.get("text", {}).get("text", "")) <= 3000 for b in view["blocks"])


def test_opening_the_messages_tab_publishes_nothing(slack: Slack, fake_slack: FakeSlack, slack_app: Flask) -> None:
    slack.event({"type": "app_home_opened", "user": USER, "channel": "D0DIRECT", "tab": "messages",
                 "event_ts": "1700005000.000002"})

    settle(slack_app)
    assert fake_slack.calls() == []
