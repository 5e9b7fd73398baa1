"""Document priors: a study of a narrower subgroup or of other topics weighs less for a question not about them."""

from __future__ import annotations

import pytest

from assistant.errors import ConfigError
from assistant.index.metadata import ChunkMeta
from assistant.prompts import PromptBook
from assistant.retrieval.priors import DocumentPriors
from assistant.retrieval.synonyms import SynonymTable
from tests.conftest import REPO

SYNONYMS = SynonymTable([["elderly", "older", "aged 65"], ["relapse", "maintenance"]])
CUES = {"efficacy": [r"\b(work|works|effective)\b"], "dosing": [r"\bdos(e|es|ing)\b"], "safety": [r"\bsafe"]}
DOCS = {
    "pivotal": ChunkMeta(doc_id="pivotal", title="Esketamine nasal spray in TRD", topics=("esketamine", "efficacy")),
    "ranging": ChunkMeta(doc_id="ranging", title="A dose-ranging trial", topics=("efficacy", "dosing")),
    "older": ChunkMeta(doc_id="older", title="Esketamine in elderly patients", topics=("efficacy",)),
    "relapse": ChunkMeta(doc_id="relapse", title="Relapse prevention with esketamine", topics=("efficacy",)),
    "harms": ChunkMeta(doc_id="harms", title="Side effects of ketamine", topics=("safety",)),
}


def priors(topic_weight: float = 0.2, subgroup_weight: float = 0.2) -> DocumentPriors:
    return DocumentPriors(CUES, ["older", "maintenance"], SYNONYMS, topic_weight, subgroup_weight)


def test_documents_on_topics_the_question_does_not_ask_about_weigh_less() -> None:
    weights = priors().weights("Does esketamine work?", "gen-1", DOCS)
    assert "pivotal" not in weights  # its only cued topic is the one asked (esketamine has no cue)
    assert weights["ranging"] == pytest.approx(0.9)  # half its topics were not asked about
    assert weights["harms"] == pytest.approx(0.8)
    assert "ranging" not in priors().weights("Which doses work?", "gen-1", DOCS)


def test_a_study_narrowed_to_a_subgroup_weighs_less_unless_the_question_names_the_subgroup() -> None:
    broad = priors(topic_weight=0).weights("Does esketamine work?", "gen-1", DOCS)
    assert broad == {"older": pytest.approx(0.8), "relapse": pytest.approx(0.8)}
    older = priors(topic_weight=0).weights("Does esketamine work in patients aged 65 or more?", "gen-1", DOCS)
    assert "older" not in older and older["relapse"] == pytest.approx(0.8)


def test_a_question_with_no_cue_is_weighed_only_by_subgroups() -> None:
    assert priors().weights("Tell me about esketamine", "gen-1", DOCS) == {
        "older": pytest.approx(0.8), "relapse": pytest.approx(0.8)}
    assert priors(0, 0).weights("Does esketamine work?", "gen-1", DOCS) == {}


def test_subgroups_are_read_again_for_a_new_generation() -> None:
    p = priors(topic_weight=0)
    assert "older" in p.weights("Does it work?", "gen-1", DOCS)
    renamed = {**DOCS, "older": DOCS["older"].model_copy(update={"title": "Esketamine in adults"})}
    assert "older" not in p.weights("Does it work?", "gen-2", renamed)


def test_a_subgroup_that_is_no_synonym_group_stops_start_up() -> None:
    with pytest.raises(ConfigError, match="adolescents"):
        DocumentPriors(CUES, ["adolescents"], SYNONYMS, 0.2, 0.2)


def test_the_shipped_subgroups_and_topics_load() -> None:
    book = PromptBook.load(REPO / "prompts")
    data = book.typed("synonyms.yaml")
    known = book.typed("retrieval.yaml")
    shipped = DocumentPriors(known.topics, known.subgroups, SynonymTable(data.groups), 0.2, 0.2)
    assert shipped.asked_topics("How does ketamine work on NMDA receptors?") >= {"mechanism"}
    assert shipped.asked_topics("Is it safe for the bladder?") == {"safety"}
