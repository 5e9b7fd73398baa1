"""`assistant bench http --engine llm`: the served API with the LLM engine, against a stub model.

No real model is reachable from a benchmark machine, and a real one would make the figures
depend on someone else's load. The bench starts an OpenAI-compatible stub on loopback that writes
each draft from the passages it is sent (see :func:`~assistant.evaluation.llm_stub.copying_reply`)
at a fixed pace, points the served app at it, and reports, per streaming protocol, the time to
the first sentence (the first text delta) beside the time to the whole answer, and how long the
stub took to write a draft: with sentence-by-sentence streaming the first figure is a fraction
of the other two.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from assistant.evaluation.llm_stub import OpenAIStub, copying_reply, tokens
from assistant.evaluation.load_bench import BenchReport
from assistant.settings import AnswerSettings, Settings


@dataclass(frozen=True)
class StubRun:
    token_s: float
    drafts: int
    tokens_per_draft: float

    @property
    def draft_s(self) -> float:
        return self.tokens_per_draft * self.token_s


@contextmanager
def stub_model(settings: Settings, token_s: float) -> Iterator[tuple[Settings, OpenAIStub]]:
    """A copying stub model on loopback and ``settings`` with the LLM engine pointed at it."""
    stub = OpenAIStub([copying_reply()], token_s=token_s)
    with stub.running():
        answer = AnswerSettings(**{**settings.answer.model_dump(), "engine": "llm", "llm_base_url": stub.base_url,
                                   "llm_api_key": None, "llm_model": "bench-stub"})
        yield settings.model_copy(update={"answer": answer}), stub


def stub_run(stub: OpenAIStub) -> StubRun:
    reply = copying_reply()
    drafts = [len(tokens(reply(r["body"]))) for r in stub.requests if r["body"].get("stream")]
    return StubRun(stub.token_s, len(drafts), statistics.median(drafts) if drafts else 0.0)


def render(report: BenchReport, run: StubRun) -> str:
    lines = [f"LLM engine against a stub model on loopback: one token every {run.token_s * 1000:g} ms, "
             f"{run.drafts} drafts of {run.tokens_per_draft:.0f} tokens (median), "
             f"{run.draft_s * 1000:.0f} ms to write one",
             f"{'run':<22} {'first sentence p50':>19} {'p95':>8} {'whole answer p50':>17} {'p95':>8}"]
    for label, result in report.results:
        if result.plan.stream:
            lines.append(f"{label:<22} {result.first_delta_ms(50):>16.0f} ms {result.first_delta_ms(95):>5.0f} ms "
                         f"{result.latency_ms(50):>14.0f} ms {result.latency_ms(95):>5.0f} ms")
    return "\n".join(lines)
