"""The Vercel AI SDK itself (npm ``ai``, the package ``useChat`` is built on) against /api/chat on loopback.

``tests/js/read_ui_stream.mjs`` posts with the SDK's ``DefaultChatTransport`` (what ``useChat`` uses
by default) and reads the stream with ``readUIMessageStream`` into one UIMessage, so these tests see
exactly what a page would render: the text part, one source part per citation, the data parts.
``make test`` installs the SDK from ``tests/js/package-lock.json`` (``npm ci``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.protocols.text import REFERENCES_HEADING
from tests.web.conftest import AppFactory, serving

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "js" / "read_ui_stream.mjs"
QUESTION = "What did TRANSFORM-2 find?"
CRISIS = "I want to end my life. Can ketamine fix me fast?"
KEY = "ai-sdk-key"


def user(text: str, ident: str = "u1") -> dict[str, Any]:
    return {"id": ident, "role": "user", "parts": [{"type": "text", "text": text}]}


def read_with_the_sdk(base_url: str, messages: list[dict[str, Any]],
                      headers: dict[str, str] | None = None) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not (SCRIPT.parent / "node_modules" / "ai").is_dir():
        pytest.fail("Node.js and the AI SDK are needed: run `make test` (npm ci --prefix tests/js)")
    request = {"api": f"{base_url}/api/chat", "headers": headers or {}, "messages": messages}
    done = subprocess.run([node, str(SCRIPT)], input=json.dumps(request), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def parts_of(result: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [part for part in result["message"]["parts"] if part["type"] == kind]


def v1_chat(base_url: str, message: str) -> dict[str, Any]:
    return httpx.post(f"{base_url}/v1/chat", json={"message": message}, timeout=60).json()


def test_the_sdk_reads_the_answer_text_and_one_source_part_per_citation(live_server: str) -> None:
    native = v1_chat(live_server, QUESTION)

    result = read_with_the_sdk(live_server, [user(QUESTION)])

    assert "error" not in result, result
    [text] = parts_of(result, "text")
    assert text["state"] == "done"
    assert text["text"].startswith(native["answer"].strip()) and f"\n\n{REFERENCES_HEADING}\n" in text["text"]
    sources = parts_of(result, "source-url")
    assert [s["url"] for s in sources] == [c["url"] for c in native["citations"]]
    assert [s["providerMetadata"]["assistant"] for s in sources] == native["citations"]
    assert all(s["url"].startswith("https://doi.org/") and s["title"] for s in sources)
    [caveats] = parts_of(result, "data-caveats")
    [safety] = parts_of(result, "data-safety")
    assert caveats["data"] == native["caveats"] and safety["data"] == {"category": "clinical", "escalated": False}
    assert result["message"]["metadata"] == {"abstained": False, "engine": "extractive"}


def test_the_chunks_come_in_the_documented_order(live_server: str) -> None:
    result = read_with_the_sdk(live_server, [user(QUESTION)])

    chunks = result["chunks"]
    deltas = chunks.count("text-delta")
    sources = chunks.count("source-url") + chunks.count("source-document")
    assert deltas > 1 and sources >= 1
    assert chunks == (["start", "text-start"] + ["text-delta"] * deltas + ["text-end"]
                      + chunks[3 + deltas:3 + deltas + sources] + ["data-caveats", "data-safety", "finish"])
    assert set(chunks[3 + deltas:3 + deltas + sources]) <= {"source-url", "source-document"}


def test_a_crisis_reaches_the_sdk_with_the_resources_first_and_its_safety_part(live_server: str) -> None:
    native = v1_chat(live_server, CRISIS)

    result = read_with_the_sdk(live_server, [user(CRISIS)])

    [text] = parts_of(result, "text")
    [safety] = parts_of(result, "data-safety")
    assert safety["data"] == {"category": "crisis", "escalated": True}
    assert native["crisis_message"] and text["text"].startswith(native["crisis_message"].strip())


def test_the_whole_chat_is_the_history_as_use_chat_sends_it_back(live_server: str) -> None:
    first = read_with_the_sdk(live_server, [user(QUESTION)])
    answered = {**first["message"], "id": "a1"}
    stored = httpx.post(f"{live_server}/v1/chat", json={"message": QUESTION}, timeout=60).json()
    follow_up = httpx.post(f"{live_server}/v1/chat", json={
        "message": "How long did it last?", "conversation_id": stored["conversation_id"]}, timeout=60).json()

    second = read_with_the_sdk(live_server, [user(QUESTION), answered, user("How long did it last?", "u2")])

    [text] = parts_of(second, "text")
    assert text["text"].startswith(follow_up["answer"].strip())
    assert [s["providerMetadata"]["assistant"] for s in parts_of(second, "source-url")] == follow_up["citations"]


def test_the_response_announces_the_ui_message_stream_protocol(live_server: str) -> None:
    with httpx.stream("POST", f"{live_server}/api/chat", json={"messages": [user(QUESTION)]}, timeout=60) as response:
        lines = [line for line in response.iter_lines() if line]

    assert response.status_code == 200
    assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert response.headers["content-type"].startswith("text/event-stream")
    assert lines[-1] == "data: [DONE]"


@pytest.mark.parametrize(("messages", "words"), [
    ([user("x" * 2001)], "at most 2000 characters"),
    ([{"id": "s", "role": "system", "parts": [{"type": "text", "text": "Be brief."}]}], "user message"),
    ([{"id": "u", "role": "user", "parts": [{"type": "file", "mediaType": "image/png", "url": "data:,"}]}],
     "only text parts"),
], ids=["too-long", "no-user-message", "file-part"])
def test_a_refused_request_is_the_transports_error_with_our_message(
        live_server: str, messages: list[dict[str, Any]], words: str) -> None:
    result = read_with_the_sdk(live_server, messages)

    error = json.loads(result["error"])["error"]
    assert error["code"] == "validation_error" and words in error["message"]


def test_with_keys_the_sdk_sends_its_bearer_key(make_app: AppFactory) -> None:
    with serving(make_app(api_keys=[KEY])) as base_url:
        refused = read_with_the_sdk(base_url, [user(QUESTION)])
        answered = read_with_the_sdk(base_url, [user(QUESTION)], headers={"Authorization": f"Bearer {KEY}"})

    assert json.loads(refused["error"])["error"]["code"] == "unauthorized"
    assert parts_of(answered, "source-url")
