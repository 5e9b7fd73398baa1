"""Chunk metadata as a typed model: made once at chunking, decoded once when a generation is loaded.

Chroma stores scalars only, so the stored form is flat: a missing year is 0, an unrated level "unrated",
routes and topics are comma-joined and also set as ``route_IV``-style flags that filters can query. That
encoding lives here and nowhere else; everything above the index (filters, retrieval, citations, the web
schemas, the engines) reads ``ChunkMeta`` fields instead of decoding dictionary values again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict

from assistant.corpus.models import UNSPECIFIED_DESIGN, Document
from assistant.corpus.schema import Design, EvidenceLevel, Route, Topic

StoredValue = str | int | float | bool
UNRATED = "unrated"


class ChunkMeta(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    doc_id: str
    title: str = ""
    authors: str = ""
    year: int | None = None
    design: Design | Literal["unspecified"] = UNSPECIFIED_DESIGN
    evidence_level: EvidenceLevel | None = None
    routes: tuple[Route, ...] = ()
    topics: tuple[Topic, ...] = ()
    short_name: str = ""  # "Zarate 2006", as citations name the study
    surname: str = ""
    journal: str | None = None
    doi: str | None = None
    pmid: str | None = None
    url: str | None = None
    doc_hash: str = ""
    source_path: str = ""
    section: str = ""
    section_index: int = 0
    chunk_index: int = 0

    @property
    def level_key(self) -> str:
        """The level as one string ("1".."5", "regulatory", "unrated"): the key of per-level tables."""
        return UNRATED if self.evidence_level is None else str(self.evidence_level)

    @classmethod
    def of_document(cls, doc: Document) -> ChunkMeta:
        """What every chunk of ``doc`` shares; ``for_section`` adds where in the document a chunk sits."""
        return cls(doc_id=doc.id, title=doc.title, authors=doc.authors, short_name=doc.short_name,
                   surname=doc.surname, year=doc.year, journal=doc.journal or None, doi=doc.doi or None,
                   pmid=doc.pmid or None, url=doc.link or None, design=doc.design,  # type: ignore[arg-type]
                   evidence_level=_level(UNRATED if doc.evidence_level is None else str(doc.evidence_level)),
                   routes=tuple(doc.route),  # type: ignore[arg-type]
                   topics=tuple(doc.topics), doc_hash=doc.content_hash,  # type: ignore[arg-type]
                   source_path=doc.source_path)

    def for_section(self, section: str, section_index: int, chunk_index: int) -> ChunkMeta:
        return self.model_copy(update={"section": section, "section_index": section_index,
                                       "chunk_index": chunk_index})

    def to_store(self) -> dict[str, StoredValue]:
        """The flat form Chroma stores (scalars only), with route and topic flags to filter on."""
        stored: dict[str, StoredValue] = {
            "doc_id": self.doc_id, "title": self.title, "authors": self.authors, "short_name": self.short_name,
            "surname": self.surname, "year": self.year or 0, "journal": self.journal or "", "doi": self.doi or "",
            "pmid": self.pmid or "", "url": self.url or "", "design": self.design, "evidence_level": self.level_key,
            "route": ",".join(self.routes), "topics": ",".join(self.topics), "doc_hash": self.doc_hash,
            "source_path": self.source_path, "section": self.section, "section_index": self.section_index,
            "chunk_index": self.chunk_index,
        }
        stored.update({f"route_{route}": True for route in self.routes})
        stored.update({f"topic_{topic}": True for topic in self.topics})
        return stored

    @classmethod
    def from_store(cls, stored: Mapping[str, object]) -> ChunkMeta:
        return cls(
            doc_id=str(stored["doc_id"]), title=str(stored.get("title", "")), authors=str(stored.get("authors", "")),
            short_name=str(stored.get("short_name", "")), surname=str(stored.get("surname", "")),
            year=int(str(stored.get("year") or 0)) or None, journal=str(stored.get("journal") or "") or None,
            doi=str(stored.get("doi") or "") or None, pmid=str(stored.get("pmid") or "") or None,
            url=str(stored.get("url") or "") or None, design=stored.get("design", UNSPECIFIED_DESIGN),  # type: ignore[arg-type]
            evidence_level=_level(str(stored.get("evidence_level", UNRATED))),
            routes=_split(stored.get("route")), topics=_split(stored.get("topics")),  # type: ignore[arg-type]
            doc_hash=str(stored.get("doc_hash", "")), source_path=str(stored.get("source_path", "")),
            section=str(stored.get("section", "")), section_index=int(str(stored.get("section_index") or 0)),
            chunk_index=int(str(stored.get("chunk_index") or 0)),
        )


def _level(text: str) -> EvidenceLevel | None:
    return None if text == UNRATED else int(text) if text.isdigit() else text  # type: ignore[return-value]


def _split(value: object) -> tuple[str, ...]:
    return tuple(part for part in str(value or "").split(",") if part)
