"""Is a question about something this corpus covers?

Retrieval scores alone cannot tell: a question about psilocybin for depression scores higher
than some genuine ketamine questions. So the subject and condition of the question are checked
against prompts/scope.yaml, and against the studies and trials in the index, before the
relevance floor is consulted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from assistant.prompt_files import ScopeFile
from assistant.prompts import PromptBook
from assistant.text import SHORT_SURNAME, cited_short_surnames, cited_surnames

Verdict = Literal["in", "out", "unknown"]

# A question that names no subject the corpus covers must clear a higher bar than one that does.
UNKNOWN_SCOPE_FLOOR = 0.45


def _term_pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    terms = sorted({t.lower() for t in terms if t}, key=len, reverse=True)
    if not terms:
        return None
    return re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(t) for t in terms) + r")", re.IGNORECASE)


def _search(pattern: re.Pattern[str] | None, text: str) -> str | None:
    match = pattern.search(text) if pattern else None
    return match.group(1).lower() if match else None


@dataclass(frozen=True)
class ScopeCheck:
    verdict: Verdict
    term: str | None = None
    specific: bool = False  # names a study, trial or specific entity (HNK, NMDA ...) the corpus covers


class ScopeGuard:
    def __init__(self, book: PromptBook) -> None:
        data: ScopeFile = book.typed("scope.yaml")
        self._subjects_in = _term_pattern(data.subjects_in)
        self._entities_in = _term_pattern(data.entities_in)
        self._conditions_in = _term_pattern(data.conditions_in)
        self._subjects_out = _term_pattern(data.subjects_out)
        self._conditions_out = _term_pattern(data.conditions_out)
        self._topics_out = _term_pattern(data.topics_out)
        self._studies: re.Pattern[str] | None = None
        self._study_key: frozenset[str] = frozenset()
        self._names_in_text: frozenset[str] = frozenset()
        self._cited: re.Pattern[str] | None = None  # the studies with a short surname, cited by name and year
        self._dated: frozenset[tuple[str, int]] = frozenset()

    def know_studies(self, names: Iterable[str], names_in_text: Iterable[str] = (),
                     dated: Iterable[tuple[str, int]] = ()) -> None:
        """Study surnames and trial names from the index, so "the 2000 Berman crossover" counts as in scope, and
        the words its documents write only as names, so "the Price 2014 analysis" is not a question of cost.

        A surname of three letters or fewer ("Su", "Han", "Loo") is also an everyday word or syllable, so alone
        it names nothing; cited as a study is ("Loo 2016", "Han et al.", "Su and colleagues") it does. ``dated``
        holds each document's (surname, year) and those of the studies the documents cite
        (``Snapshot.scope_studies``)."""
        key = frozenset(n.lower() for n in names if len(n) > SHORT_SURNAME)
        if key != self._study_key:
            self._study_key = key
            self._studies = _term_pattern(key)
        dated = frozenset(dated)
        if dated != self._dated:
            self._dated = dated
            self._cited = cited_short_surnames(dated)
        self._names_in_text = frozenset(names_in_text)

    def _topic_out(self, text: str) -> str | None:
        """A topic the corpus does not cover, unless the word is written as a name within a sentence and the
        documents use it only as a name: "the Price 2014 reanalysis" is a study, "the price of one session" is
        cost."""
        for match in self._topics_out.finditer(text) if self._topics_out else ():
            said = match.group(1)
            term = said.lower()
            starts_sentence = not text[:match.start()].strip() or text[:match.start()].rstrip()[-1] in ".?!:"
            if term in self._names_in_text and said[0].isupper() and not starts_sentence:
                continue
            return term
        return None

    def check(self, text: str) -> ScopeCheck:
        condition_out = _search(self._conditions_out, text)
        if condition_out and not _search(self._conditions_in, text):
            return ScopeCheck("out", condition_out)
        topic_out = self._topic_out(text)
        if topic_out:
            return ScopeCheck("out", topic_out)
        study = (_search(self._studies, text) or next(iter(cited_surnames(self._cited, text)), None)
                 or _search(self._entities_in, text))
        subject = _search(self._subjects_in, text)
        subject_out = _search(self._subjects_out, text)
        if subject_out and not subject and not study:
            return ScopeCheck("out", subject_out)
        if study:
            return ScopeCheck("in", study, specific=True)
        if subject:
            return ScopeCheck("in", subject)
        return ScopeCheck("unknown")


def evidence_too_weak(check: ScopeCheck, weak: bool, best_dense: float, has_chunks: bool) -> bool:
    """The abstention rule shared by the answer service and the retrieval benchmark.

    A question that names a study or trial in the corpus is answerable even when its wording is
    too short for a high embedding score ("What did ASPIRE I show?"): lexical search finds it.
    """
    if check.verdict == "out" or not has_chunks:
        return True
    if check.specific:
        return False
    if weak:
        return True
    return check.verdict == "unknown" and best_dense < UNKNOWN_SCOPE_FLOOR
