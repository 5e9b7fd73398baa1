"""`assistant replay`: run scripted conversations against the assistant and score every turn.

Conversations run concurrently; the turns of one conversation run in order and share one
conversation, so a follow-up sees exactly the history it would see in production (see
``transports`` for how that history travels without being stored).

Latency is measured without contention: the first ``warmup`` questions are asked and thrown away
(a first answer pays for lazy imports and cold caches), and when conversations are scored
concurrently the percentiles come from a second, one-at-a-time pass over the same conversations.
On two cores four concurrent conversations triple the median without saying anything about the
assistant.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from assistant.domain import Answer
from assistant.evaluation.conversations_file import KINDS, Case, CaseTurn, Meta
from assistant.evaluation.scorers import Scorer, ScorerInput
from assistant.evaluation.scoring import LeakGuard, Metrics, TurnScore, score_error, score_turn
from assistant.evaluation.transports import REPLAY_CHANNEL, ReplayError, Thread, Transport

__all__ = ["REPLAY_CHANNEL", "THRESHOLD_OPTIONS", "ReplayRun", "TurnResult", "replay"]

# Metric name in the report -> the CLI option that sets its minimum.
THRESHOLD_OPTIONS = {"hit_at_5": "--min-hit5", "fact_recall": "--min-facts", "caveat_rate": "--min-caveat",
                     "behaviour_rate": "--min-behaviour"}


@dataclass(frozen=True)
class TurnResult:
    case_id: str
    index: int  # 1-based position in its conversation
    turn: CaseTurn
    score: TurnScore
    answer: Answer | None = None
    latency_ms: float | None = None
    conversation_id: str | None = None
    message_id: str | None = None
    retries: int = 0
    backoff_s: float = 0.0
    meta: Meta = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.case_id}#{self.index}"

    def problems(self) -> list[str]:
        return self.score.problems(self.turn.gold)


@dataclass
class ReplayRun:
    transport: str
    concurrency: int
    results: list[TurnResult]
    conversations: int
    seconds: float
    thresholds: dict[str, float] = field(default_factory=dict)
    store: bool = False
    warmup: int = 0
    latency_pass_seconds: float | None = None  # set when latency came from a separate concurrency-1 pass
    scorers: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def totals(self) -> Metrics:
        return Metrics.of((r.score, r.latency_ms) for r in self.results)

    def per_kind(self) -> dict[str, Metrics]:
        return {kind: Metrics.of((r.score, r.latency_ms) for r in self.results if r.turn.kind == kind)
                for kind in KINDS if any(r.turn.kind == kind for r in self.results)}

    @property
    def failing(self) -> list[TurnResult]:
        return [r for r in self.results if not r.score.passed]

    @property
    def retries(self) -> int:
        return sum(r.retries for r in self.results)

    @property
    def backoff_s(self) -> float:
        return sum(r.backoff_s for r in self.results)

    def threshold_checks(self) -> list[tuple[str, float, float | None, bool]]:
        """(metric, minimum, value, met) for every threshold set; a metric nothing measured is not met."""
        totals = self.totals
        out = []
        for metric, minimum in self.thresholds.items():
            value = getattr(totals, metric).value
            out.append((metric, minimum, value, value is not None and value >= minimum))
        return out

    @property
    def ok(self) -> bool:
        """Without thresholds every turn must pass; with them, they say what is acceptable.

        A turn that could not run is never acceptable, whatever the thresholds.
        """
        if not self.thresholds:
            return not self.failing
        return all(met for *_, met in self.threshold_checks()) and self.totals.errors == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "provenance": self.provenance,
            "transport": self.transport, "concurrency": self.concurrency, "conversations": self.conversations,
            "store": self.store, "warmup": self.warmup, "seconds": round(self.seconds, 3),
            "latency_source": "concurrency-1 pass" if self.latency_pass_seconds is not None else "scoring pass",
            "latency_pass_seconds": None if self.latency_pass_seconds is None else round(self.latency_pass_seconds, 3),
            "retries": self.retries, "backoff_s": round(self.backoff_s, 3),
            "scorers": self.scorers, "warnings": self.warnings,
            "totals": self.totals.to_dict(),
            "per_kind": {kind: m.to_dict() for kind, m in self.per_kind().items()},
            "thresholds": [{"metric": m, "option": THRESHOLD_OPTIONS.get(m), "minimum": lo, "value": v, "met": met}
                           for m, lo, v, met in self.threshold_checks()],
            "ok": self.ok,
            "turns": [turn_dict(r) for r in self.results],
        }


def turn_dict(result: TurnResult) -> dict[str, Any]:
    score = result.score
    return {
        "case_id": result.case_id, "turn": result.index, "kind": result.turn.kind, "user": result.turn.user,
        "passed": score.passed, "problems": result.problems(), "latency_ms": result.latency_ms,
        "retries": result.retries, "backoff_s": round(result.backoff_s, 3),
        "conversation_id": result.conversation_id, "message_id": result.message_id, "meta": result.meta,
        "gold": result.turn.gold, "gold_hit": score.gold_hit, "unknown_gold": list(score.unknown_gold),
        "top_cited": list(score.top_cited),
        "facts_found": score.facts_found, "facts_total": score.facts_total,
        "missing_facts": [list(alts) for alts in score.missing_facts],
        "caveat_ok": score.caveat_ok, "missing_caveats": list(score.missing_caveats),
        "behaviour_ok": score.behaviour_ok, "markers_ok": score.markers_ok,
        "unresolved_markers": list(score.unresolved_markers), "error": score.error,
        "scorers": {v.scorer: {"passed": v.passed, "score": v.score, "reason": v.reason} for v in score.verdicts},
        "answer": result.answer.model_dump(mode="json") if result.answer else None,
    }


@dataclass(frozen=True)
class Scoring:
    """What every turn is scored with: the leak guard, the indexed source ids and the user's scorers."""

    guard: LeakGuard
    known_ids: frozenset[str] | None = None
    scorers: Sequence[Scorer] = ()


def run_conversation(case: Case, transport: Transport, scoring: Scoring, store: bool) -> list[TurnResult]:
    results: list[TurnResult] = []
    thread = Thread()
    failed: str | None = None
    for index, turn in enumerate(case.turns, 1):
        meta = {**case.meta, **turn.meta}
        if failed:  # without the earlier turn the follow-up would run out of context: do not guess
            results.append(TurnResult(case.id, index, turn, score_error(turn, f"not run, {failed}"), meta=meta))
            continue
        history = tuple(thread.history)
        try:
            reply = transport.ask(turn.user, thread, store)
        except Exception as exc:  # HTTP failure or a bug in the service: score it against the turn, go on
            error = str(exc) if isinstance(exc, ReplayError) else f"{exc.__class__.__name__}: {exc}"
            failed = f"turn {index} failed"
            results.append(TurnResult(case.id, index, turn, score_error(turn, error),
                                      conversation_id=thread.conversation_id, meta=meta))
            continue
        thread.advance(turn.user, reply)
        score = score_turn(turn, reply.answer, scoring.guard, scoring.known_ids)
        if scoring.scorers:
            given = ScorerInput(case.id, index, turn, reply.answer, history, meta)
            score = replace(score, verdicts=tuple(scorer(given) for scorer in scoring.scorers))
        results.append(TurnResult(case.id, index, turn, score, reply.answer, reply.latency_ms,
                                  reply.conversation_id, reply.message_id, reply.retries, reply.backoff_s, meta))
    return results


def warm_up(cases: Sequence[Case], transport: Transport, count: int) -> None:
    """Ask the first questions of the first ``count`` conversations (cycling), unscored and unstored."""
    for n in range(count if cases else 0):
        try:
            transport.ask(cases[n % len(cases)].turns[0].user, Thread(), store=False)
        except Exception:  # the scored run reports what is wrong, turn by turn
            return


def latency_pass(cases: Sequence[Case], transport: Transport) -> dict[tuple[str, int], float]:
    """Every conversation again, one at a time and unstored: latency without contention."""
    timings: dict[tuple[str, int], float] = {}
    for case in cases:
        thread = Thread()
        for index, turn in enumerate(case.turns, 1):
            try:
                reply = transport.ask(turn.user, thread, store=False)
            except Exception:  # the scoring pass has reported this turn; time only what was answered
                break
            thread.advance(turn.user, reply)
            timings[(case.id, index)] = reply.latency_ms
    return timings


def replay(cases: Sequence[Case], transport: Transport, scoring: Scoring, concurrency: int = 1,
           thresholds: dict[str, float] | None = None, *, store: bool = False, warmup: int = 0,
           separate_latency_pass: bool | None = None) -> ReplayRun:
    """Score every turn; ``separate_latency_pass`` defaults to on when ``concurrency`` is above 1."""
    warm_up(cases, transport, warmup)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="replay") as pool:
        per_case = list(pool.map(lambda case: run_conversation(case, transport, scoring, store), cases))
    seconds = time.perf_counter() - started
    results = [r for results in per_case for r in results]
    pass_seconds = None
    if separate_latency_pass if separate_latency_pass is not None else concurrency > 1:
        started = time.perf_counter()
        timings = latency_pass(cases, transport)
        pass_seconds = time.perf_counter() - started
        results = [replace(r, latency_ms=timings.get((r.case_id, r.index))) for r in results]
    return ReplayRun(transport=transport.name, concurrency=concurrency, results=results, conversations=len(cases),
                     seconds=seconds, thresholds=dict(thresholds or {}), store=store, warmup=warmup,
                     latency_pass_seconds=pass_seconds, scorers=[s.name for s in scoring.scorers])
