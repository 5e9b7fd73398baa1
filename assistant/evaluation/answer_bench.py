"""`assistant bench answer`: how long one in-process answer takes, cold and warm, against its floor.

Cold is the first answer to each question in a fresh process (after one throw-away question that
pays for loading the model and the index generation); warm is the same questions again, each
still paying for its own query embedding (the remembered query vectors are dropped before each
one), as a new question would. The floor is what no answer can avoid: one query embedding, the
vector search and BM25 scoring over the generation.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.evaluation.load import percentile
from assistant.services import Services


@dataclass(frozen=True)
class AnswerBench:
    questions: int
    cold_ms: tuple[float, ...]
    warm_ms: tuple[float, ...]
    floor_ms: tuple[float, ...]


def _timed(call: object) -> float:
    started = time.perf_counter()
    call()  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000


def run(services: Services, questions: Sequence[str]) -> AnswerBench:
    answers, embedder = services.answers, services.embedder
    answers.answer("What did TRANSFORM-2 find?")  # model, generation and classifier loaded once
    cold = tuple(_timed(lambda q=q: answers.answer(q)) for q in questions)
    warm: list[float] = []
    floor: list[float] = []
    snap = services.index.snapshot()
    for question in questions:
        embedder.forget_queries()
        warm.append(_timed(lambda q=question: answers.answer(q)))
        embedder.forget_queries()

        def bare(q: str = question) -> None:
            vector = embedder.query_vector(q)
            snap.collection.query(query_embeddings=[vector.tolist()], n_results=10, include=["distances"])
            snap.bm25.scores(q)

        floor.append(_timed(bare))
    return AnswerBench(len(questions), cold, tuple(warm), tuple(floor))


def render(report: AnswerBench) -> str:
    def line(label: str, values: Sequence[float]) -> str:
        return (f"{label:<34} p50 {percentile(values, 50):7.1f} ms   p95 {percentile(values, 95):7.1f} ms   "
                f"max {max(values):7.1f} ms")

    return "\n".join([
        f"in-process answers: {report.questions} questions",
        line("cold (first answer in a process)", report.cold_ms),
        line("warm (each embeds its question)", report.warm_ms),
        line("floor (embed + vector + BM25)", report.floor_ms),
        f"warm p50 / floor p50 = {percentile(report.warm_ms, 50) / percentile(report.floor_ms, 50):.2f}x",
    ])
