"""`assistant bench retrieval`: dense-only, BM25-only and hybrid retrieval side by side.

recall@k is the share of answerable questions with at least one gold document among the top k
documents; MRR uses the rank of the first gold document; nDCG@10 uses binary relevance over the
document ranking. Abstention accuracy is the share of unanswerable questions on which the
answer layer's rule (scope check plus relevance floor) would abstain; the false-abstention rate
is the same rule firing on answerable questions. Latencies are warm (after one full pass).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from assistant.evaluation.questions import Question, doc_identifiers, first_hit, ndcg_at
from assistant.evaluation.stats import percentile
from assistant.retrieval.hybrid import Mode
from assistant.safety.scope import evidence_too_weak
from assistant.services import Services

MODES: tuple[Mode, ...] = ("dense", "bm25", "hybrid")


@dataclass
class ModeScores:
    mode: str
    recall1: float = 0.0
    recall5: float = 0.0
    mrr: float = 0.0
    ndcg10: float = 0.0
    abstain_accuracy: float = 0.0
    false_abstain: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    misses: list[tuple[str, str, list[str]]] = field(default_factory=list)


def score_mode(services: Services, questions: list[Question], mode: Mode) -> ModeScores:
    snap = services.index.snapshot()
    services.answers.scope.know_studies(*snap.scope_studies)
    ids = {doc_id: doc_identifiers(meta, doc_id) for doc_id, meta in snap.documents.items()}
    scores = ModeScores(mode)
    answerable = [q for q in questions if q.answerable]
    unanswerable = [q for q in questions if not q.answerable]
    latencies: list[float] = []
    rr, r1, r5, nd, false_abstain = [], 0, 0, [], 0
    for question in questions:
        services.embedder.forget_queries()  # each timed query pays its own embedding, as a new question does
        started = time.perf_counter()
        result = services.retriever.retrieve(question.question, k=10, mode=mode)
        latencies.append((time.perf_counter() - started) * 1000)
        check = services.answers.scope.check(question.question)
        abstains = evidence_too_weak(check, result.weak, result.best_dense, bool(result.chunks))
        if not question.answerable:
            scores.abstain_accuracy += abstains / max(1, len(unanswerable))
            continue
        false_abstain += abstains
        gold = {g.lower() for g in question.gold}
        ranked = [ids.get(d, {d}) for d in result.ranked_docs]
        rank = first_hit(ranked, gold)
        rr.append(1.0 / rank if rank else 0.0)
        r1 += rank == 1
        r5 += bool(rank and rank <= 5)
        nd.append(ndcg_at(ranked, gold, 10))
        if not rank or rank > 5:
            scores.misses.append((question.id, question.question, result.ranked_docs[:5]))
    n = max(1, len(answerable))
    scores.recall1, scores.recall5 = r1 / n, r5 / n
    scores.mrr, scores.ndcg10 = statistics.fmean(rr or [0]), statistics.fmean(nd or [0])
    scores.false_abstain = false_abstain / n
    scores.p50_ms, scores.p95_ms = percentile(latencies, 50), percentile(latencies, 95)
    return scores


def cost_floor(services: Services, questions: list[Question], k: int = 10) -> dict[str, float]:
    """Query embedding plus the bare vector search: the least any retriever over this index must pay."""
    snap = services.index.snapshot()
    embed_ms, search_ms, total_ms = [], [], []
    for question in questions:
        t0 = time.perf_counter()
        vector = services.embedder.embed([question.question])[0]
        t1 = time.perf_counter()
        snap.collection.query(query_embeddings=[vector.tolist()], n_results=k, include=["distances"])
        t2 = time.perf_counter()
        embed_ms.append((t1 - t0) * 1000)
        search_ms.append((t2 - t1) * 1000)
        total_ms.append((t2 - t0) * 1000)
    return {"embed_p50": percentile(embed_ms, 50), "search_p50": percentile(search_ms, 50),
            "p50": percentile(total_ms, 50), "p95": percentile(total_ms, 95)}


def run(services: Services, questions: list[Question]) -> dict[str, Any]:
    for question in questions:  # warm-up: model, caches, Chroma segments
        services.retriever.retrieve(question.question, k=10)
    results = {mode: score_mode(services, questions, mode) for mode in MODES}
    return {"modes": results, "floor": cost_floor(services, questions),
            "answerable": sum(q.answerable for q in questions),
            "unanswerable": sum(not q.answerable for q in questions)}


def render(report: dict[str, Any]) -> str:
    floor = report["floor"]
    lines = [
        f"retrieval benchmark: {report['answerable']} answerable + {report['unanswerable']} unanswerable questions",
        f"{'retriever':<10}{'R@1':>7}{'R@5':>7}{'MRR':>7}{'nDCG@10':>9}{'abstain':>9}{'false-abst':>11}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'x floor':>9}",
    ]
    for mode, s in report["modes"].items():
        lines.append(f"{mode:<10}{s.recall1:>7.3f}{s.recall5:>7.3f}{s.mrr:>7.3f}{s.ndcg10:>9.3f}"
                     f"{s.abstain_accuracy:>9.3f}{s.false_abstain:>11.3f}{s.p50_ms:>9.2f}{s.p95_ms:>9.2f}"
                     f"{s.p50_ms / floor['p50'] if floor['p50'] else 0:>9.2f}")
    lines.append(f"cost floor (query embedding + bare Chroma search): p50 {floor['p50']:.2f} ms "
                 f"(embed {floor['embed_p50']:.2f} + search {floor['search_p50']:.2f}), p95 {floor['p95']:.2f} ms")
    hybrid = report["modes"]["hybrid"]
    if hybrid.misses:
        lines.append("hybrid misses (gold not in top 5):")
        lines.extend(f"  {qid}: {text} -> {docs}" for qid, text, docs in hybrid.misses)
    return "\n".join(lines)
