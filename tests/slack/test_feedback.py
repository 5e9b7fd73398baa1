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


def answer_buttons(fake_slack: FakeSlack) -> dict[str, str]:
    (answer,) = fake_slack.wait_for("chat.update")
    (actions,) = [b for b in answer.blocks if b["type"] == "actions"]
    return {e["action_id"]: e["value"] for e in actions["elements"]}


def test_one_vote_per_user_per_answer_and_the_latest_vote_counts(
        slack: Slack, fake_slack: FakeSlack, slack_app: Flask) -> None:
    slack.mention("Does ketamine help depression quickly?")
    buttons = answer_buttons(fake_slack)

    for action_id in ("feedback_up", "feedback_up", "feedback_down"):
        slack.click(action_id, buttons[action_id], user="U0SAMEPERSON")
    slack.click("feedback_up", buttons["feedback_up"], user="U0SOMEONEELSE")
    fake_slack.wait_for("response_url", count=4)
    settle(slack_app)

    stored = slack_app.extensions["assistant"].conversations.feedback_for(buttons["feedback_up"])
    assert sorted(f.rating for f in stored) == ["down", "up"], "two people, two votes; the first changed their mind"
