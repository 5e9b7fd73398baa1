"""Asking one turn of a conversation, the same way on every channel: history, then the answer, then the store.

The web API, the OpenAI and AI SDK endpoints, Slack, the replay evaluator and the LangChain runnable each
used to fetch the history, call the answer service and write the turn themselves, and the copies drifted
(Slack read a fixed six turns whatever ``web.history_turns`` said). Channels now differ only in where a
conversation comes from (a request's id, a Slack thread, a replay script) and whether it is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answer.service import AnswerService
from assistant.conversations import ConversationStore
from assistant.domain import Answer, Turn
from assistant.retrieval.filters import Filters


@dataclass(frozen=True)
class Asked:
    """The answer, and where its turn was stored (both ids None when it was not)."""

    answer: Answer
    conversation_id: str | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class ConversationService:
    answers: AnswerService
    store: ConversationStore
    history_turns: int  # web.history_turns: how many earlier turns the answer service sees, on every channel

    def history(self, conversation_id: str | None = None, sent: Sequence[Turn] = ()) -> list[Turn]:
        """The earlier turns to answer with: the last ``history_turns`` of those a stateless client sent, or of
        the stored conversation ``conversation_id``."""
        if not self.history_turns:
            return []
        if sent:
            return list(sent)[-self.history_turns:]
        if conversation_id:
            return self.store.history(conversation_id, limit=self.history_turns)
        return []

    def ask(self, message: str, history: Sequence[Turn], filters: Filters | None = None, *,
            store: bool = True, conversation_id: str | None = None, channel: str = "web") -> Asked:
        """Answer ``message`` with ``history``, then store the turn in ``conversation_id``, or in a new
        conversation of ``channel`` created only now, so a failed answer leaves nothing half-written.
        With ``store`` False nothing is written (stateless protocols, evaluation traffic)."""
        answer = self.answers.answer(message, history, filters)
        if not store:
            return Asked(answer)
        conversation_id = conversation_id or self.store.create_conversation(channel)
        return Asked(answer, conversation_id, self.store.add_turn(conversation_id, message, answer))
