"""A client's whole message list as the answer service takes it: one question and its history.

Both chat protocols are stateless: the client sends every earlier message each time. The last
message must be the user's, and is the question; the user and assistant messages before it
become the history, paired turn by turn, most recent last. System (and developer) messages are
read and set aside: the service's own rules are the only rules, so a client's system prompt can
neither replace nor loosen them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic_core import PydanticCustomError

from assistant.domain import Turn, clean_text, typed_text
from assistant.errors import ValidationFailed

# Longest text accepted in a system, developer or assistant message: they are history, not questions,
# and an assistant message is this service's own reply (answer, references, caveats) sent back.
MAX_CONTEXT_CHARS = 20_000

Role = Literal["system", "developer", "user", "assistant"]


@dataclass(frozen=True)
class Said:
    """One message reduced to what the service reads: who said it and its text."""

    role: Role
    text: str


@dataclass(frozen=True)
class Conversation:
    question: str
    history: list[Turn]


def question_text(texts: Sequence[str], limit: int) -> str:
    """A user message's text parts, each typed text by itself (trimmed, not blank, no control characters),
    joined by line breaks and counted together against the limit."""
    joined = "\n".join(clean_text(text, limit=limit) for text in texts)
    if len(joined) > limit:
        raise PydanticCustomError("too_long", "must be at most {limit} characters in all (got {length})",
                                  {"limit": limit, "length": len(joined)})
    return joined


def context_text(text: str) -> str:
    """A system, developer or assistant text: may be empty (it is only context), but holds nothing a person
    would not type, since it reaches the logs and, with the LLM engine, a prompt."""
    return typed_text(text, limit=MAX_CONTEXT_CHARS)


def conversation(messages: Sequence[Said], history_turns: int) -> Conversation:
    """The question and up to ``history_turns`` earlier turns; refuses a list with no question to answer."""
    if not any(m.role == "user" for m in messages):
        raise ValidationFailed("messages: must contain a user message (the question to answer).", field="messages")
    if messages[-1].role != "user":
        raise ValidationFailed(f"messages: the last message must be the user's question, not a {messages[-1].role} "
                             "message.", field="messages")
    turns: list[Turn] = []
    asked: str | None = None
    for message in messages[:-1]:
        if message.role == "user":
            if asked is not None:
                turns.append(Turn(user=asked))
            asked = message.text
        elif message.role == "assistant" and asked is not None:
            turns.append(Turn(user=asked, assistant=message.text))
            asked = None
    if asked is not None:
        turns.append(Turn(user=asked))
    return Conversation(question=messages[-1].text, history=turns[-history_turns:] if history_turns else [])
