"""Caveats chosen by rules over the question, its safety category and the cited evidence.

The rules and texts live in prompts/caveats.yaml. They are applied after the answer engine has
run, so no engine (and no model output) can remove them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from assistant.domain import Caveat, SafetyCategory
from assistant.prompt_files import CaveatsFile
from assistant.prompts import PromptBook

TREATMENT_TERMS = re.compile(
    r"ketamin|esketamin|spravato|ketalar|infusion|nasal spray|intranasal|hnk|nmda", re.IGNORECASE
)


@dataclass(frozen=True)
class CaveatRule:
    caveat: Caveat
    always: bool
    categories: frozenset[str]
    about_treatment: bool
    question_terms: tuple[str, ...]
    evidence_terms: tuple[str, ...]
    evidence_levels: frozenset[str]

    def applies(self, category: SafetyCategory, question: str, evidence: str, about_treatment: bool,
                levels: set[str]) -> bool:
        if self.always:
            return True
        if self.categories and category not in self.categories:
            return False
        if self.about_treatment and not about_treatment:
            return False
        if (self.question_terms or self.evidence_terms) and not (
            any(term in question for term in self.question_terms)
            or any(term in evidence for term in self.evidence_terms)
        ):
            return False
        return not (self.evidence_levels and not (self.evidence_levels & levels))


class CaveatRules:
    def __init__(self, book: PromptBook) -> None:
        self.rules: list[CaveatRule] = []
        data: CaveatsFile = book.typed("caveats.yaml")
        for item in data.caveats:
            when = item.when
            self.rules.append(CaveatRule(
                caveat=Caveat(id=item.id, text=" ".join(item.text.split()), source_doc_id=item.source_doc_id),
                always=when.always,
                categories=frozenset(when.categories),
                about_treatment=when.about_treatment,
                question_terms=tuple(t.lower() for t in when.question_terms),
                evidence_terms=tuple(t.lower() for t in when.evidence_terms),
                evidence_levels=frozenset(when.evidence_levels),
            ))

    def select(
        self, category: SafetyCategory, question: str, passages: Iterable[str], levels: set[str], *,
        about_treatment: bool = False,
    ) -> list[Caveat]:
        """Caveats for an answer; the question and the cited passages both count as what it touches.

        ``about_treatment`` is set by the caller when it knows better than the words do: a declined
        request for a dose ("how much should I take at home?") is about ketamine even when it does not
        name it, and must not lose the abuse and dissociation caveats for that reason.
        """
        question = question.lower()
        evidence = " ".join(passages).lower()
        about_treatment = about_treatment or bool(TREATMENT_TERMS.search(question) or TREATMENT_TERMS.search(evidence))
        return [r.caveat for r in self.rules if r.applies(category, question, evidence, about_treatment, levels)]
