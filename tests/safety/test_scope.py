"""The scope check: what a question is about, against prompts/scope.yaml and the studies in the index."""

from __future__ import annotations

import pytest

from assistant.safety.scope import ScopeGuard
from assistant.services import Services


@pytest.fixture(scope="module")
def scope(shipped_services: Services) -> ScopeGuard:
    guard = shipped_services.answers.scope
    snap = shipped_services.index.snapshot()
    guard.know_studies(snap.study_names, snap.names_in_text)
    return guard


@pytest.mark.parametrize(("question", "verdict"), [
    ("How much does one esketamine session cost?", "out"),
    ("What is the price of a Spravato course?", "out"),
    ("Price of a ketamine infusion in the US?", "out"),  # a sentence's first word is not written as a name
    ("In the Price 2014 reanalysis, did ketamine lower suicidal ideation?", "in"),  # an author cited by name
    ("What did the Berman crossover find?", "in"),
    ("How long does the dizziness last after my spray?", "in"),  # the everyday name of the nasal spray
    ("Does ketamine help with PTSD?", "out"),
])
def test_the_scope_of_a_question(scope: ScopeGuard, question: str, verdict: str) -> None:
    assert scope.check(question).verdict == verdict
