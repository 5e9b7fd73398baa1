"""Time points, in hours, that a question names or a sentence reports.

A question says "about a day after the first dose", "the next day" or "within three days"; the
studies say "at 24 hours", "day 1" or "within 72 hours". Read both as hours, so that the sentence
reporting the result at the time the question asks about can be told from the same study's result
at another time point (4 hours, day 25). Only the points themselves are compared: "40 minutes" and
"24 hours" are different answers to "when", whatever their units.
"""

from __future__ import annotations

import re

_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14, "twenty-four": 24}
_HOURS = {"min": 1 / 60, "mins": 1 / 60, "minute": 1 / 60, "minutes": 1 / 60, "h": 1.0, "hr": 1.0, "hrs": 1.0,
          "hour": 1.0, "hours": 1.0, "day": 24.0, "days": 24.0, "week": 168.0, "weeks": 168.0}
_AMOUNT = r"(\d+(?:\.\d+)?|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")"
_UNIT = r"(minutes?|mins?|hours?|hrs?|h|days?|weeks?)"
# "24 hours", "three days", "24-hour", "40 min"; then "day 1", "days 3-5", "week 2"; then the day after.
_AMOUNT_UNIT = re.compile(rf"\b{_AMOUNT}(?:\s*(?:-|–|to)\s*(\d+(?:\.\d+)?))?[\s-]*{_UNIT}\b", re.IGNORECASE)
_UNIT_AMOUNT = re.compile(r"\b(day|days|week|weeks|hour)\s+(\d+)(?:\s*(?:-|–|to)\s*(\d+))?\b", re.IGNORECASE)
_NEXT_DAY = re.compile(r"\b(the next day|the following day|the day after|overnight|next morning)\b", re.IGNORECASE)


def _amount(word: str) -> float | None:
    word = word.lower()
    if word in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[word])
    try:
        return float(word)
    except ValueError:
        return None


def time_points(text: str) -> frozenset[float]:
    """Every time point ``text`` names, in hours (a range names both of its ends)."""
    points: set[float] = set()
    for match in _AMOUNT_UNIT.finditer(text):
        amount, upper, unit = match.group(1), match.group(2), match.group(3).lower()
        if amount.lower() in {"a", "an"} and unit in {"h", "hr", "hrs", "min", "mins"}:
            continue
        scale = _HOURS[unit]
        for value in (amount, upper):
            number = _amount(value) if value else None
            if number is not None:
                points.add(round(number * scale, 3))
    for match in _UNIT_AMOUNT.finditer(text):
        scale = _HOURS[match.group(1).lower()]
        points.update(round(float(value) * scale, 3) for value in match.group(2, 3) if value)
    if _NEXT_DAY.search(text):
        points.add(24.0)
    return frozenset(points)
