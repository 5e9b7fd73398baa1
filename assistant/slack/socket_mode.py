"""Socket Mode: the bot opens a WebSocket to Slack instead of Slack calling a public URL.

For deployments without a public HTTPS endpoint. slack_bolt's built-in ``SocketModeHandler``
asks ``apps.connections.open`` (with the app-level ``xapp-`` token) for a WebSocket URL, reads
events, commands and clicks from it, acknowledges each envelope, and hands it to the same bolt
app and listeners as the HTTP endpoint. Requests arrive over a connection the app opened with
its own token, so there is no signature to check on this path.
"""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError, SlackClientError

from assistant.slack.readiness import BotStatus

log = logging.getLogger("assistant.slack")

APP_TOKEN_PREFIX = "xapp-"


def app_token_problem(app_token: str | None) -> BotStatus | None:
    """Why Socket Mode cannot start with this app-level token, or None."""
    if app_token is None:
        return BotStatus(False, "socket mode: no app-level token (SLACK_APP_TOKEN)")
    if not app_token.startswith(APP_TOKEN_PREFIX):
        return BotStatus(False, f"socket mode: SLACK_APP_TOKEN must be an app-level token ({APP_TOKEN_PREFIX})")
    return None


def connect(bolt: App, app_token: str, logger: logging.Logger) -> tuple[SocketModeHandler | None, BotStatus | None]:
    """Open the connection; the handler, or None and the reason the bot is disabled."""
    handler = SocketModeHandler(bolt, app_token=app_token, logger=logger)
    try:
        handler.connect()
    except SlackApiError as exc:
        code = exc.response.get("error", "unknown") if exc.response is not None else "unknown"
        return None, BotStatus(False, f"socket mode: apps.connections.open failed: {code}")
    except (SlackClientError, OSError) as exc:
        return None, BotStatus(False, f"socket mode: cannot connect ({exc.__class__.__name__})")
    log.info("slack socket mode connected")
    return handler, None
