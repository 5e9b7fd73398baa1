"""Feedback buttons: stored beside the HTTP API's feedback, and acknowledged to the person who clicked."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.slack.fake_slack import FakeSlack
from tests.slack.helpers import Slack, settle


@pytest.mark.parametrize(("action_id", "rating", "thanks"), [
    ("feedback_up", "up", "Thanks, noted as helpful."),
    ("feedback_down", "down", "Thanks, noted as not helpful. It helps us improve."),
])
def test_a_click_is_stored_against_the_answer_and_acknowledged_privately(
        slack: Slack, fake_slack: FakeSlack, slack_app: Flask, action_id: str, rating: str, thanks: str) -> None:
    slack.mention("Does ketamine help depression quickly?")
    (answer,) = fake_slack.wait_for("chat.update")
    (actions,) = [b for b in answer.blocks if b["type"] == "actions"]
    message_id = next(e["value"] for e in actions["elements"] if e["action_id"] == action_id)

    assert slack.click(action_id, message_id).status_code == 200

    (reply,) = fake_slack.wait_for("response_url")
    assert reply.body == {"text": thanks, "response_type": "ephemeral", "replace_original": False}
    (stored,) = slack_app.extensions["assistant"].conversations.feedback_for(message_id)
    assert (stored.rating, stored.source, stored.comment) == (rating, "slack", None)


def test_feedback_for_an_unknown_answer_is_not_stored(slack: Slack, fake_slack: FakeSlack, slack_app: Flask) -> None:
    slack.click("feedback_up", "msg_does_not_exist")

    (reply,) = fake_slack.wait_for("response_url")
    assert "no longer stored" in reply.body["text"]
    settle(slack_app)
    assert slack_app.extensions["assistant"].conversations.feedback_for("msg_does_not_exist") == []
