"""The index survives damage and rebuilds: readers never see a half-built index."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assistant.index import LiveIndex, MiniLMEmbedder, VectorStore
from assistant.index.ingest import ingest
from assistant.settings import Settings
from tests.conftest import write_doc


def test_a_damaged_local_index_reports_not_ready_and_ingest_repairs_it(
    settings: Settings, store: VectorStore, embedder: MiniLMEmbedder
) -> None:
    write_doc(settings.corpus_dir, "alpha2010")
    ingest(store, settings.index, settings.corpus_dir)
    store.reset_client()
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    (settings.chroma_path / "chroma.sqlite3").write_bytes(b"not a database" * 100)

    reader = LiveIndex(VectorStore(settings.index, settings.chroma_path, embedder), 0)
    status = reader.status()
    assert status["ready"] is False and "assistant ingest" in status["reason"]

    fresh = VectorStore(settings.index, settings.chroma_path, embedder)
    report = ingest(fresh, settings.index, settings.corpus_dir)
    assert report.quarantined and Path(report.quarantined).exists() and report.rebuilt
    reader.invalidate()
    assert reader.status()["ready"] is True


def test_a_missing_index_is_not_ready_with_a_reason(settings: Settings, store: VectorStore) -> None:
    status = LiveIndex(store, 0).status()
    assert status == {"ready": False, "reason": "No index has been built yet: run `assistant ingest`."}
    assert store.client.list_collections() == []  # readers never write, not even an empty alias


@pytest.mark.slow
def test_rebuild_in_another_process_while_answering_queries(
    settings: Settings, store: VectorStore, embedder: MiniLMEmbedder
) -> None:
    for i in range(6):
        write_doc(settings.corpus_dir, f"doc{i}2015")
    first = ingest(store, settings.index, settings.corpus_dir)
    reader = LiveIndex(VectorStore(settings.index, settings.chroma_path, embedder), 0)
    vector = embedder.embed_query("ketamine test scores")
    errors: list[BaseException] = []
    served: list[str] = []
    stop = threading.Event()

    def query_loop() -> None:
        while not stop.is_set():
            try:
                snap = reader.snapshot()
                hits = snap.collection.query(query_embeddings=[vector], n_results=3)
                assert hits["ids"][0]
                served.append(snap.name)
            except BaseException as exc:  # any failure is what this test looks for
                errors.append(exc)

    threads = [threading.Thread(target=query_loop) for _ in range(4)]
    for t in threads:
        t.start()
    env_cmd = [sys.executable, "-m", "assistant.cli", "ingest", "--rebuild", "--quiet"]
    result = subprocess.run(env_cmd, capture_output=True, text=True, timeout=300, env={
        "ASSISTANT_DATA_DIR": str(settings.data_dir), "ASSISTANT_CORPUS_DIR": str(settings.corpus_dir),
        "PATH": "/usr/bin:/bin"})
    new = store.active()[0]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not errors and served.count(new) < 20:
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join()
    assert result.returncode == 0, result.stderr
    assert not errors, errors[:3]
    assert new != first.collection
    assert served[0] == first.collection and served[-1] == new
