"""The LLM answer engine: any OpenAI-compatible endpoint through LangChain's chat-model interface.

The model only drafts, and the service assumes it can be talked into anything. Its draft is read
as it streams (LangChain's ``.stream``), cut into sentences, and each sentence goes through the
gate (:mod:`assistant.answer.gate`) before it is released: the reader sees the first sentence
while the model is still writing the rest, and never a sentence that leaks, gives a home dose,
undermines the caveats, carries instructions or is not supported by the passages it cites.
Caveats are added afterwards by the safety layer, so nothing the model writes can drop them.

The endpoint is outside this machine, so any failure of it - an error status, a stalled stream
(no token within ``llm_read_timeout_s``), a draft that takes longer than ``llm_timeout_s``, a
malformed chunk, a connection dropped before the model said it had finished - ends the draft.
Sentences released before the failure stand (each passed the gate on its own); the sentence in
progress is discarded; if none was released, the service answers with the extractive engine.

The model sees the conversation: the recent turns (at most ``web.history_turns``) as chat
messages, then the question that triage judged, with the passages, as the last user message.
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any

from assistant.answer.gate import SentenceGate, unsafe
from assistant.answer.sentence_stream import Sentence, SentenceBuffer
from assistant.domain import Citation, Turn
from assistant.prompts import PromptBook
from assistant.retrieval.hybrid import RetrievedChunk
from assistant.safety.fragments import PROMPT_TEMPLATES
from assistant.safety.leaks import LeakCheck
from assistant.safety.screens import SentenceScreens
from assistant.settings import AnswerSettings

log = logging.getLogger(__name__)
# An earlier reply can be long (references, caveats); its opening says what the conversation was about.
HISTORY_REPLY_CHARS = 1500
MAX_SENTENCES = 5


class DraftFailed(Exception):
    """The endpoint did not deliver a complete draft."""


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


class Draft:
    """One streamed draft. Iterating yields each released sentence, with the space or line break that
    goes before it (none before the first); ``citations`` grow as sentences are released."""

    def __init__(self, tokens: Iterator[str], gate: SentenceGate) -> None:
        self._tokens = tokens
        self._gate = gate
        self.released = 0
        self.failure: str | None = None
        self._stopped = False

    @property
    def citations(self) -> list[Citation]:
        return self._gate.citations

    def _next_piece(self) -> str | None:
        try:
            return next(self._tokens)
        except StopIteration:
            return None
        except Exception as exc:  # the endpoint is outside this machine: whatever it does ends the draft
            # Our own reasons are safe to log; a client library's message may carry the endpoint's address.
            self.failure = str(exc) if isinstance(exc, DraftFailed) else exc.__class__.__name__
            log.warning("LLM stream failed after %d released sentences: %s", self.released, self.failure,
                        extra={"fields": {"released": self.released}})
            return None

    def _release(self, sentence: Sentence) -> str | None:
        screened = self._gate.screen(sentence.text)
        if screened.stop:
            self._stopped = True
            log.warning("rest of the LLM draft not used after %d released sentences", self.released)
        if screened.text is None:
            return None
        separator = "" if not self.released else "\n" if sentence.new_line else " "
        self.released += 1
        if self.released > MAX_SENTENCES:  # the bottom line and MAX_SENTENCES more, as the prompt asks
            self._stopped = True
        return separator + screened.text

    def __iter__(self) -> Iterator[str]:
        buffer = SentenceBuffer()
        try:
            while not self._stopped:
                piece = self._next_piece()
                if piece is None:
                    break
                for sentence in buffer.feed(piece):
                    released = None if self._stopped else self._release(sentence)
                    if released:
                        yield released
            if self.failure is None and not self._stopped:
                for sentence in buffer.finish():
                    released = None if self._stopped else self._release(sentence)
                    if released:
                        yield released
        finally:
            close = getattr(self._tokens, "close", None)
            if close is not None:
                close()  # stops reading the model (and closes its connection) when the draft is left early


class LLMEngine:
    name = "llm"

    def __init__(self, settings: AnswerSettings, book: PromptBook, history_turns: int = 6, model: Any = None) -> None:
        self.settings = settings
        self.book = book
        self.history_turns = history_turns
        self.cannot_answer = book.typed("refusals.yaml").text("no_evidence")
        self.screens = SentenceScreens.from_book(book)
        self.model = model or self._make_model()
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
        self.leak_check = LeakCheck.build(
            [book.text(name) for name in PROMPT_TEMPLATES],
            [settings.llm_extra_rules, key, settings.llm_base_url or "", settings.llm_model],
        )

    def _make_model(self) -> Any:
        import httpx
        from langchain_openai import ChatOpenAI

        if not self.settings.llm_base_url:
            from assistant.errors import ConfigError

            raise ConfigError("answer.engine=llm needs answer.llm_base_url (an OpenAI-compatible endpoint)")
        key = self.settings.llm_api_key.get_secret_value() if self.settings.llm_api_key else "not-needed"
        timeout = httpx.Timeout(self.settings.llm_timeout_s, read=self.settings.llm_read_timeout_s)
        return ChatOpenAI(
            base_url=self.settings.llm_base_url, api_key=key, model=self.settings.llm_model,
            timeout=timeout, max_retries=1, temperature=self.settings.llm_temperature,
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
        reason = unsafe(text, self.leak_check, self.screens)
        if reason:
            log.warning("condensed question discarded: it %s", reason)
            return None
        return text

    def messages(self, question: str, chunks: Sequence[RetrievedChunk], history: Sequence[Turn] = ()) -> list[Any]:
        """The system prompt, the recent turns as chat messages, then the question with its passages."""
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        out: list[Any] = [SystemMessage(content=self.system_prompt)]
        for turn in list(history)[-self.history_turns:] if self.history_turns else []:
            out.append(HumanMessage(content=turn.user))
            if turn.assistant.strip():
                out.append(AIMessage(content=turn.assistant[:HISTORY_REPLY_CHARS]))
        out.append(HumanMessage(content=self.book.render(
            "answer.md", question=question, passages=format_passages(chunks), max_sentences=MAX_SENTENCES)))
        return out

    def _tokens(self, messages: list[Any]) -> Iterator[str]:
        deadline = time.monotonic() + self.settings.llm_timeout_s
        finish: str | None = None
        for chunk in self.model.stream(messages):
            content = chunk.content if isinstance(chunk.content, str) else ""
            finish = (chunk.response_metadata or {}).get("finish_reason") or finish
            if content:
                yield content
            if time.monotonic() > deadline:
                raise DraftFailed(f"the draft took longer than {self.settings.llm_timeout_s:g} s")
        if finish is None:
            raise DraftFailed("the stream ended before the model said it had finished")
        if finish != "stop":
            raise DraftFailed(f"the model stopped early ({finish})")

    def draft(self, question: str, chunks: Sequence[RetrievedChunk], history: Sequence[Turn] = ()) -> Draft:
        """A draft that streams when iterated; nothing is sent to the endpoint before that."""
        gate = SentenceGate(self.leak_check, self.screens, chunks)
        return Draft(self._tokens(self.messages(question, chunks, history)), gate)
