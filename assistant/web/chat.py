"""POST /v1/chat: one question in, one answer out, as JSON or as a stream of events.

The view parses, asks the answer service once and stores the turn; nothing here decides what
the answer says. With ``"store": false`` (evaluation traffic) nothing is written: the history of a
follow-up comes with the request, and the ids in the response are null. The turn is written
only once the answer is complete, and a new conversation is created only then, so a failed
request leaves nothing half-written behind. Validation and an unknown conversation are refused
before a stream starts (with their real status); a failure while answering a stream is sent as
an ``error`` event, since the 200 is already on the wire.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from flask import Blueprint, Response, jsonify, request, stream_with_context

from assistant.conversation import Asked
from assistant.domain import Turn
from assistant.errors import AssistantError, NotFound
from assistant.web import context, sse
from assistant.web.body import parse_json
from assistant.web.errors import body_for, no_such
from assistant.web.metrics import current_metrics
from assistant.web.schemas import ChatRequest, ChatResponse

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
    asked = _ask(req, history)
    body = ChatResponse(conversation_id=asked.conversation_id, message_id=asked.message_id, **dict(asked.answer))
    return jsonify(body.model_dump(mode="json"))


def _wants_stream(req: ChatRequest) -> bool:
    if req.stream is not None:
        return req.stream
    return request.accept_mimetypes.best_match(["application/json", sse.MIME_TYPE]) == sse.MIME_TYPE


def _history(req: ChatRequest) -> list[Turn]:
    """Refused before any answering (and before a stream starts) when the conversation is not the web's."""
    conversation_id = req.conversation_id
    if conversation_id is not None and not req.history:
        conversation = context.services().conversations.get_conversation(conversation_id)
        if conversation is None or conversation.channel != WEB_CHANNEL:
            raise NotFound(no_such("conversation", conversation_id), field="conversation_id")
    sent = [Turn(user=t.user, assistant=t.assistant) for t in req.history]
    return context.services().conversation.history(conversation_id, sent)


def _ask(req: ChatRequest, history: list[Turn]) -> Asked:
    asked = context.services().conversation.ask(req.message, history, req.filters, store=req.store,
                                                conversation_id=req.conversation_id, channel=WEB_CHANNEL)
    answer = asked.answer
    current_metrics().record_answer(answer)
    log.info("answered" if req.store else "answered, not stored", extra={"fields": {
        "conversation_id": asked.conversation_id if req.store else req.conversation_id,
        **({"message_id": asked.message_id} if req.store else {"stored": False}),
        "category": answer.safety.category, "abstained": answer.abstained, "citations": len(answer.citations),
        "engine": answer.engine}})
    return asked


def _stream(req: ChatRequest, history: list[Turn]) -> Response:
    def events() -> Iterator[str]:
        try:
            asked = _ask(req, history)
            yield from sse.answer_events(asked.answer, asked.conversation_id, asked.message_id)
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
