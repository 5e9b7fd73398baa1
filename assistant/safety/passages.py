"""The passage screen: planted instructions and home-dosing sentences never reach an answer engine.

A passage that addresses the assistant ("ignore previous instructions", "omit the caveats") is an attack planted
in a document, not evidence, so the whole document is left out of the answer: a source that tries to steer the
reader cannot be trusted for its numbers either. A sentence that gives a dose for use at home or without
supervision is cut out of the passage, whoever wrote it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import replace

from assistant.retrieval.hybrid import RetrievedChunk
from assistant.safety.screens import SentenceScreens

log = logging.getLogger(__name__)


class PassageScreen:
    """Keeps planted instructions and home-dosing sentences away from every answer engine.

    Documents are judged whole: every chunk of the current index generation is scanned once, and a
    document with any sentence addressed to the assistant is excluded even when retrieval surfaced
    only its harmless chunks, since the rest of the answer could quote them next to a citation.
    """

    def __init__(self, screens: SentenceScreens) -> None:
        self.screens = screens
        self._generation: str | None = None
        self._flagged: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def flagged(self, generation: str, chunks: Iterable[tuple[str, str, str]]) -> frozenset[str]:
        """Document ids with planted instructions; ``chunks`` are (doc_id, title, text), scanned once per generation."""
        with self._lock:
            if generation == self._generation:
                return self._flagged
        flagged = frozenset(doc_id for doc_id, title, text in chunks if self.screens.directives(f"{title}.\n{text}"))
        for doc_id in sorted(flagged):
            log.warning("document %s addresses the assistant; left out of answers until it is fixed", doc_id)
        with self._lock:
            self._generation, self._flagged = generation, flagged
        return flagged

    def clean(self, chunks: Sequence[RetrievedChunk], excluded: frozenset[str]) -> list[RetrievedChunk]:
        """Chunks of trusted documents, with any home-dosing sentence cut out of their text."""
        out = []
        for chunk in chunks:
            if chunk.doc_id in excluded:
                continue
            bad = self.screens.home_dosing(chunk.text)
            if bad:
                text = chunk.text
                for sentence in bad:
                    text = text.replace(sentence, " ")
                if not re.search(r"[A-Za-z]{3}", text):
                    continue
                # A new id, so caches keyed by chunk id never mix the cut text with the original.
                chunk = replace(chunk, id=f"{chunk.id}#screened", text=re.sub(r"[ \t]+", " ", text).strip())
            out.append(chunk)
        return out
