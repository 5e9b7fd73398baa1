"""Bad input to the protocol endpoints is refused with a real 4xx in the protocol's own error shape.

/v1/chat/completions and /v1/models answer as OpenAI does, ``{"error": {"message", "type", "param",
"code"}}`` (plus our ``request_id``), with a 400 for a request that does not fit; /api/chat, whose
transport shows whatever body a refusal has, answers in this service's own shape and statuses.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.web.conftest import AppFactory

JSON = "application/json"
COMPLETIONS = "/v1/chat/completions"
UI_CHAT = "/api/chat"
ASK = {"role": "user", "content": "Does ketamine help depression?"}
HUGE = "9" * 5000  # more digits than Python converts to an int; json.dumps cannot write it either
OPENAI_ERROR_KEYS = {"message", "type", "param", "code", "request_id"}


def raw(body: str | bytes, content_type: str | None = JSON) -> dict[str, Any]:
    return {"data": body, "content_type": content_type}


def body(value: Any) -> dict[str, Any]:
    return raw(json.dumps(value))


def asks(*messages: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return body({"model": "x", "messages": list(messages), **extra})


# (request kwargs, status, OpenAI param or None, words the message must contain)
OPENAI_CASES = [
    pytest.param(raw("{not json"), 400, None, "not valid JSON", id="not-json"),
    pytest.param(raw(""), 400, None, "not valid JSON", id="empty-body"),
    pytest.param(raw(b'{"messages": "\xff"}'), 400, None, "UTF-8", id="not-utf8"),
    pytest.param(raw(json.dumps({"messages": [ASK]}), "text/plain"), 415, None, "application/json", id="text-plain"),
    pytest.param(body([ASK]), 400, None, "JSON object", id="array-body"),
    pytest.param(body({"model": "x"}), 400, "messages", "Field required", id="no-messages"),
    pytest.param(body({"messages": "hi"}), 400, "messages", "valid list", id="messages-string"),
    pytest.param(asks(), 400, "messages", "at least 1 item", id="messages-empty"),
    pytest.param(asks("hi"), 400, "messages[0]", "valid dictionary", id="message-string"),
    pytest.param(asks({"content": "hi"}), 400, "messages[0].role", "Field required", id="no-role"),
    pytest.param(asks({"role": "tool", "content": "42", "tool_call_id": "c1"}), 400, "messages[0].role",
                 "'user'", id="role-tool"),
    pytest.param(asks({"role": "robot", "content": "hi"}), 400, "messages[0].role", "'assistant'", id="role-unknown"),
    pytest.param(asks({"role": 1, "content": "hi"}), 400, "messages[0].role", "'system'", id="role-number"),
    pytest.param(asks({"role": "user"}), 400, "messages[0].content", "Field required", id="no-content"),
    pytest.param(asks({"role": "user", "content": None}), 400, "messages[0].content", "needs its text",
                 id="user-content-null"),
    pytest.param(asks({"role": "user", "content": 42}), 400, "messages[0].content", "string or a list",
                 id="content-number"),
    pytest.param(asks({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}), 400,
                 "messages[0].content", "only text parts", id="image-part"),
    pytest.param(asks({"role": "user", "content": [{"text": "no type"}]}), 400, "messages[0].content",
                 "only text parts", id="part-without-type"),
    pytest.param(asks({"role": "user", "content": "x" * 2001}), 400, "messages[0].content",
                 "at most 2000 characters", id="message-too-long"),
    pytest.param(asks({"role": "user", "content": [{"type": "text", "text": "x" * 1500},
                                                    {"type": "text", "text": "y" * 600}]}),
                 400, "messages[0].content", "at most 2000 characters in all", id="parts-too-long"),
    pytest.param(asks({"role": "user", "content": " \n\t "}), 400, "messages[0].content", "only whitespace",
                 id="only-whitespace"),
    pytest.param(asks({"role": "user", "content": "a\x00b"}), 400, "messages[0].content", "U+0000", id="nul"),
    pytest.param(asks({"role": "system", "content": "ring \x07"}, ASK), 400, "messages[0].content",
                 "control characters", id="system-control-character"),
    pytest.param(asks({"role": "assistant", "content": "\x0b"}, ASK), 400, "messages[0].content",
                 "control characters", id="assistant-blank-control"),
    pytest.param(asks({"role": "system", "content": "Be brief."}), 400, "messages", "user message",
                 id="no-user-message"),
    pytest.param(asks(ASK, {"role": "assistant", "content": "Yes."}), 400, "messages", "last message",
                 id="last-not-user"),
    pytest.param(asks(ASK, stream="yes"), 400, "stream", "valid boolean", id="stream-string"),
    pytest.param(asks(ASK, n=2), 400, "n", "less than or equal to 1", id="n-two"),
    pytest.param(asks(ASK, model=5), 400, "model", "valid string", id="model-number"),
    pytest.param(asks(ASK, stream_options={"include_usage": "yes"}), 400, "stream_options.include_usage",
                 "valid boolean", id="stream-options-string"),
    pytest.param(raw('{"messages": [{"role": "user", "content": "hi"}], "n": ' + HUGE + '}'), 400, None,
                 "5000 digits, too long", id="n-5000-digits"),
]


@pytest.mark.parametrize(("request_kwargs", "status", "param", "words"), OPENAI_CASES)
def test_bad_chat_completions_are_refused_in_openais_error_shape(
        client: FlaskClient, request_kwargs: dict[str, Any], status: int, param: str | None, words: str) -> None:
    response = client.post(COMPLETIONS, **request_kwargs)

    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == JSON
    error = response.get_json()["error"]
    assert set(error) == OPENAI_ERROR_KEYS
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert words in error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]


def test_ten_megabytes_is_a_413_in_openais_shape(client: FlaskClient) -> None:
    response = client.post(COMPLETIONS, **asks({"role": "user", "content": "x" * 10_000_000}))

    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert len(response.get_data()) < 1000


def test_fields_openai_clients_send_by_habit_are_accepted_and_ignored(client: FlaskClient) -> None:
    response = client.post(COMPLETIONS, json={
        "model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "text", "text": ASK["content"]}],
                                         "name": "dana"}],
        "temperature": 0.7, "top_p": 1, "max_tokens": 300, "presence_penalty": 0, "frequency_penalty": 0,
        "user": "u-1", "seed": 7, "stop": ["\n\n"], "n": 1, "logit_bias": {}, "tools": [], "metadata": {}})

    assert response.status_code == 200
    assert response.get_json()["choices"][0]["message"]["content"]


# (method, path, status, code)
ROUTES = [
    ("GET", COMPLETIONS, 405, "method_not_allowed"),
    ("DELETE", COMPLETIONS, 405, "method_not_allowed"),
    ("POST", "/v1/models", 405, "method_not_allowed"),
    ("GET", "/v1/models/ketamine-evidence-assistant", 404, "not_found"),
    ("GET", UI_CHAT, 405, "method_not_allowed"),
    ("GET", "/api/nothing", 404, "not_found"),
]


@pytest.mark.parametrize(("method", "path", "status", "code"), ROUTES)
def test_wrong_methods_and_paths_get_errors_in_the_protocols_shape(
        client: FlaskClient, method: str, path: str, status: int, code: str) -> None:
    response = client.open(path, method=method)

    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code
    if path.startswith("/v1/"):
        assert set(error) == OPENAI_ERROR_KEYS and error["type"] == "invalid_request_error"


def ui(*messages: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return body({"id": "chat-1", "messages": list(messages), "trigger": "submit-message", **extra})


def text(value: str, role: str = "user") -> dict[str, Any]:
    return {"id": "m1", "role": role, "parts": [{"type": "text", "text": value}]}


# (request kwargs, status, code, field or None, words)
UI_CASES = [
    pytest.param(raw("{not json"), 400, "bad_request", None, "not valid JSON", id="not-json"),
    pytest.param(raw("{}", "text/plain"), 415, "unsupported_media_type", None, "application/json", id="text-plain"),
    pytest.param(body({"id": "chat-1"}), 422, "validation_error", "messages", "Field required", id="no-messages"),
    pytest.param(ui(), 422, "validation_error", "messages", "at least 1 item", id="messages-empty"),
    pytest.param(ui({"id": "m1", "parts": []}), 422, "validation_error", "messages.0.role", "Field required",
                 id="no-role"),
    pytest.param(ui(text("hi", "tool")), 422, "validation_error", "messages.0.role", "'assistant'", id="role-tool"),
    pytest.param(ui({"id": "m1", "role": "user", "content": "hi"}), 422, "validation_error", "messages.0.parts",
                 "Field required", id="content-instead-of-parts"),
    pytest.param(ui({"id": "m1", "role": "user", "parts": "hi"}), 422, "validation_error", "messages.0.parts",
                 "valid list", id="parts-string"),
    pytest.param(ui({"id": "m1", "role": "user", "parts": [{"type": "file", "url": "data:,",
                                                             "mediaType": "image/png"}]}),
                 422, "validation_error", "messages.0.parts", "only text parts", id="file-part"),
    pytest.param(ui({"id": "m1", "role": "user", "parts": [{"type": "text", "text": 5}]}), 422, "validation_error",
                 "messages.0.parts.0.text", "valid string", id="text-number"),
    pytest.param(ui(text("x" * 2001)), 422, "validation_error", "messages.0.parts", "at most 2000 characters",
                 id="message-too-long"),
    pytest.param(ui(text("   ")), 422, "validation_error", "messages.0.parts", "only whitespace", id="blank"),
    pytest.param(ui(text("a\x1bb")), 422, "validation_error", "messages.0.parts", "U+001B", id="escape"),
    pytest.param(ui(text("hi"), {"id": "a", "role": "assistant", "parts": [{"type": "reasoning", "text": "\x07"}]},
                    text("and?")), 422, "validation_error", "messages.1.parts", "U+0007", id="assistant-control"),
    pytest.param(ui(text("Be brief.", "system")), 422, "validation_error", "messages", "user message",
                 id="no-user-message"),
    pytest.param(ui(text("hi"), text("Hello.", "assistant")), 422, "validation_error", "messages", "last message",
                 id="last-not-user"),
    pytest.param(ui(text("hi"), trigger="resume"), 422, "validation_error", "trigger", "'submit-message'",
                 id="trigger-unknown"),
    pytest.param(raw('{"id": ' + HUGE + ', "messages": []}'), 400, "bad_request", None, "5000 digits, too long",
                 id="id-5000-digits"),
]


@pytest.mark.parametrize(("request_kwargs", "status", "code", "field", "words"), UI_CASES)
def test_bad_ui_chat_requests_are_refused_before_the_stream_starts(
        client: FlaskClient, request_kwargs: dict[str, Any], status: int, code: str, field: str | None,
        words: str) -> None:
    response = client.post(UI_CHAT, **request_kwargs)

    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == JSON
    error = response.get_json()["error"]
    assert error["code"] == code and error.get("field") == field and words in error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]


@pytest.mark.parametrize(("path", "request_kwargs", "code"), [
    (COMPLETIONS, asks(ASK), "invalid_api_key"),
    (COMPLETIONS, raw("{not json"), "invalid_api_key"),
    ("/v1/models", {"method": "GET"}, "invalid_api_key"),
    (UI_CHAT, ui(text("hi")), "unauthorized"),
    (UI_CHAT, raw("{}", "text/plain"), "unauthorized"),
], ids=["completions", "completions-bad-json", "models", "ui-chat", "ui-chat-wrong-type"])
def test_with_keys_a_missing_key_is_a_401_before_the_body_is_read(
        make_app: AppFactory, path: str, request_kwargs: dict[str, Any], code: str) -> None:
    client = make_app(api_keys=["the-key"]).test_client()
    method = request_kwargs.pop("method", "POST")

    refused = client.open(path, method=method, **request_kwargs)
    allowed = client.open(path, method=method, headers={"Authorization": "Bearer the-key"}, **request_kwargs)

    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == code
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert allowed.status_code != 401


@pytest.mark.parametrize(("path", "request_kwargs"), [
    (COMPLETIONS, asks(ASK)), ("/v1/models", {"method": "GET"}), (UI_CHAT, ui(text("Does ketamine help?")))])
def test_the_same_rate_limit_applies_and_its_429_is_in_the_protocols_shape(
        make_app: AppFactory, path: str, request_kwargs: dict[str, Any]) -> None:
    client = make_app(rate_limit="2/minute").test_client()
    method = request_kwargs.pop("method", "POST")

    statuses = [client.open(path, method=method, **request_kwargs).status_code for _ in range(3)]
    refused = client.open(path, method=method, **request_kwargs)

    assert statuses == [200, 200, 429] and refused.status_code == 429
    assert refused.headers["Retry-After"]
    error = refused.get_json()["error"]
    if path.startswith("/v1/"):
        assert error["type"] == "requests" and error["code"] == "rate_limited"
    else:
        assert error["code"] == "rate_limited"


SITE = "https://clinic.example.org"


@pytest.mark.parametrize("path", [COMPLETIONS, UI_CHAT])
def test_a_listed_origin_may_call_the_protocol_endpoints_from_a_browser(make_app: AppFactory, path: str) -> None:
    client = make_app(cors_origins=[SITE], api_keys=["the-key"]).test_client()

    preflight = client.options(path, headers={"Origin": SITE, "Access-Control-Request-Method": "POST",
                                              "Access-Control-Request-Headers": "content-type,authorization"})
    refused = client.post(path, headers={"Origin": SITE}, **raw("{not json"))
    foreign = client.post(path, headers={"Origin": "https://evil.example.com"}, **raw("{not json"))

    assert preflight.status_code == 200 and preflight.headers["Access-Control-Allow-Origin"] == SITE
    assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == SITE
    assert "Origin" in refused.headers["Vary"] and "Access-Control-Allow-Origin" not in foreign.headers
