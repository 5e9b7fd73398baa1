"""LangChain interfaces over the real parts: the hybrid retriever as a ``BaseRetriever``, the answer
service as a ``Runnable``.

``EvidenceRetriever`` returns what the answer service itself would read: hybrid retrieval (dense +
BM25, fused), with the same screen the service applies, so a passage carrying planted instructions
or a home-dosing sentence never reaches someone else's chain either. Each ``Document`` carries its
bibliographic metadata (doc_id, title, DOI, design, evidence level, section...) for citing.

``answer_runnable`` is the whole service (triage, scope, retrieval, engine, caveats): it takes a
question, a ``{"question", "history"}`` mapping or a list of chat messages, and returns the same
``Answer`` that /v1/chat returns. A system message in the list is set aside, as on the HTTP protocols.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import ConfigDict

from assistant.answer.service import AnswerService
from assistant.conversation import ConversationService
from assistant.domain import Answer, Turn
from assistant.protocols.conversation import Said, conversation
from assistant.retrieval.filters import Filters
from assistant.retrieval.hybrid import RetrievedChunk

AnswerInput = str | Mapping[str, Any] | Sequence[BaseMessage]


class EvidenceRetriever(BaseRetriever):
    """Passages from the evidence corpus for a query, best first, screened as the answer service screens them."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    service: AnswerService
    filters: Filters | None = None
    k: int | None = None  # passages per query; unset: the retrieval settings' top_k

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        result = self.service.retriever.retrieve(query, self.filters, k=self.k)
        chunks = self.service.screen.clean(result.chunks, self.service.excluded_documents(result.chunks))
        return [document(chunk, weak=result.weak) for chunk in chunks]


def document(chunk: RetrievedChunk, *, weak: bool = False) -> Document:
    """A passage with the fields a citation needs; ``weak`` says the query fell below the relevance floor
    (the answer service would abstain rather than answer from these)."""
    meta = chunk.metadata
    return Document(id=chunk.id, page_content=chunk.text, metadata={
        "doc_id": chunk.doc_id, "title": meta.title, "authors": meta.authors, "year": meta.year, "doi": meta.doi,
        "url": meta.url, "design": meta.design, "evidence_level": meta.evidence_level, "section": meta.section,
        "score": chunk.score, "weak_evidence": weak})


def answer_runnable(service: ConversationService) -> Runnable[AnswerInput, Answer]:
    """The answer service as a Runnable (invoke, batch, stream, and their async forms come with it); stateless,
    like the protocol endpoints: the history comes with each input and nothing is stored."""

    def ask(given: AnswerInput) -> Answer:
        if isinstance(given, str):
            return service.ask(given, [], store=False).answer
        if isinstance(given, Mapping):
            history = service.history(sent=[Turn.model_validate(turn) for turn in given.get("history", [])])
            return service.ask(str(given["question"]), history, store=False).answer
        asked = conversation([_said(message) for message in given], service.history_turns)
        return service.ask(asked.question, asked.history, store=False).answer

    return RunnableLambda(ask, name="ketamine_evidence_answer")


def _said(message: BaseMessage) -> Said:
    roles: dict[type[BaseMessage], Any] = {HumanMessage: "user", AIMessage: "assistant", SystemMessage: "system"}
    role = next((name for kind, name in roles.items() if isinstance(message, kind)), None)
    if role is None:
        raise TypeError(f"only human, AI and system messages can be asked, not {type(message).__name__}")
    return Said(role, str(message.text).strip())
