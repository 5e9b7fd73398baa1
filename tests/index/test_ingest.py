"""Ingestion is idempotent, incremental, and never loses what is already indexed."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import CorpusError
from assistant.index import LiveIndex, VectorStore
from assistant.index.chunking import chunk_document
from assistant.index.ingest import ingest
from assistant.index.metadata import ChunkMeta
from assistant.settings import IndexSettings, Settings
from tests.conftest import write_doc


def _docs_in_index(store: VectorStore) -> dict[str, int]:
    snap = LiveIndex(store, 0).snapshot()
    counts: dict[str, int] = {}
    for chunk in snap.chunks:
        counts[chunk.metadata.doc_id] = counts.get(chunk.metadata.doc_id, 0) + 1
    return counts


@pytest.fixture
def corpus(settings: Settings) -> Path:
    for doc_id in ("alpha2010", "beta2012", "gamma2014"):
        write_doc(settings.corpus_dir, doc_id)
    return settings.corpus_dir


def test_first_ingest_builds_and_second_embeds_nothing(store: VectorStore, settings: Settings, corpus: Path) -> None:
    first = ingest(store, settings.index, corpus)
    assert first.rebuilt and first.documents == 3 and first.embedded_chunks == first.chunks > 0
    second = ingest(store, settings.index, corpus)
    assert second.up_to_date and second.embedded_chunks == 0
    assert second.collection == first.collection


def test_a_changed_file_replaces_only_its_own_chunks(store: VectorStore, settings: Settings, corpus: Path) -> None:
    ingest(store, settings.index, corpus)
    before = LiveIndex(store, 0).snapshot()
    write_doc(corpus, "beta2012", body="## Summary\nIn the beta2012 trial, a new finding replaced the old one.\n")
    report = ingest(store, settings.index, corpus)
    assert report.changed == ["beta2012"] and not report.added and not report.removed
    assert report.embedded_chunks == 1
    after = LiveIndex(store, 0).snapshot()
    unchanged_before = {c.id for c in before.chunks if c.metadata.doc_id != "beta2012"}
    unchanged_after = {c.id for c in after.chunks if c.metadata.doc_id != "beta2012"}
    assert unchanged_before == unchanged_after
    assert any("new finding" in c.text for c in after.chunks)
    assert not any("fell by 10 points" in c.text and c.metadata.doc_id == "beta2012" for c in after.chunks)


def test_a_deleted_file_takes_its_chunks_with_it(store: VectorStore, settings: Settings, corpus: Path) -> None:
    ingest(store, settings.index, corpus)
    (corpus / "gamma2014.md").unlink()
    report = ingest(store, settings.index, corpus)
    assert report.removed == ["gamma2014"] and report.embedded_chunks == 0
    assert set(_docs_in_index(store)) == {"alpha2010", "beta2012"}


def test_a_file_that_breaks_keeps_its_indexed_version(store: VectorStore, settings: Settings, corpus: Path) -> None:
    ingest(store, settings.index, corpus)
    (corpus / "beta2012.md").write_text("---\nid: [broken\n---\n")
    report = ingest(store, settings.index, corpus)
    assert report.kept_despite_errors == ["beta2012"]
    assert "beta2012.md" in report.problems[0].message
    assert set(_docs_in_index(store)) == {"alpha2010", "beta2012", "gamma2014"}


def test_strict_mode_fails_before_writing_anything(store: VectorStore, settings: Settings, corpus: Path) -> None:
    first = ingest(store, settings.index, corpus)
    (corpus / "empty.md").write_text("")
    with pytest.raises(CorpusError, match=r"empty\.md"):
        ingest(store, settings.index, corpus, strict=True)
    assert store.active()[0] == first.collection


def test_a_crash_mid_build_leaves_the_old_index_serving(
    store: VectorStore, settings: Settings, corpus: Path, mocker
) -> None:
    first = ingest(store, settings.index, corpus)
    mocker.patch.object(store.embedder, "embed", side_effect=RuntimeError("power cut"))
    with pytest.raises(RuntimeError):
        ingest(store, settings.index, corpus, rebuild=True)
    assert store.active()[0] == first.collection
    assert set(_docs_in_index(store)) == {"alpha2010", "beta2012", "gamma2014"}


def test_rebuild_switches_generation_and_prunes_old_ones(store: VectorStore, settings: Settings, corpus: Path) -> None:
    names = [ingest(store, settings.index, corpus, rebuild=True).collection for _ in range(3)]
    assert store.active()[0] == names[-1]
    live = {c.name for c in store.client.list_collections()}
    assert names[0] not in live and names[1] in live and names[2] in live


def test_changed_chunking_settings_force_a_full_rebuild(store: VectorStore, settings: Settings, corpus: Path) -> None:
    ingest(store, settings.index, corpus)
    smaller = IndexSettings(chunk_size=300, reload_interval_s=0)
    report = ingest(VectorStore(smaller, settings.chroma_path, store.embedder), smaller, corpus)
    assert report.rebuilt and report.embedded_chunks == report.chunks


def test_chunks_carry_record_and_section(tmp_path: Path) -> None:
    from assistant.corpus.loaders import load_markdown

    long_results = " ".join(f"In the delta2016 trial, finding number {i} was recorded." for i in range(40))
    path = write_doc(tmp_path, "delta2016", body=f"## Summary\nShort summary.\n\n## Results\n{long_results}\n",
                     topics=["efficacy", "safety"], route=["IV"])
    (doc,) = load_markdown(path)
    chunks = chunk_document(doc, chunk_size=400, chunk_overlap=50)
    assert chunks[0].metadata.section == "Summary"
    results = [c for c in chunks if c.metadata.section == "Results"]
    assert len(results) > 1 and all(len(c.text) <= 400 for c in results)
    meta = results[0].metadata
    assert meta.doi == "10.5555/delta2016" and meta.year == 2015 and meta.evidence_level == 2
    assert meta.topics == ("efficacy", "safety") and meta.routes == ("IV",)
    stored = meta.to_store()  # what Chroma holds: scalars, with flags to filter routes and topics on
    assert stored["evidence_level"] == "2" and stored["topics"] == "efficacy,safety"
    assert stored["topic_efficacy"] is True and stored["topic_safety"] is True and stored["route_IV"] is True
    assert ChunkMeta.from_store(stored) == meta
    assert "Results" in results[0].search_text and "delta2016" in results[0].search_text
