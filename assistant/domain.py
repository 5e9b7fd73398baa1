"""Domain types shared by every layer: the answer and its parts, a conversation turn, typed text.

They sit below ``safety`` and ``answer`` (both produce parts of an ``Answer``) and below every channel
(web, Slack, the protocols, the evaluator), so that no layer has to import the one that consumes it.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

DEFAULT_MAX_MESSAGE_CHARS = 2000
# Tab, newline and carriage return are ordinary in typed text; every other control character is
# either a mistake or an attempt to confuse logs, terminals and prompts.
ALLOWED_CONTROLS = frozenset("\t\n\r")

SafetyCategory = Literal["clinical", "crisis", "dosing_request", "misuse_request", "out_of_scope", "injection"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Citation(_Model):
    marker: int = Field(description="The number used as [n] in the answer text.")
    doc_id: str
    title: str
    authors: str
    year: int | None
    journal: str | None
    doi: str | None
    pmid: str | None
    url: str | None = Field(description="doi.org or PubMed link, or the document's own URL.")
    section: str
    snippet: str = Field(description="The passage the answer used.")
    design: str
    evidence_level: int | str | None


class Caveat(_Model):
    id: str
    text: str
    source_doc_id: str | None = None


class Safety(_Model):
    category: SafetyCategory
    escalated: bool = False


class Turn(_Model):
    """One earlier exchange, as the answer service needs it for follow-up questions."""

    user: str
    assistant: str = ""
    escalated: bool = Field(False, description="This turn was answered with crisis resources.")


class Answer(_Model):
    answer: str
    citations: list[Citation] = Field(default_factory=list)
    caveats: list[Caveat] = Field(default_factory=list)
    safety: Safety
    abstained: bool = False
    follow_up_questions: list[str] = Field(default_factory=list)
    crisis_message: str | None = Field(None, description="Shown first, before any evidence, when escalated.")
    standalone_query: str | None = Field(None, description="The question as retrieval saw it after condensing.")
    engine: str = "extractive"


def clean_text(value: str, *, limit: int) -> str:
    """Strip surrounding whitespace and reject what a person would not type.

    Lone surrogates are rejected too: JSON can smuggle them in as ``\\ud800`` escapes and they
    cannot be encoded for storage later.
    """
    text = value.strip()
    if not text:
        raise PydanticCustomError("blank", "must contain some text, not only whitespace")
    return typed_text(text, limit=limit)


def typed_text(text: str, *, limit: int) -> str:
    """``text`` unchanged if it holds only what a person would type and fits ``limit``; shared by every text
    field, trimmed or not, so the refusals read the same everywhere."""
    for char in text:
        category = unicodedata.category(char)
        if (category == "Cc" and char not in ALLOWED_CONTROLS) or category == "Cs":
            raise PydanticCustomError(
                "control_character", f"must not contain control characters (found U+{ord(char):04X})")
    if len(text) > limit:
        raise PydanticCustomError(
            "too_long", "must be at most {limit} characters (got {length})",
            {"limit": limit, "length": len(text)})
    return text


class ComponentReadiness(_Model):
    ready: bool
    reason: str | None = Field(None, description="Why this component is not ready.")
