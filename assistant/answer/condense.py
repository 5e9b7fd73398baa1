"""Turning a follow-up ("and the nasal spray?") into a question retrieval can answer on its own.

Whether a message leans on the conversation is decided by what it names, not by how it starts: a
message that names no subject the corpus is about ("Do patients need to stay at the clinic after
each dose?" after a question on Spravato) cannot be answered alone, while one that names its own
subject ("Does ketamine help with anxiety?") keeps it, whatever came before. An elliptical start
("And ...", "What about ...") continues the earlier question even when it names a subject ("And the
nasal spray?" after a question on doses), and so does a short message that points back ("Did it
work?").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from assistant.answer.question import CONTEXT_MARK
from assistant.domain import Turn

ELLIPTICAL_START = re.compile(
    r"^\s*(and|also|but|so|then|what about|how about|what if|same|in that|for that|in those|for those)\b",
    re.IGNORECASE,
)
REFERRING = re.compile(r"\b(it|its|that|this|those|these|they|them|the (trial|study|drug|spray|dose|effect|"
                       r"infusion|results?|patients|same))\b", re.IGNORECASE)
SHORT = 6  # words: a message this short that points back is a follow-up even if it names a subject

# Whether a message names a subject of its own (a drug, study, trial or entity the corpus covers).
NamesSubject = Callable[[str], bool]
# The earlier questions without what the message replaces (retrieval.synonyms.SynonymTable.replaced).
Replaced = Callable[[str, str], str]


def is_follow_up(message: str, names_subject: NamesSubject) -> bool:
    if ELLIPTICAL_START.search(message):
        return True
    if not names_subject(message):
        return True
    return bool(REFERRING.search(message)) and len(message.split()) <= SHORT


def condense(message: str, history: Sequence[Turn], names_subject: NamesSubject,
             replaced: Replaced | None = None) -> str:
    """The message, plus the earlier questions it leans on, when it reads as a follow-up.

    The previous user questions carry the subject ("esketamine", "TRANSFORM-2"); appending them
    lets both retrieval and sentence scoring see it. Two turns back at most, to stay on topic, and
    only one when the last question stood on its own. ``replaced`` drops from them what the message
    replaces ("IV" when the message asks "And the nasal spray?").
    """
    if not history or not is_follow_up(message, names_subject):
        return message
    context = [t.user for t in history[-2:]]
    if len(context) == 2 and not is_follow_up(context[1], names_subject):
        context = context[1:]
    earlier = " ".join(context)
    if replaced is not None:
        earlier = replaced(message, earlier)
    return f"{message}{CONTEXT_MARK}{earlier})"
