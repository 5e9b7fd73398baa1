"""Turning a follow-up ("and the nasal spray?") into a question retrieval can answer on its own."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.domain import Turn

FOLLOW_UP_START = re.compile(
    r"^\s*(and|also|but|so|what about|how about|what if|and what|which|how long|how soon|how many|how much|"
    r"does it|did it|is it|was it|were they|do they|did they|what was|what were|why|in that|for that|same)\b",
    re.IGNORECASE,
)
REFERRING = re.compile(r"\b(it|its|that|this|those|these|they|them|the (trial|study|drug|spray|dose|effect|"
                       r"infusion|results?|patients|same))\b", re.IGNORECASE)
SUBJECT = re.compile(
    r"\b(ketamine|esketamine|spravato|transform-\d|sustain-\d|aspire|hnk|nmda|[A-Z][a-z]+ (19|20)\d\d)\b", re.IGNORECASE
)


def is_follow_up(message: str) -> bool:
    words = len(message.split())
    if SUBJECT.search(message) and words > 6:
        return False
    return bool(FOLLOW_UP_START.search(message) or REFERRING.search(message) or words <= 6)


def condense(message: str, history: Sequence[Turn]) -> str:
    """The message, plus the earlier questions it leans on, when it reads as a follow-up.

    The previous user questions carry the subject ("esketamine", "TRANSFORM-2"); appending them
    lets both retrieval and sentence scoring see it. Two turns back at most, to stay on topic.
    """
    if not history or not is_follow_up(message):
        return message
    context = [t.user for t in history[-2:]]
    if len(context) == 2 and not is_follow_up(context[1]):
        context = context[1:]
    return f"{message} (context: {' '.join(context)})"
