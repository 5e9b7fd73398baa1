"""The LLM answer engine: any OpenAI-compatible endpoint through LangChain's chat-model interface.

The model only drafts, and the service assumes it can be talked into anything. Its draft is
checked before it leaves: markers that point at no retrieved passage are removed, and a draft is
discarded (the extractive answer is used instead) when it repeats prompt text, the deployment's
extra rules or a settings value - in any encoding - or gives a dose for home or self use, or tells
the reader that the caveats do not apply, or carries instructions, or is left with no valid
citation. Caveats are added afterwards by the safety layer, so nothing the model writes can drop them.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from typing import Any

from assistant.answer.citations import resolve_markers
from assistant.answer.extractive import Composed
from assistant.domain import Turn
from assistant.prompts import PromptBook
from assistant.retrieval.hybrid import RetrievedChunk
from assistant.safety.fragments import PROMPT_TEMPLATES
from assistant.safety.leaks import LeakCheck
from assistant.safety.screens import SentenceScreens
from assistant.settings import AnswerSettings

log = logging.getLogger(__name__)


def format_passages(chunks: Sequence[RetrievedChunk]) -> str:
    """Passages as delimited, labelled data; their text is escaped so it cannot close the tag."""
    out = []
    for i, chunk in enumerate(chunks, 1):
        meta = chunk.metadata
        attrs = (f'id="{i}" study="{html.escape(meta.short_name)}" '
                 f'section="{html.escape(meta.section)}" '
                 f'design="{html.escape(meta.design)}" '
                 f'evidence_level="{html.escape(meta.level_key)}"')
        out.append(f"<passage {attrs}>\n{html.escape(chunk.text, quote=False)}\n</passage>")
    return "\n".join(out)


class LLMEngine:
    name = "llm"

    def __init__(self, settings: AnswerSettings, book: PromptBook, model: Any = None) -> None:
        self.settings = settings
        self.book = book
        self.cannot_answer = book.typed("refusals.yaml").text("no_evidence")
        self.screens = SentenceScreens.from_book(book)
        self.model = model or self._make_model()
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
        self.leak_check = LeakCheck.build(
            [book.text(name) for name in PROMPT_TEMPLATES],
            [settings.llm_extra_rules, key, settings.llm_base_url or "", settings.llm_model],
        )

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

    def leaks_prompt(self, text: str, public: str = "") -> bool:
        """True when the text repeats prompt text, the extra rules or a settings value, in any encoding."""
        return bool(self.leak_check.leaks(text, public))

    def rejects(self, text: str, public: str = "") -> str | None:
        """Why a model's text must not reach the user, or None when it may."""
        if self.leaks_prompt(text, public):
            return "repeats prompt text, extra rules or settings"
        if self.screens.home_dosing(text):
            return "gives a dose for home or self use"
        if self.screens.undermines_safety(text):
            return "says the safety information does not apply"
        if self.screens.directives(text):
            return "carries instructions"
        return None

    def condense(self, message: str, history: Sequence[Turn]) -> str | None:
        transcript = "\n".join(f"User: {t.user}\nAssistant: {t.assistant[:300]}" for t in history[-3:])
        try:
            text = self._ask("You rewrite follow-up questions.",
                             self.book.render("condense.md", history=transcript, question=message))
        except Exception as exc:  # the endpoint is outside this machine; any failure falls back
            log.warning("condense call failed: %s", exc.__class__.__name__)
            return None
        text = text.strip().splitlines()[0] if text.strip() else ""
        if not 3 <= len(text) <= 500:
            return None
        reason = self.rejects(text)
        if reason:
            log.warning("condensed question discarded: it %s", reason)
            return None
        return text

    def compose(self, question: str, chunks: Sequence[RetrievedChunk]) -> Composed | None:
        user = self.book.render("answer.md", question=question, passages=format_passages(chunks),
                                max_sentences=5)
        try:
            draft = self._ask(self.system_prompt, user)
        except Exception as exc:
            log.warning("LLM call failed, using the extractive engine: %s", exc.__class__.__name__)
            return None
        if not draft:
            return None
        reason = self.rejects(draft, public="\n".join(c.text for c in chunks))
        if reason:
            log.warning("draft discarded, using the extractive engine: it %s", reason)
            return None
        text, citations = resolve_markers(draft, chunks)
        if not citations:
            return None
        return Composed(text, citations)
