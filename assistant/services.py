"""Wiring: builds the long-lived components from settings, once per process.

The web app, the Slack bot, the CLI and the evaluator all get their components from here, so
each front end is a thin layer over the same service objects.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.answer.service import AnswerService, build_answer_service
from assistant.conversation import ConversationService
from assistant.conversations import ConversationStore
from assistant.conversations import make_store as make_conversation_store
from assistant.index import LiveIndex, MiniLMEmbedder, VectorStore, make_store
from assistant.index.embeddings import make_embedder
from assistant.prompts import PromptBook
from assistant.retrieval.hybrid import HybridRetriever
from assistant.retrieval.priors import DocumentPriors
from assistant.retrieval.sections import SectionWeights
from assistant.retrieval.synonyms import SynonymTable
from assistant.settings import Settings


@dataclass
class Services:
    settings: Settings
    embedder: MiniLMEmbedder
    store: VectorStore
    index: LiveIndex
    conversations: ConversationStore
    prompts: PromptBook
    retriever: HybridRetriever
    answers: AnswerService
    conversation: ConversationService


def build_services(settings: Settings, embedder: MiniLMEmbedder | None = None) -> Services:
    """``embedder`` lets tests share one loaded model across many app instances."""
    embedder = embedder or make_embedder(
        settings.index.embedding_model, settings.index.onnx_threads, settings.index.embed_batch_size
    )
    store = make_store(settings, embedder)
    index = LiveIndex(store, settings.index.reload_interval_s)
    conversations = make_conversation_store(settings.web.conversations_url, settings.data_dir)
    prompts = PromptBook.load(settings.prompts_dir)
    synonym_file = prompts.typed("synonyms.yaml")
    synonyms = SynonymTable(synonym_file.groups, synonym_file.alternatives)
    known = prompts.typed("retrieval.yaml")
    priors = DocumentPriors(known.topics, known.subgroups, synonyms, settings.retrieval.topic_weight,
                            settings.retrieval.subgroup_weight)
    retriever = HybridRetriever(index, embedder, settings.retrieval, synonyms, SectionWeights(known.sections), priors)
    answers = build_answer_service(settings, retriever, prompts)
    return Services(settings=settings, embedder=embedder, store=store, index=index, conversations=conversations,
                    prompts=prompts, retriever=retriever, answers=answers,
                    conversation=ConversationService(answers, conversations, settings.web.history_turns))
