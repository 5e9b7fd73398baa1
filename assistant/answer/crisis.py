"""What a crisis reply says: resources in the writer's language first, then, if the message also asked about
the treatment, at most two sentences of suicidal-ideation evidence with their citations and an offer to say
more. Never a dose, and never a full evidence answer that could wander off the point.

The texts are data (prompts/crisis.yaml), validated when the service starts. Each summary sentence must be a
sentence of its cited document in the index in use; one the index no longer holds is left out, so the reply can
only ever quote the corpus.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from assistant.answer.citations import CitationBuilder
from assistant.answer.extractive import Composed
from assistant.domain import Citation
from assistant.errors import ConfigError
from assistant.index.live import StoredChunk
from assistant.prompt_files import CrisisFile
from assistant.prompts import PromptBook
from assistant.retrieval.hybrid import RetrievedChunk
from assistant.safety.screens import SentenceScreens
from assistant.safety.triage_set import Language

log = logging.getLogger(__name__)


class CrisisReply:
    def __init__(self, book: PromptBook) -> None:
        self.texts: CrisisFile = book.typed("crisis.yaml")
        dose = SentenceScreens.from_book(book).dose
        for item in self.texts.summary:
            if dose.search(item.sentence):
                raise ConfigError(f"{book.root / 'crisis.yaml'}: a summary sentence may not carry a dose")

    def resources(self, language: Language) -> str:
        return self.texts.resources[language].strip()

    def shown_in(self, text: str) -> bool:
        """Whether an earlier reply carried crisis resources: stateless clients send the conversation back as
        text, without the escalation flag, and an escalated conversation must stay escalated."""
        return any(resource.strip().splitlines()[0] in text for resource in self.texts.resources.values())

    def summary(self, chunks: Iterable[StoredChunk]) -> Composed:
        """The summary sentences found in ``chunks`` (the live index), cited, then the offer."""
        by_doc: dict[str, list[StoredChunk]] = {}
        for chunk in chunks:
            by_doc.setdefault(chunk.metadata.doc_id, []).append(chunk)
        builder = CitationBuilder.empty()
        said: list[str] = []
        for item in self.texts.summary:
            holder = next((c for c in by_doc.get(item.doc_id, []) if item.sentence in c.text), None)
            if holder is None:
                log.warning("crisis summary sentence not in the index", extra={"fields": {"doc_id": item.doc_id}})
                continue
            marker = builder.mark(RetrievedChunk(holder.id, holder.text, holder.metadata, 1.0), item.sentence)
            said.append(f"{item.sentence} [{marker}]")
        citations: list[Citation] = builder.citations
        text = " ".join(said)
        return Composed(text=f"{text}\n\n{self.texts.offer}" if text else self.texts.offer, citations=citations)
