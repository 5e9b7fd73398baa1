"""The sentence evidence index: written by ingest with each generation, copied for unchanged documents,
read by every serving process, with typed spans for the kinds of answer a question can expect."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.index import LiveIndex, VectorStore
from assistant.index.ingest import ingest
from assistant.index.spans import decode, encode, find_spans
from assistant.settings import Settings
from tests.conftest import write_doc


@pytest.fixture
def corpus(settings: Settings) -> Path:
    for doc_id in ("alpha2010", "beta2012"):
        write_doc(settings.corpus_dir, doc_id)
    return settings.corpus_dir


def test_ingest_writes_every_quotable_sentence_with_its_vector(store: VectorStore, settings: Settings,
                                                               corpus: Path) -> None:
    report = ingest(store, settings.index, corpus)
    assert report.sentences == report.embedded_sentences > 0
    snap = LiveIndex(store, 0).snapshot()
    index = snap.sentences
    assert len(index) == report.sentences and index.vectors.shape == (len(index), 384)
    for chunk in snap.chunks:
        rows = index.rows([chunk.id])
        assert rows and all(index.texts[r].rstrip(".") in chunk.text for r in rows)
        assert {index.doc_ids[r] for r in rows} == {chunk.metadata.doc_id}
    vector = store.embedder.embed([index.texts[0]])[0]
    assert float(vector @ index.vectors[0]) == pytest.approx(1.0, abs=1e-4)


def test_unchanged_documents_keep_their_sentence_vectors(store: VectorStore, settings: Settings,
                                                         corpus: Path) -> None:
    ingest(store, settings.index, corpus)
    write_doc(corpus, "beta2012", body="## Summary\nIn the beta2012 trial, a new finding replaced the old one.\n")
    report = ingest(store, settings.index, corpus)
    assert report.embedded_sentences == 1
    assert report.sentences > 1


def test_old_generations_take_their_sentences_with_them(store: VectorStore, settings: Settings,
                                                        corpus: Path) -> None:
    for _ in range(3):
        ingest(store, settings.index, corpus, rebuild=True)
    names = {c.name for c in store.client.list_collections()}
    generations = {n for n in names if n.startswith(f"{settings.index.collection}-") and n != store.alias_name
                   and not n.endswith(".sentences")}
    assert {n.removesuffix(".sentences") for n in names if n.endswith(".sentences")} == generations


@pytest.mark.parametrize("sentence", ["Given to 18 patients or more at a rate of 5.",
                                      "Ketamine at 0.1, 0.2, 0.5 or 1.0 mg/kg."])
def test_the_conjunction_or_is_not_an_odds_ratio(sentence: str) -> None:
    assert "effect_size" not in {kind for kind, _ in find_spans(sentence)}


def test_the_level_of_a_confidence_interval_is_not_a_percentage() -> None:
    spans = find_spans("Remission was 29% (95% CI 20-38%) against 90% credible limits of 5.")
    assert [text for kind, text in spans if kind == "percent"] == ["29%", "20-38%"]


@pytest.mark.parametrize(("sentence", "expected"), [
    ("Response was 71% at day 1.", {("percent", "71%"), ("days", "day 1")}),
    ("IV ketamine 0.5 mg/kg over 40 minutes.", {("dose_per_kg", "0.5 mg/kg"), ("minutes", "40 minutes")}),
    ("Esketamine 84 mg twice weekly for 4 weeks.", {("dose", "84 mg"), ("weeks", "4 weeks")}),
    ("The odds ratio was 3.94 (95% CI 1.5-10; p=.003).", {("effect_size", "odds ratio was 3.94"),
                                                          ("p_value", "p=.003"), ("ci", "95% CI")}),
    ("In all, 346 patients were randomised in TRANSFORM-1.", {("sample_size", "346 patients"),
                                                              ("trial", "TRANSFORM-1")}),
    ("Scores on the MADRS fell by 7.6 points.", {("scale", "MADRS"), ("points", "7.6 points")}),
    ("The OR for response at 24 hours with ketamine versus placebo was 3.94.",
     {("effect_size", "OR for response at 24 hours with ketamine versus placebo was 3.94")}),
    ("AEs appeared shortly after dosing and had resolved by 1.5 hours.", {("adverse_event", "AEs"),
                                                                          ("hours", "1.5 hours")}),
    ("Each got one 40-minute infusion in a 4-week trial.", {("minutes", "40-minute"), ("weeks", "4-week")}),
    ("It enrolled 99 outpatients; 89 ketamine-treated patients were pooled.", {
        ("sample_size", "99 outpatients"), ("sample_size", "89 ketamine-treated patients")}),
    ("Esketamine was given twice weekly, then every 2 weeks.", {("frequency", "twice weekly"),
                                                                ("frequency", "every 2 weeks")}),
    ("The trial is registered as NCT00088699.", {("registration", "NCT00088699")}),
    ("The most common side effects were dissociation and nausea.", {
        ("adverse_event", "side effects"), ("adverse_event", "dissociation"), ("adverse_event", "nausea")}),
])
def test_typed_spans_name_numbers_with_their_units(sentence: str, expected: set[tuple[str, str]]) -> None:
    spans = find_spans(sentence)
    assert expected <= set(spans)
    assert decode(encode(spans)) == tuple(spans)
