"""Structured logs: one JSON object per line, and one access line per request with its id.

JSON lines can be searched by request id without parsing free text. The access line carries
no user text; the chat view logs the message itself only at DEBUG, because questions about
mental health are personal data.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from flask import Flask, Response, has_request_context, request

from assistant.web import context

ACCESS_LOG = logging.getLogger("assistant.web.access")
_HANDLER_MARK = "_assistant_json_handler"


class JsonFormatter(logging.Formatter):
    """Renders a record as JSON; fields passed as ``extra={"fields": {...}}`` become top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,  # tells gunicorn workers apart
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        for key, value in (getattr(record, "fields", None) or {}).items():
            entry.setdefault(key, value)  # a field never overwrites the timestamp, level or message
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class RequestIdFilter(logging.Filter):
    """Stamps the current request id on every record logged while a request is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None) and has_request_context():
            record.request_id = context.request_id()
        return True


def configure_logging(level: str) -> None:
    """Attach one JSON handler to the ``assistant`` logger; calling it again only updates the level.

    Records still propagate, so a host (pytest's caplog, an embedding app) sees them too; under
    gunicorn the root logger has no handler, so nothing is printed twice.
    """
    logger = logging.getLogger("assistant")
    logger.setLevel(level.upper())
    if any(getattr(h, _HANDLER_MARK, False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    setattr(handler, _HANDLER_MARK, True)
    logger.addHandler(handler)


def init_app(app: Flask) -> None:
    app.after_request(_access_line)


def _access_line(response: Response) -> Response:
    fields = {
        "method": request.method,
        "path": request.path,
        "route": request.url_rule.rule if request.url_rule else None,
        "status": response.status_code,
        "remote_addr": request.remote_addr,
        "streamed": response.is_streamed,
    }
    request_id = context.request_id()
    so_far = context.elapsed()
    finished_at = time.perf_counter()

    def write() -> None:
        duration = so_far + (time.perf_counter() - finished_at)
        fields["duration_ms"] = round(duration * 1000, 1)
        ACCESS_LOG.info("request", extra={"fields": fields, "request_id": request_id})

    context.when_finished(response, write)
    return response
