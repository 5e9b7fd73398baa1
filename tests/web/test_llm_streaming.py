"""With the LLM engine, the reader gets the first sentence while the model is still writing the rest.

A real server on loopback, real clients (httpx, the ``openai`` client) and an OpenAI-compatible stub model
on loopback that can be paused after any token. Pausing it just after the first sentence (and the first
token of the next, which is what shows the sentence is over) makes the check causal instead of timed: the
first ``delta`` must reach the client while the model is held there. Then the stub misbehaves in every way
a remote endpoint can, and the client still gets a whole answer with a 200, from the extractive engine.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openai import OpenAI

from assistant.evaluation.llm_stub import first_sentence, passages_in, tokens
from assistant.evaluation.load import sse_events
from assistant.index import MiniLMEmbedder
from assistant.protocols.openai_chat import MODEL_ID
from assistant.services import build_services
from assistant.settings import AnswerSettings, Settings
from assistant.web import create_app
from tests.fakes import Fault, OpenAIStub, copying_reply
from tests.web.conftest import serving, web_settings

QUESTION = "What did the SUSTAIN-1 trial find about relapse with esketamine?"
READ_TIMEOUT_S = 20.0  # a client that waited for the whole draft would block on the paused stub until this


@pytest.fixture(scope="module")
def stub() -> Iterator[OpenAIStub]:
    fake = OpenAIStub([copying_reply()], token_s=0.002)
    with fake.running():
        yield fake


@pytest.fixture(scope="module")
def served(stub: OpenAIStub, shipped_settings: Settings, embedder: MiniLMEmbedder,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    answer = AnswerSettings(engine="llm", llm_base_url=stub.base_url, llm_timeout_s=5, llm_read_timeout_s=0.5)
    settings = web_settings(shipped_settings.model_copy(update={"answer": answer}), tmp_path_factory.mktemp("llm"))
    with serving(create_app(settings, build_services(settings, embedder=embedder))) as url:
        yield url


@pytest.fixture
def server(stub: OpenAIStub, served: str) -> str:
    stub.replies, stub.fault, stub.status = [copying_reply()], None, 200
    return served


def first_sentence_and_pause(stub: OpenAIStub, base_url: str) -> tuple[str, threading.Event, int]:
    """Ask once to learn the draft, then pause the stub's next draft one token into its second sentence."""
    httpx.post(f"{base_url}/v1/chat", json={"message": QUESTION, "store": False}, timeout=30).raise_for_status()
    body = next(r["body"] for r in reversed(stub.requests) if r["body"].get("stream"))
    first = f"{first_sentence(passages_in(body)[1])} [1]."
    assert copying_reply()(body).startswith(first)
    count = len(tokens(first)) + 1
    return first, stub.pause_after(count), count


def test_the_first_delta_arrives_while_the_model_is_still_writing(stub: OpenAIStub, server: str) -> None:
    first, go_on, paused_at = first_sentence_and_pause(stub, server)
    names, texts, last = [], [], {}
    with httpx.stream("POST", f"{server}/v1/chat", json={"message": QUESTION, "stream": True},
                      timeout=httpx.Timeout(30, read=READ_TIMEOUT_S)) as response:
        events = sse_events(response.iter_lines())
        for name, data in events:
            names.append(name)
            last[name] = data
            if name == "delta":
                texts.append(data["text"])
                assert stub.sent == paused_at, "the model had written more than the first sentence"
                assert data["text"] == first
                break
        go_on.set()
        for name, data in events:
            names.append(name)
            texts += [data["text"]] if name == "delta" else []
            last[name] = data
    assert names[0] == "meta" and names[-3:] == ["citations", "caveats", "done"] and "error" not in names
    done = last["done"]
    assert (last["meta"]["conversation_id"], last["meta"]["message_id"]) == (done["conversation_id"],
                                                                              done["message_id"])
    stored = httpx.get(f"{server}/v1/conversations/{done['conversation_id']}", timeout=30).json()
    assert stored["turns"][0]["message_id"] == done["message_id"]
    assert stored["turns"][0]["answer"]["answer"] == "".join(texts), "the deltas join into the stored answer"
    assert stored["turns"][0]["answer"]["engine"] == "llm"


def test_the_openai_client_gets_the_first_sentence_while_the_model_is_still_writing(
        stub: OpenAIStub, server: str) -> None:
    first, go_on, paused_at = first_sentence_and_pause(stub, server)
    client = OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0,
                    timeout=httpx.Timeout(30, read=READ_TIMEOUT_S))
    stream = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": QUESTION}],
                                            stream=True)
    pieces = []
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            assert stub.sent == paused_at and chunk.choices[0].delta.content == first
            pieces.append(chunk.choices[0].delta.content)
            break
    go_on.set()
    last: Any = None
    for chunk in stream:
        pieces += [chunk.choices[0].delta.content or ""]
        last = chunk
    assert last.choices[0].finish_reason == "stop" and (last.model_extra or {})["citations"]
    assert "".join(pieces).startswith(first) and "\n\nReferences:\n" in "".join(pieces)


def test_the_ai_sdk_stream_gets_the_first_sentence_while_the_model_is_still_writing(
        stub: OpenAIStub, server: str) -> None:
    first, go_on, paused_at = first_sentence_and_pause(stub, server)
    messages = [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": QUESTION}]}]
    kinds = []
    with httpx.stream("POST", f"{server}/api/chat", json={"messages": messages},
                      timeout=httpx.Timeout(30, read=READ_TIMEOUT_S)) as response:
        lines = response.iter_lines()
        for line in lines:
            if line.startswith("data: {"):
                chunk = json.loads(line.removeprefix("data: "))
                kinds.append(chunk["type"])
                if chunk["type"] == "text-delta":
                    assert stub.sent == paused_at and chunk["delta"] == first
                    break
        go_on.set()
        rest = [json.loads(line.removeprefix("data: "))["type"] for line in lines if line.startswith("data: {")]
    assert kinds == ["start", "text-start", "text-delta"] and rest[-1] == "finish" and "error" not in rest


FAULTS: list[tuple[Fault | None, int]] = [
    (Fault("stall"), 200), (Fault("malformed", 3), 200), (Fault("error_event", 3), 200), (Fault("close", 3), 200),
    (None, 500), (None, 429)]


@pytest.mark.parametrize(("fault", "status"), FAULTS,
                         ids=["stalled", "malformed chunk", "error event", "closed midway", "error 500", "error 429"])
def test_a_failing_model_still_gives_the_client_a_whole_answer_and_no_5xx(
        fault: Fault | None, status: int, stub: OpenAIStub, server: str) -> None:
    stub.fault, stub.status = fault, status
    with httpx.stream("POST", f"{server}/v1/chat", json={"message": QUESTION, "stream": True},
                      timeout=30) as response:
        events = list(sse_events(response.iter_lines()))
        assert response.status_code == 200
    names = [name for name, _ in events]
    assert names[0] == "meta" and names[-1] == "done" and "delta" in names and "error" not in names
    assert events[0][1]["engine"] == "extractive" and not events[0][1]["abstained"]
    as_json = httpx.post(f"{server}/v1/chat", json={"message": QUESTION}, timeout=30)
    assert as_json.status_code == 200 and as_json.json()["engine"] == "extractive"
    stub.fault, stub.status = None, 200
