"""One structured (JSON) log line per request, with its id; the user's words only at DEBUG."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from flask.testing import FlaskClient

from assistant.web.logs import JsonFormatter

SECRET_QUESTION = "My name is Ada Example and I take ketamine; does it help depression?"


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == "assistant.web.access"]


def test_each_request_is_one_json_line_with_its_request_id(
        client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="assistant")

    client.get("/v1/sources/berman2000", headers={"X-Request-ID": "req-42"})

    (line,) = access_lines(caplog)
    assert line["request_id"] == "req-42"
    assert line["method"] == "GET" and line["status"] == 200
    assert line["route"] == "/v1/sources/<doc_id>" and line["path"] == "/v1/sources/berman2000"
    assert line["duration_ms"] >= 0


def test_a_streamed_request_is_logged_once_its_body_is_sent(
        client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="assistant")

    response = client.post("/v1/chat", json={"message": "Does ketamine help depression?", "stream": True})
    assert not access_lines(caplog), "not before the stream has been read"
    response.get_data()

    (line,) = access_lines(caplog)
    assert line["streamed"] is True and line["request_id"] == response.headers["X-Request-ID"]


def test_user_text_stays_out_of_info_logs(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="assistant")

    client.post("/v1/chat", json={"message": SECRET_QUESTION})

    assert caplog.records
    assert all("Ada Example" not in JsonFormatter().format(r) for r in caplog.records)


def test_user_text_is_logged_at_debug_with_the_request_id(
        client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="assistant")

    response = client.post("/v1/chat", json={"message": SECRET_QUESTION}, headers={"X-Request-ID": "dbg-1"})

    debug = [json.loads(JsonFormatter().format(r)) for r in caplog.records
             if r.levelno == logging.DEBUG and r.name == "assistant.web.chat"]
    assert debug and debug[0]["message"] == "chat message" and debug[0]["message_text"] == SECRET_QUESTION
    assert response.headers["X-Request-ID"] == "dbg-1"


def test_the_formatter_writes_one_line_of_json_even_for_tracebacks() -> None:
    try:
        raise ValueError("multi\nline")
    except ValueError:
        record = logging.LogRecord("assistant.x", logging.ERROR, __file__, 1, "failed", None, exc_info=True)
        record.exc_info = sys.exc_info()

    text = JsonFormatter().format(record)

    assert "\n" not in text
    assert "ValueError" in json.loads(text)["exception"]
