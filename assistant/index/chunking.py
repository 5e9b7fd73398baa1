"""Section-aware chunking: a chunk never spans two sections, so a citation can name its section."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.corpus.models import Document
from assistant.index.metadata import ChunkMeta

# Bump when the chunk text or metadata layout changes: stored indexes are then rebuilt.
CHUNK_FORMAT_VERSION = 4


@dataclass(frozen=True)
class Chunk:
    id: str
    text: str
    metadata: ChunkMeta

    @property
    def search_text(self) -> str:
        """What embedding and BM25 see: the passage plus the labels a reader would search by."""
        return search_text(self.text, self.metadata)


def search_text(text: str, metadata: ChunkMeta) -> str:
    header = f"{metadata.short_name}: {metadata.title}. {metadata.section}."
    return f"{header}\n{text}"


def chunk_document(doc: Document, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=min(chunk_overlap, chunk_size // 2),
        separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
        keep_separator="end",
    )
    base = ChunkMeta.of_document(doc)
    chunks: list[Chunk] = []
    for section_index, section in enumerate(doc.sections):
        for piece in splitter.split_text(section.text):
            text = piece.strip()
            if not text:
                continue
            index = len(chunks)
            digest = hashlib.sha256(f"{doc.content_hash}:{index}:{text}".encode()).hexdigest()[:12]
            meta = base.for_section(section.heading, section_index, index)
            chunks.append(Chunk(id=f"{doc.id}:{index}:{digest}", text=text, metadata=meta))
    return chunks
