"""The index as a serving process sees it: the active generation, loaded once, swapped when ingest flips the alias."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from chromadb.api.models.Collection import Collection

from assistant.errors import IndexUnavailable
from assistant.index.bm25 import BM25Index
from assistant.index.chunking import search_text
from assistant.index.metadata import ChunkMeta
from assistant.index.sentences import SentenceIndex
from assistant.index.store import VectorStore
from assistant.memo import LastOne
from assistant.text import names_in, studies_cited, tokenize


@dataclass(frozen=True)
class StoredChunk:
    """One chunk of a loaded generation, its metadata decoded."""

    id: str
    text: str
    metadata: ChunkMeta


@dataclass(frozen=True)
class Snapshot:
    """Everything a query needs from one generation; immutable, so threads can share it."""

    chunks: tuple[StoredChunk, ...]
    name: str
    collection: Collection
    position: dict[str, int]
    bm25: BM25Index
    documents: dict[str, ChunkMeta]  # the first chunk's metadata of each document
    study_names: frozenset[str]
    sentences: SentenceIndex
    doc_freq: dict[str, int]  # token -> how many documents use it (text, title or labels)
    names_in_text: frozenset[str] = frozenset()  # words the documents write only as names ("price": Price 2014)
    dated_studies: frozenset[tuple[str, int]] = frozenset()  # each document's first author and year ("loo", 2016)
    # The studies the documents cite by name and year without being one ("cottrell", 2008): named in a question,
    # they put it in scope as a study of the corpus does.
    studies_in_text: frozenset[tuple[str, int]] = frozenset()
    chunks_of: dict[str, tuple[StoredChunk, ...]] = field(default_factory=dict)  # document -> its chunks, in order

    @cached_property
    def scope_studies(self) -> tuple[frozenset[str], frozenset[str], frozenset[tuple[str, int]]]:
        """What the scope guard knows of this generation's studies (``ScopeGuard.know_studies``): the names of its
        documents' studies and of the studies they cite, the words they write only as names, and (name, year).
        Worked out once per generation: every request hands it to the guard."""
        return (self.study_names | {name for name, _ in self.studies_in_text}, self.names_in_text,
                self.dated_studies | self.studies_in_text)


# The generation this process loaded last, shared by every ``LiveIndex`` over the same store (keyed by the
# store's URL or path and the generation's name): a generation never changes once ingest has built it (a rebuild
# makes a new one, under a new name), so a second index over the same store (each app a test builds, a CLI command
# beside a server) takes the loaded copy instead of reading and tokenising every chunk and sentence again.
_last_loaded: LastOne[tuple[str, str], Snapshot] = LastOne()


class LiveIndex:
    def __init__(self, store: VectorStore, reload_interval_s: float = 5.0) -> None:
        self.store = store
        self.reload_interval_s = reload_interval_s
        self._snapshot: Snapshot | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def _load(self, name: str) -> Snapshot:
        collection = self.store.open(name)
        where = (self.store.settings.chroma_url or str(self.store.chroma_path.resolve()), name)
        known = _last_loaded.get(where)
        if known is not None:
            return replace(known, collection=collection)
        snapshot = self._read(name, collection)
        _last_loaded.put(where, snapshot)
        return snapshot

    def _read(self, name: str, collection: Collection) -> Snapshot:
        try:
            got = collection.get(include=["documents", "metadatas"])
        except Exception as exc:
            self.store.reset_client()
            raise IndexUnavailable(f"The index cannot be read ({exc.__class__.__name__}).") from exc
        chunks = tuple(
            StoredChunk(i, d, ChunkMeta.from_store(m))
            for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        )
        chunks = tuple(sorted(chunks, key=lambda c: (c.metadata.doc_id, c.metadata.chunk_index)))
        documents: dict[str, ChunkMeta] = {}
        chunks_of: dict[str, list[StoredChunk]] = {}
        for chunk in chunks:
            documents.setdefault(chunk.metadata.doc_id, chunk.metadata)
            chunks_of.setdefault(chunk.metadata.doc_id, []).append(chunk)
        try:
            sentences = SentenceIndex.load(self.store.sentences_of(name))
        except IndexUnavailable:
            raise IndexUnavailable(f"The index generation {name} has no sentence index: run `assistant ingest`.") \
                from None
        except Exception as exc:
            self.store.reset_client()
            raise IndexUnavailable(f"The sentence index cannot be read ({exc.__class__.__name__}).") from exc
        words: dict[str, set[str]] = {}
        for chunk in chunks:
            for token in tokenize(search_text(chunk.text, chunk.metadata) + " " + chunk.metadata.authors):
                words.setdefault(token, set()).add(chunk.metadata.doc_id)
        texts = [c.text for c in chunks]
        names = names_in(texts)
        return Snapshot(
            name=name,
            collection=collection,
            chunks=chunks,
            position={c.id: i for i, c in enumerate(chunks)},
            bm25=BM25Index([search_text(c.text, c.metadata) for c in chunks]),
            documents=documents,
            study_names=frozenset(m.surname for m in documents.values()),
            sentences=sentences, doc_freq={token: len(docs) for token, docs in words.items()},
            names_in_text=names,
            studies_in_text=studies_cited(texts, names),
            dated_studies=frozenset((m.surname.lower(), m.year) for m in documents.values() if m.surname and m.year),
            chunks_of={doc: tuple(of_doc) for doc, of_doc in chunks_of.items()},
        )

    def snapshot(self) -> Snapshot:
        """The current generation; re-reads the alias at most every ``reload_interval_s``."""
        now = time.monotonic()
        current = self._snapshot
        if current is not None and now - self._checked_at < self.reload_interval_s:
            return current
        with self._lock:
            if self._snapshot is not None and time.monotonic() - self._checked_at < self.reload_interval_s:
                return self._snapshot
            active = self.store.active()
            if active is None:
                raise IndexUnavailable("No index has been built yet: run `assistant ingest`.")
            if self._snapshot is None or self._snapshot.name != active[0]:
                self._snapshot = self._load(active[0])
            self._checked_at = time.monotonic()
            return self._snapshot

    def invalidate(self) -> None:
        """Force the next call to re-read the alias and reconnect, after a store outage."""
        with self._lock:
            self._checked_at = 0.0
            self.store.reset_client()

    def status(self) -> dict[str, Any]:
        try:
            self.store.ping()
            snap = self.snapshot()
        except IndexUnavailable as exc:
            return {"ready": False, "reason": exc.message}
        return {"ready": True, "collection": snap.name, "documents": len(snap.documents), "chunks": len(snap.chunks)}
