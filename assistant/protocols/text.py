"""An ``Answer`` as one plain text, for clients that show nothing but the message content.

Stock chat front ends (Open WebUI, LibreChat, promptfoo, a bare ``useChat``) drop fields they do
not know, so whatever must reach the reader has to be in the text itself, in the order that
matters: crisis resources first (the service already puts them at the head of the answer), then
the answer with its ``[n]`` markers, the numbered references (study, year, design, DOI link) and
the caveats. The text is plain lines that also read well as Markdown.
"""

from __future__ import annotations

from collections.abc import Iterator

from assistant.domain import Answer, Caveat, Citation
from assistant.text import sentence_pieces

REFERENCES_HEADING = "References:"
CAVEATS_HEADING = "Caveats:"


def pieces(text: str) -> list[str]:
    """A text split into sentence-sized pieces that join back to the exact text (whole sentences with the
    citation markers after them, so a reader of a stream never sees half a number)."""
    return sentence_pieces(text) or [text]


def reference_line(citation: Citation) -> str:
    """``[1] Zarate CA Jr, et al. A randomized trial of ... (2006; randomized crossover trial; evidence
    level 2). https://doi.org/...``: the study, its year and design, and where to read it."""
    details = [str(citation.year) if citation.year else "", citation.design]
    if citation.evidence_level is not None:
        details.append(f"evidence level {citation.evidence_level}")
    described = "; ".join(part for part in details if part)
    study = " ".join(part for part in (citation.authors.strip(), citation.title.strip()) if part)
    line = f"[{citation.marker}] {study}" + (f" ({described})" if described else "")
    return f"{line}. {citation.url}" if citation.url else f"{line}."


def caveat_line(caveat: Caveat) -> str:
    return f"- {caveat.text.strip()}"


def references_section(citations: list[Citation]) -> str:
    if not citations:
        return ""
    return "\n".join([REFERENCES_HEADING, *(reference_line(c) for c in sorted(citations, key=lambda c: c.marker))])


def caveats_section(caveats: list[Caveat]) -> str:
    return "\n".join([CAVEATS_HEADING, *(caveat_line(c) for c in caveats)]) if caveats else ""


def answer_text(answer: Answer) -> str:
    """The whole reply as one text: answer (crisis resources at its head), references, caveats."""
    return "".join(text_pieces(answer))


def text_pieces(answer: Answer) -> Iterator[str]:
    """The same text in stream-sized pieces (sentences, then one piece per section) that join back exactly."""
    yield from pieces(answer.answer.strip())
    for section in (references_section(answer.citations), caveats_section(answer.caveats)):
        if section:
            yield "\n\n" + section
