"""Metadata filters a caller can put on retrieval, applied identically to dense and BM25 search."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assistant.corpus.models import DESIGNS, ROUTES, TOPICS

Level = int | str


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    year_min: int | None = Field(None, ge=1900, le=2100, description="Earliest publication year.")
    year_max: int | None = Field(None, ge=1900, le=2100, description="Latest publication year.")
    designs: list[str] | None = Field(None, max_length=20, description=f"Any of: {', '.join(DESIGNS)}.")
    evidence_levels: list[Level] | None = Field(None, max_length=10, description="Any of 1-5 or 'regulatory'.")
    routes: list[str] | None = Field(None, max_length=10, description=f"Any of: {', '.join(ROUTES)}.")
    topics: list[str] | None = Field(None, max_length=20, description=f"Any of: {', '.join(TOPICS)}.")
    doc_ids: list[str] | None = Field(None, max_length=100, description="Only these documents.")

    @model_validator(mode="after")
    def _check(self) -> Filters:
        if self.year_min and self.year_max and self.year_min > self.year_max:
            raise ValueError("year_min must not be after year_max")
        for name, allowed in (("designs", DESIGNS), ("routes", ROUTES), ("topics", TOPICS)):
            bad = [v for v in getattr(self, name) or [] if v not in allowed]
            if bad:
                raise ValueError(f"{name}: unknown value(s) {bad}; allowed: {', '.join(allowed)}")
        bad_levels = [v for v in self.evidence_levels or [] if str(v) not in {"1", "2", "3", "4", "5", "regulatory"}]
        if bad_levels:
            raise ValueError(f"evidence_levels: unknown value(s) {bad_levels}")
        return self

    @property
    def empty(self) -> bool:
        return not any(getattr(self, name) for name in type(self).model_fields)

    def matches(self, meta: dict[str, Any]) -> bool:
        year = int(meta.get("year") or 0)
        if self.year_min and year < self.year_min:
            return False
        if self.year_max and year > self.year_max:
            return False
        if self.designs and meta.get("design") not in self.designs:
            return False
        if self.evidence_levels and str(meta.get("evidence_level")) not in {str(v) for v in self.evidence_levels}:
            return False
        if self.routes and not any(meta.get(f"route_{r}") for r in self.routes):
            return False
        if self.topics and not any(meta.get(f"topic_{t}") for t in self.topics):
            return False
        return not (self.doc_ids and meta.get("doc_id") not in self.doc_ids)

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
