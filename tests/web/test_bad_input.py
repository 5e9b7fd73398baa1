"""Bad input is refused with the right status, a JSON error naming the problem, and never a 5xx."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.conftest import AppFactory

JSON = "application/json"
OK_MESSAGE = {"message": "Does ketamine help depression?"}


def raw(body: str | bytes, content_type: str | None = JSON) -> dict[str, Any]:
    return {"data": body, "content_type": content_type}


def as_json(value: Any) -> dict[str, Any]:
    return raw(json.dumps(value))


# (request kwargs, status, error code, field or None, words the message must contain)
CHAT_CASES = [
    pytest.param(raw("{}", "text/plain"), 415, "unsupported_media_type", None, "application/json", id="text-plain"),
    pytest.param(raw("message=hi", "application/x-www-form-urlencoded"), 415, "unsupported_media_type", None,
                 "application/json", id="form-encoded"),
    pytest.param(raw(json.dumps(OK_MESSAGE), None), 415, "unsupported_media_type", None, "none", id="no-content-type"),
    pytest.param(raw(json.dumps(OK_MESSAGE), "application/json; charset=latin-1"), 415, "unsupported_media_type",
                 None, "UTF-8", id="latin-1"),
    pytest.param(raw('{"message": "hi"'), 400, "bad_request", None, "not valid JSON", id="truncated-json"),
    pytest.param(raw(""), 400, "bad_request", None, "not valid JSON", id="empty-body"),
    pytest.param(raw('{"message": NaN}'), 400, "bad_request", None, "NaN", id="nan"),
    pytest.param(raw(b'{"message": "\xff\xfe"}'), 400, "bad_request", None, "UTF-8", id="not-utf8"),
    pytest.param(raw("[" * 30_000 + "]" * 30_000), 400, "bad_request", None, "nested too deeply", id="deep-nesting"),
    pytest.param(as_json(["a", "list"]), 422, "validation_error", None, "JSON object", id="array-body"),
    pytest.param(as_json("just a string"), 422, "validation_error", None, "JSON object", id="string-body"),
    pytest.param(as_json({}), 422, "validation_error", "message", "Field required", id="missing-message"),
    pytest.param(as_json({"message": 42}), 422, "validation_error", "message", "valid string", id="message-number"),
    pytest.param(as_json({"message": None}), 422, "validation_error", "message", "valid string", id="message-null"),
    pytest.param(as_json({"message": ["a"]}), 422, "validation_error", "message", "valid string", id="message-list"),
    pytest.param(as_json({"message": "x" * 2001}), 422, "validation_error", "message", "at most 2000 characters",
                 id="message-too-long"),
    pytest.param(as_json({"message": "   \n\t  "}), 422, "validation_error", "message", "only whitespace",
                 id="only-whitespace"),
    pytest.param(as_json({"message": ""}), 422, "validation_error", "message", "only whitespace", id="empty-message"),
    pytest.param(as_json({"message": "hello\x00world"}), 422, "validation_error", "message", "U+0000", id="nul"),
    pytest.param(as_json({"message": "ring \x07 bell"}), 422, "validation_error", "message", "control characters",
                 id="bell"),
    pytest.param(as_json({"message": "esc \x1b[31m red"}), 422, "validation_error", "message", "U+001B",
                 id="ansi-escape"),
    pytest.param(raw('{"message": "lone \\ud800 surrogate"}'), 422, "validation_error", "message", "U+D800",
                 id="lone-surrogate"),
    pytest.param(as_json({**OK_MESSAGE, "stream": "yes"}), 422, "validation_error", "stream", "valid boolean",
                 id="stream-string"),
    pytest.param(as_json({**OK_MESSAGE, "stream": 1}), 422, "validation_error", "stream", "valid boolean",
                 id="stream-int"),
    pytest.param(as_json({**OK_MESSAGE, "conversation_id": 7}), 422, "validation_error", "conversation_id",
                 "valid string", id="conversation-id-number"),
    pytest.param(as_json({**OK_MESSAGE, "conversation_id": "../../etc/passwd"}), 422, "validation_error",
                 "conversation_id", "pattern", id="conversation-id-path"),
    pytest.param(as_json({**OK_MESSAGE, "conversation_id": "c" * 65}), 422, "validation_error", "conversation_id",
                 "pattern", id="conversation-id-long"),
    pytest.param(as_json({**OK_MESSAGE, "surprise": True}), 422, "validation_error", "surprise", "Extra inputs",
                 id="unknown-field"),
    pytest.param(as_json({**OK_MESSAGE, "filters": "recent"}), 422, "validation_error", "filters", "",
                 id="filters-string"),
    pytest.param(as_json({**OK_MESSAGE, "filters": {"year_min": "2015"}}), 422, "validation_error",
                 "filters.year_min", "valid integer", id="filters-year-string"),
    pytest.param(as_json({**OK_MESSAGE, "filters": {"designs": ["anecdote"]}}), 422, "validation_error", "filters",
                 "unknown value", id="filters-unknown-design"),
    pytest.param(as_json({**OK_MESSAGE, "filters": {"year_min": 2020, "year_max": 2010}}), 422,
                 "validation_error", "filters", "year_min must not be after year_max", id="filters-years-reversed"),
]


@pytest.mark.parametrize(("request_kwargs", "status", "code", "field", "words"), CHAT_CASES)
def test_bad_chat_requests_are_refused_precisely(
        client: FlaskClient, request_kwargs: dict[str, Any], status: int, code: str, field: str | None,
        words: str) -> None:
    response = client.post("/v1/chat", **request_kwargs)

    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error.get("field") == field
    assert words in error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]


def test_a_body_over_the_limit_is_a_413_that_states_the_limit(make_app: AppFactory) -> None:
    client = make_app(max_body_bytes=4096).test_client()

    response = client.post("/v1/chat", json={"message": "x" * 5000})

    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "payload_too_large" and "4096 bytes" in error["message"]


@pytest.mark.parametrize("size", [4096, 10_000])
def test_a_chunked_body_over_the_limit_is_a_413_not_a_truncated_parse(make_app: AppFactory, size: int) -> None:
    client = make_app(max_body_bytes=4096).test_client()
    body = json.dumps({"message": "hi", "padding": "x" * size}).encode()

    response = client.post("/v1/chat", input_stream=io.BytesIO(body), content_type=JSON,
                           headers={"Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})

    assert response.status_code == 413


def test_a_small_chunked_body_is_read_whole(make_app: AppFactory) -> None:
    client = make_app().test_client()
    body = json.dumps({"message": "Does ketamine help depression?"}).encode()

    response = client.post("/v1/chat", input_stream=io.BytesIO(body), content_type=JSON,
                           headers={"Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})

    assert response.status_code == 200


def test_the_message_limit_follows_the_settings(make_app: AppFactory) -> None:
    client = make_app(max_message_chars=50).test_client()

    response = client.post("/v1/chat", json={"message": "Does ketamine help? " * 3})

    assert response.status_code == 422
    assert response.get_json()["error"]["message"] == "message: must be at most 50 characters (got 59)"


def test_several_problems_are_all_listed(client: FlaskClient) -> None:
    response = client.post("/v1/chat", json={"message": 1, "stream": "no", "extra": 0})

    error = response.get_json()["error"]
    assert error["field"] == "message"
    assert {d["field"] for d in error["details"]} == {"message", "stream", "extra"}


def test_a_message_is_trimmed_before_it_is_answered_and_stored(client: FlaskClient) -> None:
    body = client.post("/v1/chat", json={"message": "  \n Does ketamine help depression?\t "}).get_json()

    turns = client.get(f"/v1/conversations/{body['conversation_id']}").get_json()["turns"]
    assert turns[0]["message"] == "Does ketamine help depression?"


FEEDBACK_CASES = [
    pytest.param({"message_id": "msg_x", "rating": "meh"}, "rating", "'up' or 'down'", id="rating-unknown"),
    pytest.param({"message_id": "msg_x", "rating": 1}, "rating", "'up' or 'down'", id="rating-number"),
    pytest.param({"rating": "up"}, "message_id", "Field required", id="no-message-id"),
    pytest.param({"message_id": "msg_x", "rating": "up", "comment": "y" * 2001}, "comment", "at most 2000",
                 id="comment-too-long"),
    pytest.param({"message_id": "msg_x", "rating": "up", "comment": "a\x00b"}, "comment", "control characters",
                 id="comment-nul"),
]


@pytest.mark.parametrize(("body", "field", "words"), FEEDBACK_CASES)
def test_bad_feedback_is_refused_naming_the_field(client: FlaskClient, body: dict, field: str, words: str) -> None:
    response = client.post("/v1/feedback", json=body)

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == field and words in error["message"]


# (method, path, status, code): wrong methods and unknown things, everywhere.
ROUTE_CASES = [
    ("GET", "/v1/chat", 405, "method_not_allowed"),
    ("PUT", "/v1/chat", 405, "method_not_allowed"),
    ("POST", "/v1/sources", 405, "method_not_allowed"),
    ("POST", "/healthz", 405, "method_not_allowed"),
    ("GET", "/v1/feedback", 405, "method_not_allowed"),
    ("GET", "/v1/nothing-here", 404, "not_found"),
    ("GET", "/v1/conversations/conv_unknown", 404, "not_found"),
    ("DELETE", "/v1/conversations/conv_unknown", 404, "not_found"),
    ("GET", "/v1/sources/no-such-study", 404, "not_found"),
    ("GET", "/wp-admin/index.php", 404, "not_found"),
]


@pytest.mark.parametrize(("method", "path", "status", "code"), ROUTE_CASES)
def test_wrong_methods_and_unknown_things_get_json_errors(
        client: FlaskClient, method: str, path: str, status: int, code: str) -> None:
    response = client.open(path, method=method)

    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    if status == 405:
        assert response.headers["Allow"]


def test_a_405_says_which_methods_are_allowed(client: FlaskClient) -> None:
    response = client.get("/v1/chat")

    assert response.headers["Allow"].split(", ").count("POST") == 1
    assert "use POST" in response.get_json()["error"]["message"]


def test_an_unexpected_failure_is_a_generic_500_and_the_traceback_stays_in_the_log(
        app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret detail from deep inside")

    response = app.test_client().get("/boom", headers={"X-Request-ID": "trace-me-1"})

    assert response.status_code == 500
    error = response.get_json()["error"]
    assert error == {"code": "internal_error", "request_id": "trace-me-1", "message": error["message"]}
    assert "secret detail" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    logged = [r for r in caplog.records if r.name == "assistant.web.errors"]
    assert logged and logged[0].exc_info and "secret detail" in str(logged[0].exc_info[1])
