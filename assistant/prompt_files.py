"""Typed models of every YAML file in prompts/, checked when the book is loaded.

A file that does not fit its model stops the service at start-up with the file and field named, instead of
failing mid-answer; the models live here, below every consumer, so the prompt book can check them without
importing the components that use them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assistant.corpus.schema import Topic
from assistant.domain import SafetyCategory
from assistant.safety.triage_set import LABELS, LANGUAGES, Label, Language


def compiling(patterns: list[str]) -> list[str]:
    """``patterns`` unchanged when each compiles as a Python regular expression; the first that does not is named."""
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"bad pattern {pattern!r}: {exc}") from None
    return patterns


class TriagePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    costs: dict[Label, float] = Field(description="Cost of missing each label relative to a wrong clinical answer.")
    context_turns: int = Field(ge=0, le=10, description="Earlier user turns read together with the message.")
    decoded_known_share: float = Field(ge=0, le=1, description="Share of known words a decoded reading needs.")
    sentence_crisis: float = Field(gt=0, le=1, description="Crisis probability one sentence alone needs.")
    second_reading_band: float = Field(ge=0, description="A reading whose two best cost-weighted scores differ by "
                                       "less than this is read again with its multilingual-e5 vector.")

    @field_validator("costs")
    @classmethod
    def _every_label(cls, costs: dict[Label, float]) -> dict[Label, float]:
        if set(costs) != set(LABELS) or any(v <= 0 for v in costs.values()):
            raise ValueError(f"costs must give a positive cost for each of {list(LABELS)}")
        return costs


class TriageFile(BaseModel):
    """prompts/triage.yaml, validated at start-up."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    policy: TriagePolicy
    injection: list[str] = Field(min_length=1, description="Patterns of prompt-injection phrasing.")

    @field_validator("injection")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        return compiling(patterns)


class SummarySentence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    doc_id: str = Field(min_length=1)
    sentence: str = Field(min_length=20)


class CrisisFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    resources: dict[Language, str]
    summary: list[SummarySentence] = Field(min_length=1, max_length=2)
    offer: str = Field(min_length=1)

    @field_validator("resources")
    @classmethod
    def _every_language(cls, resources: dict[Language, str]) -> dict[Language, str]:
        missing = set(LANGUAGES) - set(resources)
        if missing:
            raise ValueError(f"crisis resources missing for {sorted(missing)}")
        if not all("988" in text for text in resources.values()):
            raise ValueError("every crisis text names 988 for readers in the US")
        return resources


class AnswerKind(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cues: list[str] = Field(min_length=1, description="Patterns of a question that expects this kind of answer.")
    spans: list[str] = Field(description="Typed span kinds a sentence answering it carries.")

    _cues_compile = field_validator("cues")(compiling)


class AnswersFile(BaseModel):
    """prompts/answers.yaml: how the extractive engine reads a question and picks its bottom line."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    frame_words: list[str] = Field(min_length=1)
    domain_words: list[str] = Field(min_length=1)
    answer_kinds: dict[str, AnswerKind] = Field(min_length=1)
    topic_vocabulary: dict[str, list[str]] = Field(min_length=1)
    medical_suffixes: list[str] = Field(min_length=1)
    medicine_topics: list[str] = Field(min_length=1)
    treatment_heads: list[str] = Field(min_length=1)
    source_nouns: list[str] = Field(min_length=1)
    design_cues: list[str]
    filler_cues: list[str]
    asks_filler: list[str]
    contrary_cues: list[str] = Field(min_length=1)
    secondary_cues: list[str]
    comparator_cues: list[str]
    between_arm_cues: list[str]
    certainty_cues: list[str]
    not_covered: str = Field(min_length=1)
    related: str = Field(min_length=1)

    _patterns_compile = field_validator("design_cues", "filler_cues", "asks_filler", "contrary_cues",
                                        "secondary_cues", "comparator_cues", "between_arm_cues",
                                        "certainty_cues")(compiling)

    @model_validator(mode="after")
    def _medicine_topics_known(self) -> AnswersFile:
        unknown = sorted(set(self.medicine_topics) - set(self.topic_vocabulary))
        if unknown:
            raise ValueError(f"medicine_topics name no group of topic_vocabulary: {unknown}")
        return self

    @field_validator("not_covered", "related")
    @classmethod
    def _placeholders(cls, text: str) -> str:
        if "$focus" not in text:
            raise ValueError("must name what is not covered ($focus)")
        return text


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Phrases = list[str]


class CaveatWhen(_File):
    """When a caveat applies (prompts/caveats.yaml explains each key)."""

    always: bool = False
    categories: list[SafetyCategory] = Field(default_factory=list)
    about_treatment: bool = False
    question_terms: Phrases = Field(default_factory=list)
    evidence_terms: Phrases = Field(default_factory=list)
    evidence_levels: list[str] = Field(default_factory=list)


class CaveatItem(_File):
    id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    source_doc_id: str | None = None
    when: CaveatWhen = Field(default_factory=CaveatWhen)


class CaveatsFile(_File):
    """prompts/caveats.yaml: the safety caveats attached by rules."""

    version: int
    caveats: list[CaveatItem] = Field(min_length=1)

    @field_validator("caveats")
    @classmethod
    def _unique(cls, caveats: list[CaveatItem]) -> list[CaveatItem]:
        ids = [c.id for c in caveats]
        if len(ids) != len(set(ids)):
            raise ValueError("caveats need unique ids")
        return caveats


RefusalKey = Literal["dosing_request", "dosing_not_covered", "misuse_request", "lethal_dose", "out_of_scope",
                     "no_evidence", "injection"]


class RefusalsFile(_File):
    """prompts/refusals.yaml: the fixed texts for what the service declines or cannot answer, one per key
    (the file keeps them at its top level, next to ``version``)."""

    version: int
    texts: dict[RefusalKey, Annotated[str, Field(min_length=1)]]

    @model_validator(mode="before")
    @classmethod
    def _every_text(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        texts = {key: value for key, value in data.items() if key != "version"}
        missing = sorted(set(get_args(RefusalKey)) - set(texts))
        if missing:
            raise ValueError(f"missing texts {missing}")
        return {"version": data.get("version"), "texts": texts}

    def text(self, key: str) -> str:
        """The text for ``key`` on one line, as answers show it."""
        return " ".join(self.texts[key].split())  # type: ignore[index]


class ScopeFile(_File):
    """prompts/scope.yaml: what the corpus covers (assistant/safety/scope.py explains each list)."""

    version: int
    subjects_in: Phrases = Field(min_length=1)
    entities_in: Phrases = Field(min_length=1)
    conditions_in: Phrases = Field(min_length=1)
    subjects_out: Phrases = Field(min_length=1)
    conditions_out: Phrases = Field(min_length=1)
    topics_out: Phrases = Field(min_length=1)


class FollowUpsFile(_File):
    """prompts/follow_ups.yaml: suggested next questions by topic, and the defaults."""

    version: int
    by_topic: dict[str, Phrases]
    default: Phrases = Field(min_length=1)


class SynonymsFile(_File):
    """prompts/synonyms.yaml: groups of interchangeable phrasings for query expansion, and the alternatives among
    them (phrasings of different values of one attribute, such as the route)."""

    version: int
    groups: list[Phrases]
    alternatives: list[Phrases] = Field(default_factory=list)

    @field_validator("groups", "alternatives")
    @classmethod
    def _groups(cls, groups: list[Phrases]) -> list[Phrases]:
        if not all(len(g) >= 2 and all(t.strip() for t in g) for g in groups):
            raise ValueError("must be a list of lists of two or more phrases")
        return groups


class SectionRule(_File):
    """How much the passages of some sections count when documents are ranked, unless the question asks for them."""

    sections: Phrases = Field(min_length=1, description="Section headings, matched case-insensitively.")
    weight: float = Field(ge=0, le=1, description="Multiplies a passage's fused score.")
    unless: Phrases = Field(default_factory=list, description="Patterns: a question that matches one asks for "
                                                              "these sections, and they count in full.")

    _unless_compile = field_validator("unless")(compiling)


class RetrievalFile(_File):
    """prompts/retrieval.yaml: what retrieval knows about the corpus beyond the words of its passages."""

    version: int
    sections: list[SectionRule] = Field(default_factory=list)
    topics: dict[Topic, Phrases] = Field(default_factory=dict, description="Cues of each topic in a question.")
    subgroups: Phrases = Field(default_factory=list, description="Synonym groups that narrow a study.")

    @field_validator("topics")
    @classmethod
    def _cues_compile(cls, topics: dict[str, list[str]]) -> dict[str, list[str]]:
        return {topic: compiling(cues) for topic, cues in topics.items()}


class ScreensFile(_File):
    """prompts/screens.yaml: the pattern catalogues of the sentence screens (assistant/safety/screens.py)."""

    version: int
    directive: Phrases = Field(min_length=1, description="Sentences that speak to the assistant.")
    dose: Phrases = Field(min_length=1, description="An amount of a drug.")
    home: Phrases = Field(min_length=1, description="Home, self or unsupervised use.")
    instruction: Phrases = Field(min_length=1, description="The reader is told to take a dose.")
    undermines: Phrases = Field(min_length=1, description="Claims that the caveats do not apply.")

    @field_validator("directive", "dose", "home", "instruction", "undermines")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        return compiling(patterns)


MODELS: dict[str, type[BaseModel]] = {
    "triage.yaml": TriageFile, "crisis.yaml": CrisisFile, "answers.yaml": AnswersFile, "caveats.yaml": CaveatsFile,
    "refusals.yaml": RefusalsFile, "scope.yaml": ScopeFile, "follow_ups.yaml": FollowUpsFile,
    "synonyms.yaml": SynonymsFile, "screens.yaml": ScreensFile, "retrieval.yaml": RetrievalFile,
}
