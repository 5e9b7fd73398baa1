"""The hybrid retriever finds the right study for hard questions, honours filters, and knows when it is lost."""

from __future__ import annotations

import pytest

from assistant.retrieval.filters import Filters
from assistant.retrieval.hybrid import HybridRetriever, rank_documents
from assistant.retrieval.synonyms import TypoFixer
from assistant.safety.scope import evidence_too_weak
from assistant.services import Services


@pytest.fixture(scope="module")
def retriever(shipped_services: Services) -> HybridRetriever:
    return shipped_services.retriever


@pytest.mark.parametrize(
    ("question", "gold"),
    [
        ("What was the primary result of TRANSFORM-2?", "popova2019"),
        ("Did esketamine prevent relapse in SUSTAIN-1?", "daly2019"),
        ("What did the 2000 Berman crossover find?", "berman2000"),
        ("Is (2R,6R)-HNK an antidepressant in mice?", "zanos2016"),
        ("Which doses beat midazolam in the dose-ranging trial: 0.1, 0.2, 0.5 or 1.0 mg/kg?", "fava2020"),
        ("Does a nasal spray help people with suicidal thoughts who are at imminent risk?", "canuso2018"),
        ("Can ketamine damage the bladder?", "ketaminecystitis"),
        ("Does ketamin work for depresion within a day?", None),  # typos: any efficacy source will do
        ("What did the SSI show in the midazolam-controlled suicidal ideation trial?", "grunebaum2018"),
        ("When did the FDA approve Spravato?", "spravato_fda2019"),
    ],
)
def test_hard_questions_find_their_study_in_the_top_three(
    retriever: HybridRetriever, question: str, gold: str | None
) -> None:
    result = retriever.retrieve(question)
    assert result.chunks
    if gold:
        assert gold in result.ranked_docs[:3], result.ranked_docs[:5]


def test_results_carry_scores_and_full_metadata(retriever: HybridRetriever) -> None:
    result = retriever.retrieve("esketamine nasal spray relapse prevention")
    top = result.chunks[0]
    assert top.score > 0 and top.dense is not None
    meta = top.metadata
    assert meta.doc_id and meta.title and meta.year and meta.design and meta.section and meta.evidence_level


def test_one_document_cannot_fill_every_slot(retriever: HybridRetriever) -> None:
    result = retriever.retrieve("TRANSFORM-2 esketamine flexible dose results adverse events limitations", k=6)
    per_doc: dict[str, int] = {}
    for chunk in result.chunks:
        per_doc[chunk.doc_id] = per_doc.get(chunk.doc_id, 0) + 1
    assert max(per_doc.values()) <= retriever.settings.per_doc_cap
    assert len(per_doc) >= 3


@pytest.mark.parametrize(
    ("filters", "check"),
    [
        (Filters(year_min=2018, year_max=2019), lambda m: 2018 <= m.year <= 2019),
        (Filters(designs=["meta-analysis"]), lambda m: m.design == "meta-analysis"),
        (Filters(evidence_levels=[1]), lambda m: m.evidence_level == 1),
        (Filters(evidence_levels=["1"]), lambda m: m.evidence_level == 1),
        (Filters(routes=["intranasal"]), lambda m: "intranasal" in m.routes),
        (Filters(topics=["abuse"]), lambda m: "abuse" in m.topics),
        (Filters(doc_ids=["singh2016", "fava2020"]), lambda m: m.doc_id in {"singh2016", "fava2020"}),
    ],
)
@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_filters_apply_to_every_retriever(retriever: HybridRetriever, filters: Filters, check, mode: str) -> None:
    result = retriever.retrieve("ketamine dose efficacy side effects", filters=filters, k=10, mode=mode)  # type: ignore[arg-type]
    assert result.chunks
    assert all(check(c.metadata) for c in result.chunks)


def test_invalid_filters_are_rejected() -> None:
    with pytest.raises(ValueError, match="routes"):
        Filters(routes=["rectal"])
    with pytest.raises(ValueError, match="year_min"):
        Filters(year_min=2020, year_max=2010)


@pytest.mark.parametrize(
    "question",
    ["What is the capital of France?", "Write me a Python function that sorts a list",
     "Does psilocybin therapy work for treatment-resistant depression?", "Is ketamine effective for migraine?",
     "Is ketamine a good treatment for chronic back pain?"],
)
def test_off_topic_questions_fall_below_the_floor_or_out_of_scope(
    shipped_services: Services, question: str
) -> None:
    result = shipped_services.retriever.retrieve(question)
    check = shipped_services.answers.scope.check(question)
    assert evidence_too_weak(check, result.weak, result.best_dense, bool(result.chunks))


def test_the_relevance_floor_itself_rejects_nonsense(retriever: HybridRetriever) -> None:
    assert retriever.retrieve("banana bread recipe with walnuts").weak
    assert not retriever.retrieve("Does ketamine reduce suicidal ideation within 24 hours?").weak


def test_synonyms_reach_the_lexical_side(retriever: HybridRetriever) -> None:
    expanded = retriever.lexical_query("Does the nasal spray help suicidal thoughts?")
    assert "intranasal" in expanded and "suicidal ideation" in expanded


def test_typo_repair_fixes_misspellings_but_not_real_words_the_corpus_lacks() -> None:
    fixer = TypoFixer(["ketamine", "depression", "head", "clinical"], dictionary=["heard", "clinic"])
    text = "I heard ketamin helps depresion at the clinic"
    assert fixer.repair(text, text.lower().split()) == "I heard ketamine helps depression at the clinic"


def test_the_retriever_knows_english_words_from_the_embedding_vocabulary(retriever: HybridRetriever) -> None:
    snap = retriever.index.snapshot()
    assert retriever.repaired("I heard ketamin works in hours", snap) == "I heard ketamine works in hours"
    assert retriever.repaired("Why sit in the clinic after my dose?", snap) == "Why sit in the clinic after my dose?"


def test_a_document_matched_twice_outranks_one_matched_once_slightly_better() -> None:
    fused = {"a1": 0.100, "a2": 0.090, "b1": 0.110}
    doc_of = {"a1": "a", "a2": "a", "b1": "b"}
    ranked, by_doc, score = rank_documents(fused, doc_of, second_hit_weight=0.2)
    assert ranked == ["a", "b"]
    assert by_doc["a"] == ["a1", "a2"]
    assert score["a"] == pytest.approx(0.100 + 0.2 * 0.090)
    assert rank_documents(fused, doc_of, second_hit_weight=0.0)[0] == ["b", "a"]


def test_hits_beyond_the_second_add_nothing_so_long_documents_do_not_win_on_volume() -> None:
    fused = {"a1": 0.10, "a2": 0.09, "a3": 0.09, "a4": 0.09, "b1": 0.10, "b2": 0.09}
    doc_of = {"a1": "a", "a2": "a", "a3": "a", "a4": "a", "b1": "b", "b2": "b"}
    _, _, score = rank_documents(fused, doc_of, second_hit_weight=0.2)
    assert score["a"] == pytest.approx(score["b"])


def test_the_sentence_index_ranks_a_passage_by_its_best_sentence(retriever: HybridRetriever) -> None:
    snap = retriever.index.snapshot()
    row = len(snap.sentences) // 2
    ranking = retriever.sentence_ranking(snap, snap.sentences.vectors[row], None, 40)
    assert ranking[0][0].id == snap.sentences.chunk_ids[row]
    assert ranking[0][1] == pytest.approx(1.0, abs=1e-3)
    assert len({chunk.id for chunk, _ in ranking}) == len(ranking)  # each passage once, at its best sentence
    only = Filters(doc_ids=["fava2020"])
    everything = len(snap.sentences)
    filtered = retriever.sentence_ranking(snap, snap.sentences.vectors[row], only, everything)
    assert filtered and {chunk.metadata.doc_id for chunk, _ in filtered} == {"fava2020"}


def test_the_hybrid_fusion_uses_the_sentence_index_and_the_others_do_not(retriever: HybridRetriever) -> None:
    question = "How does ketamine work as an antidepressant?"
    assert "sentences" in retriever.retrieve(question).timings_ms
    assert "sentences" not in retriever.retrieve(question, mode="dense").timings_ms


@pytest.mark.parametrize(
    ("question", "narrower"),
    [
        ("Does esketamine nasal spray work for treatment-resistant depression?", {"daly2019", "ochsross2020"}),
        ("Is intranasal esketamine effective?", {"daly2019", "ochsross2020", "canuso2018", "fu2020"}),
    ],
)
def test_a_broad_question_is_answered_first_by_a_study_of_patients_in_general(
    retriever: HybridRetriever, question: str, narrower: set[str]
) -> None:
    """The relapse-prevention trial and the trial in older adults match every word of a broad question."""
    assert retriever.retrieve(question).ranked_docs[0] not in narrower


@pytest.mark.parametrize(
    ("question", "gold"),
    [
        ("Is esketamine nasal spray effective in older adults?", "ochsross2020"),
        ("Does continuing esketamine prevent relapse?", "daly2019"),
    ],
)
def test_a_question_that_names_the_subgroup_still_finds_its_study_first(
    retriever: HybridRetriever, question: str, gold: str
) -> None:
    assert retriever.retrieve(question).ranked_docs[0] == gold
