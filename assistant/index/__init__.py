"""Building and serving the evidence index (Chroma vectors plus BM25 over the same chunks)."""

from __future__ import annotations

from assistant.index.embeddings import MiniLMEmbedder, make_embedder
from assistant.index.live import LiveIndex, Snapshot, StoredChunk
from assistant.index.store import VectorStore
from assistant.settings import Settings


def make_store(settings: Settings, embedder: MiniLMEmbedder | None = None) -> VectorStore:
    embedder = embedder or make_embedder(
        settings.index.embedding_model, settings.index.onnx_threads, settings.index.embed_batch_size
    )
    return VectorStore(settings.index, settings.chroma_path, embedder)


__all__ = ["LiveIndex", "MiniLMEmbedder", "Snapshot", "StoredChunk", "VectorStore", "make_store"]
