"""``POST /api/chat``: the AI SDK UI message stream, which ``useChat`` reads without any glue code.

Parse the UIMessages into a question and its history, ask once, send the chunks that
``protocols.ui_stream`` builds, with the ``x-vercel-ai-ui-message-stream: v1`` header. A request
that does not fit is refused before the stream starts, with its real status and our JSON error
(``useChat``'s transport shows the body's text as the error); a failure while answering becomes an
``error`` chunk, which ``useChat`` turns into its error state.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response

from assistant.protocols import ui_stream
from assistant.protocols.conversation import conversation
from assistant.web import context, sse
from assistant.web.asking import ask, stream
from assistant.web.body import parse_json

bp = Blueprint("ai_sdk", __name__)
PROTOCOL = "ai-sdk"


@bp.post("/chat")
def chat() -> Response:
    services = context.services()
    req = parse_json(ui_stream.UIChatRequest, context={"max_message_chars": services.settings.web.max_message_chars})
    asked = conversation(req.said(), services.conversation.history_turns)
    ident = ui_stream.message_id()

    def frames() -> Iterator[str]:
        yield sse.data(ui_stream.start(ident))
        for chunk in ui_stream.answer_chunks(ask(asked, PROTOCOL), ident):
            yield sse.data(chunk)

    return stream(frames, lambda status, body: sse.data(ui_stream.error(body["error"]["message"])),
                  headers={ui_stream.HEADER: ui_stream.VERSION})
