"""The synonym table: a follow-up that names another route or drug replaces the earlier question's."""

from __future__ import annotations

import difflib
import random

import pytest

from assistant.prompts import PromptBook
from assistant.retrieval.synonyms import SynonymTable, TypoFixer
from assistant.text import tokenize
from tests.conftest import REPO

GROUPS = [["nasal spray", "intranasal", "spravato"], ["iv", "intravenous", "infusion"], ["im", "intramuscular"]]
ROUTES = [["iv", "nasal spray", "im"]]


@pytest.fixture(scope="module")
def shipped() -> SynonymTable:
    data = PromptBook.load(REPO / "prompts").typed("synonyms.yaml")
    return SynonymTable(data.groups, data.alternatives)


def test_a_follow_up_naming_another_route_puts_it_in_place_of_the_earlier_one() -> None:
    table = SynonymTable(GROUPS, ROUTES)
    assert table.replaced("And the nasal spray?", "What is the standard IV ketamine dose?") == \
        "What is the standard nasal spray ketamine dose?"


def test_every_phrasing_of_a_route_counts_on_both_sides_and_a_run_of_them_is_one_mention() -> None:
    table = SynonymTable(GROUPS, ROUTES)
    assert table.replaced("What about intramuscular injection?", "How long does an intravenous infusion take?") == \
        "How long does an intramuscular take?"
    assert table.replaced("And intranasal?", "Which IV doses were tested?") == "Which intranasal doses were tested?"


def test_a_message_that_names_two_values_compares_them_and_replaces_nothing() -> None:
    table = SynonymTable(GROUPS, ROUTES)
    context = "What is the standard IV ketamine dose?"
    assert table.replaced("Is IV better than the nasal spray?", context) == context


def test_a_message_that_names_no_value_or_the_same_one_leaves_the_context_alone() -> None:
    table = SynonymTable(GROUPS, ROUTES)
    context = "What is the standard IV ketamine dose?"
    assert table.replaced("Did the patients relapse?", context) == context
    assert table.replaced("And by infusion?", context) == context


def test_the_shipped_alternatives_cover_routes_and_drugs(shipped: SynonymTable) -> None:
    assert shipped.replaced("And the nasal spray?", "What's the standard IV ketamine dose for depression?") == \
        "What's the standard nasal spray ketamine dose for depression?"
    assert shipped.replaced("And esketamine?", "Does ketamine cause dissociation?") == \
        "Does esketamine cause dissociation?"


def test_whole_words_only_so_a_word_containing_a_route_is_untouched(shipped: SynonymTable) -> None:
    context = "Does ketamine work in the intravenous-free trials of Ivy and Simon?"
    assert shipped.replaced("And nasal spray?", "Did Ivy respond?") == "Did Ivy respond?"
    assert "intravenous-free" in shipped.replaced("And nasal spray?", context)


def test_a_group_is_found_by_any_member_and_matched_by_one_pattern(shipped: SynonymTable) -> None:
    group = shipped.group_of("Older")
    assert group is not None and "elderly" in group
    assert shipped.pattern(group).search("patients aged 65 years or older")
    assert not shipped.pattern(group).search("the oldest trial")
    assert shipped.group_of("psilocybin") is None


def test_typo_candidates_lose_no_word_difflib_would_match() -> None:
    """The fixer narrows the corpus vocabulary to the words that pass difflib's cheap bounds before it asks
    difflib: every word close enough must survive, and the correction must be the one over all words."""
    words = {t for path in (REPO / "corpus").glob("*.md") for t in tokenize(path.read_text(encoding="utf-8"))}
    fixer = TypoFixer(words)
    rng = random.Random(17)
    tokens = ["ketamin", "depresion", "esketamin", "suicidl", "dissociaton", "xylophone", "zzzzzz", "spraavato"]
    for word in rng.sample(sorted(w for w in fixer.vocabulary if len(w) >= 6), 40):
        cut = rng.randrange(len(word))
        tokens.append(word[:cut] + word[cut + 1:] if cut % 2 else word[:cut] + rng.choice("aeiou") + word[cut:])
    for token in tokens:
        close = {w for w in fixer.vocabulary
                 if difflib.SequenceMatcher(None, w, token).ratio() >= TypoFixer.CUTOFF}
        assert close <= set(fixer.candidates(token)), token
        assert (difflib.get_close_matches(token, fixer.candidates(token), n=1, cutoff=TypoFixer.CUTOFF)
                == difflib.get_close_matches(token, fixer.vocabulary, n=1, cutoff=TypoFixer.CUTOFF)), token
