"""The slash command: a private answer first, shared in the channel only when the asker chooses."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.slack.fake_slack import FakeSlack
from tests.slack.helpers import CHANNEL, USER, Slack, settle, texts

QUESTION = "How fast does esketamine nasal spray work?"


def buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    return {e["action_id"]: e["value"] for e in actions["elements"]}


def test_the_command_is_acknowledged_with_a_short_private_note_and_answered_privately_to_the_asker(
        slack: Slack, fake_slack: FakeSlack) -> None:
    response = slack.command(QUESTION)

    assert response.status_code == 200 and response.get_json()["response_type"] == "ephemeral"
    assert response.get_json()["text"].startswith("Looking at the evidence")
    (call,) = fake_slack.wait_for("chat.postEphemeral")
    assert call.body["channel"] == CHANNEL and call.body["user"] == USER
    assert call.blocks[0]["elements"][0]["text"] == f"*You asked:* {QUESTION}"
    assert "[1]" in texts(call.blocks) and "*References*" in texts(call.blocks)
    assert set(buttons(call.blocks)) == {"feedback_up", "feedback_down", "share_answer"}
    assert fake_slack.calls("chat.postMessage") == [], "nothing in the channel yet"


def test_share_posts_the_stored_answer_in_the_channel_and_removes_the_private_copy(
        slack: Slack, fake_slack: FakeSlack, slack_app: Flask) -> None:
    hook = fake_slack.response_url("T1/999/sharehook")
    slack.command(QUESTION)
    (private,) = fake_slack.wait_for("chat.postEphemeral")

    response = slack.click("share_answer", buttons(private.blocks)["share_answer"], ephemeral=True, response_url=hook)

    assert response.status_code == 200
    (shared,) = fake_slack.wait_for("chat.postMessage")
    assert shared.body["channel"] == CHANNEL and "thread_ts" not in shared.body
    assert shared.blocks[0]["elements"][0]["text"] == f"<@{USER}> asked: {QUESTION}"
    assert texts(shared.blocks[1:]) == texts(private.blocks[1:]).replace(":thumbsdown: Not helpful\nShare in channel",
                                                                         ":thumbsdown: Not helpful")
    assert "share_answer" not in buttons(shared.blocks)
    (deleted,) = fake_slack.wait_for("response_url")
    assert deleted.path.endswith("/sharehook") and deleted.body == {"delete_original": True}


def test_where_the_bot_is_not_a_member_the_commands_response_url_carries_the_answer(
        slack: Slack, fake_slack: FakeSlack, slack_app: Flask) -> None:
    fake_slack.errors = {"chat.postEphemeral": "not_in_channel", "chat.postMessage": "not_in_channel"}
    slack.command(QUESTION, channel="C0NOTMEMBER", response_url=fake_slack.response_url("T1/1/cmdhook"))

    (private,) = fake_slack.wait_for("response_url")
    assert private.body["response_type"] == "ephemeral" and "[1]" in texts(private.blocks)

    slack.click("share_answer", buttons(private.blocks)["share_answer"], channel="C0NOTMEMBER", ephemeral=True,
                response_url=fake_slack.response_url("T1/2/sharehook"))
    _, shared, deleted = fake_slack.wait_for("response_url", count=3)
    assert shared.body["response_type"] == "in_channel" and shared.body["replace_original"] is False
    assert deleted.body == {"delete_original": True}


def test_a_share_that_cannot_be_posted_anywhere_keeps_the_private_answer(
        slack: Slack, fake_slack: FakeSlack, slack_app: Flask) -> None:
    slack.command(QUESTION)
    (private,) = fake_slack.wait_for("chat.postEphemeral")
    fake_slack.errors = {"chat.postMessage": "not_in_channel", "response_url": "expired_url"}

    slack.click("share_answer", buttons(private.blocks)["share_answer"], ephemeral=True)

    settle(slack_app)
    (attempt,) = fake_slack.calls("response_url")
    assert attempt.body["response_type"] == "in_channel", "tried, and no delete_original followed"


def test_a_crisis_answer_comes_first_and_cannot_be_shared(slack: Slack, fake_slack: FakeSlack) -> None:
    slack.command("I want to end my life, would ketamine help?")

    (call,) = fake_slack.wait_for("chat.postEphemeral")
    assert call.blocks[0]["type"] == "header" and "read this first" in call.blocks[0]["text"]["text"]
    assert "988" in call.blocks[1]["text"]["text"]
    assert call.body["text"].startswith("I'm really sorry you're feeling this way")
    assert "share_answer" not in buttons(call.blocks)


def test_an_empty_command_is_answered_with_help_in_the_acknowledgement(
        slack: Slack, fake_slack: FakeSlack, slack_app: Flask) -> None:
    response = slack.command("   ")

    assert response.status_code == 200
    assert response.get_json()["response_type"] == "ephemeral"
    assert response.get_json()["text"].startswith("Ask me a question about ketamine")
    settle(slack_app)
    assert fake_slack.calls() == []


def test_a_share_of_an_answer_that_is_no_longer_stored_says_so(
        slack: Slack, fake_slack: FakeSlack, slack_app: Flask) -> None:
    slack.click("share_answer", "conv_gone:msg_gone", ephemeral=True)

    (told,) = fake_slack.wait_for("response_url")
    assert "no longer stored" in told.body["text"]
    settle(slack_app)
    assert fake_slack.calls("chat.postMessage") == []
