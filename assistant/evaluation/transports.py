"""How replay reaches the assistant: in this process, or over POST /v1/chat of a running service.

Both give the same answers. Evaluation traffic is kept apart from production by default: with
``store`` False nothing is written to the conversation store, and the history of a scripted
conversation travels with each turn (``history`` in the request), exactly as the store would have
handed it to the answer service. With ``store`` True, in-process turns go into the store under the
``replay`` channel, and HTTP turns become ordinary web conversations.

Latency is the time of the attempt that was answered: waiting out a 429/503 (``Retry-After``) is
rate limiting, not the assistant's speed, so retries and their back-off are reported on their own.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from assistant.domain import Answer, Turn
from assistant.evaluation.scoring import known_source_ids

if TYPE_CHECKING:  # the HTTP transport must not need the index, the model or their imports
    from assistant.services import Services

REPLAY_CHANNEL = "replay"
MAX_SENT_HISTORY = 50  # the request schema's limit; the server keeps only its own history_turns


@dataclass
class Thread:
    """Where one scripted conversation stands between its turns."""

    conversation_id: str | None = None
    history: list[Turn] = field(default_factory=list)

    def advance(self, message: str, reply: Reply) -> None:
        self.conversation_id = reply.conversation_id
        self.history.append(Turn(user=message, assistant=reply.answer.answer))


@dataclass(frozen=True)
class Reply:
    answer: Answer
    conversation_id: str | None  # None when nothing was stored
    message_id: str | None
    latency_ms: float
    retries: int = 0
    backoff_s: float = 0.0


class ReplayError(Exception):
    """One turn could not be answered (HTTP error, unreachable service, exception in the service)."""


class Transport(Protocol):
    name: str

    def ask(self, message: str, thread: Thread, store: bool) -> Reply: ...


class InProcessTransport:
    """The answer service and conversation store of this process, used the way POST /v1/chat uses them."""

    name = "in-process"

    def __init__(self, services: Services) -> None:
        self.services = services

    def source_ids(self) -> frozenset[str]:
        return known_source_ids(m.model_dump() for m in self.services.index.snapshot().documents.values())

    def index_generation(self) -> str:
        return self.services.index.snapshot().name

    def ask(self, message: str, thread: Thread, store: bool) -> Reply:
        conversation = self.services.conversation
        message = message.strip()
        started = time.perf_counter()
        if store and thread.conversation_id:
            history = conversation.history(thread.conversation_id)
        else:
            history = conversation.history(sent=thread.history)
        asked = conversation.ask(message, history, store=store, conversation_id=thread.conversation_id,
                                 channel=REPLAY_CHANNEL)
        return Reply(asked.answer, asked.conversation_id, asked.message_id, (time.perf_counter() - started) * 1000)


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

    def _get(self, path: str) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(self._request("GET", path), timeout=self.timeout_s) as resp:
                return json.loads(resp.read().decode("utf-8"))  # type: ignore[no-any-return]
        except urllib.error.HTTPError as exc:
            raise ReplayError(f"{self.base_url}{path} answered {exc.code}: {_error_message(exc)}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ReplayError(f"cannot reach {self.base_url} ({reason})") from None

    def check_ready(self) -> dict[str, Any]:
        """GET /readyz's body; ReplayError unless it answers 200."""
        return self._get("/readyz")

    def source_ids(self) -> frozenset[str]:
        return known_source_ids(self._get("/v1/sources").get("sources", []))

    def ask(self, message: str, thread: Thread, store: bool) -> Reply:
        body: dict[str, Any] = {"message": message, "stream": False}
        if store:
            if thread.conversation_id:
                body["conversation_id"] = thread.conversation_id
        else:
            body["store"] = False
            if thread.history:
                # What a client can send: the words of each exchange (the service reads escalation from them).
                body["history"] = [t.model_dump(include={"user", "assistant"})
                                   for t in thread.history[-MAX_SENT_HISTORY:]]
        backoff = 0.0
        for attempt in range(self.retries + 1):
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(self._request("POST", "/v1/chat", body), timeout=self.timeout_s) as resp:
                    payload = json.loads(resp.read().decode("utf-8"))
                latency_ms = (time.perf_counter() - started) * 1000
                break
            except urllib.error.HTTPError as exc:
                if exc.code in (429, 503) and attempt < self.retries:
                    wait = _retry_after(exc)
                    self.sleep(wait)
                    backoff += wait
                    continue
                raise ReplayError(f"HTTP {exc.code}: {_error_message(exc)}") from None
            except (urllib.error.URLError, OSError, ValueError) as exc:
                raise ReplayError(f"{exc.__class__.__name__}: {getattr(exc, 'reason', exc)}") from None
        fields = {name: payload[name] for name in Answer.model_fields if name in payload}
        try:
            answer = Answer.model_validate(fields)
            ids = payload["conversation_id"], payload["message_id"]
        except (KeyError, ValueError) as exc:
            raise ReplayError(f"the response is not an answer ({exc.__class__.__name__})") from None
        return Reply(answer, *(None if i is None else str(i) for i in ids), latency_ms=latency_ms,
                     retries=attempt, backoff_s=backoff)


def _retry_after(exc: urllib.error.HTTPError) -> float:
    """Retry-After in whole seconds, capped at 30; "0" means "within this second", so wait one."""
    try:
        return min(30.0, max(1.0, float(exc.headers.get("Retry-After", "1"))))
    except ValueError:
        return 1.0


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read().decode("utf-8"))
        return str(body["error"]["message"])
    except Exception:  # any body that is not our JSON error shape: fall back to the status text
        return str(exc.reason)
