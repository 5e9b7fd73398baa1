"""What the bot does once a question has been accepted: answer, record, post, share, take feedback.

These run on the Slack worker pool, after Slack has had its acknowledgement. Each call gets the
Web API client of the request that asked (bolt's per-request client, holding the token of the
workspace the request came from), so one bot serves many installed workspaces. Each Slack thread is
one conversation in the same store as the HTTP API (``slack:{team}:{channel}:{thread_ts}``), so
a follow-up in the thread is answered with the thread's history, and the feedback buttons carry
the stored message id, exactly like feedback sent to the HTTP API. The bot only ever posts into
the channel a request came from.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from assistant.conversations import ConversationStore
from assistant.conversations.store import Rating
from assistant.domain import Answer
from assistant.errors import AssistantError
from assistant.services import Services
from assistant.slack.blocks import answer_blocks, fallback_text, home_view, notice_blocks
from assistant.slack.mrkdwn import escape

log = logging.getLogger("assistant.slack")
API_LOG = logging.getLogger("assistant.slack.api")

HELP = ("Ask me a question about ketamine or esketamine for depression, for example "
        "_How fast does IV ketamine work in treatment-resistant depression?_ "
        "I answer from published studies and cite them.")
TOO_LONG = "That question is too long ({length} characters); please keep it under {limit}."
FAILED = "Something went wrong while answering. Please try again in a moment."
GONE = "That answer is no longer stored, so it cannot be shared or rated."
LOOKING = "Looking at the evidence…"
THANKS = {"up": "Thanks, noted as helpful.", "down": "Thanks, noted as not helpful. It helps us improve."}
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class ThreadQuestion:
    """A mention or direct message; the reply goes into ``thread_ts`` of ``channel``."""

    team: str
    channel: str
    user: str
    thread_ts: str
    text: str
    direct: bool = False  # a direct message (channel type "im")

    @property
    def ref(self) -> str:
        return f"slack:{self.team}:{self.channel}:{self.thread_ts}"

    @property
    def channel_prefix(self) -> str:
        return f"slack:{self.team}:{self.channel}:"


@dataclass(frozen=True)
class CommandQuestion:
    """A slash command; answered privately (ephemeral) to ``user`` first."""

    team: str
    channel: str
    user: str
    text: str
    response_url: str | None


class SlackBot:
    def __init__(self, services: Services, timeout_s: int, slash_command: str = "/evidence") -> None:
        self.conversation = services.conversation
        self.home = home_view(slash_command, services.answers.crisis.resources("en"))
        self.store: ConversationStore = services.conversations
        self.max_chars = services.settings.web.max_message_chars
        self.dm_window_s = services.settings.slack.dm_context_window_s
        self.timeout_s = timeout_s

    def problem_with(self, question: str) -> str | None:
        """Why a question cannot be answered as asked (mrkdwn for the user), or None."""
        if not question:
            return HELP
        if len(question) > self.max_chars:
            return TOO_LONG.format(length=len(question), limit=self.max_chars)
        return None

    def answer_in_thread(self, api: WebClient, q: ThreadQuestion) -> None:
        problem = self.problem_with(q.text)
        if problem:
            self._post(api, q.channel, q.thread_ts, notice_blocks(problem), problem)
            return
        # A sign of life in the thread at once; the answer replaces it when it is ready.
        placeholder = self._post(api, q.channel, q.thread_ts, notice_blocks(LOOKING), LOOKING)
        conversation_id = self._conversation_for(q)
        answered = self._answer(q.text, conversation_id)
        if isinstance(answered, str):
            self._deliver(api, q, placeholder, notice_blocks(answered), answered)
            return
        answer, message_id = answered
        self._deliver(api, q, placeholder, answer_blocks(answer, message_id=message_id), fallback_text(answer))
        _log_answer("thread", q.team, q.channel, message_id, answer)

    def _conversation_for(self, q: ThreadQuestion) -> str:
        """The thread's conversation; in a DM, a new top-level message continues the DM's latest
        conversation while it is recent (people type follow-ups in the main pane, not in threads)."""
        if q.direct and self.dm_window_s > 0:
            found = self.store.find_by_ref(q.ref)
            if found:
                return found
            latest = self.store.latest_by_ref_prefix(q.channel_prefix)
            if latest and time.time() - latest[1] <= self.dm_window_s:
                return latest[0]
        return self.store.get_or_create_by_ref(q.ref, channel="slack")

    def publish_home(self, api: WebClient, user: str) -> None:
        """Show the App Home tab to ``user`` (Slack asks each time the tab is opened)."""
        try:
            api.views_publish(user_id=user, view=self.home)
        except SlackApiError as exc:
            log.warning("slack home not published: %s", _error_code(exc))

    def answer_privately(self, api: WebClient, q: CommandQuestion) -> None:
        conversation_id = self.store.create_conversation(channel="slack")
        answered = self._answer(q.text, conversation_id)
        if isinstance(answered, str):
            self._ephemeral(api, q, notice_blocks(answered), answered)
            return
        answer, message_id = answered
        # Sharing a crisis reply would expose the person who asked to the whole channel.
        share = None if answer.safety.escalated else f"{conversation_id}:{message_id}"
        blocks = answer_blocks(answer, message_id=message_id, preface=f"*You asked:* {escape(q.text)}",
                               share_value=share)
        self._ephemeral(api, q, blocks, fallback_text(answer))
        _log_answer("command", q.team, q.channel, message_id, answer)

    def share(self, api: WebClient, channel: str, user: str, value: str, response_url: str | None) -> None:
        """Post an ephemeral answer for everyone in ``channel``, then remove the private copy."""
        conversation_id, _, message_id = value.partition(":")
        found = self._stored(conversation_id, message_id)
        if found is None or found[1].safety.escalated:
            self._respond(response_url, text=GONE, response_type="ephemeral", replace_original=False)
            return
        question, answer = found
        asker = f"<@{user}> asked" if _USER_ID.match(user) else "Asked"
        blocks = answer_blocks(answer, message_id=message_id, preface=f"{asker}: {escape(question)}")
        try:
            api.chat_postMessage(channel=channel, blocks=blocks, text=fallback_text(answer),
                                      unfurl_links=False, unfurl_media=False)
            shared = True
        except SlackApiError as exc:  # the bot is not in the channel: the command's response_url still is
            log.info("share via response_url: %s", _error_code(exc))
            shared = self._respond(response_url, blocks=blocks, text=fallback_text(answer),
                                   response_type="in_channel", replace_original=False)
        if shared:  # keep the private copy when sharing failed, so the answer is not lost
            self._respond(response_url, delete_original=True)
            log.info("slack answer shared", extra={"fields": {"channel_id": channel, "message_id": message_id}})

    def record_feedback(self, message_id: str, rating: Rating, voter: str | None, response_url: str | None) -> None:
        """One vote per Slack user per answer: a second click replaces the first."""
        if not self.store.message_exists(message_id):
            self._respond(response_url, text=GONE, response_type="ephemeral", replace_original=False)
            return
        if voter:
            self.store.vote(message_id, voter, rating, source="slack")
        else:  # Slack always names the clicker; without one there is nobody to count once
            self.store.add_feedback(message_id, rating, None, source="slack")
        log.info("slack feedback", extra={"fields": {"message_id": message_id, "rating": rating}})
        self._respond(response_url, text=THANKS[rating], response_type="ephemeral", replace_original=False)

    def _answer(self, question: str, conversation_id: str) -> tuple[Answer, str] | str:
        """The answer and its stored message id, or a message safe to show when there is none."""
        try:
            asked = self.conversation.ask(question, self.conversation.history(conversation_id),
                                          conversation_id=conversation_id)
        except AssistantError as exc:
            log.warning("slack question not answered: %s", exc.message, extra={"fields": {"code": exc.code}})
            return exc.public_message if exc.status >= 500 else exc.message  # operator detail stays in the log
        except Exception:  # logged with its traceback; the person in Slack still deserves a reply
            log.exception("slack question failed")
            return FAILED
        log.debug("slack question: %s", question)
        return asked.answer, str(asked.message_id)

    def _stored(self, conversation_id: str, message_id: str) -> tuple[str, Answer] | None:
        conversation = self.store.get_conversation(conversation_id)
        turn = next((t for t in conversation.turns if t.message_id == message_id), None) if conversation else None
        return (turn.user, Answer.model_validate(turn.answer)) if turn else None

    def _post(self, api: WebClient, channel: str, thread_ts: str, blocks: list[dict[str, Any]],
              text: str) -> str | None:
        """Post into the thread; the new message's ts, or None when Slack refused it."""
        try:
            response = api.chat_postMessage(channel=channel, thread_ts=thread_ts, blocks=blocks, text=text,
                                            unfurl_links=False, unfurl_media=False)
        except SlackApiError as exc:
            log.warning("slack post failed: %s", _error_code(exc), extra={"fields": {"channel_id": channel}})
            return None
        ts = response.get("ts")
        return str(ts) if ts else None

    def _deliver(self, api: WebClient, q: ThreadQuestion, placeholder: str | None, blocks: list[dict[str, Any]],
                 text: str) -> None:
        """Turn the placeholder into the reply; post the reply instead if there is no placeholder to update."""
        if placeholder is not None:
            try:
                api.chat_update(channel=q.channel, ts=placeholder, blocks=blocks, text=text)
                return
            except SlackApiError as exc:
                log.warning("slack update failed: %s", _error_code(exc), extra={"fields": {"channel_id": q.channel}})
        self._post(api, q.channel, q.thread_ts, blocks, text)

    def _ephemeral(self, api: WebClient, q: CommandQuestion, blocks: list[dict[str, Any]], text: str) -> None:
        try:
            api.chat_postEphemeral(channel=q.channel, user=q.user, blocks=blocks, text=text)
        except SlackApiError as exc:  # not in the channel (or a DM with someone else): use the command's URL
            log.info("ephemeral via response_url: %s", _error_code(exc))
            self._respond(q.response_url, blocks=blocks, text=text, response_type="ephemeral")

    def _respond(self, response_url: str | None, **payload: Any) -> bool:
        """Post to the request's response_url; False if there is none or it did not take the message."""
        if not response_url:
            return False
        try:
            response = WebhookClient(response_url, timeout=self.timeout_s, logger=API_LOG).send_dict(payload)
        except (SlackClientError, OSError) as exc:
            log.warning("response_url failed: %s", exc.__class__.__name__)
            return False
        if response.status_code >= 300:
            log.warning("response_url refused: HTTP %s", response.status_code)
            return False
        return True


def _error_code(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "unknown")) if exc.response is not None else "unknown"


def _log_answer(kind: str, team: str, channel: str, message_id: str, answer: Answer) -> None:
    log.info("slack answer posted", extra={"fields": {
        "kind": kind, "team_id": team, "channel_id": channel, "message_id": message_id,
        "category": answer.safety.category, "escalated": answer.safety.escalated,
        "abstained": answer.abstained, "citations": len(answer.citations)}})
