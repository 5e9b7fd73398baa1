"""Numbered citations: one marker per cited document, checked against what was retrieved."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.domain import Citation
from assistant.retrieval.hybrid import RetrievedChunk

MARKER_RE = re.compile(r"\[(\d{1,3})\]")


def make_citation(marker: int, chunk: RetrievedChunk, snippet: str) -> Citation:
    meta = chunk.metadata
    return Citation(
        marker=marker,
        doc_id=chunk.doc_id,
        title=meta.title,
        authors=meta.authors,
        year=meta.year,
        journal=meta.journal,
        doi=meta.doi,
        pmid=meta.pmid,
        url=meta.url,
        section=meta.section,
        snippet=snippet,
        design=meta.design,
        evidence_level=meta.evidence_level,
    )


@dataclass
class CitationBuilder:
    """Hands out markers in order of first use, one per document."""

    citations: list[Citation]
    _by_doc: dict[str, int]

    @classmethod
    def empty(cls) -> CitationBuilder:
        return cls([], {})

    def mark(self, chunk: RetrievedChunk, snippet: str) -> int:
        marker = self._by_doc.get(chunk.doc_id)
        if marker is None:
            marker = len(self.citations) + 1
            self._by_doc[chunk.doc_id] = marker
            self.citations.append(make_citation(marker, chunk, snippet))
        else:
            existing = self.citations[marker - 1]
            if snippet not in existing.snippet:
                self.citations[marker - 1] = existing.model_copy(update={"snippet": f"{existing.snippet} {snippet}"})
        return marker


def resolve_markers(text: str, chunks: Sequence[RetrievedChunk]) -> tuple[str, list[Citation]]:
    """Keep markers that point at a retrieved passage (numbered 1..len(chunks)), renumbered by first use;
    remove the rest. Used on model output, which may invent markers."""
    builder = CitationBuilder.empty()

    def replace(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if not 1 <= number <= len(chunks):
            return ""
        chunk = chunks[number - 1]
        return f"[{builder.mark(chunk, chunk.text[:400])}]"

    cleaned = MARKER_RE.sub(replace, text)
    cleaned = re.sub(r"[ \t]+([.,;:])", r"\1", re.sub(r"[ \t]{2,}", " ", cleaned)).strip()
    return cleaned, builder.citations
