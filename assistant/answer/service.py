"""answer(message, history) -> Answer: the one service every front end calls.

The order is fixed and deliberate: triage first (a crisis is answered with help before anything
else, and a request for a personal or home dose is declined before any engine runs), then scope,
then retrieval with its relevance floor, then a screen that keeps planted instructions and
home-dosing sentences away from the engine, then an engine, and finally caveats chosen by rules.
Each step can only add safety, never remove what an earlier step decided.

``stream`` is the service; ``answer`` collects it. With the LLM engine the answer text streams as
the model's sentences pass the gate, so ``Opening`` (safety, engine, crisis message) comes once the
first sentence has passed, or once the extractive engine has taken over; every other answer is
complete before its ``Opening``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from string import Template

from assistant.answer.condense import condense, is_follow_up
from assistant.answer.crisis import CrisisReply
from assistant.answer.extractive import Composed, ExtractiveEngine
from assistant.answer.follow_ups import FollowUps
from assistant.answer.llm import LLMEngine
from assistant.answer.question import Analysis, QuestionAnalyser, missing_names
from assistant.answer.topic_words import TopicWordModel
from assistant.domain import (
    Answer,
    AnswerEvent,
    Caveat,
    Closing,
    Opening,
    Safety,
    SafetyCategory,
    TextPiece,
    Turn,
    events_of,
)
from assistant.index.embeddings import E5Embedder
from assistant.prompt_files import AnswersFile
from assistant.prompts import PromptBook
from assistant.retrieval.filters import Filters
from assistant.retrieval.hybrid import HybridRetriever, RetrievalResult, RetrievedChunk
from assistant.safety.caveats import CaveatRules
from assistant.safety.passages import PassageScreen
from assistant.safety.scope import ScopeGuard, evidence_too_weak
from assistant.safety.screens import SentenceScreens
from assistant.safety.triage import SafetyTriage
from assistant.safety.triage_model import TriageModel
from assistant.settings import Settings
from assistant.text import tokenize

log = logging.getLogger(__name__)
# The engine reads every sentence of this many of the best-ranked documents: the study that answers "how soon"
# may rank fourth or fifth for a question worded in general terms, and an answer can cite it only if it sees it.
EXPANDED_DOCUMENTS = 5


@dataclass
class AnswerService:
    book: PromptBook
    retriever: HybridRetriever
    triage: SafetyTriage
    scope: ScopeGuard
    caveats: CaveatRules
    follow_ups: FollowUps
    extractive: ExtractiveEngine
    crisis: CrisisReply
    screen: PassageScreen
    questions: QuestionAnalyser
    llm: LLMEngine | None = None

    @property
    def engine_name(self) -> str:
        return "llm" if self.llm else "extractive"

    def _text(self, key: str) -> str:
        return self.book.typed("refusals.yaml").text(key)

    def _caveats(self, category: SafetyCategory, message: str, result: RetrievalResult | None,
                 cited: set[str] | None = None, about_treatment: bool = False) -> list[Caveat]:
        chunks = [c for c in (result.chunks if result else []) if cited is None or c.doc_id in cited]
        levels = {c.metadata.level_key for c in chunks}
        return self.caveats.select(category, message, [c.text for c in chunks], levels,
                                   about_treatment=about_treatment)

    def _names_subject(self, message: str) -> bool:
        return self.scope.check(message).verdict != "unknown"

    def _standalone(self, message: str, history: Sequence[Turn]) -> str:
        if not history or not is_follow_up(message, self._names_subject):
            return message
        if self.llm:
            rewritten = self.llm.condense(message, history)
            # The rewrite is model output: it may not turn the question into one triage would decline.
            if rewritten and self.triage.classify(rewritten).category == "clinical":
                return rewritten
        return condense(message, history, self._names_subject, self.retriever.synonyms.replaced)

    def excluded_documents(self, chunks: Sequence[RetrievedChunk] = ()) -> frozenset[str]:
        """Documents that address the assistant: flagged once per index generation, and re-checked on
        the chunks at hand in case the generation changed between retrieval and now."""
        snap = self.retriever.index.snapshot()
        flagged = self.screen.flagged(snap.name, ((c.metadata.doc_id, c.metadata.title, c.text)
                                                  for c in snap.chunks))
        return flagged | {c.doc_id for c in chunks if self.screen.screens.directives(c.text)}

    def _screened(self, result: RetrievalResult) -> RetrievalResult:
        excluded = self.excluded_documents(result.chunks)
        return replace(result, chunks=self.screen.clean(result.chunks, excluded),
                       ranked_docs=[d for d in result.ranked_docs if d not in excluded])

    def _extractive(self, question: str, result: RetrievalResult, analysis: Analysis) -> Composed | None:
        expanded = self.retriever.expand(result, EXPANDED_DOCUMENTS)
        passages = self.screen.clean(expanded, self.excluded_documents(expanded))
        snap = self.retriever.index.snapshot()
        return self.extractive.compose(question, passages, snap.sentences, analysis,
                                       self.questions.document_labels(snap), self.questions.document_names(snap))

    def not_covered(self, analysis: Analysis, result: RetrievalResult | None) -> str:
        """Name what the studies do not cover and, when a retrieved study shares the rest of the question's
        focus, point to it by name (no citation: nothing from it is claimed)."""
        texts: AnswersFile = self.book.typed("answers.yaml")
        focus = " or ".join(missing_names(analysis.absent))
        said = [Template(texts.not_covered).safe_substitute(subject=analysis.subject, focus=focus)]
        present = [c for c in analysis.focus if not c.absent]
        labels = self.questions.document_labels(self.retriever.index.snapshot())
        for chunk in result.chunks if result else []:
            tokens = set(tokenize(chunk.text)) | labels.get(chunk.doc_id, frozenset())
            if present and any(c.tokens & tokens for c in present):
                name = chunk.metadata.short_name or chunk.doc_id
                said.append(Template(texts.related).safe_substitute(related=name, focus=focus))
                break
        return " ".join(said)

    def answer(self, message: str, history: Sequence[Turn] = (), filters: Filters | None = None) -> Answer:
        """The whole answer at once: the stream, collected."""
        for event in self.stream(message, history, filters):
            if isinstance(event, Closing):
                return event.answer
        raise RuntimeError("the answer stream ended without its answer")

    def stream(self, message: str, history: Sequence[Turn] = (), filters: Filters | None = None
               ) -> Iterator[AnswerEvent]:
        """The answer as events: ``Opening``, ``TextPiece``s that join to the answer text, ``Closing``."""
        message = message.strip()
        # The one embedding batch of a request: the message and the parts of a compound question, read once
        # here so that triage, retrieval and the engine all find their vectors remembered.
        first = self.retriever.index.snapshot()
        early = self.questions.analyse(message, first)
        history = [t.model_copy(update={"escalated": True}) if not t.escalated and self.crisis.shown_in(t.assistant)
                   else t for t in history]
        # What retrieval will embed: the message, or the follow-up condensed with its conversation, typos
        # repaired. An LLM rewrite of a follow-up is known only later, and embedded then.
        retrieved = None if self.llm and history else self.retriever.repaired(self._standalone(message, history), first)
        read = self.triage.read(message, history)
        self.extractive.request_vectors(message, early, [*read.texts[1:], *([retrieved] if retrieved else [])])
        triage = self.triage.judge(read)
        category: SafetyCategory = triage.category
        crisis_text = self.crisis.resources(triage.language) if triage.escalated else None

        def respond(body: str, *, abstained: bool, cat: SafetyCategory, result: RetrievalResult | None = None,
                    composed: Composed | None = None, engine: str = "extractive",
                    standalone: str | None = None, declined: bool = False, text: str | None = None) -> Answer:
            citations = composed.citations if composed else []
            cited = {c.doc_id for c in citations}
            body = body or (composed.text if composed else "")
            if text is None:
                text = (f"{crisis_text}\n\n{body}" if crisis_text else body).strip()
            # A declined dose or misuse request is about ketamine whatever words it used, so its caveats are due.
            caveat_list = [] if cat == "out_of_scope" and not crisis_text else self._caveats(
                cat, message, result, cited, about_treatment=declined)
            follow = self.follow_ups.suggest(message, citations, result.chunks if result else []) \
                if composed and not triage.crisis_now else []
            return Answer(
                answer=text, citations=citations, caveats=caveat_list,
                safety=Safety(category=cat, escalated=triage.escalated), abstained=abstained,
                follow_up_questions=follow, crisis_message=crisis_text, standalone_query=standalone,
                engine=engine,
            )

        refusal = triage.refusal
        medicines = [c for c in early.absent if self.questions.names_medicine(c)]
        if refusal == "dosing_request" and not triage.escalated and early.not_covered and medicines:
            # A personal dose of a medicine no study here covers ("what lithium level should I aim for?"): the
            # reply declines it and names the medicine the studies do not cover, rather than speaking of a
            # ketamine dose.
            named = replace(early, focus=tuple(c for c in early.focus if not c.absent or c in medicines))
            reply = f"{self.not_covered(named, None)} {self._text('dosing_not_covered')}"
            yield from events_of(respond(reply, abstained=True, cat=category))
            return
        if refusal:
            # A dose, misuse or lethal-amount request is declined without amounts; in a crisis, after the resources.
            yield from events_of(respond(self._text(refusal), abstained=False, cat=category, declined=True))
            return
        snapshot = self.retriever.index.snapshot()
        self.scope.know_studies(*snapshot.scope_studies)
        scope = self.scope.check(message)
        if triage.crisis_now:
            # After the resources, stay short and on the point: two cited sentences on suicidal ideation when the
            # message asked about the treatment, never a dose and never a full evidence answer.
            if scope.verdict != "in":
                yield from events_of(respond("", abstained=False, cat="crisis"))
            else:
                yield from events_of(respond("", abstained=False, cat="crisis",
                                         composed=self.crisis.summary(snapshot.chunks)))
            return
        if scope.verdict == "out":
            yield from events_of(respond(self._text("out_of_scope"), abstained=True,
                                     cat="crisis" if triage.escalated else "out_of_scope"))
            return

        standalone = self._standalone(message, history)
        if standalone != message and (again := self.triage.classify(standalone)).refusal:
            # "And for someone my weight?" after a question on trial doses asks for a personal dose.
            yield from events_of(respond(self._text(again.refusal or ""), abstained=False, cat=again.category,
                                     declined=True, standalone=standalone))
            return
        result = self._screened(self.retriever.retrieve(standalone, filters))
        snap = self.retriever.index.snapshot()
        repaired = result.repaired or standalone  # what retrieval embedded: the engine reuses its vector
        same = repaired == message and snap.name == first.name  # the message, read against the same generation
        analysis = early if same else self.questions.analyse(repaired, snap)
        context_scope = self.scope.check(standalone) if standalone != message else scope
        if analysis.not_covered and category != "injection" and context_scope.verdict == "in":
            # An in-domain question about a concept no study mentions: say what is missing, instead of
            # quoting whatever came closest.
            yield from events_of(respond(self.not_covered(analysis, result), abstained=True,
                                         cat="crisis" if triage.escalated else "out_of_scope", standalone=standalone))
            return
        if evidence_too_weak(context_scope, result.weak, result.best_dense, bool(result.chunks)):
            if category == "injection":
                yield from events_of(respond(self._text("injection"), abstained=True, cat="injection",
                                         standalone=standalone))
            else:
                reply = self._text("out_of_scope" if context_scope.verdict != "in" else "no_evidence")
                yield from events_of(respond(reply, abstained=True, standalone=standalone,
                                             cat="crisis" if triage.escalated else "out_of_scope"))
            return

        if analysis.not_covered and category != "injection":
            yield from events_of(respond(self.not_covered(analysis, result), abstained=True,
                                         cat="crisis" if triage.escalated else "out_of_scope", standalone=standalone))
            return
        # Whatever goes before the evidence: the crisis resources, then the note on an attempted injection.
        head = "".join(f"{part}\n\n" for part in (
            crisis_text, self._text("injection") if category == "injection" else None) if part)
        if self.llm:
            # The model sees the question triage judged and the conversation; retrieval used the standalone form.
            draft = self.llm.draft(message, result.chunks, history)
            pieces: list[str] = []
            for released in draft:
                if not pieces:
                    yield Opening(safety=Safety(category=category, escalated=triage.escalated), abstained=False,
                                  crisis_message=crisis_text, engine="llm")
                    released = head + released
                pieces.append(released)
                yield TextPiece(text=released)
            if pieces:
                composed = Composed("".join(pieces)[len(head):], draft.citations)
                yield Closing(answer=respond("", abstained=False, cat=category, result=result, composed=composed,
                                             engine="llm", standalone=standalone, text="".join(pieces)))
                return
            log.warning("no sentence of the LLM draft was released (%s); answering with the extractive engine",
                        draft.failure or "none passed the gate")
        composed = self._extractive(repaired, result, analysis)
        if composed is None:
            yield from events_of(respond(self._text("no_evidence"), abstained=True,
                                     cat="crisis" if triage.escalated else "out_of_scope", standalone=standalone))
            return
        body = f"{self._text('injection')}\n\n{composed.text}" if category == "injection" else composed.text
        yield from events_of(respond(body, abstained=False, cat=category, result=result, composed=composed,
                                 engine="extractive", standalone=standalone))


def build_answer_service(settings: Settings, retriever: HybridRetriever, book: PromptBook) -> AnswerService:
    embedder = retriever.embedder
    llm = LLMEngine(settings.answer, book, settings.web.history_turns) if settings.answer.engine == "llm" else None
    answers: AnswersFile = book.typed("answers.yaml")
    return AnswerService(
        book=book, retriever=retriever, triage=SafetyTriage(book, embedder, TriageModel.load(), E5Embedder()),
        scope=ScopeGuard(book), caveats=CaveatRules(book), follow_ups=FollowUps(book),
        extractive=ExtractiveEngine(embedder, answers, settings.answer.max_sentences), crisis=CrisisReply(book),
        questions=QuestionAnalyser(answers, retriever.synonyms, TopicWordModel.load(), embedder.query_vectors),
        screen=PassageScreen(SentenceScreens.from_book(book)),
        llm=llm,
    )
