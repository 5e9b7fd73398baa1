"""A closed-loop load generator for ``POST /v1/chat``: N clients, each asking its next question as
soon as the previous answer is complete, for a fixed time.

Closed-loop clients measure what a user sees (latency under a given concurrency) rather than
flooding the server at a fixed rate, which on a two-core machine would only measure the queue.
Each client holds a short conversation (a few turns, then a new one), so the conversation store
and the follow-up path are exercised as in real use. Every completed turn's message id is kept,
so a fault test can check that each one is in the store afterwards.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import httpx

from assistant.evaluation import load_protocols
from assistant.evaluation.load_protocols import Protocol
from assistant.evaluation.stats import percentile

STREAM_ACCEPT = "text/event-stream"

@dataclass(frozen=True)
class LoadPlan:
    clients: int
    duration_s: float
    stream: bool = False
    turns_per_conversation: int = 3
    timeout_s: float = 60.0
    api_keys: Sequence[str] = ()  # one per client when set, so per-key limits see separate users
    max_requests: int | None = None  # per client; the run ends early when every client has sent this many
    protocol: Protocol = "v1"  # v1: POST /v1/chat; openai: /v1/chat/completions; ai-sdk: /api/chat (always streams)

@dataclass(frozen=True)
class Sample:
    """One request as a client saw it."""

    client: int
    started: float  # seconds since the run began
    seconds: float  # until the whole answer (or the error) arrived
    status: int | None  # None: no HTTP response at all (connection refused or reset)
    error: str | None = None
    message_id: str | None = None
    conversation_id: str | None = None
    first_event_s: float | None = None  # streaming only: until the first SSE event
    first_delta_s: float | None = None  # streaming only: until the first piece of answer text
    reply: str | None = None  # the answer text, for protocols where the client sends the history back

    @property
    def ok(self) -> bool:
        return self.error is None

@dataclass
class LoadResult:
    plan: LoadPlan
    wall_s: float
    samples: list[Sample] = field(default_factory=list)
    began: float = 0.0  # time.monotonic() at the start; sample times are relative to it

    @property
    def completed(self) -> list[Sample]:
        return [s for s in self.samples if s.ok]

    @property
    def errors(self) -> list[Sample]:
        return [s for s in self.samples if not s.ok]

    @property
    def requests_per_s(self) -> float:
        return len(self.completed) / self.wall_s if self.wall_s else 0.0

    def latency_ms(self, q: float) -> float:
        return percentile([s.seconds for s in self.completed], q) * 1000

    def first_event_ms(self, q: float) -> float:
        return percentile([s.first_event_s for s in self.completed if s.first_event_s is not None], q) * 1000

    def first_delta_ms(self, q: float) -> float:
        return percentile([s.first_delta_s for s in self.completed if s.first_delta_s is not None], q) * 1000

    def statuses(self) -> Counter[str]:
        return Counter("no response" if s.status is None else str(s.status) for s in self.samples)

    def error_kinds(self) -> Counter[str]:
        return Counter((s.error or "").split(":")[0] for s in self.errors)


def run_load(base_url: str, questions: Sequence[str], plan: LoadPlan,
             stop: threading.Event | None = None) -> LoadResult:
    """Run ``plan`` against ``base_url``; ``stop`` ends the run early (a fault test sets it)."""
    if not questions:
        raise ValueError("the load needs at least one question")
    stop = stop or threading.Event()
    samples: list[Sample] = []
    lock = threading.Lock()
    began = time.monotonic()
    deadline = began + plan.duration_s

    def client(number: int) -> None:
        key = plan.api_keys[number % len(plan.api_keys)] if plan.api_keys else None
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        # Clients start at different questions so that they do not all ask the same thing at once.
        asked = itertools.islice(itertools.cycle(questions), number * 7 % len(questions), None)
        sent = 0

        def more() -> bool:
            return (not stop.is_set() and time.monotonic() < deadline
                    and (plan.max_requests is None or sent < plan.max_requests))

        with httpx.Client(base_url=base_url, timeout=plan.timeout_s, headers=headers) as http:
            while more():
                conversation_id: str | None = None
                history: list[tuple[str, str]] = []
                for _ in range(plan.turns_per_conversation):
                    if not more():
                        break
                    sent += 1
                    question = next(asked)
                    if plan.protocol == "v1":
                        sample = _ask(http, number, question, conversation_id, plan.stream, began)
                    else:
                        sample = _ask_stateless(http, number, question, history, plan, began)
                    with lock:
                        samples.append(sample)
                    conversation_id = sample.conversation_id if sample.ok else None
                    if sample.ok and sample.reply is not None:
                        history.append((question, sample.reply))
                    if not sample.ok:
                        time.sleep(0.05)  # a refused connection returns at once; do not spin
                        break

    threads = [threading.Thread(target=client, args=(n,), name=f"load-client-{n}", daemon=True)
               for n in range(plan.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LoadResult(plan, time.monotonic() - began, sorted(samples, key=lambda s: s.started), began)

def _ask(http: httpx.Client, number: int, message: str, conversation_id: str | None, stream: bool,
         began: float) -> Sample:
    body: dict[str, object] = {"message": message}
    if conversation_id:
        body["conversation_id"] = conversation_id
    started = time.monotonic()
    at = started - began

    def sample(status: int | None, error: str | None = None, **found: object) -> Sample:
        return Sample(number, at, time.monotonic() - started, status, error, **found)  # type: ignore[arg-type]

    try:
        if not stream:
            response = http.post("/v1/chat", json=body)
            if response.status_code != 200:
                return sample(response.status_code, f"http {response.status_code}: {response.text[:200]}")
            data = response.json()
            return sample(200, message_id=data["message_id"], conversation_id=data["conversation_id"])
        with http.stream("POST", "/v1/chat", json={**body, "stream": True},
                         headers={"Accept": STREAM_ACCEPT}) as response:
            if response.status_code != 200:
                response.read()
                return sample(response.status_code, f"http {response.status_code}: {response.text[:200]}")
            first: float | None = None
            delta: float | None = None
            for name, data in sse_events(response.iter_lines()):
                first = first if first is not None else time.monotonic() - started
                if name == "delta" and delta is None:
                    delta = time.monotonic() - started
                if name == "error":
                    return sample(200, f"error event: {data}", first_event_s=first, first_delta_s=delta)
                if name == "done":
                    return sample(200, message_id=data["message_id"], conversation_id=data["conversation_id"],
                                  first_event_s=first, first_delta_s=delta)
            return sample(200, "stream ended before its done event", first_event_s=first, first_delta_s=delta)
    except httpx.HTTPError as exc:
        return sample(None, f"{exc.__class__.__name__}: {exc}")
    except (ValueError, KeyError) as exc:  # a 200 whose body is not the documented answer
        return sample(200, f"bad body: {exc.__class__.__name__}: {exc}")

def _ask_stateless(http: httpx.Client, number: int, message: str, history: Sequence[tuple[str, str]],
                   plan: LoadPlan, began: float) -> Sample:
    started = time.monotonic()
    try:
        reply = load_protocols.ask(http, plan.protocol, message, history, plan.stream)
    except httpx.HTTPError as exc:
        return Sample(number, started - began, time.monotonic() - started, None, f"{exc.__class__.__name__}: {exc}")
    except (ValueError, KeyError) as exc:
        return Sample(number, started - began, time.monotonic() - started, 200,
                      f"bad body: {exc.__class__.__name__}: {exc}")
    return Sample(number, started - began, time.monotonic() - started, reply.status, reply.error,
                  first_event_s=reply.first_event_s, first_delta_s=reply.first_delta_s,
                  reply=reply.text if reply.error is None else None)


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, object]]]:
    """(event, data) pairs from SSE lines, as a browser's EventSource would parse them."""
    name, data = "message", []
    for line in lines:
        if not line:
            if data:
                yield name, json.loads("\n".join(data))
            name, data = "message", []
            continue
        fieldname, _, value = line.partition(":")
        if fieldname == "event":
            name = value.strip()
        elif fieldname == "data":
            data.append(value.removeprefix(" "))
    if data:
        yield name, json.loads("\n".join(data))

def render(result: LoadResult, label: str) -> str:
    """One table row per run: what the closing note quotes."""
    plan = result.plan
    return (f"{label:<22} {plan.clients:>3} {'stream' if plan.stream else 'json':<6} {result.wall_s:>6.1f} "
            f"{len(result.samples):>7} {result.requests_per_s:>7.1f} {result.latency_ms(50):>8.1f} "
            f"{result.latency_ms(95):>8.1f} {result.latency_ms(99):>8.1f} {len(result.errors):>6}")

HEADER = (f"{'run':<22} {'cli':>3} {'mode':<6} {'wall s':>6} {'requests':>7} {'req/s':>7} {'p50 ms':>8} "
          f"{'p95 ms':>8} {'p99 ms':>8} {'errors':>6}")
