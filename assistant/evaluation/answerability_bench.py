"""``assistant bench answerability``: does the service abstain on questions its corpus does not cover, and only
on those? Scored per split of eval/answerability, end to end through the answer service, with the topic-word
model's own precision and recall on the words it reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.answer.service import AnswerService
from assistant.answer.topic_words import LabelledQuestion
from assistant.answer.topic_words_train import examples
from assistant.evaluation.scoring import Rate


@dataclass
class SplitReport:
    name: str
    gaps_abstained: Rate = field(default_factory=lambda: Rate(0, 0))
    covered_abstained: Rate = field(default_factory=lambda: Rate(0, 0))
    gaps_declined: int = 0  # a gap question the triage declined instead (a refusal is not an abstention)
    topics_found: Rate = field(default_factory=lambda: Rate(0, 0))  # topic words the model called topics
    false_topics: Rate = field(default_factory=lambda: Rate(0, 0))  # other words it called topics
    misses: list[str] = field(default_factory=list)


def run_split(service: AnswerService, questions: Sequence[LabelledQuestion], name: str) -> SplitReport:
    report = SplitReport(name)
    gaps = covered = gaps_hit = covered_hit = 0
    for question in questions:
        answer = service.answer(question.text)
        if question.covered:
            covered += 1
            covered_hit += answer.abstained
            if answer.abstained:
                report.misses.append(f"  {question.id} covered, abstained: {question.text[:100]!r}")
        else:
            gaps += 1
            gaps_hit += answer.abstained
            if not answer.abstained:
                declined = answer.safety.category in ("dosing_request", "misuse_request", "lethal_dose")
                report.gaps_declined += declined
                report.misses.append(f"  {question.id} not covered, {'declined' if declined else 'answered'}: "
                                     f"{question.text[:100]!r}")
    report.gaps_abstained, report.covered_abstained = Rate(gaps_hit, gaps), Rate(covered_hit, covered)
    analyser, snap = service.questions, service.retriever.index.snapshot()
    model = analyser.topic_words
    words = examples(questions, analyser, snap)
    if model is not None and words:
        vectors = service.retriever.embedder.query_vectors([w.word for w in words])
        called = [model.is_topic(w.features, v) for w, v in zip(words, vectors, strict=True)]
        report.topics_found = Rate(sum(c for c, w in zip(called, words, strict=True) if w.topic),
                                   sum(w.topic for w in words))
        report.false_topics = Rate(sum(c for c, w in zip(called, words, strict=True) if not w.topic),
                                   sum(not w.topic for w in words))
    return report


def render(report: SplitReport, misses: bool = False) -> str:
    lines = [f"== {report.name}",
             f"questions not covered that abstained: {report.gaps_abstained.fraction()} "
             f"(declined by triage instead: {report.gaps_declined})",
             f"covered questions that abstained wrongly: {report.covered_abstained.fraction()}",
             f"topic-word model: topic words called topics {report.topics_found.fraction()}, "
             f"other words called topics {report.false_topics.fraction()}"]
    return "\n".join(lines + (report.misses if misses else []))
