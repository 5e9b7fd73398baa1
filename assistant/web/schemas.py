"""Request and response models of the HTTP API, with their limits written into the schema.

Requests are validated in strict mode (a string is never coerced into a boolean) so that a
client's mistake is a 422 naming the field, not a silently different question. The same models
generate the component schemas of the OpenAPI document, so the published contract and the
validation cannot drift apart. Limits that come from settings (the longest message) are read
from the validation context; the schema shows the default and the OpenAPI builder patches in
the configured value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from assistant.domain import DEFAULT_MAX_MESSAGE_CHARS, Answer, Caveat, Citation, ComponentReadiness, Safety, clean_text
from assistant.index.metadata import ChunkMeta
from assistant.retrieval.filters import Filters

MAX_COMMENT_CHARS = 2000
MAX_HISTORY_TURNS = 50
MAX_HISTORY_ANSWER_CHARS = 20_000
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HistoryTurn(_Request):
    """One earlier exchange, sent by a client that does not let the service store the conversation."""

    user: str = Field(description="What the user asked.",
                      json_schema_extra={"minLength": 1, "maxLength": DEFAULT_MAX_MESSAGE_CHARS})
    assistant: str = Field(description="The answer text it got.",
                           json_schema_extra={"minLength": 1, "maxLength": MAX_HISTORY_ANSWER_CHARS})

    @field_validator("user")
    @classmethod
    def _user(cls, value: str, info: ValidationInfo) -> str:
        limit = (info.context or {}).get("max_message_chars", DEFAULT_MAX_MESSAGE_CHARS)
        return clean_text(value, limit=limit)

    @field_validator("assistant")
    @classmethod
    def _assistant(cls, value: str) -> str:
        return clean_text(value, limit=MAX_HISTORY_ANSWER_CHARS)


class ChatRequest(_Request):
    message: str = Field(
        description="The user's question. Surrounding whitespace is removed; control characters are refused.",
        json_schema_extra={"minLength": 1, "maxLength": DEFAULT_MAX_MESSAGE_CHARS},
    )
    conversation_id: str | None = Field(
        None, pattern=ID_PATTERN, description="Continue this conversation; omit to start a new one."
    )
    stream: bool | None = Field(
        None, description="true: answer as Server-Sent Events. Unset: decided by the Accept header."
    )
    filters: Filters | None = Field(None, description="Restrict the evidence the answer may draw on.")
    store: bool = Field(
        True, description="false: answer without storing anything (evaluation traffic); the response's "
                          "conversation_id and message_id are then null.")
    history: list[HistoryTurn] = Field(
        default_factory=list, max_length=MAX_HISTORY_TURNS,
        description="Earlier turns, oldest first, for a follow-up when store is false (only then, and not "
                    "with conversation_id); the service uses the most recent ones, as many as it keeps.")

    @field_validator("message")
    @classmethod
    def _message(cls, value: str, info: ValidationInfo) -> str:
        limit = (info.context or {}).get("max_message_chars", DEFAULT_MAX_MESSAGE_CHARS)
        return clean_text(value, limit=limit)

    @model_validator(mode="after")
    def _one_source_of_history(self) -> ChatRequest:
        """Whether the fields are sent, not their values, decides: the OpenAPI document says the same."""
        if "history" not in self.model_fields_set:
            return self
        if "store" not in self.model_fields_set or self.store:
            raise PydanticCustomError("history_needs_no_store",
                                      "history is only accepted with store false (stored conversations "
                                      "continue by conversation_id)")
        if "conversation_id" in self.model_fields_set:
            raise PydanticCustomError("history_with_conversation",
                                      "send either conversation_id or history, not both")
        return self


class FeedbackRequest(_Request):
    message_id: str = Field(pattern=ID_PATTERN, description="The answer being rated (from /v1/chat).")
    rating: Literal["up", "down"]
    comment: str | None = Field(
        None, description="Optional free text.", json_schema_extra={"maxLength": MAX_COMMENT_CHARS}
    )

    @field_validator("comment")
    @classmethod
    def _comment(cls, value: str | None) -> str | None:
        return None if value is None else clean_text(value, limit=MAX_COMMENT_CHARS)


class ChatResponse(Answer):
    """Every field of the answer plus where it was stored."""

    conversation_id: str | None = Field(
        description="Send it back to continue the conversation; null when the request had store false.")
    message_id: str | None = Field(description="Identifies this answer, e.g. for feedback; null when not stored.")


class TurnRecord(_Response):
    message_id: str
    seq: int = Field(description="1 for the first turn of the conversation.")
    message: str = Field(description="What the user asked.")
    answer: Answer
    created_at: datetime


class ConversationRecord(_Response):
    conversation_id: str
    created_at: datetime
    turns: list[TurnRecord]


class FeedbackResponse(_Response):
    feedback_id: str
    message_id: str
    rating: Literal["up", "down"]


class SourceRecord(_Response):
    """The bibliographic record of one indexed document and where to read it."""

    doc_id: str
    title: str
    authors: str
    short_name: str = Field(description="First author and year, as citations name the study.")
    year: int | None
    journal: str | None
    doi: str | None
    pmid: str | None
    url: str | None = Field(description="doi.org or PubMed link, or the document's own URL.")
    design: str
    evidence_level: str | None = Field(description="1 (strongest) to 5, 'regulatory', or null when unrated.")
    routes: list[str]
    topics: list[str]

    @classmethod
    def from_metadata(cls, meta: ChunkMeta) -> SourceRecord:
        return cls(
            doc_id=meta.doc_id, title=meta.title, authors=meta.authors, short_name=meta.short_name or meta.doc_id,
            year=meta.year, journal=meta.journal, doi=meta.doi, pmid=meta.pmid, url=meta.url, design=meta.design,
            evidence_level=None if meta.evidence_level is None else str(meta.evidence_level),
            routes=list(meta.routes), topics=list(meta.topics),
        )


class SourceList(_Response):
    count: int
    sources: list[SourceRecord]


class FieldProblem(_Response):
    field: str
    message: str


class ErrorDetail(_Response):
    code: str = Field(description="Stable machine-readable code, e.g. validation_error.")
    message: str = Field(description="Safe to show a user.")
    request_id: str = Field(description="Quote it when reporting a problem; it is in the server log.")
    field: str | None = Field(None, description="The request field at fault, dotted for nested fields.")
    details: list[FieldProblem] | None = Field(None, description="Every problem found, when there are several.")


class ErrorResponse(_Response):
    error: ErrorDetail


class Health(_Response):
    status: Literal["ok"]


class Readiness(_Response):
    ready: bool
    collection: str | None = None
    documents: int | None = None
    chunks: int | None = None
    reason: str | None = Field(None, description="Why the service is not ready.")
    error: ErrorDetail | None = Field(None, description="Present when not ready, in the usual error shape.")
    details: dict[str, ComponentReadiness] | None = Field(
        None, description="Optional parts (the Slack bot) that do not decide `ready`: each with its own state.")


# Server-Sent Events of a streamed answer, in the order they are sent.
class MetaEvent(_Response):
    """First event: where the answer is stored, its safety category and any crisis message."""

    conversation_id: str | None = Field(description="null when the request had store false.")
    message_id: str | None = Field(description="null when the request had store false.")
    safety: Safety
    abstained: bool
    crisis_message: str | None = Field(description="Show this first and prominently when present.")
    engine: str


class DeltaEvent(_Response):
    text: str = Field(description="The next piece of the answer; concatenate the pieces in order.")


class CitationsEvent(_Response):
    citations: list[Citation]


class CaveatsEvent(_Response):
    caveats: list[Caveat]


class DoneEvent(_Response):
    conversation_id: str | None = Field(description="null when the request had store false.")
    message_id: str | None = Field(description="null when the request had store false.")
    follow_up_questions: list[str]
    standalone_query: str | None

