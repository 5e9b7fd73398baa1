"""Two or three next questions, drawn from prompts/follow_ups.yaml by the topics of the cited studies."""

from __future__ import annotations

from collections.abc import Sequence
from string import Template

from assistant.domain import Citation
from assistant.prompt_files import FollowUpsFile
from assistant.prompts import PromptBook
from assistant.retrieval.hybrid import RetrievedChunk


class FollowUps:
    def __init__(self, book: PromptBook) -> None:
        data: FollowUpsFile = book.typed("follow_ups.yaml")
        self.by_topic: dict[str, list[str]] = data.by_topic
        self.default: list[str] = data.default

    def suggest(self, question: str, citations: Sequence[Citation], chunks: Sequence[RetrievedChunk],
                limit: int = 3) -> list[str]:
        cited = {c.doc_id for c in citations}
        study_for_topic: dict[str, str] = {}
        for chunk in chunks:
            if chunk.doc_id not in cited:
                continue
            for topic in chunk.metadata.topics:
                study_for_topic.setdefault(topic, chunk.metadata.short_name)
        asked = question.lower()
        out: list[str] = []
        for topic, study in study_for_topic.items():
            for template in self.by_topic.get(topic, []):
                text = Template(template).safe_substitute(study=study)
                if text not in out and text.lower().rstrip("?") not in asked:
                    out.append(text)
                    break
            if len(out) >= limit:
                return out
        for text in self.default:
            if len(out) >= limit:
                break
            if text not in out and text.lower().rstrip("?") not in asked:
                out.append(text)
        return out[:limit]
