"""Typed models of the YAML files in prompts/ that code reads field by field, checked when the book is loaded.

A file that does not fit its model stops the service at start-up with the file and field named, instead of
failing mid-answer; the models live here, below every consumer, so the prompt book can check them without
importing the components that use them.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant.safety.triage_set import LABELS, LANGUAGES, Label, Language


class TriagePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    costs: dict[Label, float] = Field(description="Cost of missing each label relative to a wrong clinical answer.")
    context_turns: int = Field(ge=0, le=10, description="Earlier user turns read together with the message.")
    decoded_known_share: float = Field(ge=0, le=1, description="Share of known words a decoded reading needs.")
    sentence_crisis: float = Field(gt=0, le=1, description="Crisis probability one sentence alone needs.")

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
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad pattern {pattern!r}: {exc}") from None
        return patterns


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


def _compile_all(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"bad pattern {pattern!r}: {exc}") from None
    return patterns


class AnswerKind(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cues: list[str] = Field(min_length=1, description="Patterns of a question that expects this kind of answer.")
    spans: list[str] = Field(description="Typed span kinds a sentence answering it carries.")

    _cues_compile = field_validator("cues")(_compile_all)


class AnswersFile(BaseModel):
    """prompts/answers.yaml: how the extractive engine reads a question and picks its bottom line."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    frame_words: list[str] = Field(min_length=1)
    domain_words: list[str] = Field(min_length=1)
    answer_kinds: dict[str, AnswerKind] = Field(min_length=1)
    topic_vocabulary: dict[str, list[str]] = Field(min_length=1)
    medical_suffixes: list[str] = Field(min_length=1)
    design_cues: list[str]
    filler_cues: list[str]
    asks_filler: list[str]
    not_covered: str = Field(min_length=1)
    related: str = Field(min_length=1)

    _patterns_compile = field_validator("design_cues", "filler_cues", "asks_filler")(_compile_all)

    @field_validator("not_covered", "related")
    @classmethod
    def _placeholders(cls, text: str) -> str:
        if "$focus" not in text:
            raise ValueError("must name what is not covered ($focus)")
        return text


MODELS: dict[str, type[BaseModel]] = {"triage.yaml": TriageFile, "crisis.yaml": CrisisFile,
                                      "answers.yaml": AnswersFile}
