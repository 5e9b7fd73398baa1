"""answer(message, history) -> Answer: the one service every front end calls.

The order is fixed and deliberate: triage first (a crisis is answered with help before anything
else), then scope, then retrieval with its relevance floor, then an engine, and finally caveats
chosen by rules. Each step can only add safety, never remove what an earlier step decided.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answer.condense import condense, is_follow_up
from assistant.answer.extractive import Composed, ExtractiveEngine
from assistant.answer.follow_ups import FollowUps
from assistant.answer.llm import LLMEngine
from assistant.answer.models import Answer, Caveat, Safety, SafetyCategory, Turn
from assistant.prompts import PromptBook
from assistant.retrieval.filters import Filters
from assistant.retrieval.hybrid import HybridRetriever, RetrievalResult
from assistant.safety.caveats import CaveatRules
from assistant.safety.scope import ScopeGuard, evidence_too_weak
from assistant.safety.triage import SafetyTriage
from assistant.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class AnswerService:
    settings: Settings
    book: PromptBook
    retriever: HybridRetriever
    triage: SafetyTriage
    scope: ScopeGuard
    caveats: CaveatRules
    follow_ups: FollowUps
    extractive: ExtractiveEngine
    llm: LLMEngine | None = None

    @property
    def engine_name(self) -> str:
        return "llm" if self.llm else "extractive"

    def _text(self, key: str) -> str:
        return " ".join(self.book.data("refusals.yaml")[key].split())

    def _caveats(self, category: SafetyCategory, message: str, result: RetrievalResult | None,
                 cited: set[str] | None = None) -> list[Caveat]:
        chunks = [c for c in (result.chunks if result else []) if cited is None or c.doc_id in cited]
        levels = {str(c.metadata.get("evidence_level")) for c in chunks}
        return self.caveats.select(category, message, [c.text for c in chunks], levels)

    def _standalone(self, message: str, history: Sequence[Turn]) -> str:
        if not history or not is_follow_up(message):
            return message
        if self.llm:
            rewritten = self.llm.condense(message, history)
            if rewritten:
                return rewritten
        return condense(message, history)

    def _compose(self, question: str, result: RetrievalResult) -> tuple[Composed | None, str]:
        if self.llm:
            drafted = self.llm.compose(question, result.chunks)
            if drafted:
                return drafted, "llm"
        return self.extractive.compose(question, self.retriever.expand(result)), "extractive"

    def answer(self, message: str, history: Sequence[Turn] = (), filters: Filters | None = None) -> Answer:
        message = message.strip()
        triage = self.triage.classify(message)
        category: SafetyCategory = triage.category
        crisis_text = self.book.text("crisis.md").strip() if triage.escalated else None

        def respond(body: str, *, abstained: bool, cat: SafetyCategory, result: RetrievalResult | None = None,
                    composed: Composed | None = None, engine: str = "extractive",
                    standalone: str | None = None) -> Answer:
            citations = composed.citations if composed else []
            cited = {c.doc_id for c in citations}
            text = f"{crisis_text}\n\n{body}" if crisis_text else body
            caveat_list = [] if cat == "out_of_scope" and not crisis_text else self._caveats(
                cat, message, result, cited)
            follow = self.follow_ups.suggest(message, citations, result.chunks if result else []) \
                if composed else []
            return Answer(
                answer=text, citations=citations, caveats=caveat_list,
                safety=Safety(category=cat, escalated=triage.escalated), abstained=abstained,
                follow_up_questions=follow, crisis_message=crisis_text, standalone_query=standalone,
                engine=engine,
            )

        if category in ("misuse_request", "dosing_request"):
            return respond(self._text(category), abstained=False, cat=category)

        self.scope.know_studies(self.retriever.index.snapshot().study_names)
        scope = self.scope.check(message)
        if scope.verdict == "out":
            return respond(self._text("out_of_scope"), abstained=True,
                           cat="crisis" if triage.escalated else "out_of_scope")

        standalone = self._standalone(message, history)
        result = self.retriever.retrieve(standalone, filters)
        context_scope = self.scope.check(standalone) if standalone != message else scope
        if evidence_too_weak(context_scope, result.weak, result.best_dense, bool(result.chunks)):
            if category == "injection":
                return respond(self._text("injection"), abstained=True, cat="injection", standalone=standalone)
            return respond(self._text("out_of_scope" if context_scope.verdict != "in" else "no_evidence"),
                           abstained=True,
                           cat="crisis" if triage.escalated else "out_of_scope", standalone=standalone)

        composed, engine = self._compose(standalone, result)
        if composed is None:
            return respond(self._text("no_evidence"), abstained=True,
                           cat="crisis" if triage.escalated else "out_of_scope", standalone=standalone)
        body = composed.text
        if category == "injection":
            body = f"{self._text('injection')}\n\n{body}"
        return respond(body, abstained=False, cat=category, result=result, composed=composed, engine=engine,
                       standalone=standalone)


def build_answer_service(settings: Settings, retriever: HybridRetriever, book: PromptBook) -> AnswerService:
    embedder = retriever.embedder
    llm = LLMEngine(settings.answer, book) if settings.answer.engine == "llm" else None
    return AnswerService(
        settings=settings, book=book, retriever=retriever, triage=SafetyTriage(book, embedder),
        scope=ScopeGuard(book), caveats=CaveatRules(book), follow_ups=FollowUps(book),
        extractive=ExtractiveEngine(embedder, settings.answer.max_sentences), llm=llm,
    )
