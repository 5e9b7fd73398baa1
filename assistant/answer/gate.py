"""The gate every sentence of a model's draft passes before a reader sees it.

Two kinds of failure, treated differently:

* A sentence that repeats prompt text or a settings value, gives a dose for home or self use, says
  the caveats do not apply, or carries instructions shows that the model has been steered (by a
  planted passage, or by the question). It is dropped, and so is the rest of the draft: what a
  steered model writes next cannot be trusted either.
* A sentence the cited passages do not support (no valid marker, no shared key term, a number
  they do not hold; see :mod:`assistant.answer.support`) is a slip. It is dropped and the draft
  goes on.

A released sentence has its markers renumbered by first use across the whole answer. Every drop
is logged with its reason (never with the sentence, which may hold what must not leak).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.answer import support
from assistant.answer.citations import CitationBuilder, resolve_markers
from assistant.domain import Citation
from assistant.retrieval.hybrid import RetrievedChunk
from assistant.safety.leaks import LeakCheck
from assistant.safety.screens import SentenceScreens

log = logging.getLogger(__name__)


def unsafe(text: str, leak_check: LeakCheck, screens: SentenceScreens, public: str = "") -> str | None:
    """Why model text must not reach a reader whatever it cites, or None."""
    if leak_check.leaks(text, public):
        return "repeats prompt text, extra rules or settings"
    if screens.home_dosing(text):
        return "gives a dose for home or self use"
    if screens.undermines_safety(text):
        return "says the safety information does not apply"
    if screens.directives(text):
        return "carries instructions"
    return None


def passage_text(chunk: RetrievedChunk) -> str:
    """A passage as the model saw it: its study, section and design attributes, then its text."""
    meta = chunk.metadata
    attributes = (meta.short_name, meta.section, meta.design,
                  "" if meta.evidence_level is None else meta.evidence_level)
    return " ".join(str(value) for value in attributes) + "\n" + chunk.text


@dataclass(frozen=True)
class Screened:
    text: str | None  # as released (markers renumbered); None when dropped
    reason: str | None = None
    stop: bool = False  # the rest of the draft is not to be used


@dataclass
class SentenceGate:
    """Screens the sentences of one draft in order, against the passages the model was given."""

    leak_check: LeakCheck
    screens: SentenceScreens
    chunks: Sequence[RetrievedChunk]
    builder: CitationBuilder = field(default_factory=CitationBuilder.empty)
    shown: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._public = "\n".join(c.text for c in self.chunks)
        self._passages = [passage_text(c) for c in self.chunks]

    @property
    def citations(self) -> list[Citation]:
        return self.builder.citations

    def screen(self, sentence: str) -> Screened:
        reason = unsafe(sentence, self.leak_check, self.screens, self._public)
        if reason:
            return self._dropped(reason, stop=True)
        verdict = support.check(sentence, self._passages)
        if not verdict.ok:
            return self._dropped(verdict.reason or "", unsupported=verdict.unsupported)
        # A value split over two sentences is only a leak once both are shown: check what the reader would see.
        if self.leak_check.leaks(" ".join([*self.shown, sentence]), self._public):
            return self._dropped("repeats settings across sentences", stop=True)
        text, _ = resolve_markers(sentence, self.chunks, self.builder)
        self.shown.append(sentence)
        return Screened(text)

    def _dropped(self, reason: str, *, stop: bool = False, unsupported: tuple[str, ...] = ()) -> Screened:
        log.warning("model sentence dropped (%s%s)", reason,
                    f" ({', '.join(unsupported)})" if unsupported else "",
                    extra={"fields": {"drop_reason": reason, "rest_of_draft_dropped": stop}})
        return Screened(None, reason, stop)
