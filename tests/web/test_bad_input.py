"""Bad input is refused with the right status, a JSON error naming the problem, and never a 5xx."""

from __future__ import annotations

import io
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.conftest import AppFactory

JSON = "application/json"
OK_MESSAGE = {"message": "Does ketamine help depression?"}
# More digits than Python converts to an int (sys.get_int_max_str_digits, 4300 by default); json.dumps cannot
# write such a number either, so bodies holding one are written by hand.
HUGE = "9" * 5000


def raw(body: str | bytes, content_type: str | None = JSON) -> dict[str, Any]:
    return {"data": body, "content_type": content_type}


def as_json(value: Any) -> dict[str, Any]:
    return raw(json.dumps(value))


# (request kwargs, status, error code, field or None, words the message must contain)
CHAT_CASES = [
    pytest.param(raw("Does ketamine help?"), 400, "bad_request", None, "not valid JSON", id="not-json"),
    pytest.param(raw(b'\xef\xbb\xbf{"message": "hi"}'), 400, "bad_request", None, "not valid JSON", id="utf8-bom"),
    pytest.param(raw(b'{"message": "\xc0\xaf"}'), 400, "bad_request", None, "UTF-8", id="overlong-utf8"),
    pytest.param(raw(b'{"message": "caf\xc3"}'), 400, "bad_request", None, "UTF-8", id="truncated-utf8"),
    pytest.param(raw(b'{"message": "\xed\xa0\x80"}'), 400, "bad_request", None, "UTF-8", id="encoded-surrogate"),
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
    pytest.param(as_json({**OK_MESSAGE, "conversation_id": "c" * 60_000}), 422, "validation_error",
                 "conversation_id", "pattern", id="conversation-id-huge"),
    pytest.param(as_json({**OK_MESSAGE, "conversation_id": "x' OR '1'='1"}), 422, "validation_error",
                 "conversation_id", "pattern", id="conversation-id-sql"),
    pytest.param(as_json({**OK_MESSAGE, "conversation_id": "conv_1; DROP TABLE turns"}), 422, "validation_error",
                 "conversation_id", "pattern", id="conversation-id-sql-drop"),
    pytest.param(as_json({**OK_MESSAGE, "filters": {"year_min": 2015.5}}), 422, "validation_error",
                 "filters.year_min", "valid integer", id="filters-year-fraction"),
    pytest.param(as_json({**OK_MESSAGE, "surprise": True}), 422, "validation_error", "surprise", "Extra inputs",
                 id="unknown-field"),
    pytest.param(as_json({**OK_MESSAGE, "filters": "recent"}), 422, "validation_error", "filters", "",
                 id="filters-string"),
    pytest.param(as_json({**OK_MESSAGE, "filters": {"year_min": "2015"}}), 422, "validation_error",
                 "filters.year_min", "valid integer", id="filters-year-string"),
    pytest.param(as_json({**OK_MESSAGE, "filters": {"designs": ["anecdote"]}}), 422, "validation_error",
                 "filters.designs.0", "'meta-analysis'", id="filters-unknown-design"),
    pytest.param(as_json({**OK_MESSAGE, "filters": {"evidence_levels": [True]}}), 422, "validation_error",
                 "filters.evidence_levels.0", "not a boolean", id="filters-level-boolean"),
    pytest.param(as_json({**OK_MESSAGE, "filters": {"year_min": 2020, "year_max": 2010}}), 422,
                 "validation_error", "filters", "year_min must not be after year_max", id="filters-years-reversed"),
    pytest.param(raw('{"message": "hi", "filters": {"year_min": ' + HUGE + '}}'), 400, "bad_request", None,
                 "5000 digits, too long", id="filters-year-5000-digits"),
    pytest.param(raw('{"message": "hi", "filters": {"evidence_levels": [-' + HUGE + ']}}'), 400, "bad_request", None,
                 "5000 digits, too long", id="filters-level-5000-digits"),
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


def test_a_year_written_as_a_whole_float_is_the_integer_the_document_allows(client: FlaskClient) -> None:
    """JSON Schema (and so /openapi.json) counts 2015.0 as an integer; the strict models must agree."""
    response = client.post("/v1/chat", json={**OK_MESSAGE, "filters": {"year_min": 2015.0, "evidence_levels": [1.0]}})

    assert response.status_code == 200, response.get_data(as_text=True)[:300]


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/chat", {"message": "x" * 10_000_000}),
    ("/v1/feedback", {"message_id": "msg_x", "rating": "up", "comment": "x" * 10_000_000}),
])
def test_a_10_mb_text_is_a_413_at_the_default_limit_of_64_kib(
        client: FlaskClient, path: str, body: dict[str, Any]) -> None:
    response = client.post(path, data=json.dumps(body), content_type=JSON)

    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "payload_too_large" and "65536 bytes" in error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]
    assert len(response.get_data()) < 1000, "the body is not echoed"


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
    pytest.param({"message_id": "../../etc/passwd", "rating": "up"}, "message_id", "pattern", id="message-id-path"),
    pytest.param({"message_id": "1 OR 1=1", "rating": "up"}, "message_id", "pattern", id="message-id-sql"),
    pytest.param({"message_id": "m" * 60_000, "rating": "up"}, "message_id", "pattern", id="message-id-huge"),
    pytest.param({"message_id": "msg_x", "rating": "up", "surprise": 1}, "surprise", "Extra inputs",
                 id="unknown-field"),
]


def test_a_rating_too_long_to_read_as_an_integer_is_a_400_not_a_500(client: FlaskClient) -> None:
    response = client.post("/v1/feedback", **raw('{"message_id": "msg_x", "rating": ' + HUGE + '}'))

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


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
    ("PUT", "/v1/feedback", 405, "method_not_allowed"),
    ("DELETE", "/v1/chat", 405, "method_not_allowed"),
    ("PATCH", "/v1/conversations/conv_unknown", 405, "method_not_allowed"),
    ("POST", "/v1/conversations/conv_unknown", 405, "method_not_allowed"),
    ("DELETE", "/v1/sources/zarate2006", 405, "method_not_allowed"),
    ("DELETE", "/healthz", 405, "method_not_allowed"),
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


# Ids in paths that try to climb out of their route, name files, smuggle SQL or line breaks, or are huge.
HOSTILE_PATHS = [
    ("GET", "/v1/conversations/..%2F..%2Fetc%2Fpasswd"),
    ("DELETE", "/v1/conversations/..%2F..%2Fetc%2Fpasswd"),
    ("GET", "/v1/conversations/%2e%2e"),
    ("GET", "/v1/sources/../../x"),
    ("GET", "/v1/sources/..%2F..%2Fpyproject.toml"),
    ("GET", "/v1/sources/%2e%2e%2f%2e%2e%2fetc%2fpasswd"),
    ("GET", "/..%2F..%2Fetc%2Fpasswd"),
    ("GET", "/widget.js/../../etc/passwd"),
    ("GET", "/v1/conversations/" + quote("' OR '1'='1", safe="")),
    ("DELETE", "/v1/conversations/" + quote("x'; DROP TABLE conversations; --", safe="")),
    ("GET", "/v1/sources/" + quote("zarate2006' OR 1=1 --", safe="")),
    ("GET", "/v1/conversations/" + "c" * 10_000),
    ("DELETE", "/v1/conversations/" + "c" * 10_000),
    ("GET", "/v1/sources/" + "s" * 10_000),
    ("GET", "/v1/conversations/conv%0d%0aX-Evil:%201"),
    ("GET", "/v1/sources/%00"),
    ("GET", "/" + "a" * 5_000),
]


@pytest.mark.parametrize(("method", "path"), HOSTILE_PATHS, ids=lambda v: v[:40])
def test_hostile_ids_in_paths_are_a_plain_404_that_quotes_nothing_unfit(
        client: FlaskClient, method: str, path: str) -> None:
    response = client.open(path, method=method)

    assert response.status_code == 404
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == "not_found" and error["request_id"] == response.headers["X-Request-ID"]
    assert len(error["message"]) <= 200, "a huge id is described, not quoted back"
    assert error["message"].isprintable(), "no control characters from the path reach the message"
    assert "root:" not in response.get_data(as_text=True) and "[project]" not in response.get_data(as_text=True)


SQL_TEXTS = [
    "'; DROP TABLE conversations; --",
    "Robert'); DELETE FROM turns WHERE ('1'='1",
    "\" OR 1=1 --",
    "%' UNION SELECT message_id, answer_json FROM turns --",
    "ketamine; PRAGMA writable_schema=1; --",
]


def table_counts(database: Path) -> dict[str, int]:
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in sorted(tables & {"conversations", "turns", "feedback"})}


def test_sql_meta_characters_are_stored_as_text_and_the_tables_stay_intact(
        client: FlaskClient, tmp_path: Path) -> None:
    first = client.post("/v1/chat", json=OK_MESSAGE).get_json()
    conversation_id, message_id = first["conversation_id"], first["message_id"]

    for text in SQL_TEXTS:
        chat = client.post("/v1/chat", json={"message": text, "conversation_id": conversation_id})
        rated = client.post("/v1/feedback", json={"message_id": message_id, "rating": "down", "comment": text})
        as_id = quote(text, safe="")
        assert chat.status_code == 200 and rated.status_code == 201, text
        assert client.get(f"/v1/conversations/{as_id}").status_code == 404
        assert client.delete(f"/v1/conversations/{as_id}").status_code == 404
        assert client.get(f"/v1/sources/{as_id}").status_code == 404
        assert client.post("/v1/chat", json={**OK_MESSAGE, "conversation_id": text}).status_code == 422
        assert client.post("/v1/feedback", json={"message_id": text, "rating": "up"}).status_code == 422

    turns = client.get(f"/v1/conversations/{conversation_id}").get_json()["turns"]
    assert [turn["message"] for turn in turns] == [OK_MESSAGE["message"], *SQL_TEXTS]
    assert client.get("/v1/sources/zarate2006").status_code == 200
    assert table_counts(tmp_path / "conversations.sqlite3") == {
        "conversations": 1, "feedback": len(SQL_TEXTS), "turns": 1 + len(SQL_TEXTS)}


MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)><a href="javascript:alert(2)">link</a>'


def test_markup_in_a_message_is_kept_verbatim_as_json_data_never_served_as_html(client: FlaskClient) -> None:
    """The server neither executes nor mangles markup: it is data in JSON that browsers will not sniff as HTML.

    Rendering it as text is the widget's job (tests/web/test_browser.py proves it in a real browser).
    """
    response = client.post("/v1/chat", json={"message": f"{MARKUP} Does ketamine help depression?"})

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    stored = client.get(f"/v1/conversations/{response.get_json()['conversation_id']}")
    assert stored.mimetype == "application/json" and stored.headers["X-Content-Type-Options"] == "nosniff"
    assert stored.get_json()["turns"][0]["message"] == f"{MARKUP} Does ketamine help depression?"
    streamed = client.post("/v1/chat", json={"message": MARKUP, "stream": True})
    assert streamed.mimetype == "text/event-stream" and streamed.headers["X-Content-Type-Options"] == "nosniff"


KEYED_REQUESTS = [
    pytest.param("POST", "/v1/chat", {"json": OK_MESSAGE}, id="chat"),
    pytest.param("POST", "/v1/chat", raw("{not json"), id="chat-bad-json"),
    pytest.param("POST", "/v1/chat", raw("{}", "text/plain"), id="chat-wrong-type"),
    pytest.param("GET", "/v1/conversations/conv_anything", {}, id="get-conversation"),
    pytest.param("DELETE", "/v1/conversations/conv_anything", {}, id="delete-conversation"),
    pytest.param("POST", "/v1/feedback", {"json": {"message_id": "msg_x", "rating": "up"}}, id="feedback"),
    pytest.param("GET", "/v1/sources", {}, id="sources"),
    pytest.param("GET", "/v1/sources/zarate2006", {}, id="source"),
]


@pytest.mark.parametrize("authorization", [None, "Bearer not-the-key"], ids=["missing-key", "wrong-key"])
@pytest.mark.parametrize(("method", "path", "request_kwargs"), KEYED_REQUESTS)
def test_with_keys_every_api_route_refuses_a_missing_or_wrong_key_before_reading_the_body(
        make_app: AppFactory, method: str, path: str, request_kwargs: dict[str, Any],
        authorization: str | None) -> None:
    client = make_app(api_keys=["the-key"]).test_client()
    headers = {"Authorization": authorization} if authorization else {}

    response = client.open(path, method=method, headers=headers, **request_kwargs)

    assert response.status_code == 401
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == "unauthorized" and error["request_id"] == response.headers["X-Request-ID"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    authorised = client.open(path, method=method, headers={"Authorization": "Bearer the-key"}, **request_kwargs)
    assert authorised.status_code != 401


WIDGET_SITE = "https://clinic.example.org"
CORS_REQUESTS = [("GET", "/v1/sources", {}), ("POST", "/v1/chat", {"json": OK_MESSAGE}),
                 ("POST", "/v1/chat", {"json": {"message": ""}}), ("GET", "/v1/conversations/conv_unknown", {})]


@pytest.mark.parametrize(("method", "path", "request_kwargs"), CORS_REQUESTS)
def test_cors_grants_a_listed_origin_and_nobody_else_on_real_requests(
        make_app: AppFactory, method: str, path: str, request_kwargs: dict[str, Any]) -> None:
    """The preflight is not the only gate: the browser also needs the grant on the answer itself, errors included."""
    client = make_app(cors_origins=[WIDGET_SITE]).test_client()

    allowed = client.open(path, method=method, headers={"Origin": WIDGET_SITE}, **request_kwargs)
    foreign = client.open(path, method=method, headers={"Origin": "https://evil.example.com"}, **request_kwargs)

    assert allowed.headers["Access-Control-Allow-Origin"] == WIDGET_SITE
    assert "Origin" in allowed.headers.get("Vary", "")
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    assert "Access-Control-Allow-Origin" not in foreign.headers
    assert foreign.status_code == allowed.status_code, "CORS is enforced by the browser; the answer is the same"


@pytest.mark.parametrize(("origin", "granted"), [(WIDGET_SITE, True), ("https://evil.example.com", False),
                                                 ("http://clinic.example.org", False)])
def test_a_preflight_for_delete_is_granted_only_to_a_listed_origin(
        make_app: AppFactory, origin: str, granted: bool) -> None:
    client = make_app(cors_origins=[WIDGET_SITE], api_keys=["the-key"]).test_client()

    response = client.options("/v1/conversations/conv_x", headers={
        "Origin": origin, "Access-Control-Request-Method": "DELETE", "Access-Control-Request-Headers": "authorization"})

    assert response.status_code == 200, "preflights need no key"
    assert (response.headers.get("Access-Control-Allow-Origin") == origin) is granted
    if granted:
        assert "DELETE" in response.headers["Access-Control-Allow-Methods"]
