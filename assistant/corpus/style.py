"""The writing rules of corpus/README.md that a machine can check, reported as warnings.

The answer engine quotes single sentences, so a document's shape matters beyond its schema: a
body far outside the intended length is either thin or a copy of a paper, an abbreviation such
as "e.g." is spelt out so quoted sentences read plainly, and sections out of order make documents hard to review
side by side. These are warnings because a dropped-in paper of the user's own need not follow
them; ``assistant corpus check --strict`` turns them into failures for the shipped corpus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.corpus.models import Document

MIN_WORDS, MAX_WORDS = 250, 600
SECTION_ORDER = ("Summary", "Design", "Results", "Adverse effects", "Limitations", "Relevance to the review")
SECTION_ALIASES = {"Findings": "Results"}
# Written out in corpus text instead: "for example", "that is", "versus", "and colleagues".
ABBREVIATIONS = re.compile(r"(?<!\w)(e\.g\.|i\.e\.|vs\.|et al\.)", re.IGNORECASE)
AUTHORED_SUFFIXES = (".md", ".markdown")


@dataclass(frozen=True)
class StyleWarning:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def style_warnings(doc: Document) -> list[StyleWarning]:
    """What in one authored (Markdown) document departs from the corpus writing rules."""
    if not doc.source_path.lower().endswith(AUTHORED_SUFFIXES):
        return []
    found: list[StyleWarning] = []
    body = "\n".join(section.text for section in doc.sections)
    words = len(body.split())
    if not MIN_WORDS <= words <= MAX_WORDS:
        found.append(StyleWarning(doc.source_path, f"body has {words} words (the corpus rule is "
                                                   f"{MIN_WORDS}-{MAX_WORDS})"))
    for match in sorted({m.group(1) for m in ABBREVIATIONS.finditer(body)}):
        found.append(StyleWarning(doc.source_path, f"writes {match!r}; spell it out (corpus/README.md)"))
    known = [SECTION_ALIASES.get(s.heading, s.heading) for s in doc.sections]
    ordered = [h for h in known if h in SECTION_ORDER]
    if ordered != sorted(ordered, key=SECTION_ORDER.index):
        found.append(StyleWarning(doc.source_path, f"sections {ordered} are not in the order "
                                                   f"{list(SECTION_ORDER)}"))
    return found
