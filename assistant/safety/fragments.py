"""Prompt fragments: the clauses of the prompt templates that must never reach a user.

Shared by the leak check, which discards a draft that repeats one, and by the replay scorer, which reports one in
any reply: both must mean the same thing by "prompt text".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from assistant.text import fold, split_sentences

# Prompt templates whose text must never reach a user, and the shortest clause of them that
# counts as a leak (shorter ones occur in ordinary answers by chance).
PROMPT_TEMPLATES = ("system.md", "answer.md", "condense.md")
MIN_FRAGMENT_CHARS = 24


def template_fragments(templates: Iterable[str]) -> tuple[str, ...]:
    """The clauses of prompt templates (their fixed text, not the placeholders), folded and casefolded.

    Shared by the answer engine, which discards a draft that repeats one, and by the replay
    scorer, which reports one in any reply: both must mean the same thing by "prompt text".
    """
    fragments: list[str] = []
    for template in templates:
        for line in template.splitlines():
            line = re.sub(r"^\s*(\d+\.|-)\s+", "", line)
            for sentence in split_sentences(line):
                for piece in re.split(r"(?<=[;:])\s+|\$\{?\w+\}?|\"", sentence):
                    piece = fold(piece).casefold().strip(" .;:!?\"")
                    if len(piece) >= MIN_FRAGMENT_CHARS:
                        fragments.append(piece)
    return tuple(dict.fromkeys(fragments))
