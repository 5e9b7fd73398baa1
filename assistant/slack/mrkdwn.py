"""Text crossing the Slack boundary, in both directions.

Outbound, the answer service writes Markdown; Slack renders its own "mrkdwn", where ``*x*`` is
bold, links are ``<url|label>`` and ``&``, ``<``, ``>`` must be escaped. Escaping everything
first and only then adding our own markup means neither corpus text nor an echoed question can
smuggle in ``<!channel>`` pings or disguised links. Inbound, Slack hands us its markup
(``<@U123>`` mentions, ``<url|label>`` links, escaped entities); the answer service wants the
plain question a person would read.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.MULTILINE)
_BULLET = re.compile(r"^(\s*)[-*+]\s+", re.MULTILINE)

_MENTION = re.compile(r"<[@!](?:[^>|]*)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#[A-Z0-9]+\|([^>]*)>|<#[A-Z0-9]+>")
_SLACK_LINK = re.compile(r"<([^>|]+)\|([^>]*)>|<([^>|]+)>")


def escape(text: str) -> str:
    """Slack's three control characters; everything Slack shows from us goes through here."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_url(url: str | None) -> str | None:
    """An http(s) URL fit for ``<url|label>``, or None; other schemes never become links."""
    if not url or urlsplit(url).scheme not in {"http", "https"}:
        return None
    return escape(quote(url, safe=":/?#[]@!$&'()*+,;=%~-._"))


def link(url: str | None, label: str) -> str:
    """``<url|label>`` with both parts escaped, or just the label when the URL is unusable."""
    target = safe_url(url)
    text = escape(label).replace("|", "¦")
    return f"<{target}|{text}>" if target else text


def to_mrkdwn(markdown: str) -> str:
    """Markdown as the answer service writes it, rendered for Slack."""
    text = escape(markdown)
    text = _LINK.sub(lambda m: f"<{safe_url(_unescape(m.group(2)))}|{m.group(1).replace('|', '¦')}>", text)
    text = _BOLD.sub(lambda m: f"*{m.group(1)}*", text)
    text = _HEADING.sub(lambda m: f"*{m.group(1)}*", text)
    return _BULLET.sub(lambda m: f"{m.group(1)}• ", text)


def to_plain(markdown: str) -> str:
    """Markdown without its markup, for the notification text and anywhere blocks cannot render."""
    text = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", markdown)
    text = _BOLD.sub(lambda m: m.group(1), text)
    text = _HEADING.sub(lambda m: m.group(1), text)
    return escape(_BULLET.sub(lambda m: f"{m.group(1)}• ", text))


def question_from_slack(text: str) -> str:
    """The question as a person reads it: no mentions, links shown by their label, entities decoded."""
    text = _MENTION.sub(" ", text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(1) or 'channel'}", text)
    text = _SLACK_LINK.sub(lambda m: m.group(2) or m.group(1) or m.group(3), text)
    return " ".join(_unescape(text).split())


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
