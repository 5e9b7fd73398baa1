"""Metadata filters a caller can put on retrieval, applied identically to dense and BM25 search."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from assistant.corpus.models import DESIGNS, ROUTES, TOPICS
from assistant.corpus.schema import Design, Route, Topic
from assistant.index.metadata import ChunkMeta


def _not_a_boolean(value: Any) -> Any:
    """JSON's true is not the level 1, though Python's True == 1."""
    if isinstance(value, bool):
        raise ValueError("must be 1-5 or 'regulatory', not a boolean")
    return value


# A level as a number or as its digit: both spellings have always been accepted.
FilterLevel = Annotated[Literal[1, 2, 3, 4, 5, "1", "2", "3", "4", "5", "regulatory"], BeforeValidator(_not_a_boolean)]


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    year_min: int | None = Field(None, ge=1900, le=2100, description="Earliest publication year.")
    year_max: int | None = Field(None, ge=1900, le=2100, description="Latest publication year.")
    designs: list[Design] | None = Field(None, max_length=20, description=f"Any of: {', '.join(DESIGNS)}.")
    evidence_levels: list[FilterLevel] | None = Field(None, max_length=10, description="Any of 1-5 or 'regulatory'.")
    routes: list[Route] | None = Field(None, max_length=10, description=f"Any of: {', '.join(ROUTES)}.")
    topics: list[Topic] | None = Field(None, max_length=20, description=f"Any of: {', '.join(TOPICS)}.")
    doc_ids: list[str] | None = Field(None, max_length=100, description="Only these documents.")

    @model_validator(mode="after")
    def _check(self) -> Filters:
        if self.year_min and self.year_max and self.year_min > self.year_max:
            raise ValueError("year_min must not be after year_max")
        return self

    @property
    def empty(self) -> bool:
        return not any(getattr(self, name) for name in type(self).model_fields)

    def matches(self, meta: ChunkMeta) -> bool:
        year = meta.year or 0
        if self.year_min and year < self.year_min:
            return False
        if self.year_max and year > self.year_max:
            return False
        if self.designs and meta.design not in self.designs:
            return False
        if self.evidence_levels and meta.level_key not in {str(v) for v in self.evidence_levels}:
            return False
        if self.routes and not set(self.routes) & set(meta.routes):
            return False
        if self.topics and not set(self.topics) & set(meta.topics):
            return False
        return not (self.doc_ids and meta.doc_id not in self.doc_ids)

    def to_chroma_where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.year_min:
            clauses.append({"year": {"$gte": self.year_min}})
        if self.year_max:
            clauses.append({"year": {"$lte": self.year_max}})
        if self.designs:
            clauses.append({"design": {"$in": list(self.designs)}})
        if self.evidence_levels:
            clauses.append({"evidence_level": {"$in": [str(v) for v in self.evidence_levels]}})
        if self.routes:
            clauses.append({"$or": [{f"route_{r}": True} for r in self.routes]} if len(self.routes) > 1
                           else {f"route_{self.routes[0]}": True})
        if self.topics:
            clauses.append({"$or": [{f"topic_{t}": True} for t in self.topics]} if len(self.topics) > 1
                           else {f"topic_{self.topics[0]}": True})
        if self.doc_ids:
            clauses.append({"doc_id": {"$in": list(self.doc_ids)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}
