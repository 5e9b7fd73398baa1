"""An OpenAI-compatible chat endpoint on loopback that writes scripted drafts at a fixed pace.

The LLM engine talks to a model outside this machine; benchmarks and tests need one that behaves
like it on the wire without being one. This stub answers ``POST /v1/chat/completions`` as OpenAI
does, as one JSON completion or, with ``"stream": true``, as ``chat.completion.chunk`` events in
HTTP/1.1 chunked encoding, one token every ``token_s`` seconds (a non-streamed reply waits as long
as the whole draft would take). It can also misbehave the ways a real endpoint does: answer with
an error status, stall, send a malformed chunk, send an error event, or drop the connection.

Replies are scripted in order (the last one repeats), as text or as a function of the request
body; :func:`copying_reply` is a model that copies the first sentence of each passage it is given,
with its marker, and can slip in an invented figure. Every request is recorded.
"""

from __future__ import annotations

import html
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from assistant.text import split_sentences

Reply = str | Callable[[dict[str, Any]], str]
FaultKind = Literal["stall", "malformed", "error_event", "close"]
# What a tokenizer roughly does: words and runs of punctuation, each with the whitespace before it.
TOKEN = re.compile(r"\s*(?:\w+|[^\w\s]+)|\s+")
PASSAGE = re.compile(r'<passage id="(\d+)"[^>]*>\n(.*?)\n</passage>', re.DOTALL)
INVENTED_FIGURE = "with 97.3% of patients responding"
STALL_LIMIT_S = 30.0


def first_sentence(passage: str) -> str:
    """A passage's first sentence on one line, without its final punctuation: what the copying model quotes."""
    flat = " ".join(passage.split())
    return (split_sentences(flat) or [flat])[0].rstrip(".!?")


def tokens(text: str) -> list[str]:
    """The text in the pieces the stub sends, which join back to it exactly."""
    return TOKEN.findall(text)


def passages_in(body: dict[str, Any]) -> dict[int, str]:
    """The passages of the last user message, by the number the model may cite them with."""
    user = str(body["messages"][-1]["content"])
    return {int(number): html.unescape(text) for number, text in PASSAGE.findall(user)}


def copying_reply(invent: bool = False, sentences: int = 3) -> Callable[[dict[str, Any]], str]:
    """A well-behaved model: the first sentence of each of the first passages, each with its marker.
    With ``invent``, the first sentence comes back a second time with a figure no passage holds
    (same words, same citation: only the number check can catch it)."""

    def reply(body: dict[str, Any]) -> str:
        firsts = []
        for number, text in list(passages_in(body).items())[:sentences]:
            firsts.append((number, first_sentence(text)))
        out = [f"{sentence} [{number}]." for number, sentence in firsts]
        if invent and firsts:
            number, sentence = firsts[0]
            out.insert(1, f"{sentence}, {INVENTED_FIGURE} [{number}].")
        return " ".join(out)

    return reply


@dataclass(frozen=True)
class Fault:
    """How a streamed reply goes wrong after ``after_tokens`` tokens."""

    kind: FaultKind
    after_tokens: int = 0


class OpenAIStub:
    """Scripted OpenAI-compatible replies on a loopback port; use :meth:`running` to serve them."""

    def __init__(self, replies: list[Reply], token_s: float = 0.0) -> None:
        self.replies = list(replies)
        self.token_s = token_s
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.fault: Fault | None = None
        self.sent = 0  # tokens of the current (or last) streamed reply sent so far
        self._pause: tuple[int, threading.Event] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    @contextmanager
    def running(self) -> Iterator[OpenAIStub]:
        thread = threading.Thread(target=self.server.serve_forever, name="openai-stub", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stopping.set()
            if self._pause is not None:
                self._pause[1].set()
            self.server.shutdown()
            self.server.server_close()

    def pause_after(self, count: int) -> threading.Event:
        """Streamed replies stop after ``count`` tokens until the returned event is set: a test can see what
        a client has received while the model is still writing."""
        go_on = threading.Event()
        self._pause = (count, go_on)
        return go_on

    def _next_reply(self, body: dict[str, Any]) -> str:
        with self._lock:
            reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        return reply(body) if callable(reply) else reply

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # chunked streams, as OpenAI sends them

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with stub._lock:
                    stub.requests.append({"path": self.path, "body": body,
                                          "authorization": self.headers.get("Authorization")})
                if stub.status != 200:
                    self._send_json(stub.status, {"error": {"message": "scripted failure", "type": "server_error"}})
                    return
                content = stub._next_reply(body)
                if body.get("stream"):
                    self._stream(body, content)
                    return
                time.sleep(stub.token_s * len(tokens(content)))
                self._send_json(200, {
                    "id": f"chatcmpl-{len(stub.requests)}", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", "stub"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": len(tokens(content)), "total_tokens": 2},
                })

            def _send_json(self, status: int, payload: dict[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _chunk(self, data: str) -> None:
                raw = f"data: {data}\n\n".encode()
                self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
                self.wfile.flush()

            def _event(self, body: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> None:
                self._chunk(json.dumps({
                    "id": f"chatcmpl-{len(stub.requests)}", "object": "chat.completion.chunk",
                    "created": int(time.time()), "model": body.get("model", "stub"),
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}))

            def _stream(self, body: dict[str, Any], content: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    self._event(body, {"role": "assistant", "content": ""})
                    stub.sent = 0
                    for number, token in enumerate(tokens(content)):
                        if stub.fault is not None and number == stub.fault.after_tokens:
                            self._misbehave(stub.fault.kind)
                            return
                        if stub._pause is not None and number == stub._pause[0]:
                            stub._pause[1].wait(STALL_LIMIT_S)
                        time.sleep(stub.token_s)
                        self._event(body, {"content": token})
                        stub.sent = number + 1
                    self._event(body, {}, finish="stop")
                    self._chunk("[DONE]")
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:  # the client went away (a read timeout, or it stopped reading): nothing to send to
                    self.close_connection = True

            def _misbehave(self, kind: FaultKind) -> None:
                self.close_connection = True
                if kind == "stall":
                    stub._stopping.wait(STALL_LIMIT_S)
                elif kind == "malformed":
                    self._chunk('{"id": "chatcmpl-broken", "choices": [{"delta": {"content": "unterminated')
                    self._chunk("[DONE]")
                    self.wfile.write(b"0\r\n\r\n")
                elif kind == "error_event":
                    self._chunk(json.dumps({"error": {"message": "the model is overloaded", "type": "server_error"}}))
                    self.wfile.write(b"0\r\n\r\n")
                # "close" (and the end of a stall): drop the connection without ending the chunked body.
                self.connection.shutdown(socket.SHUT_RDWR)

        return Handler
