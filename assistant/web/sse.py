"""Server-Sent Events for a streamed answer: the event order is the widget's rendering order.

``meta`` comes first so a crisis message is on screen before any evidence; then the answer
text in ``delta`` pieces (whole sentences, so a reader never sees half a number), then
``citations``, ``caveats`` and ``done``. Concatenating the deltas gives exactly the answer text
that the JSON endpoint returns.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from assistant.domain import Answer
from assistant.protocols.text import pieces
from assistant.web.schemas import CaveatsEvent, CitationsEvent, DeltaEvent, DoneEvent, MetaEvent

MIME_TYPE = "text/event-stream"


def event(name: str, data: dict[str, Any]) -> str:
    """One SSE frame; JSON never contains a raw newline, so one ``data:`` line suffices."""
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


def data(payload: dict[str, Any] | str) -> str:
    """One unnamed SSE frame, as OpenAI and the AI SDK send them (``data: [DONE]`` is a bare string)."""
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return f"data: {text}\n\n"


def answer_events(answer: Answer, conversation_id: str | None, message_id: str | None) -> Iterator[str]:
    meta = MetaEvent(conversation_id=conversation_id, message_id=message_id, safety=answer.safety,
                     abstained=answer.abstained, crisis_message=answer.crisis_message, engine=answer.engine)
    yield event("meta", meta.model_dump(mode="json"))
    for piece in pieces(answer.answer):
        yield event("delta", DeltaEvent(text=piece).model_dump(mode="json"))
    yield event("citations", CitationsEvent(citations=answer.citations).model_dump(mode="json"))
    yield event("caveats", CaveatsEvent(caveats=answer.caveats).model_dump(mode="json"))
    done = DoneEvent(conversation_id=conversation_id, message_id=message_id,
                     follow_up_questions=answer.follow_up_questions, standalone_query=answer.standalone_query)
    yield event("done", done.model_dump(mode="json"))
