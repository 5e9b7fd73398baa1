"""Query expansion from the domain synonym table in prompts/synonyms.yaml, plus typo repair.

Expansion only feeds the lexical side: the dense side already sees paraphrases, while BM25 needs
"nasal spray" to become "intranasal" before it can match the trials that use that word.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np


def _phrase(term: str) -> re.Pattern[str]:
    """A phrase as a whole-word pattern: "iv" matches "IV ketamine", not "ivermectin" or "IV-2"."""
    return re.compile(r"(?<![\w-])" + re.escape(term) + r"(?![\w-])")


class SynonymTable:
    def __init__(self, groups: list[list[str]], alternatives: list[list[str]] | None = None) -> None:
        self.groups = [[term.lower() for term in group] for group in groups]
        self._patterns = [[(term, _phrase(term)) for term in group] for group in self.groups]
        # Each alternative stands for its whole synonym group ("nasal spray" also means "intranasal").
        group_of = {term: group for group in self.groups for term in group}
        self._alternatives = [
            [[_phrase(term) for term in group_of.get(value.lower(), [value.lower()])] for value in values]
            for values in alternatives or []
        ]

    def group_of(self, phrase: str) -> list[str] | None:
        """The group ``phrase`` belongs to, or None."""
        return next((group for group in self.groups if phrase.lower() in group), None)

    @staticmethod
    def pattern(group: list[str]) -> re.Pattern[str]:
        """One pattern for any phrase of ``group``, on lower-cased text."""
        return re.compile("|".join(_phrase(term).pattern for term in group))

    def expansions(self, query: str) -> list[str]:
        """Phrases to add to ``query``: the other members of every group the query mentions."""
        text = query.lower()
        added: list[str] = []
        for group in self._patterns:
            # A phrase can only match where it is a substring, which is far cheaper to ask first.
            if any(term in text and pattern.search(text) for term, pattern in group):
                added.extend(term for term, pattern in group if not (term in text and pattern.search(text)))
        return added

    def replaced(self, message: str, context: str) -> str:
        """``context`` with the alternatives that ``message`` replaces put in its place.

        A follow-up that names one value of an attribute ("And the nasal spray?") asks about that value instead
        of the one the earlier question named ("What is the standard IV dose?"): it means "What is the standard
        nasal spray dose?". Left as it was, "IV" pulled the condensed question back to the infusion studies.
        Only a message that names exactly one value replaces the others: "IV or nasal spray?" compares them.
        """
        text = message.lower()
        for values in self._alternatives:
            named = [(i, match.group()) for i, patterns in enumerate(values) for p in patterns
                     if (match := p.search(text))]
            if len({i for i, _ in named}) != 1:
                continue
            chosen, phrase = named[0]
            others = "|".join(p.pattern for i, patterns in enumerate(values) if i != chosen for p in patterns)
            # A run of them ("IV infusion") is one mention, replaced once.
            context = re.sub(rf"(?:{others})(?:\s+(?:{others}))*", phrase, context, flags=re.IGNORECASE)
        return " ".join(context.split())


@lru_cache(maxsize=4)
def dictionary_words(tokenizer_path: Path) -> frozenset[str]:
    """Whole English words of a WordPiece tokenizer's vocabulary (tokenizer.json).

    The embedding model already ships one, and a word that is a whole entry in it is a real word:
    "heard" or "clinic" is spelled right even when no study in the corpus happens to use it.
    """
    vocab = json.loads(tokenizer_path.read_text(encoding="utf-8"))["model"]["vocab"]
    return frozenset(word for word in vocab if word.isalpha() and word.islower())


class TypoFixer:
    """Maps unknown query words to close corpus words ("ketamin" -> "ketamine").

    ``dictionary`` lists correctly spelled words that must be left alone although the corpus does
    not contain them; without it "I heard" became "I head" and "the clinic" became "the clinical",
    pulling both searches towards the wrong passages.
    """

    CUTOFF = 0.84

    def __init__(self, vocabulary: Iterable[str], dictionary: Iterable[str] = ()) -> None:
        self.vocabulary = sorted({w for w in vocabulary if len(w) >= 4 and w.isalpha()})
        self._known = set(self.vocabulary) | set(dictionary)
        # Letter counts of every vocabulary word, built once per generation (see ``candidates``).
        self._letter = {ch: i for i, ch in enumerate(sorted({ch for w in self.vocabulary for ch in w}))}
        self._counts = np.zeros((len(self.vocabulary), len(self._letter)), dtype=np.int16)
        for row, word in enumerate(self.vocabulary):
            for ch in word:
                self._counts[row, self._letter[ch]] += 1
        self._lengths = np.array([len(w) for w in self.vocabulary], dtype=np.int64)

    def candidates(self, token: str) -> list[str]:
        """The vocabulary words, in order, that pass difflib's two cheap bounds for ``token`` (``real_quick_ratio``
        on lengths, ``quick_ratio`` on shared letters), computed for all words at once with difflib's formula
        (``2.0 * matches / total length``). ``get_close_matches`` drops every other word before it computes a
        ratio, so matching among these gives its answer over the whole vocabulary, without a Python loop over
        thousands of words for each unknown word of a question."""
        letters = np.zeros(len(self._letter), dtype=np.int16)
        for ch in token:
            if (column := self._letter.get(ch)) is not None:
                letters[column] += 1
        total = self._lengths + len(token)
        real_quick = 2.0 * np.minimum(self._lengths, len(token)) / total
        quick = 2.0 * np.minimum(self._counts, letters).sum(axis=1) / total
        return [self.vocabulary[i] for i in np.flatnonzero((real_quick >= self.CUTOFF) & (quick >= self.CUTOFF))]

    def corrections(self, tokens: Iterable[str]) -> dict[str, str]:
        """Misspelled token -> the corpus word it most likely means."""
        fixed: dict[str, str] = {}
        for token in tokens:
            if len(token) < 5 or not token.isalpha() or token in self._known or token in fixed:
                continue
            match = difflib.get_close_matches(token, self.candidates(token), n=1, cutoff=self.CUTOFF)
            if match:
                fixed[token] = match[0]
        return fixed

    def repair(self, text: str, tokens: Iterable[str]) -> str:
        """``text`` with misspelled words replaced, for the dense side, which typos hurt too."""
        for wrong, right in self.corrections(tokens).items():
            text = re.sub(rf"(?i)\b{re.escape(wrong)}\b", right, text)
        return text
