"""One turn of a conversation on any channel (assistant/conversation.py): history, then the answer, then the store."""

from __future__ import annotations

from assistant.conversation import ConversationService
from assistant.domain import Turn
from assistant.services import Services


def test_a_stored_conversation_hands_the_answer_service_its_last_turns_and_stores_the_new_one(
        shipped_services: Services) -> None:
    service = ConversationService(shipped_services.answers, shipped_services.conversations, history_turns=2)
    first = service.ask("What did TRANSFORM-2 find?", [], channel="web")
    assert first.conversation_id and first.message_id
    for question in ("What did SUSTAIN-1 find?", "How fast does IV ketamine work?"):
        service.ask(question, service.history(first.conversation_id), conversation_id=first.conversation_id)

    assert [t.user for t in service.history(first.conversation_id)] == [
        "What did SUSTAIN-1 find?", "How fast does IV ketamine work?"]
    conversation = shipped_services.conversations.get_conversation(first.conversation_id)
    assert conversation is not None and conversation.channel == "web" and len(conversation.turns) == 3


def test_history_sent_by_a_stateless_client_is_cut_to_the_same_length() -> None:
    service = ConversationService(answers=None, store=None, history_turns=2)  # type: ignore[arg-type]
    sent = [Turn(user=f"question {i}", assistant="answer") for i in range(5)]

    assert [t.user for t in service.history(sent=sent)] == ["question 3", "question 4"]
    assert ConversationService(None, None, history_turns=0).history(sent=sent) == []  # type: ignore[arg-type]


def test_an_unstored_turn_writes_nothing(shipped_services: Services) -> None:
    store = shipped_services.conversations
    before = store.count_turns()
    asked = shipped_services.conversation.ask("What did TRANSFORM-2 find?", [], store=False)

    assert asked.conversation_id is None and asked.message_id is None and asked.answer.citations
    assert store.count_turns() == before
