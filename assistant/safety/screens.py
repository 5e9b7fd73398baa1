"""Sentence screens: which sentences address the assistant, give a dose for home use, or undermine the caveats.

The pattern catalogues are data (prompts/screens.yaml, validated at start-up as ``prompt_files.ScreensFile``); this
module compiles them and applies them to every sentence of a text (cut by the shared splitter in
``assistant.text``) under every reading of it (``deobfuscate.variants``). Triage looks at what the user asked;
these screens look at what the service is about to use or show: passages going into an engine, drafts coming out
of a model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from assistant.prompt_files import ScreensFile
from assistant.prompts import PromptBook
from assistant.safety.deobfuscate import variants
from assistant.text import split_sentences


def _compile(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


class SentenceScreens:
    """The compiled catalogues of one prompt book; the screens are cached because passages repeat from answer
    to answer."""

    def __init__(self, patterns: ScreensFile) -> None:
        self.directive = _compile(patterns.directive)
        self.dose = _compile(patterns.dose)
        self.home = _compile(patterns.home)
        self.instruction = _compile(patterns.instruction)
        self.undermines = _compile(patterns.undermines)
        self.directives = lru_cache(maxsize=8192)(self._directives)
        self.home_dosing = lru_cache(maxsize=8192)(self._home_dosing)

    @classmethod
    def from_book(cls, book: PromptBook) -> SentenceScreens:
        return cls(book.typed("screens.yaml"))

    def _directives(self, text: str) -> tuple[str, ...]:
        """Sentences of ``text`` that give the assistant instructions, in any of their readings."""
        return tuple(s for s in split_sentences(text) if any(self.directive.search(v) for v in variants(s)))

    def _home_dosing(self, text: str) -> tuple[str, ...]:
        """Sentences that pair a dose amount with home, self or unsupervised use, or tell the reader to take a dose."""
        found: list[str] = []
        for sentence in split_sentences(text):
            readings = variants(sentence)
            if any(self.dose.search(r) for r in readings) and any(
                    self.home.search(r) or self.instruction.search(r) for r in readings):
                found.append(sentence)
        return tuple(found)

    def undermines_safety(self, text: str) -> list[str]:
        """Sentences that tell the reader the caveats do not apply or that the drug is risk-free."""
        return [s for s in split_sentences(text) if any(self.undermines.search(v) for v in variants(s))]
