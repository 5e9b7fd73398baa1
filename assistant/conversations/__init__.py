"""Conversations, turns and feedback: the store interface and its SQL implementation."""

from assistant.conversations.store import (
    Conversation,
    ConversationStore,
    FeedbackRecord,
    SqlConversationStore,
    StoredTurn,
    make_store,
)

__all__ = ["Conversation", "ConversationStore", "FeedbackRecord", "SqlConversationStore", "StoredTurn", "make_store"]
