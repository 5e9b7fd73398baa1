"""The sentence evidence index: every quotable sentence of a generation, embedded once, at ingest.

The extractive engine answers in whole sentences of the corpus. Embedding those sentences when a
question first needs them made a worker's first answer from a study wait for dozens of sentence
embeddings (a cold p50 of half a second against 29 ms warm). Now `assistant ingest` writes, next to
each generation's chunk collection, a collection of its sentences with their vectors, tokens,
section, document and typed spans; every serving process reads it once per generation and embeds
nothing at request time but the question.

Sentences of documents that did not change keep their stored vectors, like their chunks do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from chromadb.api.models.Collection import Collection

from assistant.index.embeddings import DIMENSIONS, MiniLMEmbedder
from assistant.index.spans import decode, encode, find_spans
from assistant.text import split_sentences, tokenize

# Bump when the sentence split or the span recognisers change: ingest then rebuilds. 3: cut by
# assistant.text.split_sentences (abbreviations, markers); 4: effect sizes named before what they compare;
# 5: the level of a confidence interval ("95% CI") is not a percentage; 6: words that name a harm; 7: units joined
# into adjectives ("40-minute"), counts of people with a describing word, dosing frequency, registration
# identifiers, OR in capitals only.
SENTENCE_FORMAT_VERSION = 7
ADD_BATCH = 512


def quotable_sentences(text: str) -> list[str]:
    """The sentences of a passage that can stand alone in an answer: bullets stripped, fragments dropped.

    The one place the answer path cuts passages into sentences; the cut itself is the package's
    sentence splitter.
    """
    out = []
    for piece in split_sentences(text):
        sentence = piece.strip().lstrip("-*• ").strip()
        if len(sentence) >= 25 and re.search(r"[A-Za-z]", sentence):
            out.append(sentence if sentence[-1] in ".!?" else sentence + ".")
    return out


@dataclass(frozen=True)
class SentenceRow:
    id: str
    text: str
    metadata: dict[str, str | int]


def sentence_rows(chunk_id: str, text: str, metadata: dict[str, object]) -> list[SentenceRow]:
    rows = []
    for position, sentence in enumerate(quotable_sentences(text)):
        rows.append(SentenceRow(f"{chunk_id}:s{position}", sentence, {
            "chunk_id": chunk_id, "doc_id": str(metadata["doc_id"]), "section": str(metadata.get("section", "")),
            "position": position, "tokens": " ".join(dict.fromkeys(tokenize(sentence))),
            "spans": encode(find_spans(sentence)),
        }))
    return rows


def write_sentences(target: Collection, chunks: Iterable[tuple[str, str, dict[str, object]]],
                    embedder: MiniLMEmbedder, previous: dict[str, np.ndarray]) -> int:
    """Add the sentences of ``chunks`` (id, text, metadata) to ``target``; returns how many were embedded.

    ``previous`` maps sentence ids of the generation before to their vectors: a sentence of an
    unchanged chunk has the same id and text, so its vector is copied instead of recomputed.
    """
    rows = [row for chunk_id, text, meta in chunks for row in sentence_rows(chunk_id, text, meta)]
    missing = [row for row in rows if row.id not in previous]
    fresh = embedder.embed([row.text for row in missing])
    vectors = dict(previous)
    vectors.update({row.id: vector for row, vector in zip(missing, fresh, strict=True)})
    for start in range(0, len(rows), ADD_BATCH):
        batch = rows[start:start + ADD_BATCH]
        target.add(ids=[r.id for r in batch], documents=[r.text for r in batch],
                   metadatas=[r.metadata for r in batch],  # type: ignore[misc]
                   embeddings=[vectors[r.id] for r in batch])  # type: ignore[misc]
    return len(missing)


def read_vectors(collection: Collection) -> dict[str, np.ndarray]:
    got = collection.get(include=["embeddings"])
    return {sid: np.asarray(vec, dtype=np.float32) for sid, vec in zip(got["ids"], got["embeddings"], strict=True)}


@dataclass(frozen=True)
class SentenceIndex:
    """One generation's sentences as arrays: row i is ``texts[i]`` with ``vectors[i]``."""

    texts: tuple[str, ...]
    chunk_ids: tuple[str, ...]
    doc_ids: tuple[str, ...]
    sections: tuple[str, ...]
    tokens: tuple[frozenset[str], ...]
    spans: tuple[tuple[tuple[str, str], ...], ...]
    vectors: np.ndarray
    rows_of_chunk: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @classmethod
    def load(cls, collection: Collection) -> SentenceIndex:
        got = collection.get(include=["documents", "metadatas", "embeddings"])
        order = sorted(range(len(got["ids"])), key=lambda i: (str(got["metadatas"][i]["chunk_id"]),
                                                              int(got["metadatas"][i]["position"])))
        metas = [got["metadatas"][i] for i in order]
        vectors = np.asarray([got["embeddings"][i] for i in order], dtype=np.float32).reshape(-1, DIMENSIONS)
        vectors.setflags(write=False)
        chunk_ids = tuple(str(m["chunk_id"]) for m in metas)
        rows: dict[str, list[int]] = {}
        for row, chunk_id in enumerate(chunk_ids):
            rows.setdefault(chunk_id, []).append(row)
        return cls(
            texts=tuple(str(got["documents"][i]) for i in order), chunk_ids=chunk_ids,
            doc_ids=tuple(str(m["doc_id"]) for m in metas), sections=tuple(str(m["section"]) for m in metas),
            tokens=tuple(frozenset(str(m["tokens"]).split()) for m in metas),
            spans=tuple(decode(str(m["spans"])) for m in metas), vectors=vectors,
            rows_of_chunk={k: tuple(v) for k, v in rows.items()},
        )

    def rows(self, chunk_ids: Sequence[str]) -> list[int]:
        """Rows of the sentences of these chunks, chunk by chunk, in reading order."""
        return [row for chunk_id in chunk_ids for row in self.rows_of_chunk.get(chunk_id, ())]

    def __len__(self) -> int:
        return len(self.texts)
