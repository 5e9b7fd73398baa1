"""The leak check: model text that repeats prompt text, deployment rules or settings values is discarded."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from assistant.safety.deobfuscate import variants
from assistant.safety.fragments import MIN_FRAGMENT_CHARS, template_fragments
from assistant.text import fold


@dataclass(frozen=True)
class LeakCheck:
    """What must never leave the service: prompt text, deployment rules and settings values.

    ``fragments`` are clauses of the prompt templates (their fixed text, not the placeholders);
    ``secrets`` are exact values (the extra rules, API key, endpoint, model name) and the
    identifier-like tokens inside them, so a canary in the extra rules is caught on its own.
    Both are compared in folded form against every reading of a text, and also with all spacing
    and punctuation squeezed out, which catches text spelt with separators or split across lines.
    """

    fragments: tuple[str, ...]
    secrets: tuple[str, ...]

    MIN_FRAGMENT = MIN_FRAGMENT_CHARS
    MIN_SECRET = 8

    @staticmethod
    def _norm(text: str) -> str:
        return fold(text).casefold()

    @staticmethod
    def _squeeze(text: str) -> str:
        return re.sub(r"[\W_]+", "", text)

    @classmethod
    def build(cls, templates: Iterable[str], secrets: Iterable[str]) -> LeakCheck:
        fragments = template_fragments(templates)
        values: list[str] = []
        for secret in secrets:
            norm = cls._norm(secret)
            if len(norm) < cls.MIN_SECRET:
                continue
            values.append(norm)
            for line in re.split(r"[\n.;]+", norm):
                if len(line.strip()) >= cls.MIN_FRAGMENT:
                    values.append(line.strip())
            for token in re.findall(r"[\w\-:/.@]+", norm):
                token = token.strip(".:/-")
                if len(token) >= cls.MIN_SECRET and re.search(r"\d", token) and re.search(r"[a-z]", token):
                    values.append(token)
        return cls(fragments, tuple(dict.fromkeys(values)))

    def leaks(self, text: str, public: str = "") -> list[str]:
        """The fragments and secrets found in ``text`` under any reading; empty when it is clean.

        ``public`` is text the writer was entitled to repeat (the passages it was given): a needle
        that also occurs there, say a trial name in the extra rules, is not a leak.
        """
        readings = [r.casefold() for r in variants(text)]
        squeezed = [self._squeeze(r) for r in readings]
        known = self._norm(public)
        found = []
        for needle in (*self.fragments, *self.secrets):
            if known and needle in known:
                continue
            tight = self._squeeze(needle)
            if any(needle in r for r in readings) or (
                    len(tight) >= self.MIN_SECRET and any(tight in s for s in squeezed)):
                found.append(needle)
        return found
