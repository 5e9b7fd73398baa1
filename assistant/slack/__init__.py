"""The Slack bot: the same answer service, asked from a Slack workspace.

``init_slack(app, services)`` mounts ``POST /slack/events`` when ``SLACK_SIGNING_SECRET`` is set
and does nothing otherwise, so a deployment without Slack has no Slack route at all (404).
With the secret but no usable bot token (the normal first step of the setup: Slack verifies the
Events URL before the app is installed) the route verifies requests and answers
``url_verification``; everything else is acknowledged and left unanswered, and ``/readyz``
says why under ``details.slack``. A Slack problem never stops the process.
Setup for operators is in docs/slack.md; the app manifest is slack/manifest.yaml.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask
from pydantic import SecretStr
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from assistant.domain import ComponentReadiness
from assistant.services import Services
from assistant.slack import redaction, socket_mode
from assistant.slack.app import BOLT_LOG, build_bolt_app
from assistant.slack.bot import API_LOG, SlackBot
from assistant.slack.dedup import RecentKeys
from assistant.slack.oauth import oauth_settings
from assistant.slack.readiness import READY, BotStatus, check_bot_token
from assistant.slack.routes import create_blueprint
from assistant.slack.verify import RequestVerifier
from assistant.slack.worker import Worker

log = logging.getLogger("assistant.slack")

EXTENSION = "assistant.slack"


@dataclass
class SlackExtension:
    """What ``init_slack`` left on ``app.extensions``: for shutdown and for tests."""

    bolt: App
    bot: SlackBot
    worker: Worker
    recent: RecentKeys
    status: BotStatus
    socket: SocketModeHandler | None = None

    def readiness(self) -> ComponentReadiness:
        return ComponentReadiness(ready=self.status.ready, reason=self.status.reason)


def init_slack(app: Flask, services: Services) -> SlackExtension | None:
    slack = services.settings.slack
    secret = _value(slack.signing_secret)
    if secret is None and not slack.socket_mode:
        log.info("slack bot off: no signing secret configured")
        return None
    token = _value(slack.bot_token)
    app_token = _value(slack.app_token)
    redaction.install([log, API_LOG, BOLT_LOG], [v for v in (secret, token, app_token) if v])

    base_url = slack.api_base_url if slack.api_base_url.endswith("/") else slack.api_base_url + "/"
    timeout = max(1, round(slack.api_timeout_s))
    api = WebClient(token=token, base_url=base_url, timeout=timeout, logger=API_LOG, retry_handlers=_retry_handlers())
    client_id, client_secret = (slack.client_id or "").strip() or None, _value(slack.client_secret)
    oauth = None
    if client_id and client_secret:  # many workspaces: tokens come from installations, not SLACK_BOT_TOKEN
        oauth = oauth_settings(client_id, client_secret, services.conversations.engine, slack.redirect_url)
        redaction.install([log, API_LOG, BOLT_LOG], [client_secret])
        status = READY
    else:
        status = check_bot_token(api, token)
    if slack.socket_mode and status.ready:
        status = socket_mode.app_token_problem(app_token) or status
    bot = SlackBot(services, timeout, slack.slash_command)
    worker = Worker(slack.workers)
    recent = RecentKeys()
    bolt = build_bolt_app(signing_secret=secret or "", token=token if status.ready else None, oauth=oauth,
                          verify_requests=not slack.socket_mode,
                          client=WebClient(base_url=base_url, timeout=timeout, logger=API_LOG,
                                           retry_handlers=_retry_handlers()),
                          slash_command=slack.slash_command, bot=bot, worker=worker, recent=recent)
    socket = None
    if slack.socket_mode:  # no public endpoint: events come over the connection the bot opens
        if status.ready and app_token:
            socket, problem = socket_mode.connect(bolt, app_token, BOLT_LOG)
            status = problem or status
    elif secret is not None:
        app.register_blueprint(create_blueprint(SlackRequestHandler(bolt), RequestVerifier(secret), recent, status,
                                                oauth=oauth is not None))
    if not status.ready:
        log.warning("slack bot disabled: %s", status.reason, extra={"fields": {"reason": status.reason}})
    extension = SlackExtension(bolt=bolt, bot=bot, worker=worker, recent=recent, status=status, socket=socket)
    app.extensions[EXTENSION] = extension
    if status.ready:
        log.info("slack bot on", extra={"fields": {"api_base_url": base_url, "slash_command": slack.slash_command,
                                                   "mode": "oauth" if oauth else "single token",
                                                   "socket_mode": slack.socket_mode}})
    return extension


def drain_slack(app: Flask, timeout_s: float) -> bool:
    """Answer everything already acknowledged to Slack before the process exits.

    Slack does not resend an event it has had a 200 for, so the queue must be worked off, not
    dropped: gunicorn calls this from ``worker_exit`` on SIGTERM, bounded by its graceful timeout.
    True when nothing was left (or there is no bot).
    """
    extension: SlackExtension | None = app.extensions.get(EXTENSION)
    if extension is None:
        return True
    if extension.socket is not None:  # take no new envelopes; the ones acknowledged are answered below
        extension.socket.close()
    pending = extension.worker.pending
    log.info("slack draining: %d pending", pending, extra={"fields": {"pending": pending}})
    drained = extension.worker.drain(timeout_s)
    if drained:
        log.info("slack drained: %d answered before exit", pending, extra={"fields": {"answered": pending}})
    else:
        left = extension.worker.pending
        log.warning("slack drain timed out: %d not answered", left, extra={"fields": {"left": left}})
    extension.worker.shutdown(wait=False)
    return drained


def _retry_handlers() -> list[RetryHandler]:
    return [ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler(max_retry_count=1)]


def _value(secret: SecretStr | None) -> str | None:
    """An empty variable counts as unset: ``SLACK_SIGNING_SECRET=`` should not half-enable the bot."""
    value = secret.get_secret_value().strip() if secret else ""
    return value or None


__all__ = ["EXTENSION", "SlackExtension", "drain_slack", "init_slack"]
