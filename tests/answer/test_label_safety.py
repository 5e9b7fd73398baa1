"""The label's safety facts reach the user: cited, dated by label year, quoted from the corpus."""

from __future__ import annotations

import pytest

from assistant.domain import Answer
from assistant.services import Services
from tests.answer.test_service import assert_grounded


def ask(services: Services, question: str) -> Answer:
    answer = services.answers.answer(question)
    assert not answer.abstained, answer.answer
    assert_grounded(answer, services)
    return answer


def label_sentences(answer: Answer) -> str:
    """The answer lines that cite the regulatory document, so a fact cannot pass by coming from elsewhere."""
    (label,) = [c for c in answer.citations if c.doc_id == "spravato_fda2019"]
    return "\n".join(line for line in answer.answer.splitlines() if line.endswith(f"[{label.marker}]"))


@pytest.mark.parametrize(
    ("question", "facts"),
    [
        ("Does esketamine raise blood pressure?",
         ["2019 SPRAVATO label", "raises blood pressure", "40 minutes after a dose", "about 4 hours",
          "checked before dosing and monitored afterwards"]),
        ("What is in Spravato's boxed warning?",
         ["2019 SPRAVATO label carries a boxed warning", "sedation", "dissociation", "abuse and misuse",
          "suicidal thoughts and behaviours"]),
        ("Is esketamine approved for people with suicidal thoughts?",
         ["August 2020", "acute suicidal ideation or behaviour", "not been shown to prevent suicide",
          "does not replace hospitalisation"]),
    ],
)
def test_label_safety_questions_get_the_dated_label_facts_with_a_citation(
    shipped_services: Services, question: str, facts: list[str]
) -> None:
    text = label_sentences(ask(shipped_services, question))
    missing = [fact for fact in facts if fact not in text]
    assert missing == [], text


def test_blood_pressure_answer_carries_the_blood_pressure_caveat_sourced_to_the_label(
    shipped_services: Services,
) -> None:
    answer = ask(shipped_services, "Does esketamine raise blood pressure?")
    (caveat,) = [c for c in answer.caveats if c.id == "blood_pressure"]
    assert "40 minutes" in caveat.text and "does not hold" not in caveat.text
