"""Each question answered once: recent keys expire, and timed-out retries are recognised."""

from __future__ import annotations

import pytest

from assistant.slack.dedup import RecentKeys, is_redelivery


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_claimed_once_until_it_expires() -> None:
    clock = Clock()
    recent = RecentKeys(ttl_s=60, clock=clock)

    assert recent.claim("event:Ev1") is True
    assert recent.claim("event:Ev1") is False
    clock.now += 59
    assert recent.claim("event:Ev1") is False
    clock.now += 2
    assert recent.claim("event:Ev1") is True


def test_memory_stays_bounded_under_a_flood_of_distinct_ids() -> None:
    recent = RecentKeys(ttl_s=60, max_keys=100, clock=Clock())

    for i in range(1000):
        recent.claim(f"event:{i}")

    assert len(recent) == 100
    assert recent.claim("event:999") is False, "the newest keys are the ones kept"


@pytest.mark.parametrize(("retry_num", "reason", "expected"), [
    (None, None, False),
    ("1", "http_timeout", True),
    ("2", "http_timeout", True),
    ("1", "http_error", False),
    ("1", "connection_failed", False),
    ("1", None, False),
])
def test_only_a_retry_after_a_timeout_is_known_to_have_reached_us(
        retry_num: str | None, reason: str | None, expected: bool) -> None:
    assert is_redelivery(retry_num, reason) is expected
