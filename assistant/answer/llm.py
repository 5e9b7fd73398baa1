"""The LLM answer engine: any OpenAI-compatible endpoint through LangChain's chat-model interface.

The model only drafts. Its draft is checked before it leaves: markers that point at no retrieved
passage are removed, a draft that echoes the system prompt is discarded, and a draft left with no
valid citation is replaced by the extractive answer. Caveats are added afterwards by the safety
layer, so nothing the model writes can drop them.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from typing import Any

from assistant.answer.citations import resolve_markers
from assistant.answer.extractive import Composed
from assistant.answer.models import Turn
from assistant.prompts import PromptBook
from assistant.retrieval.hybrid import RetrievedChunk
from assistant.settings import AnswerSettings

log = logging.getLogger(__name__)


def format_passages(chunks: Sequence[RetrievedChunk]) -> str:
    """Passages as delimited, labelled data; their text is escaped so it cannot close the tag."""
    out = []
    for i, chunk in enumerate(chunks, 1):
        meta = chunk.metadata
        attrs = (f'id="{i}" study="{html.escape(str(meta.get("short_name", "")))}" '
                 f'section="{html.escape(str(meta.get("section", "")))}" '
                 f'design="{html.escape(str(meta.get("design")))}" '
                 f'evidence_level="{html.escape(str(meta.get("evidence_level")))}"')
        out.append(f"<passage {attrs}>\n{html.escape(chunk.text, quote=False)}\n</passage>")
    return "\n".join(out)


class LLMEngine:
    name = "llm"

    def __init__(self, settings: AnswerSettings, book: PromptBook, model: Any = None) -> None:
        self.settings = settings
        self.book = book
        self.cannot_answer = " ".join(book.data("refusals.yaml")["no_evidence"].split())
        self.model = model or self._make_model()

    def _make_model(self) -> Any:
        from langchain_openai import ChatOpenAI

        if not self.settings.llm_base_url:
            from assistant.errors import ConfigError

            raise ConfigError("answer.engine=llm needs answer.llm_base_url (an OpenAI-compatible endpoint)")
        key = self.settings.llm_api_key.get_secret_value() if self.settings.llm_api_key else "not-needed"
        return ChatOpenAI(
            base_url=self.settings.llm_base_url, api_key=key, model=self.settings.llm_model,
            timeout=self.settings.llm_timeout_s, max_retries=1, temperature=self.settings.llm_temperature,
        )

    @property
    def system_prompt(self) -> str:
        return self.book.render("system.md", cannot_answer=self.cannot_answer,
                                extra_rules=self.settings.llm_extra_rules)

    def _ask(self, system: str, user: str) -> str:
        from langchain_core.messages import HumanMessage, SystemMessage

        reply = self.model.invoke([SystemMessage(content=system), HumanMessage(content=user)])
        content = reply.content if isinstance(reply.content, str) else str(reply.content)
        return content.strip()

    def leaks_prompt(self, text: str) -> bool:
        """True when the draft repeats a line of the system prompt (a prompt-extraction attempt)."""
        lowered = text.lower()
        return any(len(line.strip()) >= 30 and line.strip().lower()[:60] in lowered
                   for line in self.system_prompt.splitlines())

    def condense(self, message: str, history: Sequence[Turn]) -> str | None:
        transcript = "\n".join(f"User: {t.user}\nAssistant: {t.assistant[:300]}" for t in history[-3:])
        try:
            text = self._ask("You rewrite follow-up questions.",
                             self.book.render("condense.md", history=transcript, question=message))
        except Exception as exc:  # the endpoint is outside this machine; any failure falls back
            log.warning("condense call failed: %s", exc.__class__.__name__)
            return None
        text = text.strip().splitlines()[0] if text.strip() else ""
        return text if 3 <= len(text) <= 500 and not self.leaks_prompt(text) else None

    def compose(self, question: str, chunks: Sequence[RetrievedChunk]) -> Composed | None:
        user = self.book.render("answer.md", question=question, passages=format_passages(chunks),
                                max_sentences=5)
        try:
            draft = self._ask(self.system_prompt, user)
        except Exception as exc:
            log.warning("LLM call failed, using the extractive engine: %s", exc.__class__.__name__)
            return None
        if not draft or self.leaks_prompt(draft):
            return None
        text, citations = resolve_markers(draft, chunks)
        if not citations:
            return None
        return Composed(text, citations)
