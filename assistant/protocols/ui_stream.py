"""The AI SDK UI message stream (``x-vercel-ai-ui-message-stream: v1``), as ``useChat`` reads it.

The request is what ``useChat``'s default transport posts: ``{"id", "messages": [UIMessage...],
"trigger", "messageId"}`` plus any fields the page added to ``body`` (ignored). A UIMessage holds
``parts``; only ``text`` parts are read, and a user message with a file is refused rather than
answered as if the file were not there. Parts of earlier assistant messages that are not text
(the sources and data parts this service sent) are skipped.

The response is one JSON chunk per SSE ``data:`` line, in the order a reader needs them: ``start``,
the text (``text-start``, ``text-delta``..., ``text-end``: the same text as the OpenAI content,
references and caveats included, for pages that render only text parts), one ``source-url`` per
citation with a link (``source-document`` without), then ``data-caveats``, ``data-safety``,
``finish`` (its ``messageMetadata`` says whether the service abstained), and ``data: [DONE]``.
Each source part's ``providerMetadata.assistant`` is the citation object of ``/v1/chat``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from assistant.domain import DEFAULT_MAX_MESSAGE_CHARS, Answer, Caveat, Citation, Safety
from assistant.protocols.conversation import Said, context_text, question_text
from assistant.protocols.text import text_pieces

HEADER = "x-vercel-ai-ui-message-stream"
VERSION = "v1"
PROVIDER = "assistant"  # the providerMetadata key under which a source part carries its citation
DONE = "[DONE]"


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Chunk(BaseModel):
    """Field names are the AI SDK's own (camelCase), so a chunk dumps to exactly what the SDK parses."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class UIPart(_Request):
    type: str = Field(description="`text` parts are read; other parts of assistant messages are skipped.")
    text: str | None = None


class UIMessage(_Request):
    id: str | None = None
    role: Literal["system", "user", "assistant"]
    parts: list[UIPart] = Field(description="A user message: text parts only, 1 to 2000 characters in all.")
    metadata: Any = None

    @field_validator("parts")
    @classmethod
    def _parts(cls, parts: list[UIPart], info: ValidationInfo) -> list[UIPart]:
        role = info.data.get("role")
        if role == "user":
            for number, part in enumerate(parts):
                if part.type != "text" or part.text is None:
                    got = part.type if part.type.isprintable() and len(part.type) <= 40 else "another kind"
                    raise PydanticCustomError("content_part", "part {number}: only text parts are read (got {got})",
                                              {"number": number, "got": repr(got)})
            if not parts:
                raise PydanticCustomError("blank", "must contain some text, not only whitespace")
            limit = (info.context or {}).get("max_message_chars", DEFAULT_MAX_MESSAGE_CHARS)
            question_text([part.text or "" for part in parts], limit)
        else:
            for part in parts:
                if part.text is not None:
                    context_text(part.text)
        return parts

    def said(self) -> Said:
        return Said(self.role, _text(self.parts).strip())


def _text(parts: list[UIPart]) -> str:
    return "\n".join(part.text.strip() for part in parts if part.type == "text" and part.text is not None)


class UIChatRequest(_Request):
    id: str | None = Field(None, description="The chat's id (useChat sends it); not stored: the API is stateless.")
    messages: list[UIMessage] = Field(min_length=1, description="The whole chat, oldest first; the last is the "
                                                                "user's question.")
    trigger: Literal["submit-message", "regenerate-message"] | None = None
    messageId: str | None = None

    def said(self) -> list[Said]:
        return [message.said() for message in self.messages]


class StartChunk(_Chunk):
    type: Literal["start"]
    messageId: str


class TextStartChunk(_Chunk):
    type: Literal["text-start"]
    id: str


class TextDeltaChunk(_Chunk):
    type: Literal["text-delta"]
    id: str
    delta: str


class TextEndChunk(_Chunk):
    type: Literal["text-end"]
    id: str


class SourceUrlChunk(_Chunk):
    type: Literal["source-url"]
    sourceId: str
    url: str
    title: str
    providerMetadata: dict[Literal["assistant"], Citation]


class SourceDocumentChunk(_Chunk):
    type: Literal["source-document"]
    sourceId: str
    mediaType: Literal["text/markdown"]
    title: str
    providerMetadata: dict[Literal["assistant"], Citation]


class CaveatsChunk(_Chunk):
    type: Literal["data-caveats"]
    data: list[Caveat]


class SafetyChunk(_Chunk):
    type: Literal["data-safety"]
    data: Safety


class FinishMetadata(_Chunk):
    abstained: bool
    engine: str


class FinishChunk(_Chunk):
    type: Literal["finish"]
    finishReason: Literal["stop"]
    messageMetadata: FinishMetadata


class ErrorChunk(_Chunk):
    type: Literal["error"]
    errorText: str


CHUNKS: list[type[_Chunk]] = [StartChunk, TextStartChunk, TextDeltaChunk, TextEndChunk, SourceUrlChunk,
                              SourceDocumentChunk, CaveatsChunk, SafetyChunk, FinishChunk, ErrorChunk]


def message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def start(ident: str) -> dict[str, Any]:
    return StartChunk(type="start", messageId=ident).model_dump(mode="json")


def source(citation: Citation) -> dict[str, Any]:
    meta = {PROVIDER: citation}
    part: _Chunk = (
        SourceUrlChunk(type="source-url", sourceId=citation.doc_id, url=citation.url, title=citation.title,
                       providerMetadata=meta) if citation.url else
        SourceDocumentChunk(type="source-document", sourceId=citation.doc_id, mediaType="text/markdown",
                            title=citation.title, providerMetadata=meta))
    return part.model_dump(mode="json")


def answer_chunks(answer: Answer, ident: str) -> Iterator[dict[str, Any]]:
    """Everything after ``start``, in the documented order."""
    text_id = f"text_{ident.removeprefix('msg_')}"
    yield TextStartChunk(type="text-start", id=text_id).model_dump(mode="json")
    for piece in text_pieces(answer):
        yield TextDeltaChunk(type="text-delta", id=text_id, delta=piece).model_dump(mode="json")
    yield TextEndChunk(type="text-end", id=text_id).model_dump(mode="json")
    for citation in sorted(answer.citations, key=lambda c: c.marker):
        yield source(citation)
    yield CaveatsChunk(type="data-caveats", data=answer.caveats).model_dump(mode="json")
    yield SafetyChunk(type="data-safety", data=answer.safety).model_dump(mode="json")
    metadata = FinishMetadata(abstained=answer.abstained, engine=answer.engine)
    yield FinishChunk(type="finish", finishReason="stop", messageMetadata=metadata).model_dump(mode="json")


def error(text: str) -> dict[str, Any]:
    return ErrorChunk(type="error", errorText=text).model_dump(mode="json")
