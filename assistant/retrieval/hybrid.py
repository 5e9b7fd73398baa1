"""Hybrid retrieval: dense search in Chroma fused with BM25 and the sentence index, aggregated per document.

Dense search understands paraphrase; BM25 catches trial names, doses and abbreviations; the sentence
index (embedded at ingest) ranks passages by their single best sentence, which a 900-character chunk
vector blurs: "the proposed mechanisms behind the antidepressant action of ketamine" is one sentence
of a review's Summary. The three rankings are fused by weighted reciprocal rank, each passage's share
weighted by its section (``SectionWeights``) and by what its document's front matter says it is about
(``DocumentPriors``), then documents (not chunks) are ranked, because a
citation points at a study: a document's score is its best chunk plus a share of its second-best (see
``rank_documents``). At most ``per_doc_cap`` chunks of one document are returned, so one long study
cannot fill every slot.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from assistant.errors import IndexUnavailable
from assistant.index.embeddings import TOKENIZER_PATH, MiniLMEmbedder
from assistant.index.live import LiveIndex, Snapshot, StoredChunk
from assistant.index.metadata import ChunkMeta
from assistant.retrieval.filters import Filters
from assistant.retrieval.priors import DocumentPriors
from assistant.retrieval.sections import SectionWeights
from assistant.retrieval.synonyms import SynonymTable, TypoFixer, dictionary_words
from assistant.settings import RetrievalSettings
from assistant.text import tokenize

Mode = Literal["hybrid", "dense", "bm25"]


@dataclass(frozen=True)
class RetrievedChunk:
    id: str
    text: str
    metadata: ChunkMeta
    score: float
    dense: float | None = None  # cosine similarity to the query, when dense search saw it
    bm25: float | None = None

    @property
    def doc_id(self) -> str:
        return self.metadata.doc_id


@dataclass
class RetrievalResult:
    query: str
    chunks: list[RetrievedChunk]
    best_dense: float
    weak: bool
    lexical_query: str = ""
    ranked_docs: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    repaired: str = ""  # the query as embedded, typos repaired

    @property
    def doc_ids(self) -> list[str]:
        seen: list[str] = []
        for chunk in self.chunks:
            if chunk.doc_id not in seen:
                seen.append(chunk.doc_id)
        return seen


def whole_documents(result: RetrievalResult, snap: Snapshot, n_docs: int) -> list[RetrievedChunk]:
    """The retrieved chunks plus every other chunk of the top ``n_docs`` documents.

    An answer about a study should be able to quote its Results even when retrieval surfaced its
    Summary; chunks of one generation are all in memory, so this costs no search.
    """
    out = list(result.chunks)
    seen = {c.id for c in out}
    for doc_id in result.ranked_docs[:n_docs]:
        for chunk in snap.chunks_of.get(doc_id, ()):
            if chunk.id not in seen:
                out.append(RetrievedChunk(chunk.id, chunk.text, chunk.metadata, 0.0))
                seen.add(chunk.id)
    return out


def rank_documents(
    fused: dict[str, float], doc_of: dict[str, str], second_hit_weight: float
) -> tuple[list[str], dict[str, list[str]], dict[str, float]]:
    """Documents by score, each document's chunk ids best first, and the document scores.

    A document scores its best chunk plus ``second_hit_weight`` times its second-best: a study
    that matches the question in two passages (say its Summary and its Results) is more likely
    the one asked about than a study with one slightly better passage. Further hits add nothing,
    so a long document cannot win on volume alone.
    """
    by_doc: dict[str, list[str]] = {}
    for chunk_id in sorted(fused, key=fused.__getitem__, reverse=True):
        by_doc.setdefault(doc_of[chunk_id], []).append(chunk_id)
    doc_score = {
        doc: fused[ids[0]] + (second_hit_weight * fused[ids[1]] if len(ids) > 1 else 0.0)
        for doc, ids in by_doc.items()
    }
    return sorted(doc_score, key=doc_score.__getitem__, reverse=True), by_doc, doc_score


class HybridRetriever:
    def __init__(
        self, index: LiveIndex, embedder: MiniLMEmbedder, settings: RetrievalSettings, synonyms: SynonymTable,
        sections: SectionWeights | None = None, priors: DocumentPriors | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.synonyms = synonyms
        self.sections = sections or SectionWeights()
        self.priors = priors
        self._typos: tuple[str, TypoFixer] | None = None

    def _typo_fixer(self, snap: Snapshot) -> TypoFixer:
        if self._typos is None or self._typos[0] != snap.name:
            words = {t for c in snap.chunks for t in tokenize(c.text + " " + c.metadata.title)}
            self._typos = (snap.name, TypoFixer(words, dictionary_words(TOKENIZER_PATH)))
        return self._typos[1]

    def expand(self, result: RetrievalResult, n_docs: int = 3) -> list[RetrievedChunk]:
        return whole_documents(result, self.index.snapshot(), n_docs)

    def repaired(self, query: str, snap: Snapshot) -> str:
        return self._typo_fixer(snap).repair(query, tokenize(query))

    def lexical_query(self, query: str) -> str:
        return " ".join([query, *self.synonyms.expansions(query)])

    def _dense(
        self, snap: Snapshot, vector: np.ndarray, filters: Filters | None, n: int
    ) -> list[tuple[StoredChunk, float]]:
        where = filters.to_chroma_where() if filters else None
        try:
            got = snap.collection.query(
                query_embeddings=[vector.tolist()], n_results=min(n, len(snap.chunks)), where=where,
                include=["distances"],
            )
        except Exception as exc:
            self.index.invalidate()
            raise IndexUnavailable(f"Vector search failed ({exc.__class__.__name__}).") from exc
        hits = []
        for chunk_id, distance in zip(got["ids"][0], got["distances"][0], strict=True):
            pos = snap.position.get(chunk_id)
            if pos is not None:
                hits.append((snap.chunks[pos], 1.0 - float(distance)))
        return hits

    def sentence_ranking(self, snap: Snapshot, vector: np.ndarray, filters: Filters | None, n: int
                   ) -> list[tuple[StoredChunk, float]]:
        """Chunks by their best sentence's similarity to the query, from the ``n`` most similar sentences.

        The vectors were written at ingest and are in memory: this is one matrix product, no search.
        """
        sentences = snap.sentences
        if not len(sentences):
            return []
        similarity = sentences.vectors @ vector.astype(np.float32)
        n = min(n, len(similarity))
        best = np.argpartition(-similarity, n - 1)[:n]
        top = best[np.argsort(-similarity[best])]
        hits: list[tuple[StoredChunk, float]] = []
        seen: set[str] = set()
        for row in top:
            chunk_id = sentences.chunk_ids[int(row)]
            pos = snap.position.get(chunk_id)
            if chunk_id in seen or pos is None:
                continue
            seen.add(chunk_id)
            chunk = snap.chunks[pos]
            if filters is None or filters.matches(chunk.metadata):
                hits.append((chunk, float(similarity[row])))
        return hits

    def _lexical(self, snap: Snapshot, query: str, filters: Filters | None, n: int) -> list[tuple[StoredChunk, float]]:
        scores = snap.bm25.scores(query)
        order = np.argsort(-scores)
        hits = []
        for pos in order:
            if scores[pos] <= 0 or len(hits) >= n:
                break
            chunk = snap.chunks[int(pos)]
            if filters is None or filters.matches(chunk.metadata):
                hits.append((chunk, float(scores[pos])))
        return hits

    def retrieve(
        self, query: str, filters: Filters | None = None, k: int | None = None, mode: Mode = "hybrid"
    ) -> RetrievalResult:
        original = query
        k = k or self.settings.top_k
        n = self.settings.candidates
        timings: dict[str, float] = {}
        snap = self.index.snapshot()
        filters = None if filters is None or filters.empty else filters

        dense: list[tuple[StoredChunk, float]] = []
        lexical: list[tuple[StoredChunk, float]] = []
        lexical_query = ""
        started = time.perf_counter()
        query = self.repaired(query, snap)
        vector = self.embedder.query_vector(query)
        timings["embed"] = (time.perf_counter() - started) * 1000
        # Dense search runs in every mode: its best similarity is what the relevance floor is measured on.
        started = time.perf_counter()
        dense = self._dense(snap, vector, filters, n)
        timings["dense"] = (time.perf_counter() - started) * 1000
        if mode in ("hybrid", "bm25"):
            started = time.perf_counter()
            lexical_query = self.lexical_query(query)
            lexical = self._lexical(snap, lexical_query, filters, n)
            timings["bm25"] = (time.perf_counter() - started) * 1000

        dense_sim = {c.id: s for c, s in dense}
        bm25_score = {c.id: s for c, s in lexical}
        fused: dict[str, float] = {}
        chunks: dict[str, StoredChunk] = {}
        rankings = []
        if mode in ("hybrid", "dense"):
            rankings.append((dense, self.settings.dense_weight if mode == "hybrid" else 1.0))
        if mode in ("hybrid", "bm25"):
            rankings.append((lexical, self.settings.bm25_weight if mode == "hybrid" else 1.0))
        if mode == "hybrid" and self.settings.sentence_weight:
            started = time.perf_counter()
            rankings.append((self.sentence_ranking(snap, vector, filters, n), self.settings.sentence_weight))
            timings["sentences"] = (time.perf_counter() - started) * 1000
        section_weight: dict[str, float] = {}
        doc_weight: dict[str, float] = {}
        if mode == "hybrid":
            section_weight = self.sections.for_question(query)
            if self.priors is not None:
                doc_weight = self.priors.weights(query, snap.name, snap.documents)
        passage_weight: dict[str, float] = {}  # per chunk: its section's weight times its document's
        for ranking, weight in rankings:
            for rank, (chunk, _) in enumerate(ranking):
                if chunk.id not in passage_weight:
                    meta = chunk.metadata
                    passage_weight[chunk.id] = (section_weight.get(meta.section.lower(), 1.0)
                                                * doc_weight.get(meta.doc_id, 1.0))
                share = weight * passage_weight[chunk.id]
                fused[chunk.id] = fused.get(chunk.id, 0.0) + share / (self.settings.rrf_k + rank + 1)
                chunks[chunk.id] = chunk

        ranked_docs, by_doc, doc_score = rank_documents(
            fused, {cid: c.metadata.doc_id for cid, c in chunks.items()}, self.settings.second_hit_weight
        )
        selected: list[RetrievedChunk] = []
        for doc in ranked_docs:
            for chunk_id in by_doc[doc][: self.settings.per_doc_cap]:
                chunk = chunks[chunk_id]
                selected.append(RetrievedChunk(
                    chunk.id, chunk.text, chunk.metadata, doc_score[doc] if chunk_id == by_doc[doc][0]
                    else fused[chunk_id], dense_sim.get(chunk_id), bm25_score.get(chunk_id)))
            if len(selected) >= k:
                break
        best = max(dense_sim.values(), default=0.0)
        return RetrievalResult(
            query=original, chunks=selected[:k], best_dense=best, weak=best < self.settings.relevance_floor,
            lexical_query=lexical_query, ranked_docs=ranked_docs, timings_ms=timings, repaired=query,
        )
