"""The slack_bolt ``App``: which Slack requests we listen to, and how each is handed to the bot.

Listeners stay thin and fast: they drop what must not be answered (other bots, our own posts,
edits and other message subtypes, channel messages that did not mention us), claim the message
so a double delivery is answered once, and enqueue the work. They run before bolt responds
(``process_before_response``), which is safe because they only enqueue, and it means the
acknowledgement never waits behind a busy answer pool.

Bolt would call ``auth.test`` on the first request to learn who it is; the ``authorize``
function hands it the configured token instead (checked once at start-up, see
``assistant.slack.readiness``), so no network call sits in the request path.

Bolt reads ``SLACK_BOT_TOKEN`` from the environment by itself and, since we pass our own client,
warns on every start that this token "will be unused". That is exactly our intent (the token
reaches bolt through ``authorize``, from the settings), so that one warning is filtered, by
bolt's own message function rather than a copy of its text.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient

from assistant.conversations.store import Rating
from assistant.slack.blocks import FEEDBACK_DOWN, FEEDBACK_UP, SHARE
from assistant.slack.bot import CommandQuestion, SlackBot, ThreadQuestion
from assistant.slack.dedup import RecentKeys
from assistant.slack.mrkdwn import question_from_slack
from assistant.slack.worker import Worker

BOLT_LOG = logging.getLogger("assistant.slack.bolt")
BUSY = "Too many questions at once. Please ask again in a minute."
WORKING = "Looking at the evidence… the answer will appear here, visible only to you."


class _UnusedTokenWarning(logging.Filter):
    """Drops bolt's "token will be unused" warning: we hand bolt the token through ``authorize``."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


_UNUSED_TOKEN_WARNING = _UnusedTokenWarning()


def build_bolt_app(*, signing_secret: str, token: str | None, client: WebClient, slash_command: str,
                   bot: SlackBot, worker: Worker, recent: RecentKeys, oauth: OAuthSettings | None = None,
                   verify_requests: bool = True) -> App:
    """With ``oauth``, each workspace's token comes from its installation (bolt's OAuth flow);
    otherwise ``token`` serves every request, and None means the bot is disabled and bolt only ever
    sees url_verification (see routes). ``verify_requests`` False for Socket Mode, whose requests
    carry no signature (they come over the connection the bot opened)."""
    def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult | None:
        if token is None:
            return None
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=token)

    if _UNUSED_TOKEN_WARNING not in BOLT_LOG.filters:
        BOLT_LOG.addFilter(_UNUSED_TOKEN_WARNING)
    if oauth is not None:
        app = App(name="evidence-assistant", logger=BOLT_LOG, signing_secret=signing_secret, oauth_settings=oauth,
                  client=client, process_before_response=True)
        app.enable_token_revocation_listeners()  # tokens_revoked / app_uninstalled delete the installation
    else:
        app = App(name="evidence-assistant", logger=BOLT_LOG, signing_secret=signing_secret, authorize=authorize,
                  client=client, process_before_response=True, request_verification_enabled=verify_requests)
    Listeners(bot, worker, recent).register(app, slash_command)
    return app


class Listeners:
    def __init__(self, bot: SlackBot, worker: Worker, recent: RecentKeys) -> None:
        self.bot = bot
        self.worker = worker
        self.recent = recent

    def register(self, app: App, slash_command: str) -> None:
        app.event("app_mention")(self.on_mention)
        app.event("message")(self.on_message)
        app.event("app_home_opened")(self.on_home_opened)
        app.command(slash_command)(self.on_command)
        app.action(FEEDBACK_UP)(self.on_feedback)
        app.action(FEEDBACK_DOWN)(self.on_feedback)
        app.action(SHARE)(self.on_share)

    def on_mention(self, body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        self._ask_in_thread(client, body, event)

    def on_message(self, body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        # Only direct messages: in channels the bot answers when mentioned (app_mention), never
        # to conversation it merely overhears.
        if event.get("channel_type") == "im":
            self._ask_in_thread(client, body, event)

    def on_home_opened(self, event: dict[str, Any], client: WebClient) -> None:
        user = event.get("user")
        if event.get("tab") == "home" and isinstance(user, str) and user:
            self.worker.submit(lambda: self.bot.publish_home(client, user), "publish_home")

    def on_command(self, ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        question = CommandQuestion(
            team=str(command.get("team_id", "")), channel=str(command.get("channel_id", "")),
            user=str(command.get("user_id", "")), text=question_from_slack(str(command.get("text", ""))),
            response_url=command.get("response_url"))
        problem = self.bot.problem_with(question.text)
        if problem:
            ack(text=problem, response_type="ephemeral")
        elif self.worker.submit(lambda: self.bot.answer_privately(client, question), "answer_privately"):
            ack(text=WORKING, response_type="ephemeral")
        else:
            ack(text=BUSY, response_type="ephemeral")

    def on_feedback(self, ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        rating: Rating = "up" if action.get("action_id") == FEEDBACK_UP else "down"
        message_id, response_url = str(action.get("value", "")), body.get("response_url")
        user, team = _id(body.get("user")), _id(body.get("team"))
        voter = f"slack:{team}:{user}" if user else None
        self.worker.submit(lambda: self.bot.record_feedback(message_id, rating, voter, response_url), "feedback")

    def on_share(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        channel, user = _id(body.get("channel")), _id(body.get("user"))
        value, response_url = str(action.get("value", "")), body.get("response_url")
        if channel:
            self.worker.submit(lambda: self.bot.share(client, channel, user, value, response_url), "share")

    def _ask_in_thread(self, client: WebClient, body: Mapping[str, Any], event: Mapping[str, Any]) -> None:
        question = thread_question(body, event)
        # One message can arrive twice (as app_mention and as message, or as two event ids).
        if question is None or not self.recent.claim(f"message:{question.channel}:{event['ts']}"):
            return
        self.worker.submit(lambda: self.bot.answer_in_thread(client, question), "answer_in_thread")


def thread_question(body: Mapping[str, Any], event: Mapping[str, Any]) -> ThreadQuestion | None:
    """The question in a person's new message, or None for anything the bot must not answer."""
    if event.get("subtype") or event.get("bot_id") or not event.get("user"):
        return None  # edits, deletions, joins, bot posts (ours included)
    channel, ts = event.get("channel"), event.get("ts")
    if not channel or not ts:
        return None
    return ThreadQuestion(
        team=str(body.get("team_id") or event.get("team") or ""), channel=str(channel), user=str(event["user"]),
        thread_ts=str(event.get("thread_ts") or ts), text=question_from_slack(str(event.get("text", ""))),
        direct=event.get("channel_type") == "im")


def _id(value: Any) -> str:
    return str(value.get("id", "")) if isinstance(value, Mapping) else ""
