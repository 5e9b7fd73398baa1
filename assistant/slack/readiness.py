"""Whether the bot can talk to Slack, found out once at start-up and shown in ``/readyz``.

A Slack problem (no token yet, a token of the wrong kind, a revoked one) disables the bot and
says why; it never stops the process, because the HTTP API and the widget share it. Slack also
verifies the Events URL before the app is installed, so "signing secret, no token" is a normal
step of the setup, not an error.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger("assistant.slack")

BOT_TOKEN_PREFIX = "xoxb-"
_KIND = re.compile(r"^(xox[a-z]|xapp)-")


@dataclass(frozen=True)
class BotStatus:
    ready: bool
    reason: str | None = None


READY = BotStatus(ready=True)


def check_bot_token(api: WebClient, token: str | None) -> BotStatus:
    """Ready only for a bot token (``xoxb-``) that Slack's ``auth.test`` accepts.

    The reason names the token's kind at most (``xapp-``), never any part of the token itself.
    """
    if token is None:
        return BotStatus(False, "no bot token")
    if not token.startswith(BOT_TOKEN_PREFIX):
        kind = _KIND.match(token)
        shown = kind.group(0) if kind else "not a Slack token"
        return BotStatus(False, f"wrong token type ({shown}): SLACK_BOT_TOKEN must be a bot token ({BOT_TOKEN_PREFIX})")
    try:
        api.auth_test()
    except SlackApiError as exc:
        code = exc.response.get("error", "unknown") if exc.response is not None else "unknown"
        return BotStatus(False, f"auth.test failed: {code}")
    except (SlackClientError, OSError) as exc:
        return BotStatus(False, f"auth.test failed: Slack not reachable ({exc.__class__.__name__})")
    return READY
