"""How a load client asks over the stateless chat protocols (OpenAI Chat Completions, the AI SDK UI
message stream), so ``assistant bench http`` can put their time to the first text delta beside
``/v1/chat``'s. The client keeps the conversation itself and sends it back each turn, as chat front
ends do; a reply counts as complete only when the protocol's own end marker arrived.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx

Protocol = Literal["v1", "openai", "ai-sdk"]
MODEL = "ketamine-evidence-assistant"
DONE = "[DONE]"


@dataclass(frozen=True)
class Reply:
    status: int
    error: str | None = None
    text: str = ""
    first_event_s: float | None = None
    first_delta_s: float | None = None


def sse_data(lines: Iterator[str]) -> Iterator[str]:
    """The ``data`` of each event of an unnamed-event stream (OpenAI's and the AI SDK's)."""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
            data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        yield "\n".join(data)


def openai_messages(message: str, history: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    earlier = [m for user, reply in history for m in ({"role": "user", "content": user},
                                                      {"role": "assistant", "content": reply})]
    return [*earlier, {"role": "user", "content": message}]


def ui_messages(message: str, history: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    def said(role: str, text: str, n: int) -> dict[str, Any]:
        return {"id": f"{role}-{n}", "role": role, "parts": [{"type": "text", "text": text}]}

    earlier = [m for n, (user, reply) in enumerate(history) for m in (said("user", user, n),
                                                                       said("assistant", reply, n))]
    return [*earlier, said("user", message, len(history))]


def ask(http: httpx.Client, protocol: Protocol, message: str, history: Sequence[tuple[str, str]],
        stream: bool) -> Reply:
    started = time.monotonic()
    if protocol == "openai":
        body: dict[str, Any] = {"model": MODEL, "messages": openai_messages(message, history), "stream": stream}
        if not stream:
            response = http.post("/v1/chat/completions", json=body)
            if response.status_code != 200:
                return Reply(response.status_code, f"http {response.status_code}: {response.text[:200]}")
            return Reply(200, text=response.json()["choices"][0]["message"]["content"])
        return _read(http, "/v1/chat/completions", body, started, _openai_delta)
    return _read(http, "/api/chat", {"id": "bench", "messages": ui_messages(message, history),
                                     "trigger": "submit-message"}, started, _ui_delta)


def _openai_delta(chunk: dict[str, Any]) -> tuple[str, bool]:
    """(text, finished) of one chunk; an error object raises."""
    if "error" in chunk:
        raise ValueError(f"error event: {chunk['error'].get('message')}")
    choice = chunk["choices"][0]
    return choice["delta"].get("content") or "", choice.get("finish_reason") is not None


def _ui_delta(chunk: dict[str, Any]) -> tuple[str, bool]:
    if chunk["type"] == "error":
        raise ValueError(f"error chunk: {chunk['errorText']}")
    return (chunk["delta"] if chunk["type"] == "text-delta" else ""), chunk["type"] == "finish"


def _read(http: httpx.Client, path: str, body: dict[str, Any], started: float, parse: Any) -> Reply:
    with http.stream("POST", path, json=body) as response:
        if response.status_code != 200:
            response.read()
            return Reply(response.status_code, f"http {response.status_code}: {response.text[:200]}")
        first_event = first_delta = None
        text, finished = [], False
        for data in sse_data(response.iter_lines()):
            first_event = first_event if first_event is not None else time.monotonic() - started
            if data == DONE:
                break
            try:
                piece, done = parse(json.loads(data))
            except ValueError as exc:
                return Reply(200, str(exc), first_event_s=first_event, first_delta_s=first_delta)
            if piece and first_delta is None:
                first_delta = time.monotonic() - started
            text.append(piece)
            finished = finished or done
        error = None if finished else "stream ended before its finish"
        return Reply(200, error, "".join(text), first_event, first_delta)
