"""The default answer engine: an answer assembled from sentences of the retrieved passages.

Nothing is generated, so nothing can be invented: every sentence of the answer is a sentence of
a cited document, numbers included. Sentences are scored by meaning (embedding similarity to
the question) and by shared words, near-duplicates are dropped, and the best one becomes the
bottom line; the rest follow strongest evidence first. A relevant finding that cuts the other
way (a null or negative result) is kept so that disagreement stays visible.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answer.citations import CitationBuilder
from assistant.domain import Citation
from assistant.index.embeddings import MiniLMEmbedder
from assistant.retrieval.hybrid import RetrievedChunk
from assistant.text import split_sentences, tokenize

GENERIC = frozenset({"ketamine", "esketamine", "depression", "depressive", "study", "studies", "trial", "trials",
                     "patients", "corpus", "evidence", "show", "find", "found", "effect", "effects"})
NEGATIVE_CUES = re.compile(
    r"\b(did not|no significant|not significant|not superior|no difference|failed|did not separate|"
    r"no better|not differ|contested|challenged|debated|null)\b", re.IGNORECASE)
HEDGE_CUES = re.compile(r"\b(does not record|do not record|not recorded|this corpus)\b", re.IGNORECASE)
META_SECTIONS = {"relevance to the review", "scope of this document", "bibliographic record"}
# Findings answer questions better than descriptions of method; limitations only when asked for.
SECTION_PRIOR = {"summary": 0.05, "results": 0.08, "findings": 0.08, "design": -0.02, "limitations": -0.12}
MECHANISM_Q = re.compile(r"mechanis|how does .* work|receptor|nmda|ampa|bdnf|mtor|hnk|metabolit|synap|mice|mouse|"
                         r"\brats?\b|animal|preclinical|glutamat|signal", re.IGNORECASE)
SAFETY_Q = re.compile(r"safe|side[- ]?effect|adverse|harm|risk|tolera|dissociat|bladder|memory|cognit|abuse|addict",
                      re.IGNORECASE)
LEVEL_ORDER = {"1": 0, "2": 1, "3": 2, "4": 3, "regulatory": 4, "5": 5}
LEVEL_PRIOR = {"1": 0.04, "2": 0.03, "3": 0.01, "4": 0.0, "regulatory": 0.0, "5": -0.02}
FINDING_CUES = re.compile(r"\d|%|superior|reduc|improv|respon|remission|greater|fell|faster|rapid|separat|"
                          r"associated|increase|decrease|lower|higher|relapse", re.IGNORECASE)
DESCRIPTION_CUES = re.compile(r"\b(was a|is a|published in|measured|tested|was designed|registered|enrolled)\b",
                              re.IGNORECASE)
REDUNDANCY = 0.87


@dataclass(frozen=True)
class Candidate:
    text: str
    chunk: RetrievedChunk
    doc_rank: int
    vector: np.ndarray
    score: float = 0.0


@dataclass(frozen=True)
class Composed:
    text: str
    citations: list[Citation]


def quotable_sentences(text: str) -> list[str]:
    """The sentences of a passage that can stand alone in an answer: bullets stripped, fragments dropped."""
    out = []
    for piece in split_sentences(text):
        sentence = piece.strip().lstrip("-*• ").strip()
        if len(sentence) >= 25 and re.search(r"[A-Za-z]", sentence):
            out.append(sentence if sentence[-1] in ".!?" else sentence + ".")
    return out


class SentenceCache:
    """Sentence vectors per chunk; chunks are immutable within a generation, so this never goes stale."""

    def __init__(self, embedder: MiniLMEmbedder, size: int = 4096) -> None:
        self.embedder = embedder
        self.size = size
        self._cache: OrderedDict[str, tuple[list[str], np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, chunks: Sequence[RetrievedChunk]) -> dict[str, tuple[list[str], np.ndarray]]:
        with self._lock:
            missing = [c for c in chunks if c.id not in self._cache]
        if missing:
            split = {c.id: quotable_sentences(c.text) for c in missing}
            flat = [s for c in missing for s in split[c.id]]
            vectors = self.embedder.embed(flat)
            offset = 0
            with self._lock:
                for c in missing:
                    n = len(split[c.id])
                    self._cache[c.id] = (split[c.id], vectors[offset : offset + n])
                    offset += n
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
        with self._lock:
            return {c.id: self._cache[c.id] for c in chunks if c.id in self._cache}


class ExtractiveEngine:
    name = "extractive"

    def __init__(self, embedder: MiniLMEmbedder, max_sentences: int = 6) -> None:
        self.embedder = embedder
        self.max_sentences = max_sentences
        self.sentences = SentenceCache(embedder)

    def _candidates(self, question: str, chunks: Sequence[RetrievedChunk]) -> list[Candidate]:
        qvec = self.embedder.query_vector(question)
        qtokens = {t for t in tokenize(question) if t not in GENERIC}
        asks_limits = bool(re.search(r"limit|weak|bias|blind|small|caveat|quality", question, re.IGNORECASE))
        asks_mechanism = bool(MECHANISM_Q.search(question))
        asks_safety = bool(SAFETY_Q.search(question))
        doc_order: list[str] = []
        for chunk in chunks:
            if chunk.doc_id not in doc_order:
                doc_order.append(chunk.doc_id)
        cached = self.sentences.get(chunks)
        out: list[Candidate] = []
        for chunk in chunks:
            sentences, vectors = cached.get(chunk.id, ([], np.zeros((0, 0))))
            section = chunk.metadata.section.lower()
            rank = doc_order.index(chunk.doc_id)
            for sentence, vector in zip(sentences, vectors, strict=True):
                stokens = set(tokenize(sentence))
                lexical = len(qtokens & stokens) / len(qtokens) if qtokens else 0.0
                score = 0.65 * float(vector @ qvec) + 0.35 * lexical + 0.08 / (1 + rank)
                if HEDGE_CUES.search(sentence):
                    score -= 0.25
                if section in META_SECTIONS:
                    score -= 0.15
                elif section == "limitations":
                    score += 0.05 if asks_limits else SECTION_PRIOR["limitations"]
                elif section == "adverse effects":
                    score += 0.1 if asks_safety else 0.0
                else:
                    score += SECTION_PRIOR.get(section, 0.0)
                if chunk.metadata.design == "preclinical" and not asks_mechanism:
                    score -= 0.12
                score += LEVEL_PRIOR.get(chunk.metadata.level_key, 0.0)
                score += 0.05 if FINDING_CUES.search(sentence) else 0.0
                score -= 0.04 if DESCRIPTION_CUES.search(sentence) else 0.0
                out.append(Candidate(sentence, chunk, rank, vector, score))
        return sorted(out, key=lambda c: c.score, reverse=True)

    def _select(self, ranked: list[Candidate]) -> list[Candidate]:
        if not ranked:
            return []
        floor = ranked[0].score * 0.6
        chosen: list[Candidate] = []
        per_doc: dict[str, int] = {}
        for cand in ranked:
            if len(chosen) >= self.max_sentences or cand.score < floor:
                break
            if per_doc.get(cand.chunk.doc_id, 0) >= 2:
                continue
            if any(float(cand.vector @ c.vector) > REDUNDANCY for c in chosen):
                continue
            chosen.append(cand)
            per_doc[cand.chunk.doc_id] = per_doc.get(cand.chunk.doc_id, 0) + 1
        if not any(NEGATIVE_CUES.search(c.text) for c in chosen):
            contrary = next((c for c in ranked if NEGATIVE_CUES.search(c.text) and c.score >= ranked[0].score * 0.5
                             and not HEDGE_CUES.search(c.text) and c not in chosen), None)
            if contrary is not None:
                if len(chosen) >= self.max_sentences:
                    chosen.pop()
                chosen.append(contrary)
        return chosen

    def compose(self, question: str, chunks: Sequence[RetrievedChunk]) -> Composed | None:
        chosen = self._select(self._candidates(question, chunks))
        if not chosen:
            return None
        bottom, rest = chosen[0], chosen[1:]
        rest.sort(key=lambda c: (LEVEL_ORDER.get(c.chunk.metadata.level_key, 6), -c.score))
        builder = CitationBuilder.empty()
        lines = [f"Bottom line: {bottom.text} [{builder.mark(bottom.chunk, bottom.text)}]"]
        if rest:
            lines.append("")
            lines.append("What the studies found:")
            lines.extend(f"- {c.text} [{builder.mark(c.chunk, c.text)}]" for c in rest)
        return Composed("\n".join(lines), builder.citations)
