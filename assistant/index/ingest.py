"""Ingestion: corpus files in, a new index generation out, embedding only what changed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.corpus import load_corpus
from assistant.errors import CorpusError, IndexUnavailable
from assistant.index.chunking import CHUNK_FORMAT_VERSION, Chunk, chunk_document
from assistant.index.sentences import SENTENCE_FORMAT_VERSION, read_vectors, write_sentences
from assistant.index.store import VectorStore
from assistant.settings import IndexSettings

ADD_BATCH = 256

# Called after each embedded batch with (chunks in this batch, chunks to embed in all).
Progress = Callable[[int, int], object]


@dataclass
class IngestReport:
    documents: int = 0
    chunks: int = 0
    embedded_chunks: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept_despite_errors: list[str] = field(default_factory=list)
    problems: list[CorpusError] = field(default_factory=list)
    collection: str | None = None
    rebuilt: bool = False
    up_to_date: bool = False
    quarantined: str | None = None
    seconds: float = 0.0
    embed_seconds: float = 0.0
    sentences: int = 0
    embedded_sentences: int = 0
    sentence_seconds: float = 0.0


def fingerprint(settings: IndexSettings, embedder_name: str) -> str:
    """Anything that changes every vector or chunk boundary; a mismatch forces a full rebuild."""
    return (f"{embedder_name}|{settings.chunk_size}|{settings.chunk_overlap}|v{CHUNK_FORMAT_VERSION}"
            f"|s{SENTENCE_FORMAT_VERSION}")


@dataclass
class _Existing:
    ids: list[str]
    documents: list[str]
    metadatas: list[dict[str, Any]]
    embeddings: list[Any]


def _read_existing(store: VectorStore, name: str) -> dict[str, _Existing]:
    got = store.open(name).get(include=["documents", "metadatas", "embeddings"])
    by_doc: dict[str, _Existing] = {}
    for i, chunk_id in enumerate(got["ids"]):
        meta = got["metadatas"][i]
        entry = by_doc.setdefault(str(meta["doc_id"]), _Existing([], [], [], []))
        entry.ids.append(chunk_id)
        entry.documents.append(got["documents"][i])
        entry.metadatas.append(meta)
        entry.embeddings.append(got["embeddings"][i])
    return by_doc


def ingest(
    store: VectorStore,
    settings: IndexSettings,
    corpus_dir: Path,
    *,
    rebuild: bool = False,
    strict: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Bring the index in step with ``corpus_dir``.

    Unchanged documents keep their stored vectors; a document whose file can no longer be read
    keeps its old chunks (a bad edit must not silently drop evidence); with ``strict`` any
    problem aborts before anything is written.
    """
    started = time.perf_counter()
    report = IngestReport()
    load = load_corpus(corpus_dir)
    report.problems = load.problems
    if strict and load.problems:
        raise load.problems[0]
    docs = load.documents
    report.documents = len(docs)

    wanted = fingerprint(settings, store.embedder.chroma.name())
    try:
        active = store.active()
    except IndexUnavailable:
        if not store.is_local:
            raise  # a remote server that is down is not ours to repair
        moved = store.quarantine()
        report.quarantined = str(moved) if moved else None
        active = store.active()
    existing: dict[str, _Existing] = {}
    if active and not rebuild and active[1].get("fingerprint") == wanted:
        existing = _read_existing(store, active[0])
    report.rebuilt = not existing

    failed_paths = {p.path for p in load.problems}
    loaded_ids = {d.id for d in docs}
    kept = {
        doc_id: entry
        for doc_id, entry in existing.items()
        if doc_id not in loaded_ids and entry.metadatas[0].get("source_path") in failed_paths
    }
    report.kept_despite_errors = sorted(kept)
    report.removed = sorted(set(existing) - loaded_ids - set(kept))

    to_embed: list[Chunk] = []
    for doc in docs:
        previous = existing.get(doc.id)
        if previous and previous.metadatas[0].get("doc_hash") == doc.content_hash:
            kept[doc.id] = previous
            continue
        (report.changed if previous else report.added).append(doc.id)
        to_embed.extend(chunk_document(doc, settings.chunk_size, settings.chunk_overlap))

    report.chunks = len(to_embed) + sum(len(e.ids) for e in kept.values())
    if active and existing and not to_embed and not report.removed:
        report.up_to_date = True
        report.collection = active[0]
        report.seconds = time.perf_counter() - started
        return report

    collection = store.new_generation(wanted)
    for entry in kept.values():
        for start in range(0, len(entry.ids), ADD_BATCH):
            end = start + ADD_BATCH
            collection.add(
                ids=entry.ids[start:end],
                documents=entry.documents[start:end],
                metadatas=entry.metadatas[start:end],
                embeddings=entry.embeddings[start:end],
            )
    embed_started = time.perf_counter()
    for start in range(0, len(to_embed), ADD_BATCH):
        batch = to_embed[start : start + ADD_BATCH]
        vectors = store.embedder.embed([c.search_text for c in batch])
        collection.add(
            ids=[c.id for c in batch],
            documents=[c.text for c in batch],
            metadatas=[c.metadata.to_store() for c in batch],
            embeddings=vectors,
        )
        report.embedded_chunks += len(batch)
        if progress:
            progress(len(batch), len(to_embed))
    report.embed_seconds = time.perf_counter() - embed_started
    sentence_started = time.perf_counter()
    previous: dict[str, Any] = {}
    if existing and active:
        try:
            previous = read_vectors(store.sentences_of(active[0]))
        except IndexUnavailable:  # a generation written before sentence collections: embed them all
            previous = {}
    sentences = store.sentences_of(collection.name, create=True)
    every_chunk = [(cid, text, meta) for entry in kept.values()
                   for cid, text, meta in zip(entry.ids, entry.documents, entry.metadatas, strict=True)]
    every_chunk += [(c.id, c.text, c.metadata.to_store()) for c in to_embed]
    report.embedded_sentences = write_sentences(sentences, every_chunk, store.embedder, previous)
    report.sentences = sentences.count()
    report.sentence_seconds = time.perf_counter() - sentence_started
    store.activate(collection, {"fingerprint": wanted, "documents": len(docs) + len(report.kept_despite_errors),
                                "chunks": report.chunks, "built_at": time.time()})
    report.collection = collection.name
    report.seconds = time.perf_counter() - started
    return report

