"""``assistant bench triage``: how well the triage policy sorts the labelled set, split by split.

It runs the whole policy (readings, earlier turns, costs), not the bare classifier, on every message of a
split and prints precision, recall and a confusion table per label, the share of questions about suicidality
research that were escalated as a crisis, the share of clinical questions that were wrongly declined, the
language of crisis messages, and the time triage adds to a request. That time is measured with the message's
vector already computed, since retrieval needs the same vector and the embedder computes it once per request;
the time with the embedding is printed beside it. The multilingual-e5 vector of the second reading is triage's
own, so its time counts in both, and the share of messages read a second time is printed with it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.domain import Turn
from assistant.evaluation.scoring import Rate
from assistant.evaluation.stats import percentile
from assistant.safety.triage import DECLINED, SafetyTriage
from assistant.safety.triage_set import LABELS, Label, LabelledMessage

RESEARCH_FORMS = frozenset({"suicidality_research", "label_suicidality", "clinician_patient_si", "third_party_si",
                            "clinician_about_patient", "trial_eligibility_quote", "past_ideation_recovered"})


@dataclass(frozen=True)
class Outcome:
    message: LabelledMessage
    predicted: Label
    escalated: bool
    language: str
    second_reading: bool = False


@dataclass(frozen=True)
class SplitReport:
    split: str  # the split's name, or an external file's
    outcomes: list[Outcome]

    def confusion(self) -> Counter[tuple[Label, Label]]:
        return Counter((o.message.label, o.predicted) for o in self.outcomes)

    def recall(self, label: Label) -> float:
        gold = [o for o in self.outcomes if o.message.label == label]
        return sum(o.predicted == label for o in gold) / len(gold) if gold else float("nan")

    def precision(self, label: Label) -> float:
        said = [o for o in self.outcomes if o.predicted == label]
        return sum(o.message.label == label for o in said) / len(said) if said else float("nan")

    def _pool(self, gold: set[Label], forms: frozenset[str] | None = None) -> list[Outcome]:
        return [o for o in self.outcomes if o.message.label in gold and (forms is None or o.message.form in forms)]

    def escalation(self, gold: set[Label], forms: frozenset[str] | None = None) -> tuple[int, int]:
        """How many messages of the gold labels were given crisis resources."""
        pool = self._pool(gold, forms)
        return sum(o.escalated for o in pool), len(pool)

    def declined(self, gold: set[Label], crisis_counts: bool = True) -> tuple[int, int]:
        """How many were declined without amounts: a refusal, or (``crisis_counts``) a crisis reply, which never
        gives a dose either."""
        pool = self._pool(gold)
        said = (*DECLINED, "crisis") if crisis_counts else DECLINED
        return sum(o.predicted in said for o in pool), len(pool)



def run_split(triage: SafetyTriage, messages: Sequence[LabelledMessage], split: str) -> SplitReport:
    outcomes = []
    for message in messages:
        result = triage.classify(message.text, [Turn(user=u) for u in message.context])
        outcomes.append(Outcome(message, result.label, result.escalated, result.language, result.second_reading))
    return SplitReport(split, outcomes)


@dataclass(frozen=True)
class Timings:
    """Milliseconds per message, and whether each message was read a second time."""

    added: list[float]  # triage given the request's MiniLM vector
    with_embedding: list[float]  # triage including that embedding
    second_reading: list[bool]


def timings(triage: SafetyTriage, texts: Sequence[str]) -> Timings:
    """Each message is classified twice in a row: first with its embedding, then with the vector in the
    embedder's recent-query cache, as after retrieval's lookup. The second reading's e5 vector is computed both
    times: it is triage's alone."""
    with_embedding, added, second = [], [], []
    triage.embedder.forget_queries()
    for text in texts:
        started = time.perf_counter()
        triage.classify(text)
        with_embedding.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        second.append(triage.classify(text).second_reading)
        added.append((time.perf_counter() - started) * 1000)
    return Timings(added, with_embedding, second)


def _ratio(pair: tuple[int, int]) -> str:
    return Rate(*pair).fraction()


def render_split(report: SplitReport) -> str:
    lines = [f"== {report.split}: {len(report.outcomes)} messages",
             f"{'label':<15} {'n':>4} {'precision':>9} {'recall':>7}"]
    for label in LABELS:
        n = sum(o.message.label == label for o in report.outcomes)
        lines.append(f"{label:<15} {n:>4} {report.precision(label):>9.3f} {report.recall(label):>7.3f}")
    confusion = report.confusion()
    lines.append("confusion (rows gold, columns predicted): " + " ".join(f"{label[:8]:>8}" for label in LABELS))
    for gold in LABELS:
        lines.append(f"  {gold:<15}" + " ".join(f"{confusion[(gold, p)]:>8}" for p in LABELS))
    lines += [
        "crisis recall (crisis resources shown): " + _ratio(report.escalation({"crisis"})),
        "dose and misuse recall (declined, or answered as a crisis): " + _ratio(report.declined(set(DECLINED))),
        "false crisis escalation, clinical questions: " + _ratio(report.escalation({"clinical"})),
        "false crisis escalation, suicidality research: " + _ratio(report.escalation({"clinical"}, RESEARCH_FORMS)),
        "clinical questions wrongly declined (a refusal): "
        + _ratio(report.declined({"clinical"}, crisis_counts=False)),
    ]
    lines.append("read a second time (multilingual-e5): "
                 + _ratio((sum(o.second_reading for o in report.outcomes), len(report.outcomes))))
    crisis = [o for o in report.outcomes if o.message.label == "crisis"]
    if crisis:
        right = sum(o.language == o.message.lang for o in crisis)
        lines.append(f"crisis resources in the writer's language: {right}/{len(crisis)}")
    return "\n".join(lines)


def render_misses(report: SplitReport, limit: int = 40) -> str:
    wrong = [o for o in report.outcomes if o.predicted != o.message.label][:limit]
    return "\n".join(f"  {o.message.id} gold={o.message.label} got={o.predicted} [{o.message.form}] "
                     f"{o.message.text[:110]!r}" for o in wrong)


def render_timings(result: Timings) -> str:
    added, with_embedding = result.added, result.with_embedding
    lines = [f"triage time per message over {len(added)} messages: p50 {percentile(added, 50):.2f} ms, "
             f"p95 {percentile(added, 95):.2f} ms given the request's vector; with the embedding p50 "
             f"{percentile(with_embedding, 50):.2f} ms, p95 {percentile(with_embedding, 95):.2f} ms",
             "read a second time: " + _ratio((sum(result.second_reading), len(added)))]
    for name, second in (("cheap path only", False), ("second reading", True)):
        times = [t for t, s in zip(added, result.second_reading, strict=True) if s == second]
        if times:
            lines.append(f"  {name}: {len(times)} messages, p50 {percentile(times, 50):.2f} ms, "
                         f"p95 {percentile(times, 95):.2f} ms given the request's vector")
    return "\n".join(lines)
