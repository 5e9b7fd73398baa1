"""The index a serving process sees: one loaded copy of a generation per process, read anew after a rebuild."""

from __future__ import annotations

from assistant.index import LiveIndex, MiniLMEmbedder, VectorStore
from assistant.index.ingest import ingest
from assistant.settings import Settings
from tests.conftest import write_doc


def test_indexes_over_one_store_share_the_loaded_generation_and_each_queries_its_own_client(
        settings: Settings, store: VectorStore, embedder: MiniLMEmbedder) -> None:
    write_doc(settings.corpus_dir, "alpha2010")
    ingest(store, settings.index, settings.corpus_dir)
    first = LiveIndex(store, 0).snapshot()
    other_store = VectorStore(settings.index, settings.chroma_path, embedder)
    second = LiveIndex(other_store, 0).snapshot()
    assert second.name == first.name
    assert second.sentences is first.sentences and second.bm25 is first.bm25, "read and tokenised once"
    assert second.collection is not first.collection, "each index queries through its own store's client"
    assert second.collection.count() == first.collection.count() > 0


def test_a_rebuilt_generation_is_read_anew(settings: Settings, store: VectorStore) -> None:
    write_doc(settings.corpus_dir, "alpha2010")
    ingest(store, settings.index, settings.corpus_dir)
    index = LiveIndex(store, 0)
    before = index.snapshot()
    write_doc(settings.corpus_dir, "beta2012")
    ingest(store, settings.index, settings.corpus_dir)
    after = index.snapshot()
    assert after.name != before.name and set(after.documents) == {"alpha2010", "beta2012"}
    assert LiveIndex(store, 0).snapshot().sentences is after.sentences
