"""The scale path: the same ingest and retrieval against a Chroma server (`chroma run`) on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.index import LiveIndex, MiniLMEmbedder, VectorStore
from assistant.index.ingest import ingest
from assistant.settings import IndexSettings
from tests import servers
from tests.conftest import write_doc


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    with servers.chroma_server(tmp_path / "server") as server:
        yield server.url


@pytest.mark.slow
def test_ingest_and_search_through_a_chroma_server(
    chroma_server: str, tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    corpus = tmp_path / "corpus"
    write_doc(corpus, "alpha2010")
    write_doc(corpus, "beta2012", body="## Summary\nIn the beta2012 trial, esketamine nasal spray delayed relapse.\n")
    settings = IndexSettings(chroma_url=chroma_server, reload_interval_s=0)
    store = VectorStore(settings, tmp_path / "unused-local-path", embedder)
    first = ingest(store, settings, corpus)
    assert first.documents == 2 and first.embedded_chunks == first.chunks
    assert ingest(store, settings, corpus).up_to_date
    assert not (tmp_path / "unused-local-path").exists()

    reader = LiveIndex(VectorStore(settings, tmp_path / "unused", embedder), 0)
    snap = reader.snapshot()
    assert set(snap.documents) == {"alpha2010", "beta2012"}
    hits = snap.collection.query(query_embeddings=[embedder.embed_query("nasal spray relapse")], n_results=1)
    assert hits["metadatas"][0][0]["doc_id"] == "beta2012"
    assert reader.status()["ready"] is True
