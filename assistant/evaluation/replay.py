"""`assistant replay`: run scripted conversations against the assistant and score every turn.

Conversations run concurrently; the turns of one conversation run in order and share one stored
conversation, so a follow-up sees exactly the history it would see in production. Two transports
give the same answers: in-process, which stores turns through ``services.conversations`` as
POST /v1/chat does, and HTTP, which calls a running service's POST /v1/chat.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from assistant.answer.models import Answer
from assistant.evaluation.conversations_file import KINDS, Case, CaseTurn
from assistant.evaluation.scoring import LeakGuard, Metrics, TurnScore, score_error, score_turn

if TYPE_CHECKING:  # the HTTP transport must not need the index, the model or their imports
    from assistant.services import Services

REPLAY_CHANNEL = "replay"
# Metric name in the report -> the CLI option that sets its minimum.
THRESHOLD_OPTIONS = {"hit_at_5": "--min-hit5", "fact_recall": "--min-facts", "caveat_rate": "--min-caveat",
                     "behaviour_rate": "--min-behaviour"}


@dataclass(frozen=True)
class Reply:
    answer: Answer
    conversation_id: str
    message_id: str


class ReplayError(Exception):
    """One turn could not be answered (HTTP error, unreachable service, exception in the service)."""


class Transport(Protocol):
    name: str

    def ask(self, message: str, conversation_id: str | None) -> Reply: ...


class InProcessTransport:
    """The answer service and conversation store of this process, used the way POST /v1/chat uses them.

    Turns go into ``services.conversations`` under the ``replay`` channel, so they are kept apart
    from web and Slack conversations (and not visible through the web API) but can be exported.
    """

    name = "in-process"

    def __init__(self, services: Services) -> None:
        self.services = services

    def ask(self, message: str, conversation_id: str | None) -> Reply:
        store = self.services.conversations
        message = message.strip()
        history = store.history(conversation_id, limit=self.services.settings.web.history_turns) \
            if conversation_id else []
        answer = self.services.answers.answer(message, history)
        conversation_id = conversation_id or store.create_conversation(REPLAY_CHANNEL)
        return Reply(answer, conversation_id, store.add_turn(conversation_id, message, answer))


class HttpTransport:
    """POST {base_url}/v1/chat as JSON; waits out 429/503 as told by Retry-After, a few times."""

    name = "http"

    def __init__(self, base_url: str, api_key: str | None = None, timeout_s: float = 60.0,
                 retries: int = 5, sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.retries = retries
        self.sleep = sleep

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> urllib.request.Request:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode() if body is not None else None
        return urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)

    def check_ready(self) -> None:
        """Raise ReplayError unless GET /readyz answers 200."""
        try:
            with urllib.request.urlopen(self._request("GET", "/readyz"), timeout=self.timeout_s):
                return
        except urllib.error.HTTPError as exc:
            raise ReplayError(f"{self.base_url}/readyz answered {exc.code}: {_error_message(exc)}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ReplayError(f"cannot reach {self.base_url} ({reason})") from None

    def ask(self, message: str, conversation_id: str | None) -> Reply:
        body: dict[str, Any] = {"message": message, "stream": False}
        if conversation_id:
            body["conversation_id"] = conversation_id
        for attempt in range(self.retries + 1):
            try:
                with urllib.request.urlopen(self._request("POST", "/v1/chat", body), timeout=self.timeout_s) as resp:
                    payload = json.loads(resp.read().decode("utf-8"))
                break
            except urllib.error.HTTPError as exc:
                if exc.code in (429, 503) and attempt < self.retries:
                    self.sleep(_retry_after(exc))
                    continue
                raise ReplayError(f"HTTP {exc.code}: {_error_message(exc)}") from None
            except (urllib.error.URLError, OSError, ValueError) as exc:
                raise ReplayError(f"{exc.__class__.__name__}: {getattr(exc, 'reason', exc)}") from None
        fields = {name: payload[name] for name in Answer.model_fields if name in payload}
        try:
            return Reply(Answer.model_validate(fields), str(payload["conversation_id"]), str(payload["message_id"]))
        except (KeyError, ValueError) as exc:
            raise ReplayError(f"the response is not an answer ({exc.__class__.__name__})") from None


def _retry_after(exc: urllib.error.HTTPError) -> float:
    try:
        return min(30.0, max(0.1, float(exc.headers.get("Retry-After", "1"))))
    except ValueError:
        return 1.0


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read().decode("utf-8"))
        return str(body["error"]["message"])
    except Exception:  # any body that is not our JSON error shape: fall back to the status text
        return str(exc.reason)


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

    @property
    def totals(self) -> Metrics:
        return Metrics.of((r.score, r.latency_ms) for r in self.results)

    def per_kind(self) -> dict[str, Metrics]:
        return {kind: Metrics.of((r.score, r.latency_ms) for r in self.results if r.turn.kind == kind)
                for kind in KINDS if any(r.turn.kind == kind for r in self.results)}

    @property
    def failing(self) -> list[TurnResult]:
        return [r for r in self.results if not r.score.passed]

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
        """Every threshold met and every turn answered: a turn that could not run is never a pass."""
        return all(met for *_, met in self.threshold_checks()) and self.totals.errors == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "transport": self.transport, "concurrency": self.concurrency, "conversations": self.conversations,
            "seconds": round(self.seconds, 3),
            "totals": self.totals.to_dict(),
            "per_kind": {kind: m.to_dict() for kind, m in self.per_kind().items()},
            "thresholds": [{"metric": m, "option": THRESHOLD_OPTIONS.get(m), "minimum": lo, "value": v, "met": met}
                           for m, lo, v, met in self.threshold_checks()],
            "ok": self.ok,
            "turns": [_turn_dict(r) for r in self.results],
        }


def _turn_dict(result: TurnResult) -> dict[str, Any]:
    score = result.score
    return {
        "case_id": result.case_id, "turn": result.index, "kind": result.turn.kind, "user": result.turn.user,
        "passed": score.passed, "problems": result.problems(), "latency_ms": result.latency_ms,
        "conversation_id": result.conversation_id, "message_id": result.message_id,
        "gold": result.turn.gold, "gold_hit": score.gold_hit, "top_cited": list(score.top_cited),
        "facts_found": score.facts_found, "facts_total": score.facts_total,
        "missing_facts": [list(alts) for alts in score.missing_facts],
        "caveat_ok": score.caveat_ok, "missing_caveats": list(score.missing_caveats),
        "behaviour_ok": score.behaviour_ok, "markers_ok": score.markers_ok,
        "unresolved_markers": list(score.unresolved_markers), "error": score.error,
        "answer": result.answer.model_dump(mode="json") if result.answer else None,
    }


def run_conversation(case: Case, transport: Transport, guard: LeakGuard) -> list[TurnResult]:
    results: list[TurnResult] = []
    conversation_id: str | None = None
    failed: str | None = None
    for index, turn in enumerate(case.turns, 1):
        if failed:  # without the earlier turn the follow-up would run out of context: do not guess
            results.append(TurnResult(case.id, index, turn, score_error(turn, f"not run, {failed}")))
            continue
        started = time.perf_counter()
        try:
            reply = transport.ask(turn.user, conversation_id)
        except Exception as exc:  # HTTP failure or a bug in the service: score it against the turn, go on
            error = str(exc) if isinstance(exc, ReplayError) else f"{exc.__class__.__name__}: {exc}"
            failed = f"turn {index} failed"
            results.append(TurnResult(case.id, index, turn, score_error(turn, error),
                                      conversation_id=conversation_id))
            continue
        latency_ms = (time.perf_counter() - started) * 1000
        conversation_id = reply.conversation_id
        results.append(TurnResult(case.id, index, turn, score_turn(turn, reply.answer, guard), reply.answer,
                                  latency_ms, reply.conversation_id, reply.message_id))
    return results


def replay(cases: Sequence[Case], transport: Transport, guard: LeakGuard, concurrency: int = 4,
           thresholds: dict[str, float] | None = None) -> ReplayRun:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="replay") as pool:
        per_case = list(pool.map(lambda case: run_conversation(case, transport, guard), cases))
    return ReplayRun(transport=transport.name, concurrency=concurrency,
                     results=[r for results in per_case for r in results], conversations=len(cases),
                     seconds=time.perf_counter() - started, thresholds=dict(thresholds or {}))


def _cell(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render_summary(run: ReplayRun) -> str:
    """The table printed to the terminal: totals and one row per kind, then the thresholds."""
    header = (f"{'kind':<10}{'turns':>6}{'pass':>6}{'err':>5}{'hit@5':>8}{'facts':>8}{'caveat':>8}"
              f"{'behaviour':>11}{'markers':>9}{'p50 ms':>9}{'p95 ms':>9}")
    lines = [f"replay: {run.conversations} conversations, {len(run.results)} turns, {run.transport} "
             f"(concurrency {run.concurrency}), {run.seconds:.1f} s", header]
    rows = [*run.per_kind().items(), ("all", run.totals)]
    for kind, m in rows:
        lat = m.latency()
        lines.append(f"{kind:<10}{m.turns:>6}{m.passed:>6}{m.errors:>5}{_cell(m.hit_at_5.value):>8}"
                     f"{_cell(m.fact_recall.value):>8}{_cell(m.caveat_rate.value):>8}"
                     f"{_cell(m.behaviour_rate.value):>11}{_cell(m.marker_rate.value):>9}"
                     f"{_cell(lat['p50_ms'], 0):>9}{_cell(lat['p95_ms'], 0):>9}")
    totals = run.totals
    lines.append(f"hit@5 {totals.hit_at_5.hits}/{totals.hit_at_5.total}, facts {totals.fact_recall.hits}/"
                 f"{totals.fact_recall.total}, caveats {totals.caveat_rate.hits}/{totals.caveat_rate.total}, "
                 f"behaviour {totals.behaviour_rate.hits}/{totals.behaviour_rate.total}, markers "
                 f"{totals.marker_rate.hits}/{totals.marker_rate.total}")
    for metric, minimum, value, met in run.threshold_checks():
        verdict = "met" if met else "MISSED"
        lines.append(f"threshold {THRESHOLD_OPTIONS.get(metric, metric)} {minimum:.3f}: {metric} "
                     f"{_cell(value)} {verdict}")
    if totals.errors:
        lines.append(f"{totals.errors} turn(s) got no answer: the run fails whatever the thresholds")
    return "\n".join(lines)


def render_failures(run: ReplayRun) -> str:
    failing = run.failing
    if not failing:
        return "failing turns: none"
    lines = [f"failing turns ({len(failing)}):"]
    for result in failing:
        lines.append(f"  {result.label} [{result.turn.kind}] {_short(result.turn.user)}")
        lines.extend(f"      - {problem}" for problem in result.problems())
    return "\n".join(lines)


def _short(text: str, limit: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
