"""When answering fails (no index), each protocol reports it the way its clients understand.

Before a stream starts that is a 503 in the protocol's error shape; once the 200 is on the wire,
an ``{"error": ...}`` event (OpenAI, which the ``openai`` client raises) or an ``error`` chunk (AI
SDK, which ``useChat`` turns into its error state), then ``[DONE]``.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest

from assistant.errors import IndexUnavailable
from assistant.protocols.openai_chat import MODEL_ID
from tests.conftest import make_settings
from tests.web.conftest import AppFactory, serving
from tests.web.test_ai_sdk import read_with_the_sdk, user
from tests.web.test_openai_client import client_for

pytestmark = pytest.mark.slow
ASK = [{"role": "user", "content": "What did TRANSFORM-2 find?"}]


def test_without_an_index_the_openai_client_gets_a_503_or_a_streamed_error(
        make_app: AppFactory, tmp_path: Path) -> None:
    with serving(make_app(make_settings(tmp_path / "empty"))) as base_url:
        client = client_for(base_url)
        with pytest.raises(openai.InternalServerError) as refused:
            client.chat.completions.create(model=MODEL_ID, messages=ASK)
        stream = client.chat.completions.create(model=MODEL_ID, messages=ASK, stream=True)
        with pytest.raises(openai.APIError) as streamed:
            list(stream)

    assert refused.value.status_code == 503 and refused.value.body["type"] == "server_error"
    assert refused.value.body["code"] == IndexUnavailable.code
    assert streamed.value.body["code"] == IndexUnavailable.code and streamed.value.message


def test_without_an_index_the_ai_sdk_reads_an_error_chunk(make_app: AppFactory, tmp_path: Path) -> None:
    with serving(make_app(make_settings(tmp_path / "empty"))) as base_url:
        result = read_with_the_sdk(base_url, [user("What did TRANSFORM-2 find?")])
        native = httpx.post(f"{base_url}/v1/chat", json={"message": "What did TRANSFORM-2 find?"}, timeout=60)

    assert native.status_code == 503
    assert result["chunks"] == ["start", "error"]
    assert result["errors"] == [f"Error: {native.json()['error']['message']}"]
