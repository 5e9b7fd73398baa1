"""``POST /slack/events``: verify, drop repeats, then let bolt dispatch.

The signature is checked here, on the raw bytes, before bolt or anything else parses the body,
so an unsigned request costs one HMAC and touches nothing. Bolt checks it again with the same
secret; the repeat is cheap and keeps bolt safe if it is ever mounted another way.

While the bot is disabled (no usable token, see ``assistant.slack.readiness``) only Slack's
``url_verification`` and ``ssl_check`` reach bolt; every other request is acknowledged with 200,
and a slash command is told privately that the bot is not set up yet.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, request
from slack_bolt.adapter.flask import SlackRequestHandler

from assistant.errors import Unauthorized
from assistant.slack.dedup import RecentKeys, is_redelivery
from assistant.slack.oauth import INSTALL_PATH, REDIRECT_PATH
from assistant.slack.readiness import BotStatus
from assistant.slack.verify import RequestVerifier

log = logging.getLogger("assistant.slack")

PATH = "/slack/events"
NOT_SET_UP = "This bot is not set up yet. Please ask the workspace admin to finish installing it."


def create_blueprint(handler: SlackRequestHandler, verifier: RequestVerifier, recent: RecentKeys,
                     status: BotStatus, *, oauth: bool = False) -> Blueprint:
    bp = Blueprint("slack", __name__)

    if oauth:  # the browser's side of an install: bolt's OAuth flow checks its state (and cookie) itself
        @bp.get(INSTALL_PATH)
        @bp.get(REDIRECT_PATH)
        def install() -> Response:
            return handler.handle(request)

    @bp.post(PATH)
    def events() -> Response:
        refusal = verifier.refusal(request.get_data(cache=True), request.headers.get("X-Slack-Request-Timestamp"),
                                   request.headers.get("X-Slack-Signature"))
        if refusal:
            log.warning("slack request refused: %s", refusal, extra={"fields": {"reason": refusal}})
            raise Unauthorized("The request does not carry a valid, current Slack signature.")
        if not status.ready and not _needs_no_bot():
            if request.form.get("command"):
                return jsonify(response_type="ephemeral", text=NOT_SET_UP)
            return Response(status=200)
        if _repeat(recent):
            return Response(status=200, headers={"X-Slack-No-Retry": "1"})
        return handler.handle(request)

    return bp


def _needs_no_bot() -> bool:
    """Slack's own checks of the endpoint: a JSON ``url_verification`` or a form ``ssl_check=1``."""
    payload = request.get_json(silent=True) if request.is_json else None
    if isinstance(payload, dict):
        return payload.get("type") == "url_verification"
    return request.form.get("ssl_check") == "1"


def _repeat(recent: RecentKeys) -> bool:
    """An Events API delivery that is already being answered (see ``assistant.slack.dedup``)."""
    payload = request.get_json(silent=True) if request.is_json else None
    event_id = payload.get("event_id") if isinstance(payload, dict) else None
    if not isinstance(event_id, str):
        return False
    retry_num = request.headers.get("X-Slack-Retry-Num")
    retry_reason = request.headers.get("X-Slack-Retry-Reason")
    if is_redelivery(retry_num, retry_reason) or not recent.claim(f"event:{event_id}"):
        log.info("slack event repeated; acknowledged only",
                 extra={"fields": {"event_id": event_id, "retry_num": retry_num, "retry_reason": retry_reason}})
        return True
    return False
