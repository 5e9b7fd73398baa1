"""Wiring: builds the long-lived components from settings, once per process.

The web app, the Slack bot, the CLI and the evaluator all get their components from here, so
each front end is a thin layer over the same service objects.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.index import LiveIndex, MiniLMEmbedder, VectorStore, make_store
from assistant.index.embeddings import make_embedder
from assistant.settings import Settings


@dataclass
class Services:
    settings: Settings
    embedder: MiniLMEmbedder
    store: VectorStore
    index: LiveIndex


def build_services(settings: Settings) -> Services:
    embedder = make_embedder(settings.index.embedding_model, settings.index.onnx_threads,
                             settings.index.embed_batch_size)
    store = make_store(settings, embedder)
    index = LiveIndex(store, settings.index.reload_interval_s)
    return Services(settings=settings, embedder=embedder, store=store, index=index)
