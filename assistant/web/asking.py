"""One question to the answer service for the stateless protocols, and their streamed responses.

``/v1/chat/completions`` and ``/api/chat`` differ only in how they spell a request and an answer;
asking (metrics, the log line) and sending a stream (headers, failures after the 200 reported in
the stream itself) are the same for both, so they live here once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, stream_with_context

from assistant.domain import Answer
from assistant.errors import AssistantError
from assistant.protocols.conversation import Conversation
from assistant.web import context, sse
from assistant.web.errors import body_for
from assistant.web.metrics import current_metrics

log = logging.getLogger("assistant.web.asking")


def ask(asked: Conversation, protocol: str) -> Answer:
    log.debug("protocol message", extra={"fields": {"message_text": asked.question, "protocol": protocol}})
    answer = context.services().conversation.ask(asked.question, asked.history, store=False).answer
    current_metrics().record_answer(answer)
    log.info("answered", extra={"fields": {
        "protocol": protocol, "category": answer.safety.category, "abstained": answer.abstained,
        "citations": len(answer.citations), "engine": answer.engine, "history_turns": len(asked.history)}})
    return answer


def stream(frames: Callable[[], Iterator[str]], failed: Callable[[int, dict[str, Any]], str],
           headers: dict[str, str] | None = None) -> Response:
    """An SSE response of ``frames()``; an exception while answering becomes ``failed(status, body)``
    (the status line is already sent, so the failure is reported in-band), then the stream ends."""

    def events() -> Iterator[str]:
        try:
            yield from frames()
        except Exception as exc:
            status, body = body_for(exc)
            if not isinstance(exc, AssistantError):
                log.error("unexpected error in a stream", exc_info=exc)
            elif status >= 500:
                log.warning("stream failed: %s", exc.code, extra={"fields": {"status": status}})
            yield failed(status, body)
        yield sse.data("[DONE]")

    response = Response(stream_with_context(events()), mimetype=sse.MIME_TYPE)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"
    response.headers.update(headers or {})
    return response
