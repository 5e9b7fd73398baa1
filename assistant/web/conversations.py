"""Conversations a widget can reload or forget, and feedback on single answers.

A conversation id is a random 128-bit capability: whoever holds it may read or delete the
conversation. Only conversations started over the web are visible here; Slack threads live in
the same store but are not the web's to show.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, jsonify

from assistant.conversations.store import Conversation, StoredTurn
from assistant.domain import Answer
from assistant.errors import NotFound
from assistant.web import context
from assistant.web.body import parse_json
from assistant.web.chat import WEB_CHANNEL
from assistant.web.errors import no_such
from assistant.web.schemas import ConversationRecord, FeedbackRequest, FeedbackResponse, TurnRecord

bp = Blueprint("conversations", __name__)


@bp.get("/conversations/<conversation_id>")
def show(conversation_id: str) -> Response:
    conversation = _web_conversation(conversation_id)
    record = ConversationRecord(
        conversation_id=conversation.id, created_at=_time(conversation.created_at),
        turns=[_turn(turn) for turn in conversation.turns])
    return jsonify(record.model_dump(mode="json"))


@bp.delete("/conversations/<conversation_id>")
def delete(conversation_id: str) -> Response:
    _web_conversation(conversation_id)
    context.services().conversations.delete_conversation(conversation_id)
    return Response(status=204)


@bp.post("/feedback")
def feedback() -> tuple[Response, int]:
    req = parse_json(FeedbackRequest)
    store = context.services().conversations
    if not store.message_exists(req.message_id):
        raise NotFound(no_such("answer", req.message_id), field="message_id")
    feedback_id = store.add_feedback(req.message_id, req.rating, req.comment, source=WEB_CHANNEL)
    body = FeedbackResponse(feedback_id=feedback_id, message_id=req.message_id, rating=req.rating)
    return jsonify(body.model_dump(mode="json")), 201


def _web_conversation(conversation_id: str) -> Conversation:
    conversation = context.services().conversations.get_conversation(conversation_id)
    if conversation is None or conversation.channel != WEB_CHANNEL:
        raise NotFound(no_such("conversation", conversation_id))
    return conversation


def _turn(turn: StoredTurn) -> TurnRecord:
    return TurnRecord(message_id=turn.message_id, seq=turn.seq, message=turn.user,
                      answer=Answer.model_validate(turn.answer), created_at=_time(turn.created_at))


def _time(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)
