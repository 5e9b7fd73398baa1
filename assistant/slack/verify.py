"""Slack's request signature, checked on the raw body before anything parses it.

Slack signs ``v0:{timestamp}:{body}`` with HMAC-SHA256 under the app's signing secret and sends
the result as ``X-Slack-Signature: v0=<hex>``. A request older than five minutes is refused even
when correctly signed, so a captured request cannot be replayed later. The checker says *why*
it refused (for the log: a run of "stale" refusals usually means a clock is wrong) but the
response to the caller is the same bare 401 either way.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Literal

MAX_AGE_S = 5 * 60

Refusal = Literal["missing", "stale", "bad_signature"]


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v0=<hex>`` exactly as Slack computes it (tests use this to sign their requests)."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class RequestVerifier:
    def __init__(self, secret: str, clock: Callable[[], float] = time.time, max_age_s: int = MAX_AGE_S) -> None:
        self._secret = secret
        self._clock = clock
        self.max_age_s = max_age_s

    def __repr__(self) -> str:  # never show the secret, even in a debugger or a traceback
        return f"RequestVerifier(max_age_s={self.max_age_s})"

    def refusal(self, body: bytes, timestamp: str | None, given: str | None) -> Refusal | None:
        """None when the request is Slack's and fresh; otherwise the reason to refuse it."""
        if not timestamp or not given or not (timestamp.isascii() and timestamp.isdigit()):
            return "missing"
        if abs(self._clock() - int(timestamp)) > self.max_age_s:
            return "stale"
        expected = signature(self._secret, timestamp, body).encode()
        if not hmac.compare_digest(expected, given.encode("utf-8", "replace")):  # bytes: any header is comparable
            return "bad_signature"
        return None
