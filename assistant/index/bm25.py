"""Lexical search over the same chunks as the vector index.

Trial names (TRANSFORM-2), doses (0.5 mg/kg) and abbreviations (HNK, SSI) must match exactly,
which embeddings do poorly; BM25 over a tokenizer that keeps such tokens whole does it well.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from rank_bm25 import BM25Okapi

TOKEN_RE = re.compile(r"[a-z0-9]+(?:[.\-/,][a-z0-9]+)*")
STOP_WORDS = frozenset(
    """a about above after again all also an and any are as at be been before being between both but by can
    could did do does doing during each for from had has have having how i if in into is it its just me more most
    my no nor not of on once only or other our out over own same she should so some such than that the their them
    then there these they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours""".split()
)


def tokenize(text: str) -> list[str]:
    """Lower-case tokens; compound tokens (mg/kg, transform-2, 0.5) are kept whole and also split."""
    tokens: list[str] = []
    for match in TOKEN_RE.finditer(text.lower()):
        token = match.group().strip(".,")
        if not token or token in STOP_WORDS:
            continue
        tokens.append(token)
        if any(sep in token for sep in "-/,") or (("." in token) and not token.replace(".", "").isdigit()):
            tokens.extend(p for p in re.split(r"[.\-/,]", token) if p and p not in STOP_WORDS)
    return tokens


class BM25Index:
    def __init__(self, texts: Sequence[str]) -> None:
        self._bm25 = BM25Okapi([tokenize(t) or ["_"] for t in texts]) if texts else None
        self.size = len(texts)

    def scores(self, query: str) -> np.ndarray:
        tokens = tokenize(query)
        if self._bm25 is None or not tokens:
            return np.zeros(self.size)
        return np.asarray(self._bm25.get_scores(tokens))
