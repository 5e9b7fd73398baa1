"""BM25 over a generation's chunks: the precomputed postings score exactly as rank_bm25 scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from rank_bm25 import BM25Okapi

from assistant.index.bm25 import BM25Index
from assistant.text import tokenize

ROOT = Path(__file__).parents[2]


def test_the_postings_give_rank_bm25s_scores_to_the_last_bit() -> None:
    texts = [path.read_text(encoding="utf-8") for path in sorted((ROOT / "corpus").glob("*.md"))] + ["", "..."]
    questions = [json.loads(line)["question"] for line in (ROOT / "eval" / "questions.jsonl").open(encoding="utf-8")]
    # Repeated tokens count twice, as in rank_bm25; words no document holds add nothing.
    queries = [*questions, "ketamine ketamine ketamine", "warfarin zzyzx", "TRANSFORM-2 0.5 mg/kg MADRS", ""]
    index = BM25Index(texts)
    reference = BM25Okapi([tokenize(t) or ["_"] for t in texts])
    for query in queries:
        expected = np.asarray(reference.get_scores(tokenize(query))) if tokenize(query) else np.zeros(len(texts))
        got = index.scores(query)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        assert np.array_equal(got.view(np.int64), expected.view(np.int64)), query


def test_an_empty_generation_scores_nothing() -> None:
    assert BM25Index([]).scores("ketamine").shape == (0,)
