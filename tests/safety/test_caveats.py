"""Caveats are chosen by rules from prompts/caveats.yaml, by what the question and evidence touch."""

from __future__ import annotations

from assistant.safety.caveats import CaveatRules
from assistant.services import Services


def ids(rules: CaveatRules, category: str, question: str, passages: list[str], levels: set[str]) -> set[str]:
    return {c.id for c in rules.select(category, question, passages, levels)}  # type: ignore[arg-type]


def test_every_treatment_answer_carries_abuse_and_dissociation(shipped_services: Services) -> None:
    rules = shipped_services.answers.caveats
    got = ids(rules, "clinical", "How fast does ketamine work?", ["IV ketamine 0.5 mg/kg improved MADRS"], {"2"})
    assert {"abuse_misuse", "dissociation", "not_medical_advice"} <= got
    assert "supervised_administration" not in got and "evidence_limits" not in got


def test_topic_caveats_follow_the_question_and_the_evidence(shipped_services: Services) -> None:
    rules = shipped_services.answers.caveats
    assert "supervised_administration" in ids(rules, "clinical", "Is esketamine nasal spray safe?", [], {"2"})
    assert "blood_pressure" in ids(rules, "clinical", "Is esketamine nasal spray safe?", [], {"2"})
    assert "long_term_risks" in ids(rules, "clinical", "Is long-term ketamine use risky?", [], {"4"})
    assert "long_term_risks" in ids(rules, "clinical", "What about ketamine?", ["ketamine-associated cystitis"], set())
    assert "evidence_limits" in ids(rules, "clinical", "What did ketamine do in mice?", [], {"5"})


def test_out_of_scope_gets_only_the_standing_line(shipped_services: Services) -> None:
    rules = shipped_services.answers.caveats
    assert ids(rules, "out_of_scope", "What is the capital of France?", [], set()) == {"not_medical_advice"}


def test_caveats_cite_their_source_documents_where_one_exists(shipped_services: Services) -> None:
    documents = shipped_services.index.snapshot().documents
    for rule in shipped_services.answers.caveats.rules:
        if rule.caveat.source_doc_id is not None:
            assert rule.caveat.source_doc_id in documents, rule.caveat.id
