"""POST /v1/chat: one question in, one answer out, as JSON or as a stream of events.

The view parses, asks the answer service once and stores the turn; nothing here decides what
the answer says. With ``"store": false`` (evaluation traffic) nothing is written: the history of a
follow-up comes with the request, and the ids in the response are null. The turn is written
only once the answer is complete, and a new conversation is created only then, so a failed
request leaves nothing half-written behind; a stream announces the ids in its first event and
writes the turn under them at its end. Validation and an unknown conversation are refused
before a stream starts (with their real status); a failure while answering a stream is sent as
an ``error`` event, since the 200 is already on the wire.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from flask import Blueprint, Response, jsonify, request, stream_with_context

from assistant.answer.models import Answer, Opening, TextPiece, Turn
from assistant.conversations.store import new_id
from assistant.errors import AssistantError, NotFound
from assistant.schemas import ChatRequest, ChatResponse
from assistant.web import context, sse
from assistant.web.body import parse_json
from assistant.web.errors import body_for, no_such
from assistant.web.metrics import current_metrics

log = logging.getLogger("assistant.web.chat")
bp = Blueprint("chat", __name__)
WEB_CHANNEL = "web"


@bp.post("/chat")
def chat() -> Response:
    services = context.services()
    req = parse_json(ChatRequest, context={"max_message_chars": services.settings.web.max_message_chars})
    history = _history(req)
    log.debug("chat message", extra={"fields": {"message_text": req.message, "conversation_id": req.conversation_id}})
    if _wants_stream(req):
        return _stream(req, history)
    answer = _answer(req, history)
    conversation_id, message_id = _store(req, answer)
    body = ChatResponse(conversation_id=conversation_id, message_id=message_id, **dict(answer))
    return jsonify(body.model_dump(mode="json"))


def _wants_stream(req: ChatRequest) -> bool:
    if req.stream is not None:
        return req.stream
    return request.accept_mimetypes.best_match(["application/json", sse.MIME_TYPE]) == sse.MIME_TYPE


def _history(req: ChatRequest) -> list[Turn]:
    limit = context.services().settings.web.history_turns
    if req.history:
        return [Turn(user=t.user, assistant=t.assistant) for t in req.history[-limit:]] if limit else []
    conversation_id = req.conversation_id
    if conversation_id is None:
        return []
    store = context.services().conversations
    conversation = store.get_conversation(conversation_id)
    if conversation is None or conversation.channel != WEB_CHANNEL:
        raise NotFound(no_such("conversation", conversation_id), field="conversation_id")
    return store.history(conversation_id, limit=limit)


def _answer(req: ChatRequest, history: list[Turn]) -> Answer:
    answer = context.services().answers.answer(req.message, history, req.filters)
    current_metrics().record_answer(answer)
    return answer


def _ids(req: ChatRequest) -> tuple[str | None, str | None]:
    """The conversation and message ids a turn will be stored under (none when it will not be stored)."""
    if not req.store:
        return None, None
    return req.conversation_id or new_id("conv"), new_id("msg")


def _store(req: ChatRequest, answer: Answer, ids: tuple[str | None, str | None] = (None, None)
           ) -> tuple[str | None, str | None]:
    if not req.store:
        log.info("answered, not stored", extra={"fields": {
            "conversation_id": req.conversation_id, "category": answer.safety.category, "stored": False,
            "abstained": answer.abstained, "citations": len(answer.citations), "engine": answer.engine}})
        return None, None
    store = context.services().conversations
    conversation_id = req.conversation_id or store.create_conversation(WEB_CHANNEL, conversation_id=ids[0])
    message_id = store.add_turn(conversation_id, req.message, answer, message_id=ids[1])
    log.info("answered", extra={"fields": {
        "conversation_id": conversation_id, "message_id": message_id, "category": answer.safety.category,
        "abstained": answer.abstained, "citations": len(answer.citations), "engine": answer.engine}})
    return conversation_id, message_id


def _stream(req: ChatRequest, history: list[Turn]) -> Response:
    def events() -> Iterator[str]:
        try:
            ids = _ids(req)
            for event in context.services().answers.stream(req.message, history, req.filters):
                if isinstance(event, Opening):
                    yield sse.meta(event, *ids)
                elif isinstance(event, TextPiece):
                    yield from sse.deltas(event.text)
                else:
                    current_metrics().record_answer(event.answer)
                    _store(req, event.answer, ids)
                    yield from sse.closing(event.answer, *ids)
        except Exception as exc:  # the status line is sent: report in-band, never drop the connection
            status, body = body_for(exc)
            if not isinstance(exc, AssistantError):
                log.error("unexpected error in a stream", exc_info=exc)
            elif status >= 500:
                log.warning("stream failed: %s", exc.code, extra={"fields": {"status": status}})
            yield sse.event("error", {**body, "status": status})

    response = Response(stream_with_context(events()), mimetype=sse.MIME_TYPE)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # tell nginx-style proxies not to hold the stream back
    return response
