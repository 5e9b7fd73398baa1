"""Server-Sent Events for a streamed answer: the event order is the widget's rendering order.

``meta`` comes first so a crisis message is on screen before any evidence; then the answer
text in ``delta`` pieces (whole sentences, so a reader never sees half a number), then
``citations``, ``caveats`` and ``done``. Concatenating the deltas gives exactly the answer text
that the JSON endpoint returns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from assistant.answer.models import Answer
from assistant.schemas import CaveatsEvent, CitationsEvent, DeltaEvent, DoneEvent, MetaEvent

# A piece ends after sentence punctuation plus any citation markers that follow it ("... 24 h. [1]"),
# or at a line break; trailing whitespace stays with the piece so the pieces join back exactly.
_PIECE = re.compile(r".*?(?:[.!?](?:[ \t]*\[\d+\])*(?:\s+|$)|\n+|$)", re.DOTALL)
MIME_TYPE = "text/event-stream"


def event(name: str, data: dict[str, Any]) -> str:
    """One SSE frame; JSON never contains a raw newline, so one ``data:`` line suffices."""
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


def pieces(text: str) -> list[str]:
    """The answer split into sentence-sized pieces that join back to the exact text."""
    parts = [match.group(0) for match in _PIECE.finditer(text) if match.group(0)]
    return parts or [text]


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
