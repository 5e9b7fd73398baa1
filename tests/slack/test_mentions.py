"""Mentions and direct messages: acknowledged at once, answered in the asking message's thread, once."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from flask import Flask

from assistant.index import MiniLMEmbedder
from assistant.services import build_services
from assistant.settings import Settings
from assistant.web import create_app
from tests.slack.fake_slack import BOT_ID, BOT_USER_ID, FakeSlack
from tests.slack.helpers import CHANNEL, TEAM, USER, Slack, extension, next_ts, settle, slack_settings, texts


def test_a_mention_is_acknowledged_at_once_and_answered_in_its_thread_with_cited_blocks(
        slack: Slack, fake_slack: FakeSlack, slack_app: Flask) -> None:
    ts = next_ts()
    started = time.monotonic()
    response = slack.mention("Does IV ketamine work for treatment-resistant depression?", ts=ts)
    acked_in = time.monotonic() - started

    assert response.status_code == 200 and acked_in < 3.0
    (placeholder,) = fake_slack.wait_for("chat.postMessage")
    assert placeholder.body["channel"] == CHANNEL and placeholder.body["thread_ts"] == ts
    assert placeholder.body["text"] == "Looking at the evidence…" and placeholder.body["unfurl_links"] is False
    (call,) = fake_slack.wait_for("chat.update")
    assert call.body["channel"] == CHANNEL and call.body["ts"] == placeholder.reply["ts"], "the placeholder becomes it"
    shown = texts(call.blocks)
    assert "[1]" in shown
    assert "*References*\n<https://doi.org/10." in shown
    assert ":warning:" in next(b for b in call.blocks if b["type"] == "context")["elements"][0]["text"]
    assert "[1]" in call.body["text"] and "<" not in call.body["text"].split("References")[0]
    assert fake_slack.calls("auth.test") == [], "bolt is never allowed to ask Slack who it is"


def test_the_buttons_name_the_turn_stored_in_the_conversation_of_the_thread(
        slack: Slack, fake_slack: FakeSlack, slack_app: Flask) -> None:
    ts = next_ts()
    slack.mention("How fast does ketamine act on depressive symptoms?", ts=ts)

    (call,) = fake_slack.wait_for("chat.update")
    (actions,) = [b for b in call.blocks if b["type"] == "actions"]
    message_id = actions["elements"][0]["value"]
    store = slack_app.extensions["assistant"].conversations
    conversation = store.get_conversation(store.get_or_create_by_ref(f"slack:{TEAM}:{CHANNEL}:{ts}", "slack"))
    assert conversation is not None and conversation.channel == "slack"
    assert [(t.message_id, t.user) for t in conversation.turns] == [
        (message_id, "How fast does ketamine act on depressive symptoms?")]


def test_a_follow_up_in_the_thread_is_answered_with_the_threads_history(
        slack: Slack, fake_slack: FakeSlack, slack_app: Flask) -> None:
    root = next_ts()
    slack.mention("How fast does IV ketamine work in treatment-resistant depression?", ts=root)
    fake_slack.wait_for("chat.update")

    slack.mention("What about its side effects?", thread_ts=root)

    _, second = fake_slack.wait_for("chat.update", count=2)
    assert [p.body["thread_ts"] for p in fake_slack.calls("chat.postMessage")] == [root, root]
    assert "*References*" in texts(second.blocks), "answered from evidence, not refused as out of scope"
    store = slack_app.extensions["assistant"].conversations
    conversation = store.get_conversation(store.get_or_create_by_ref(f"slack:{TEAM}:{CHANNEL}:{root}", "slack"))
    assert conversation is not None and len(conversation.turns) == 2
    assert "treatment-resistant" in conversation.turns[1].answer["standalone_query"]


def test_a_direct_message_is_answered_in_its_thread(slack: Slack, fake_slack: FakeSlack) -> None:
    ts = next_ts()
    slack.direct_message("Is esketamine nasal spray approved for depression?", ts=ts)

    (placeholder,) = fake_slack.wait_for("chat.postMessage")
    assert placeholder.body["channel"] == "D0DIRECT" and placeholder.body["thread_ts"] == ts
    (call,) = fake_slack.wait_for("chat.update")
    assert "[1]" in texts(call.blocks)


@pytest.mark.parametrize(("kind", "event"), [
    ("our own reply in the DM", {"type": "message", "channel_type": "im", "channel": "D0DIRECT", "user": BOT_USER_ID,
                                 "bot_id": BOT_ID, "text": "Bottom line: ...", "ts": "1700003000.000001"}),
    ("another bot's mention", {"type": "app_mention", "channel": CHANNEL, "user": "U0OTHERBOT", "bot_id": "B0OTHER",
                               "text": f"<@{BOT_USER_ID}> does ketamine work?", "ts": "1700003000.000002"}),
    ("an edit", {"type": "message", "subtype": "message_changed", "channel_type": "im", "channel": "D0DIRECT",
                 "message": {"user": USER, "text": "edited question"}, "ts": "1700003000.000003"}),
    ("a deletion", {"type": "message", "subtype": "message_deleted", "channel_type": "im", "channel": "D0DIRECT",
                    "ts": "1700003000.000004"}),
    ("a channel message without a mention", {"type": "message", "channel_type": "channel", "channel": CHANNEL,
                                             "user": USER, "text": "does ketamine work?", "ts": "1700003000.000005"}),
])
def test_messages_the_bot_must_not_answer_are_acknowledged_and_ignored(
        slack: Slack, fake_slack: FakeSlack, slack_app: Flask, kind: str, event: dict) -> None:
    response = slack.event(event)

    assert response.status_code == 200, kind
    settle(slack_app)
    assert fake_slack.calls() == []


def test_a_bare_mention_gets_a_hint_instead_of_an_answer(slack: Slack, fake_slack: FakeSlack) -> None:
    slack.mention("")

    (call,) = fake_slack.wait_for("chat.postMessage")
    assert "Ask me a question about ketamine" in call.body["text"]


def test_an_overlong_question_is_declined_with_the_limit(slack: Slack, fake_slack: FakeSlack) -> None:
    slack.mention("ketamine " * 400)

    (call,) = fake_slack.wait_for("chat.postMessage")
    assert "too long" in call.body["text"] and "2000" in call.body["text"]


@pytest.mark.parametrize("retry_reason", ["http_timeout", "http_error"])
def test_a_retried_event_is_acknowledged_but_answered_once(
        slack: Slack, fake_slack: FakeSlack, slack_app: Flask, retry_reason: str) -> None:
    first = slack.mention("Does ketamine reduce suicidal thoughts?", event_id="EvRETRY1", ts="1700004000.000001")
    retries = [slack.mention("Does ketamine reduce suicidal thoughts?", event_id="EvRETRY1", ts="1700004000.000001",
                             headers={"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": retry_reason})
               for n in (1, 2, 3)]

    assert [r.status_code for r in (first, *retries)] == [200, 200, 200, 200]
    settle(slack_app)
    assert len(fake_slack.calls("chat.postMessage")) == 1


def test_a_repeated_event_id_without_retry_headers_is_answered_once(
        slack: Slack, fake_slack: FakeSlack, slack_app: Flask) -> None:
    for _ in range(2):
        assert slack.mention("Is ketamine addictive?", event_id="EvSAME", ts="1700004000.000002").status_code == 200

    settle(slack_app)
    assert len(fake_slack.calls("chat.postMessage")) == 1


def test_one_message_delivered_as_two_events_is_answered_once(
        slack: Slack, fake_slack: FakeSlack, slack_app: Flask) -> None:
    ts = "1700004000.000003"
    event = {"user": USER, "text": f"<@{BOT_USER_ID}> Is ketamine addictive?", "ts": ts, "channel": "D0DIRECT"}
    slack.event({"type": "app_mention", **event})
    slack.event({"type": "message", "channel_type": "im", **event})

    settle(slack_app)
    assert len(fake_slack.calls("chat.postMessage")) == 1


def test_a_timed_out_retry_of_an_event_this_process_never_saw_is_left_to_the_worker_that_has_it(
        slack: Slack, fake_slack: FakeSlack, slack_app: Flask) -> None:
    response = slack.mention("Is ketamine addictive?", event_id="EvOTHERWORKER",
                             headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})

    assert response.status_code == 200 and response.headers["X-Slack-No-Retry"] == "1"
    settle(slack_app)
    assert fake_slack.calls() == []


def test_when_the_index_is_missing_the_thread_is_told_so_without_internals(
        shipped_settings: Settings, embedder: MiniLMEmbedder, fake_slack: FakeSlack, tmp_path: Path) -> None:
    settings = slack_settings(shipped_settings, tmp_path, fake_slack.api_url).model_copy(
        update={"data_dir": tmp_path / "no-index"})
    app = create_app(settings, build_services(settings, embedder=embedder))
    try:
        Slack(app.test_client(), fake_slack).mention("Does ketamine help depression?")
        (call,) = fake_slack.wait_for("chat.update")
    finally:
        extension(app).worker.shutdown()

    assert call.body["text"] == "The evidence index is not available right now. Please try again shortly."
    assert "ingest" not in json.dumps(call.body), "the operator's hint stays in the log"


def test_when_the_placeholder_cannot_be_updated_the_answer_is_posted_in_the_thread(
        slack: Slack, fake_slack: FakeSlack, slack_app: Flask) -> None:
    fake_slack.errors["chat.update"] = "message_not_found"  # e.g. someone deleted the placeholder
    ts = next_ts()
    slack.mention("Does ketamine help depression quickly?", ts=ts)

    _, answer = fake_slack.wait_for("chat.postMessage", count=2)
    assert answer.body["thread_ts"] == ts and "*References*" in texts(answer.blocks)


def test_top_level_direct_messages_continue_the_dms_recent_conversation(
        slack: Slack, fake_slack: FakeSlack, slack_app: Flask) -> None:
    slack.direct_message("How fast does IV ketamine work in treatment-resistant depression?", channel="D0CONTINUE")
    fake_slack.wait_for("chat.update")
    slack.direct_message("What about its side effects?", channel="D0CONTINUE")  # a new top-level message

    _, second = fake_slack.wait_for("chat.update", count=2)
    assert "*References*" in texts(second.blocks)
    store = slack_app.extensions["assistant"].conversations
    found = store.latest_by_ref_prefix(f"slack:{TEAM}:D0CONTINUE:")
    assert found is not None
    conversation = store.get_conversation(found[0])
    assert conversation is not None and len(conversation.turns) == 2
    assert "treatment-resistant" in conversation.turns[1].answer["standalone_query"]


def test_with_the_dm_window_at_zero_each_top_level_direct_message_starts_a_conversation(
        shipped_settings: Settings, embedder: MiniLMEmbedder, fake_slack: FakeSlack, tmp_path: Path) -> None:
    settings = slack_settings(shipped_settings, tmp_path, fake_slack.api_url, dm_context_window_s=0)
    app = create_app(settings, build_services(settings, embedder=embedder))
    slack = Slack(app.test_client(), fake_slack)
    try:
        first, second = next_ts(), next_ts()
        slack.direct_message("How fast does IV ketamine work in treatment-resistant depression?", ts=first)
        slack.direct_message("What about its side effects?", ts=second)
        fake_slack.wait_for("chat.update", count=2)
        settle(app)
    finally:
        extension(app).worker.shutdown()

    store = app.extensions["assistant"].conversations
    for ts in (first, second):
        conversation = store.get_conversation(store.get_or_create_by_ref(f"slack:{TEAM}:D0DIRECT:{ts}", "slack"))
        assert conversation is not None and len(conversation.turns) == 1


def test_the_history_setting_that_serves_the_http_api_sets_how_much_of_a_thread_a_follow_up_sees(
        shipped_settings: Settings, embedder: MiniLMEmbedder, fake_slack: FakeSlack, tmp_path: Path) -> None:
    settings = slack_settings(shipped_settings, tmp_path, fake_slack.api_url)
    settings = settings.model_copy(update={"web": settings.web.model_copy(update={"history_turns": 0})})
    app = create_app(settings, build_services(settings, embedder=embedder))
    slack = Slack(app.test_client(), fake_slack)
    try:
        root = next_ts()
        slack.mention("How fast does IV ketamine work in treatment-resistant depression?", ts=root)
        fake_slack.wait_for("chat.update")
        slack.mention("What about its side effects?", thread_ts=root)
        fake_slack.wait_for("chat.update", count=2)
        settle(app)
        store = app.extensions["assistant"].conversations
        conversation = store.get_conversation(store.get_or_create_by_ref(f"slack:{TEAM}:{CHANNEL}:{root}", "slack"))
    finally:
        extension(app).worker.shutdown()
    assert conversation is not None and len(conversation.turns) == 2
    # With no earlier turns to read, the follow-up is asked as it was typed (the test above sees it condensed).
    assert "treatment-resistant" not in (conversation.turns[1].answer["standalone_query"] or "")
