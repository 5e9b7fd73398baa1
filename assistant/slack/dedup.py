"""Answering each Slack question once, although Slack may deliver it more than once.

Slack redelivers an event (same ``event_id``, with ``X-Slack-Retry-Num``) when it did not see a
2xx within 3 seconds, and one message can arrive as both ``app_mention`` and ``message``. Two
guards cover this:

* ``RecentKeys`` remembers event ids and message keys for a while, in this process. It is
  enough for one process; it is lost on restart and is not shared between gunicorn workers.
* ``is_redelivery`` covers the cross-process case without shared state: a retry whose reason
  is ``http_timeout`` means the first delivery did reach a worker, which is answering it, so the
  retry is acknowledged and dropped. Retries for other reasons (connection failed, an error
  status) may mean the first attempt never ran, so those are answered unless this process
  already saw the event.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

DEFAULT_TTL_S = 15 * 60  # Slack retries three times, the last about 5 minutes after the first try
DEFAULT_MAX_KEYS = 50_000


class RecentKeys:
    """A thread-safe set whose members expire; ``claim`` tests and adds in one step."""

    def __init__(self, ttl_s: float = DEFAULT_TTL_S, max_keys: int = DEFAULT_MAX_KEYS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_keys = max_keys
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, key: str) -> bool:
        """True the first time ``key`` is seen within the TTL, False for a repeat."""
        now = self._clock()
        with self._lock:
            self._expire(now)
            if key in self._seen:
                return False
            self._seen[key] = now + self.ttl_s
            if len(self._seen) > self.max_keys:  # bound memory under a flood of distinct ids
                self._seen.popitem(last=False)
            return True

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._seen)

    def _expire(self, now: float) -> None:
        # Insertion order is expiry order (one TTL for all), so stale keys sit at the front.
        while self._seen:
            key, expires = next(iter(self._seen.items()))
            if expires > now:
                break
            del self._seen[key]


def is_redelivery(retry_num: str | None, retry_reason: str | None) -> bool:
    """A retry of a delivery that reached us (Slack only timed out waiting for the ack)."""
    return bool(retry_num) and retry_reason == "http_timeout"
