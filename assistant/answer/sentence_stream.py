"""A model's draft, as it arrives token by token, cut into whole sentences.

A sentence is handed out only once it is certainly complete: the text after it has begun a new
sentence, so neither a number ("0." then "5 mg/kg") nor the markers written after its full stop
("... 24 h. [1]") can still be on their way. Markers that follow a full stop belong to the sentence
before them. The cutting itself is the project's one sentence splitter, ``assistant.text.split_sentences``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.text import split_sentences

LEADING_MARKERS = re.compile(r"^(?:\s*\[\d{1,3}\])+")
# Only markers, or the beginning of one ("[", "[1"): the sentence before it may not be over.
MARKERS_ONLY = re.compile(r"(?:\s*\[\d{0,3}\]?)+\s*")


@dataclass(frozen=True)
class Sentence:
    text: str
    new_line: bool  # a line break came before it in the draft (a new paragraph or list item)


def _with_markers(parts: list[str]) -> list[str]:
    out: list[str] = []
    for part in parts:
        lead = LEADING_MARKERS.match(part)
        if lead and out:
            out[-1] = f"{out[-1]} {lead.group(0).strip()}"
            part = part[lead.end():].strip()
        if part:
            out.append(part)
    return out


class SentenceBuffer:
    """Feed it the draft piece by piece; it returns each sentence once, as soon as it is complete."""

    def __init__(self) -> None:
        self.text = ""
        self._given = 0
        self._searched = 0

    def _parts(self) -> list[str]:
        return _with_markers(split_sentences(self.text))

    def _located(self, parts: list[str]) -> list[Sentence]:
        out = []
        for part in parts:
            start = self.text.find(part[:24], self._searched)
            new_line = start >= 0 and "\n" in self.text[self._searched:start]
            if start >= 0:
                self._searched = start + min(len(part), 24)
            out.append(Sentence(part, new_line and self._given + len(out) > 0))
        return out

    def feed(self, piece: str) -> list[Sentence]:
        self.text += piece
        parts = self._parts()
        open_parts = 2 if len(parts) >= 2 and MARKERS_ONLY.fullmatch(parts[-1]) else 1
        complete = parts[:max(0, len(parts) - open_parts)]
        fresh = self._located(complete[self._given:])
        self._given = max(self._given, len(complete))
        return fresh

    def finish(self) -> list[Sentence]:
        """The sentences still held once the draft has ended normally."""
        parts = self._parts()
        fresh = self._located(parts[self._given:])
        self._given = len(parts)
        return fresh
