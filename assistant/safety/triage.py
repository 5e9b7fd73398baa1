"""Safety triage of a user message: a policy over the trained classifier in ``triage_model``.

The classifier gives each reading of a message a probability per label (crisis, dosing_request,
misuse_request, lethal_dose, clinical); the policy turns those into one decision with stated costs
(``policy`` in prompts/triage.yaml). A label wins when its probability times its cost is the largest,
so a missed crisis, the costliest error, needs far less evidence than a clinical answer does.

The readings are the message itself, what it says once de-obfuscated (look-alike letters, base64, hex,
rot13, reversed, leetspeak, spelt-out text: decoding is a job for rules), and the message together with
the writer's recent turns, so a plan stated across two messages is read as one. A decoded reading counts
only when it reads like a real message (most of its words were seen in training), and a request found
only in a decoded reading also marks the message as an injection attempt. A reading the cheap model is unsure
of (its two highest cost-weighted scores close, per ``second_reading_band``) is read a second time with a
multilingual-e5 vector added, unless the cheap model's call is a crisis: the second reading may find a crisis
or settle a request, never withdraw a crisis. It costs an e5 embedding (~15-20 ms), so it is kept for the few
messages that need it and the median message pays only for the cheap model. A crisis in any reading
outranks everything. Once a conversation has escalated, every later turn keeps the crisis resources.
Prompt-injection phrasing is matched by rules, which is what a rule is right for.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.domain import SafetyCategory, Turn
from assistant.index.embeddings import E5Embedder, MiniLMEmbedder
from assistant.prompt_files import TriageFile
from assistant.prompts import PromptBook
from assistant.safety.deobfuscate import variants
from assistant.safety.triage_model import Prediction, TriageModel
from assistant.safety.triage_set import LABELS, Label, Language, joined_reading
from assistant.text import split_sentences

DECLINED: tuple[Label, ...] = ("lethal_dose", "dosing_request", "misuse_request")
# The answer's safety category for each classifier label (a lethal-dose question is a dose request it declines).
CATEGORY: dict[Label, SafetyCategory] = {"crisis": "crisis", "dosing_request": "dosing_request",
                                         "misuse_request": "misuse_request", "lethal_dose": "dosing_request",
                                         "clinical": "clinical"}


@dataclass(frozen=True)
class MessageReadings:
    """A message as triage reads it, built once per request (``SafetyTriage.read``)."""

    every: list[str]  # the message as written (folded) first, then every decoding of it
    decoded: list[str]  # the decodings that read like a real message
    joined: list[str]  # the message joined with the earlier user turns, when there are any
    escalated_before: bool  # an earlier turn of the conversation escalated

    @property
    def texts(self) -> list[str]:
        """The texts classified, each with its vector: the plain message first."""
        return [self.every[0], *self.decoded, *self.joined]


@dataclass(frozen=True)
class Triage:
    category: SafetyCategory
    escalated: bool = False
    injection: bool = False
    reasons: tuple[str, ...] = field(default_factory=tuple)
    requests: frozenset[Label] = frozenset()  # declined labels any reading asked for, crisis or not
    label: Label = "clinical"
    language: Language = "en"
    crisis_now: bool = False  # this message (with its recent turns) is a crisis, not only an earlier turn
    second_reading: bool = False  # some reading of the message was read again with its e5 vector

    @property
    def refusal(self) -> Label | None:
        """The refusal text due, if any: the label itself, or for a crisis what else it asked for."""
        if self.label in DECLINED:
            return self.label
        return next((label for label in DECLINED if label in self.requests), None)


class SafetyTriage:
    def __init__(self, book: PromptBook, embedder: MiniLMEmbedder, model: TriageModel,
                 second_embedder: E5Embedder) -> None:
        data: TriageFile = book.typed("triage.yaml")
        self.policy = data.policy
        self.injection = re.compile("|".join(f"(?:{p})" for p in data.injection), re.IGNORECASE)
        self.embedder = embedder
        self.model = model
        self.second_embedder = second_embedder

    def warm_up(self) -> None:
        """Load the second reading's model now: its first query in a process takes seconds, which the first
        unsure message of a server worker would otherwise wait for."""
        self.second_embedder.embed(["warm-up"])

    def decide(self, prediction: Prediction) -> Label:
        return self.decide_text(prediction.probabilities)

    def decide_text(self, probabilities: dict[Label, float]) -> Label:
        costs = self.policy.costs
        return max(LABELS, key=lambda label: probabilities[label] * costs[label])

    def unsure(self, prediction: Prediction) -> bool:
        """Whether the cheap model's decision needs the second reading: its two best cost-weighted scores differ
        by less than the policy's band and the best is not a crisis. A close call for a crisis stays a crisis,
        as a crisis in any reading does: a missed crisis costs more than a needless crisis box."""
        costs = self.policy.costs
        (best, label), (runner_up, _) = sorted(((p * costs[lab], lab) for lab, p in prediction.probabilities.items()),
                                               reverse=True)[:2]
        return label != "crisis" and best - runner_up < self.policy.second_reading_band

    def _predict(self, texts: list[str]) -> tuple[list[Prediction], bool]:
        """The vectors come from the embedder's recent-query cache: the request embedded the message (which
        retrieval shares) and the other readings (``read``) in its one batch. The readings the cheap model
        is unsure of take the second reading's probabilities; the second value says whether any did."""
        vectors = self.embedder.query_vectors(texts)
        predictions = self.model.predict(texts, vectors)
        unsure = [i for i, prediction in enumerate(predictions) if self.unsure(prediction)]
        if unsure:
            again = [texts[i] for i in unsure]
            second = self.model.predict_second(again, vectors[unsure], self.second_embedder.embed(again),
                                               [predictions[i].language for i in unsure])
            for i, probabilities in zip(unsure, second, strict=True):
                predictions[i] = Prediction(probabilities, predictions[i].language)
        return predictions, bool(unsure)

    def read(self, message: str, history: Sequence[Turn] = ()) -> MessageReadings:
        """What ``judge`` reads: the message, its decoded readings worth reading, and the message joined with the
        earlier turns. A request reads a message once and embeds these texts together with its question."""
        every = variants(message)
        plain_share = self.model.known_share(every[0])
        decoded = [r for r in every[1:] if (share := self.model.known_share(r)) >= self.policy.decoded_known_share
                   and share > plain_share]
        earlier = [t.user for t in history][-self.policy.context_turns:] if self.policy.context_turns else []
        joined = [joined_reading(earlier, every[0], self.policy.context_turns)] if earlier else []
        return MessageReadings(every, decoded, joined, any(t.escalated for t in history))

    def classify(self, message: str, history: Sequence[Turn] = ()) -> Triage:
        return self.judge(self.read(message, history))

    def judge(self, read: MessageReadings) -> Triage:
        plain, decoded = read.every[0], read.decoded
        predictions, second_reading = self._predict(read.texts)
        labels = [self.decide(p) for p in predictions]
        plain_label, decoded_labels = labels[0], labels[1:1 + len(decoded)]
        joined_label = labels[-1] if read.joined else "clinical"
        parts = split_sentences(plain)
        # One sentence alone counts only for a crisis, and only at its own (higher) bar: a clinical question
        # with one crisis sentence tacked on must escalate, a sentence that merely mentions a dose must not.
        part_p = self.model.predict_text(parts) if len(parts) > 1 else []
        part_labels = ["crisis" for p in part_p if p["crisis"] >= self.policy.sentence_crisis]
        reasons = [f"{plain_label} p={predictions[0].probabilities[plain_label]:.2f}"]
        if second_reading:
            reasons.append("second reading")
        if "crisis" in part_labels and plain_label != "crisis":
            reasons.append("crisis in one sentence")
        injection = any(self.injection.search(r) for r in read.every)
        if injection:
            reasons.append("injection rule")
        hidden = {label for label in decoded_labels if label != "clinical" and label != plain_label}
        if hidden:
            injection = True
            reasons.append(f"decoded reading: {', '.join(sorted(hidden))}")
        escalated_before = read.escalated_before
        # The earlier turns count for a plan spread over messages that did not escalate one by one; once a turn
        # has escalated, the resources stay anyway and the next question is read on its own.
        spread = joined_label == "crisis" and not escalated_before
        crisis_now = spread or "crisis" in (plain_label, *decoded_labels, *part_labels)
        if spread and plain_label != "crisis":
            reasons.append("crisis with the earlier turns")
        requests = frozenset(label for label in (plain_label, *decoded_labels) if label in DECLINED)
        if crisis_now:
            # In a crisis, what any one sentence asks for is declined too: the reply then carries the refusal, not
            # the evidence summary, and a refusal more costs a person in crisis nothing.
            requests |= {label for p in part_p if (label := self.decide_text(p)) in DECLINED}
        if escalated_before:
            reasons.append("conversation escalated earlier")
        label: Label = "crisis" if crisis_now else next((lab for lab in DECLINED if lab in requests), plain_label)
        category: SafetyCategory = CATEGORY[label]
        if category == "clinical" and injection:
            category = "injection"
        # Whoever asks how much would kill gets the crisis resources with the refusal: showing them to a curious
        # reader costs little, and missing the one who means it costs the most.
        escalated = crisis_now or escalated_before or label == "lethal_dose"
        return Triage(category, escalated=escalated, injection=injection, reasons=tuple(reasons),
                      requests=requests, label=label, language=predictions[0].language, crisis_now=crisis_now,
                      second_reading=second_reading)
