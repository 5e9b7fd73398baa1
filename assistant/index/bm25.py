"""Lexical search over the same chunks as the vector index.

Trial names (TRANSFORM-2), doses (0.5 mg/kg) and abbreviations (HNK, SSI) must match exactly,
which embeddings do poorly; BM25 over a tokenizer that keeps such tokens whole does it well.

``rank_bm25`` computes the statistics (term frequencies, idf with its floor, document lengths);
its ``get_scores`` then walks every document in Python for every query token, which a question
with its synonym expansions pays dozens of times. So each term's contribution to each document
that holds it is computed once, when the generation is loaded, with rank_bm25's own formula, and
a query adds up the postings of its tokens in order: the same floating-point operations on the
same values, so the same scores to the last bit, without the walk.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rank_bm25 import BM25Okapi

from assistant.text import tokenize


class BM25Index:
    def __init__(self, texts: Sequence[str]) -> None:
        self.size = len(texts)
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if texts:
            self._postings = _postings(BM25Okapi([tokenize(t) or ["_"] for t in texts]))

    def scores(self, query: str) -> np.ndarray:
        """BM25Okapi's ``get_scores`` for the query's tokens: a term no document holds adds nothing."""
        score = np.zeros(self.size)
        for token in tokenize(query):
            posting = self._postings.get(token)
            if posting is not None:
                docs, contributions = posting
                score[docs] += contributions
        return score


def _postings(bm25: BM25Okapi) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per term: the documents that hold it and its score in each, as ``BM25Okapi.get_scores`` computes it
    (``idf * (tf * (k1 + 1) / (tf + k1 * (1 - b + b * doc_len / avgdl)))``, the length norm element by element
    as there); a document without the term would add exactly zero there."""
    doc_len = np.array(bm25.doc_len)
    length_norm = bm25.k1 * (1 - bm25.b + bm25.b * doc_len / bm25.avgdl)
    holders: dict[str, list[int]] = {}
    for position, frequencies in enumerate(bm25.doc_freqs):
        for term in frequencies:
            holders.setdefault(term, []).append(position)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for term, positions in holders.items():
        docs = np.array(positions, dtype=np.intp)
        tf = np.array([bm25.doc_freqs[p][term] for p in positions])
        idf = bm25.idf.get(term) or 0
        out[term] = docs, idf * (tf * (bm25.k1 + 1) / (tf + length_norm[docs]))
    return out
