"""OpenAI-compatible ``POST /v1/chat/completions`` and ``GET /v1/models``, over the one answer service.

Thin as the other views: parse the request into a question and its history, ask once, write the
answer as a ``chat.completion`` (or as ``chat.completion.chunk`` events and ``data: [DONE]``).
Errors on these paths are in OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``
(plus our ``request_id``), with OpenAI's statuses: a request that does not fit is a 400.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify

from assistant.protocols import openai_chat
from assistant.protocols.conversation import Conversation, conversation
from assistant.web import context, errors, sse
from assistant.web.asking import ask, stream
from assistant.web.body import parse_json

bp = Blueprint("openai", __name__)
PROTOCOL = "openai"
PATHS = ("/v1/chat/completions", "/v1/models")


def init_app(app: Flask) -> None:
    app.extensions["assistant.started"] = time.time()
    for path in PATHS:
        errors.speak(app, path, openai_error)


@bp.post("/chat/completions")
def chat_completions() -> Response:
    services = context.services()
    req = parse_json(openai_chat.ChatCompletionRequest,
                     context={"max_message_chars": services.settings.web.max_message_chars})
    asked = conversation(req.said(), services.conversation.history_turns)
    ident, created = openai_chat.completion_id(), openai_chat.now()
    if req.stream:
        return _stream(asked, ident, created)
    return jsonify(openai_chat.completion(ask(asked, PROTOCOL), ident, created))


@bp.get("/models")
def models() -> Response:
    return jsonify(openai_chat.models(current_app.extensions["assistant.started"]))


def _stream(asked: Conversation, ident: str, created: int) -> Response:
    def frames() -> Iterator[str]:
        yield sse.data(openai_chat.first_chunk(ident, created))
        for chunk in openai_chat.answer_chunks(ask(asked, PROTOCOL), ident, created):
            yield sse.data(chunk)

    return stream(frames, lambda status, body: sse.data(openai_error(status, body)[1]))


def openai_error(status: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Our error as OpenAI spells it: a request that does not fit its schema is a 400 there, not a 422."""
    error = body["error"]
    status = 400 if status == 422 else status
    kind = "requests" if status == 429 else "server_error" if status >= 500 else "invalid_request_error"
    code = "invalid_api_key" if status == 401 else error["code"]
    return status, {"error": {"message": error["message"], "type": kind, "param": param(error.get("field")),
                              "code": code, "request_id": error["request_id"]}}


def param(field: str | None) -> str | None:
    """``messages.0.content`` -> ``messages[0].content``, as OpenAI names a parameter."""
    return re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", field) if field else None
