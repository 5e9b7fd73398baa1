"""The scope check: what a question is about, against prompts/scope.yaml and the studies in the index."""

from __future__ import annotations

import pytest

from assistant.safety.scope import ScopeGuard
from assistant.services import Services


@pytest.fixture(scope="module")
def scope(shipped_services: Services) -> ScopeGuard:
    guard = shipped_services.answers.scope
    snap = shipped_services.index.snapshot()
    guard.know_studies(*snap.scope_studies)
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


@pytest.mark.parametrize(("question", "specific"), [
    # A surname of three letters or fewer names its study where it is cited as one: with its year, "et al."
    # or "and colleagues". Alone it is a word or a syllable ("Han Chinese", "su", "loo").
    ("Loo 2016: which administration route was best tolerated?", True),
    ("Which journal published Li 2010?", True),
    ("Key secondary endpoint, Fu (2020)?", True),
    ("Were the studies pooled by Han et al. consistent with each other?", True),
    ("Why did Su and colleagues look at this population?", True),
    ("Does ketamine work as well in Han Chinese patients?", False),
    ("Was the Loo pilot masked?", False),
    ("What did Han 2019 report?", False),  # the wrong year: no study here
])
def test_a_short_surname_names_a_study_only_where_cited_as_one(scope: ScopeGuard, question: str,
                                                                 specific: bool) -> None:
    check = scope.check(question)
    assert check.specific is specific, check
    if specific:
        assert check.verdict == "in"


@pytest.mark.parametrize(("question", "specific"), [
    # A study the documents cite by name and year, though no document is that study, is named like one.
    ("What did the Cottrell letter report about the bladder?", True),
    ("How did the users in the Toronto case series do once they stopped?", True),
    ("What changed in May?", False),  # the documents write "May 2020", a month and not a study
])
def test_a_study_the_documents_cite_is_in_scope(scope: ScopeGuard, question: str, specific: bool) -> None:
    assert scope.check(question).specific is specific
