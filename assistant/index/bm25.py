"""Lexical search over the same chunks as the vector index.

Trial names (TRANSFORM-2), doses (0.5 mg/kg) and abbreviations (HNK, SSI) must match exactly,
which embeddings do poorly; BM25 over a tokenizer that keeps such tokens whole does it well.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rank_bm25 import BM25Okapi

from assistant.text import tokenize


class BM25Index:
    def __init__(self, texts: Sequence[str]) -> None:
        self._bm25 = BM25Okapi([tokenize(t) or ["_"] for t in texts]) if texts else None
        self.size = len(texts)

    def scores(self, query: str) -> np.ndarray:
        tokens = tokenize(query)
        if self._bm25 is None or not tokens:
            return np.zeros(self.size)
        return np.asarray(self._bm25.get_scores(tokens))
