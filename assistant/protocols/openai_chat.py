"""OpenAI Chat Completions: the request and response shapes, and an ``Answer`` written in them.

The request is the one Open WebUI, LibreChat, promptfoo and the official clients send. Fields this
service has no use for (``temperature``, ``max_tokens``, ``tools``...) are accepted and ignored, as
the issue of compatibility asks; ``model`` is accepted whatever it names and the response says which
model really answered. ``n`` other than 1 is refused, since one answer is all there is.

The response carries, besides the standard fields, the structured parts under the same names and
shapes as ``/v1/chat``: ``citations``, ``caveats``, ``safety`` and ``abstained``. Stock clients drop
them, which is why the content text holds the references and caveats too (``protocols.text``).
No ``usage`` is reported: the default engine quotes the corpus and counts no tokens, and a made-up
count would be a number the service cannot stand behind.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from assistant.domain import DEFAULT_MAX_MESSAGE_CHARS, Answer, Caveat, Citation, Safety
from assistant.protocols.conversation import Said, context_text, question_text
from assistant.protocols.text import answer_text, text_pieces

MODEL_ID = "ketamine-evidence-assistant"
OWNER = "ketamine-evidence-assistant"


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TextPart(_Request):
    type: Literal["text"] = Field(description="Only text parts are read; images, audio and files are refused.")
    text: str


class ChatMessage(_Request):
    role: Literal["system", "developer", "user", "assistant"] = Field(
        description="`system` and `developer` messages are read and set aside: the service's rules stay in force.")
    content: str | list[TextPart] | None = Field(
        description="The text, or a list of text parts (joined by line breaks). User messages: 1 to 2000 "
                    "characters after trimming; `null` only on an assistant message.")
    name: str | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _shape(cls, value: Any) -> Any:
        """One clear message per wrong shape, instead of one per branch of the union."""
        return content_shape(value)

    @field_validator("content")
    @classmethod
    def _content(cls, value: str | list[TextPart] | None, info: ValidationInfo) -> str | list[TextPart] | None:
        role = info.data.get("role")
        texts = [] if value is None else [value] if isinstance(value, str) else [part.text for part in value]
        if value is None and role != "assistant":
            raise ValueError(f"a {role} message needs its text")
        if role == "user":
            question_text(texts, (info.context or {}).get("max_message_chars", DEFAULT_MAX_MESSAGE_CHARS))
        else:
            for text in texts:  # unstripped: a context text may be blank, but not hide a control character
                context_text(text)
        return value

    def said(self) -> Said:
        return Said(self.role, joined(self.content).strip())


def content_shape(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise PydanticCustomError("content_type", "must be a string or a list of text parts")
    for number, part in enumerate(value):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind != "text":
            got = f"type {kind!r}" if isinstance(kind, str) and kind.isprintable() and len(kind) <= 40 else "no text"
            raise PydanticCustomError("content_part", "part {number}: only text parts are read (got {got})",
                                      {"number": number, "got": got})
    return value


def joined(content: str | list[TextPart] | None) -> str:
    if content is None:
        return ""
    return content.strip() if isinstance(content, str) else "\n".join(part.text.strip() for part in content)


class StreamOptions(_Request):
    include_usage: bool | None = Field(None, description="Accepted; no usage is counted (see the API notes).")


class ChatCompletionRequest(_Request):
    messages: list[ChatMessage] = Field(min_length=1, description="The conversation so far, oldest first; the "
                                                                  "last message is the user's question.")
    model: str | None = Field(None, description=f"Any name; the answer comes from `{MODEL_ID}`.")
    stream: bool | None = Field(None, description="true: `chat.completion.chunk` events, then `data: [DONE]`.")
    stream_options: StreamOptions | None = None
    n: int | None = Field(None, ge=1, le=1, description="Only 1: the service gives one answer.")

    def said(self) -> list[Said]:
        return [message.said() for message in self.messages]


class AssistantMessage(_Response):
    role: Literal["assistant"]
    content: str = Field(description="Crisis resources first, the answer with [n] markers, References, Caveats.")
    refusal: None = None


class Choice(_Response):
    index: int
    message: AssistantMessage
    finish_reason: Literal["stop"]
    logprobs: None = None


class Extensions(_Response):
    """The structured parts of the answer, as ``/v1/chat`` returns them."""

    citations: list[Citation]
    caveats: list[Caveat]
    safety: Safety
    abstained: bool


class ChatCompletion(Extensions):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]


class Delta(_Response):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(_Response):
    index: int
    delta: Delta
    finish_reason: Literal["stop"] | None = None
    logprobs: None = None


class ChatCompletionChunk(_Response):
    """One ``data:`` event of a stream. The last chunk (with ``finish_reason``) also carries the extension
    fields ``citations``, ``caveats``, ``safety`` and ``abstained``."""

    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChunkChoice]
    citations: list[Citation] | None = None
    caveats: list[Caveat] | None = None
    safety: Safety | None = None
    abstained: bool | None = None


class ModelCard(_Response):
    id: str
    object: Literal["model"]
    created: int = Field(description="When this server process started (Unix seconds).")
    owned_by: str


class ModelList(_Response):
    object: Literal["list"]
    data: list[ModelCard]


class OpenAIErrorDetail(_Response):
    message: str = Field(description="Safe to show a user.")
    type: str = Field(description="invalid_request_error, requests (rate limit) or server_error.")
    param: str | None = Field(description="The request field at fault, e.g. messages[0].content.")
    code: str | None = Field(description="This service's stable code, e.g. validation_error or invalid_api_key.")
    request_id: str = Field(description="Quote it when reporting a problem; it is in the server log.")


class OpenAIErrorResponse(_Response):
    error: OpenAIErrorDetail


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def extensions(answer: Answer) -> dict[str, Any]:
    return Extensions(citations=answer.citations, caveats=answer.caveats, safety=answer.safety,
                      abstained=answer.abstained).model_dump(mode="json")


def completion(answer: Answer, ident: str, created: int) -> dict[str, Any]:
    body = ChatCompletion(
        id=ident, object="chat.completion", created=created, model=MODEL_ID,
        choices=[Choice(index=0, message=AssistantMessage(role="assistant", content=answer_text(answer)),
                        finish_reason="stop")],
        citations=answer.citations, caveats=answer.caveats, safety=answer.safety, abstained=answer.abstained)
    return body.model_dump(mode="json")


def _chunk(ident: str, created: int, delta: Delta, finish: Literal["stop"] | None = None,
           answer: Answer | None = None) -> dict[str, Any]:
    chunk = ChatCompletionChunk(id=ident, object="chat.completion.chunk", created=created, model=MODEL_ID,
                                choices=[ChunkChoice(index=0, delta=delta, finish_reason=finish)])
    body = chunk.model_dump(mode="json", exclude_none=True)
    body["choices"][0].setdefault("finish_reason", None)
    body["choices"][0]["logprobs"] = None
    if answer is not None:
        body.update(extensions(answer))
    return body


def first_chunk(ident: str, created: int) -> dict[str, Any]:
    """Sent before the answer is ready: who speaks, and no text yet (as OpenAI's own streams begin)."""
    return _chunk(ident, created, Delta(role="assistant", content=""))


def answer_chunks(answer: Answer, ident: str, created: int) -> Iterator[dict[str, Any]]:
    """The content in pieces, then the closing chunk with ``finish_reason`` and the extension fields."""
    for piece in text_pieces(answer):
        yield _chunk(ident, created, Delta(content=piece))
    yield _chunk(ident, created, Delta(), finish="stop", answer=answer)


def models(started: float) -> dict[str, Any]:
    card = ModelCard(id=MODEL_ID, object="model", created=int(started), owned_by=OWNER)
    return ModelList(object="list", data=[card]).model_dump(mode="json")


def now() -> int:
    return int(time.time())
