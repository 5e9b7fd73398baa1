"""Section-aware chunking: a chunk never spans two sections, so a citation can name its section."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.corpus.models import Document

# Bump when the chunk text or metadata layout changes: stored indexes are then rebuilt.
CHUNK_FORMAT_VERSION = 4


@dataclass(frozen=True)
class Chunk:
    id: str
    text: str
    metadata: dict[str, Any]

    @property
    def search_text(self) -> str:
        """What embedding and BM25 see: the passage plus the labels a reader would search by."""
        return search_text(self.text, self.metadata)


def search_text(text: str, metadata: dict[str, Any]) -> str:
    header = f"{metadata.get('short_name', '')}: {metadata.get('title', '')}. {metadata.get('section', '')}."
    return f"{header}\n{text}"


def chunk_metadata(doc: Document) -> dict[str, Any]:
    """Flat metadata for Chroma (scalars only); routes and topics become boolean flags to filter on."""
    meta: dict[str, Any] = {
        "doc_id": doc.id,
        "title": doc.title,
        "authors": doc.authors,
        "short_name": doc.short_name,
        "surname": doc.surname,
        "year": doc.year if doc.year is not None else 0,
        "journal": doc.journal or "",
        "doi": doc.doi or "",
        "pmid": doc.pmid or "",
        "url": doc.link or "",
        "design": doc.design,
        "evidence_level": str(doc.evidence_level) if doc.evidence_level is not None else "unrated",
        "route": ",".join(doc.route),
        "topics": ",".join(doc.topics),
        "doc_hash": doc.content_hash,
        "source_path": doc.source_path,
    }
    for route in doc.route:
        meta[f"route_{route}"] = True
    for topic in doc.topics:
        meta[f"topic_{topic}"] = True
    return meta


def chunk_document(doc: Document, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=min(chunk_overlap, chunk_size // 2),
        separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
        keep_separator="end",
    )
    base = chunk_metadata(doc)
    chunks: list[Chunk] = []
    for section_index, section in enumerate(doc.sections):
        for piece in splitter.split_text(section.text):
            text = piece.strip()
            if not text:
                continue
            index = len(chunks)
            digest = hashlib.sha256(f"{doc.content_hash}:{index}:{text}".encode()).hexdigest()[:12]
            meta = dict(base, section=section.heading, section_index=section_index, chunk_index=index)
            chunks.append(Chunk(id=f"{doc.id}:{index}:{digest}", text=text, metadata=meta))
    return chunks
