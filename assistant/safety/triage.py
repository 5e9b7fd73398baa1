"""Safety triage of a user message: crisis, personal dosing, misuse, prompt injection, or clinical.

Rules from prompts/triage.yaml decide first; embedding similarity to the labelled examples in
the same file catches paraphrases the rules miss. A crisis outranks everything: the person gets
crisis resources first, whatever else the message asks, and what else it asked (a dose, the drug)
is kept in ``requests`` so it can still be declined. Negations ("I am not suicidal") and
third parties ("my patient is suicidal") cancel a crisis match only inside the matched span.

Rules are matched against every reading of the message (look-alike letters and invisible
characters folded; base64, hex, rot13, reversed, leetspeak and spelt-out text decoded), so an
encoded request is judged by what it says. A rule that matches only a decoded reading also marks
the message as an injection attempt, since hiding a request is itself a sign of one.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

import numpy as np

from assistant.answer.models import SafetyCategory
from assistant.index.embeddings import MiniLMEmbedder
from assistant.prompts import PromptBook
from assistant.safety.guard import variants

FIRST_PERSON = re.compile(r"\b(i|i'm|im|me|my|myself|i've|ive)\b", re.IGNORECASE)
CATEGORIES: tuple[SafetyCategory, ...] = ("crisis", "misuse_request", "dosing_request", "injection")


@dataclass(frozen=True)
class Triage:
    category: SafetyCategory
    escalated: bool = False
    injection: bool = False
    reasons: tuple[str, ...] = field(default_factory=tuple)
    requests: frozenset[str] = frozenset()  # every non-crisis category the message matched, crisis or not


def _compile(patterns: list[str]) -> list[re.Pattern[str]]:
    return [re.compile(p, re.IGNORECASE) for p in patterns]


class SafetyTriage:
    def __init__(self, book: PromptBook, embedder: MiniLMEmbedder) -> None:
        data = book.data("triage.yaml")
        rules = data["rules"]
        self.rules = {name: _compile(rules.get(name, [])) for name in (*CATEGORIES, "crisis_negation", "not_a_pronoun",
                                                                  "third_party")}
        self.examples: dict[str, list[str]] = data["examples"]
        self.thresholds: dict[str, float] = data["similarity"]
        self.embedder = embedder
        self._vectors: dict[str, np.ndarray] | None = None
        self._lock = threading.Lock()

    def _example_vectors(self) -> dict[str, np.ndarray]:
        with self._lock:
            if self._vectors is None:
                self._vectors = {name: self.embedder.embed(texts) for name, texts in self.examples.items()}
            return self._vectors

    def similarities(self, message: str) -> dict[str, float]:
        vector = self.embedder.embed([message])[0]
        return {name: float(np.max(vectors @ vector)) for name, vectors in self._example_vectors().items()}

    def _pronouns_only(self, text: str) -> str:
        """The text without an "I" that is a numeral ("ASPIRE I", "phase I"), so only the writer counts as "I"."""
        for pattern in self.rules["not_a_pronoun"]:
            text = pattern.sub(" ", text)
        return text

    def _crisis_rule(self, text: str) -> bool:
        cleaned = self._pronouns_only(text)
        for pattern in self.rules["crisis_negation"]:
            cleaned = pattern.sub(" ", cleaned)
        for pattern in self.rules["crisis"]:
            for match in pattern.finditer(cleaned):
                span = match.group(0)
                if not any(p.search(span) for p in self.rules["third_party"][:1]):
                    return True
        return False

    def _negated_or_third_party(self, text: str) -> bool:
        return any(p.search(text) for p in self.rules["crisis_negation"]) or any(
            p.search(text) for p in self.rules["third_party"][:1]
        )

    def classify(self, message: str) -> Triage:
        readings = variants(message)
        text = readings[0]
        reasons: list[str] = []
        hits = {name: any(p.search(text) for p in self.rules[name]) for name in CATEGORIES if name != "crisis"}
        crisis = self._crisis_rule(text)
        if crisis:
            reasons.append("crisis rule")
        for reading in readings[1:]:
            decoded = {name for name in hits if not hits[name] and any(p.search(reading) for p in self.rules[name])}
            if not crisis and self._crisis_rule(reading):
                crisis = True
                reasons.append("crisis rule (decoded)")
            for name in decoded:
                hits[name] = True
                reasons.append(f"{name} rule (decoded)")
            if decoded or "crisis rule (decoded)" in reasons:
                hits["injection"] = True
        sims = self.similarities(text)
        # Similarity alone escalates only a message about the writer ("I", "me", "my"): "Does ketamine help?"
        # resembles crisis examples but is a question about the drug.
        if not crisis and sims["crisis"] >= self.thresholds["crisis"] and sims["crisis"] > sims["clinical"] \
                and FIRST_PERSON.search(self._pronouns_only(text)) and not self._negated_or_third_party(text):
            crisis = True
            reasons.append(f"crisis similarity {sims['crisis']:.2f}")
        for name in ("misuse_request", "dosing_request", "injection"):
            if not hits[name] and sims[name] >= self.thresholds[name] and sims[name] > sims["clinical"]:
                hits[name] = True
                reasons.append(f"{name} similarity {sims[name]:.2f}")
            elif hits[name] and f"{name} rule (decoded)" not in reasons:
                reasons.append(f"{name} rule")
        requests = frozenset(name for name, hit in hits.items() if hit)
        if crisis:
            return Triage("crisis", escalated=True, injection=hits["injection"], reasons=tuple(reasons),
                          requests=requests)
        for name in ("misuse_request", "dosing_request", "injection"):
            if hits[name]:
                return Triage(name, injection=hits["injection"], reasons=tuple(reasons),  # type: ignore[arg-type]
                              requests=requests)
        return Triage("clinical", reasons=tuple(reasons))
