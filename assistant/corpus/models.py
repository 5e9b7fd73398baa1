"""What a source document is once loaded, whatever file format it came from."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

DESIGNS = (
    "randomized controlled trial",
    "randomized crossover trial",
    "open-label",
    "meta-analysis",
    "systematic review",
    "pooled analysis",
    "cohort",
    "case series",
    "preclinical",
    "review",
    "consensus statement",
    "commentary",
    "regulatory",
)
# Files without front matter (plain text, PDF) carry no design until someone declares one.
UNSPECIFIED_DESIGN = "unspecified"
ROUTES = ("IV", "intranasal", "oral", "IM", "SC", "none")
TOPICS = ("mechanism", "efficacy", "suicidality", "dosing", "routes", "esketamine", "safety", "abuse", "regulation")


@dataclass(frozen=True)
class Section:
    heading: str
    text: str


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    sections: tuple[Section, ...]
    source_path: str
    authors: str = ""
    year: int | None = None
    journal: str | None = None
    volume: str | None = None
    pages: str | None = None
    doi: str | None = None
    pmid: str | None = None
    url: str | None = None
    design: str = UNSPECIFIED_DESIGN
    design_detail: str | None = None
    evidence_level: int | str | None = None
    population: str | None = None
    n: int | None = None
    n_detail: str | None = None
    intervention: str | None = None
    comparator: str | None = None
    outcomes: str | None = None
    route: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def link(self) -> str | None:
        """The address a reader can follow: DOI first, because it outlives publisher URLs."""
        if self.doi:
            return f"https://doi.org/{self.doi}"
        if self.pmid:
            return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"
        return self.url

    @property
    def surname(self) -> str:
        """First author's surname: "aan het Rot M" -> "aan het Rot", "Zarate CA Jr" -> "Zarate"."""
        first = self.authors.split(",")[0].strip() if self.authors else ""
        words = [w for w in first.split() if w not in ("Jr", "Jr.", "Sr", "III")]
        while len(words) > 1 and re.fullmatch(r"[A-Z]{1,3}", words[-1]):
            words.pop()
        return " ".join(words) or self.id

    @property
    def short_name(self) -> str:
        return f"{self.surname} {self.year}" if self.year else self.surname

    @property
    def content_hash(self) -> str:
        """Changes whenever anything that ends up in the index changes, and only then."""
        payload = asdict(self)
        payload.pop("source_path")
        raw = json.dumps(payload, sort_keys=True, default=str).encode()
        return hashlib.sha256(raw).hexdigest()[:16]

    @property
    def text(self) -> str:
        return "\n\n".join(f"## {s.heading}\n{s.text}" for s in self.sections)

    def record(self) -> dict[str, Any]:
        """The bibliographic record shown to users (no body text)."""
        return {
            "id": self.id,
            "title": self.title,
            "authors": self.authors,
            "year": self.year,
            "journal": self.journal,
            "volume": self.volume,
            "pages": self.pages,
            "doi": self.doi,
            "pmid": self.pmid,
            "url": self.link,
            "design": self.design,
            "evidence_level": self.evidence_level,
            "population": self.population,
            "n": self.n,
            "intervention": self.intervention,
            "comparator": self.comparator,
            "outcomes": self.outcomes,
            "route": list(self.route),
            "topics": list(self.topics),
        }
