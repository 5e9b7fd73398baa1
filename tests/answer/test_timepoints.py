"""Time points read as hours, so "the next day" in a question meets "at 24 hours" and "day 1" in a study."""

from __future__ import annotations

import pytest

from assistant.answer.timepoints import time_points


@pytest.mark.parametrize(("text", "hours"), [
    ("about a day after the first dose", {24.0}),
    ("the next day", {24.0}),
    ("29% reached remission at day 1", {24.0}),
    ("a 24-hour response rate", {24.0}),
    ("within three days of the infusion", {72.0}),
    ("from 80 minutes through days 3-5", {80 / 60, 72.0, 120.0}),
    ("for at least 1 week", {168.0}),
    ("at a rate of one in four", set()),
])
def test_every_time_point_a_text_names_is_in_hours(text: str, hours: set[float]) -> None:
    assert time_points(text) == frozenset(round(h, 3) for h in hours)
