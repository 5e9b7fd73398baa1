"""The corpus schema: what a Markdown source must declare in its front matter.

A clinical answer is only as trustworthy as the citation under it, so a document with a missing
or malformed bibliographic field is rejected at ingest time with the file and field named,
rather than shown to a user later with a broken link.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from assistant.corpus.levels import IncludedStudies, LevelRuleError, expected_level, explain
from assistant.corpus.models import DESIGNS, ROUTES, TOPICS
from assistant.errors import CorpusError

DOI_RE = re.compile(r"^10\.\d{4,9}/\S+$")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]{1,63}$")
MIN_YEAR, MAX_YEAR = 1900, 2100

Design = Literal[DESIGNS]  # type: ignore[valid-type]
Route = Literal[ROUTES]  # type: ignore[valid-type]
Topic = Literal[TOPICS]  # type: ignore[valid-type]
EvidenceLevel = Literal[1, 2, 3, 4, 5, "regulatory"]


class FrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)

    id: str
    title: str
    authors: str
    year: int
    journal: str | None  # the key is required; null only where the journal is not confirmed
    volume: str | None
    pages: str | None
    doi: str | None
    pmid: str | None
    url: str | None
    design: Design
    design_detail: str | None
    evidence_level: EvidenceLevel
    population: str | None
    n: int | None
    n_detail: str | None
    intervention: str | None
    comparator: str | None
    outcomes: str | None
    route: list[Route]
    topics: list[Topic]
    # Only syntheses declare it; the level rule needs to know whether they pooled uncontrolled studies.
    included_studies: IncludedStudies | None = None

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not ID_RE.match(value):
            raise ValueError("must be lower-case letters, digits, '_' or '-' (2-64 characters)")
        return value

    @field_validator("title", "authors", "journal")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("year")
    @classmethod
    def _year_range(cls, value: int) -> int:
        if not MIN_YEAR <= value <= MAX_YEAR:
            raise ValueError(f"must be between {MIN_YEAR} and {MAX_YEAR}")
        return value

    @field_validator("doi")
    @classmethod
    def _doi_shape(cls, value: str | None) -> str | None:
        if value is not None and not DOI_RE.match(value):
            raise ValueError("must look like 10.NNNN/suffix")
        return value

    @field_validator("pmid", mode="before")
    @classmethod
    def _pmid_shape(cls, value: object) -> object:
        if value is None:
            return None
        text = str(value)
        if not text.isdigit() or len(text) > 9:
            raise ValueError("must be 1-9 digits")
        return text

    @field_validator("n")
    @classmethod
    def _n_positive(cls, value: int | None) -> int | None:
        if value is not None and value <= 0:
            raise ValueError("must be a positive whole number or null")
        return value

    @field_validator("topics")
    @classmethod
    def _some_topic(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("must name at least one topic")
        return value

    @model_validator(mode="after")
    def _some_identifier(self) -> FrontMatter:
        if not (self.doi or self.pmid or self.url):
            raise ValueError("doi, pmid or (for documents without either) url is required")
        return self


def validate_front_matter(path: str, raw: object) -> FrontMatter:
    """Validate and name the first offending field, the way a reviewer would point at it."""
    if not isinstance(raw, dict):
        raise CorpusError(path, "front matter must be a YAML mapping")
    try:
        meta = FrontMatter.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "front matter"
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "missing":
            message = "required field is missing"
        raise CorpusError(path, message, field=field) from None
    _check_level(path, meta)
    return meta


def _check_level(path: str, meta: FrontMatter) -> None:
    """The declared level must be the one the rule in corpus/README.md gives its design and size."""
    try:
        level = expected_level(meta.design, meta.n, meta.included_studies)
    except LevelRuleError as exc:
        raise CorpusError(path, str(exc), field=exc.field) from None
    if meta.evidence_level != level:
        raise CorpusError(
            path,
            f"is {meta.evidence_level!r}, but the level rule (corpus/README.md) gives {level!r} for "
            f"{explain(meta.design, meta.n, meta.included_studies)}",
            field="evidence_level",
        )
