"""Keeping Slack credentials out of the logs, whoever writes the log line.

Our own code never logs a token, but the libraries under it do log at DEBUG: slack_sdk writes
the ``response_url`` it posts to (a capability URL that lets anyone answer into the channel for
30 minutes), and bolt writes request bodies, which for slash commands carry Slack's legacy
verification ``token``. A filter on every logger the Slack layer hands to those libraries
rewrites such values before any handler sees them; the configured secrets are redacted by
value as a last line of defence.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

REDACTED = "[redacted]"
_PATTERNS = (
    (re.compile(r"\bxox[a-z]-[A-Za-z0-9-]+"), REDACTED),  # bot, user and config tokens
    (re.compile(r"\bxapp-[A-Za-z0-9-]+"), REDACTED),  # app-level tokens
    # response_url and webhook paths (https://hooks.slack.com/commands/T123/456/secret); the host is not matched
    # on purpose, so the same URL behind a proxy or a test double is caught too
    (re.compile(r"(/(?:commands|actions|services)/)T[A-Z0-9]+/[^\s'\",}]+"), r"\1" + REDACTED),
    (re.compile(r"((?:'token'|\"token\"): ['\"])[^'\"]+"), r"\1" + REDACTED),  # "token": "..." in a payload
    (re.compile(r"(\btoken=)[^&\s'\"]+"), r"\1" + REDACTED),  # token=... in a form body
)


class RedactingFilter(logging.Filter):
    def __init__(self) -> None:
        super().__init__("assistant.slack.redaction")
        self._secrets: set[str] = set()

    def add_secrets(self, secrets: Iterable[str]) -> None:
        self._secrets.update(s for s in secrets if len(s) >= 8)  # a short value would blank ordinary words

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install(loggers: Iterable[logging.Logger], secrets: Iterable[str]) -> RedactingFilter:
    """Put one shared filter on each logger (loggers are process-wide, so reuse an installed one)."""
    loggers = list(loggers)
    found = next((f for lg in loggers for f in lg.filters if isinstance(f, RedactingFilter)), None)
    shared = found or RedactingFilter()
    shared.add_secrets(secrets)
    for logger in loggers:
        if shared not in logger.filters:
            logger.addFilter(shared)
    return shared
