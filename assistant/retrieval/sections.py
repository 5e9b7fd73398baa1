"""Section weights: a document is ranked on the passages that can answer the question.

Every document of the corpus has the same layout (Summary, Design, Results, Adverse effects, Limitations,
Relevance to the review). Dense search found the meta sections ("Relevance to the review" says in general
words what a study is about) and the Limitations of animal studies ("the mechanism in mice may not ...")
closest to broad questions, so those documents outranked the studies whose Results answer them, and the
answer engine, which quotes findings, then had the wrong studies to quote from. The weights come from
prompts/retrieval.yaml; a question that asks for a section (limitations, harms) gets it at full weight.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.prompt_files import SectionRule


class SectionWeights:
    def __init__(self, rules: Sequence[SectionRule] = ()) -> None:
        self._rules = [
            (frozenset(name.lower() for name in rule.sections), rule.weight,
             [re.compile(pattern, re.IGNORECASE) for pattern in rule.unless])
            for rule in rules
        ]

    def for_question(self, question: str) -> dict[str, float]:
        """Lower-cased section heading -> weight, for the sections this question does not ask for."""
        weights: dict[str, float] = {}
        for sections, weight, unless in self._rules:
            if not any(pattern.search(question) for pattern in unless):
                weights.update(dict.fromkeys(sections, weight))
        return weights
