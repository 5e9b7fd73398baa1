"""Every failure becomes the same JSON shape, with the request id, and never a stack trace.

Our own ``AssistantError`` family says what went wrong in words safe to show a user; werkzeug's
HTTP errors (404, 405, 413, 415, 429...) are re-dressed in the same shape, keeping their headers
(``Allow``, ``Retry-After``). Anything else is a bug: its traceback goes to the server log
under the request id, and the client gets a generic 500 that quotes the id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from assistant.errors import AssistantError, ValidationFailed
from assistant.web import context

log = logging.getLogger("assistant.web.errors")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}
RETRY_AFTER_UNAVAILABLE_S = 5
# (status, body in our shape) -> (status, body in a protocol's own shape), for paths that speak one.
Dialect = Callable[[int, dict[str, Any]], tuple[int, dict[str, Any]]]
DIALECTS = "assistant.error_dialects"
# Longest client-supplied id or path quoted back in an error message.
MAX_QUOTED_CHARS = 128


class InvalidRequest(ValidationFailed):
    """A request body that parsed as JSON but does not fit its model; carries every problem found."""

    def __init__(self, message: str, *, field: str | None = None,
                 details: list[dict[str, str]] | None = None) -> None:
        super().__init__(message, field=field)
        self.details = details

    @classmethod
    def from_pydantic(cls, exc: ValidationError) -> InvalidRequest:
        problems = [{"field": _dotted(e["loc"]), "message": e["msg"]} for e in exc.errors(include_input=False)]
        first = problems[0]
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return cls(message, field=first["field"] or None, details=problems if len(problems) > 1 else None)


def _dotted(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def quotable(value: str) -> bool:
    """Whether a client-supplied id or path may be quoted back in a message meant for a user's screen.

    A 10 KB id, or one holding control characters (``%0d%0a`` decodes to CR LF in a path), would
    come back verbatim otherwise: bloating the response and putting the sender's text, line breaks
    and all, into a message that widgets show. Such values are described instead of quoted.
    """
    return 0 < len(value) <= MAX_QUOTED_CHARS and value.isprintable()


def no_such(thing: str, value: str) -> str:
    """'No conversation with id conv_1.', or without the id when it is not fit to quote."""
    return f"No {thing} with id {value}." if quotable(value) else f"No {thing} with that id."


def error_body(code: str, message: str, *, field: str | None = None,
               details: list[dict[str, str]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "request_id": context.request_id()}
    if field:
        error["field"] = field
    if details:
        error["details"] = details
    return {"error": error}


def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
    response = jsonify(error_body(code, message, **extra))
    response.status_code = status
    return response


def body_for(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """Status and JSON body for an exception; used by the handlers and by the SSE ``error`` event."""
    if isinstance(exc, AssistantError):
        details = exc.details if isinstance(exc, InvalidRequest) else None
        return exc.status, error_body(exc.code, exc.message, field=exc.field, details=details)
    if isinstance(exc, HTTPException) and exc.code:
        return exc.code, error_body(HTTP_CODES.get(exc.code, "http_error"), _http_message(exc))
    return 500, error_body("internal_error", "The service could not complete the request. "
                                             "Quote the request id if you report this.")


def _http_message(exc: HTTPException) -> str:
    path = request.path if quotable(request.path) else "this path"
    if exc.code == 404:
        return f"Nothing is served at {path}."
    if exc.code == 405:
        allowed = ", ".join(sorted(m for m in (exc.valid_methods or []) if m not in {"HEAD", "OPTIONS"}))
        return f"{request.method} is not allowed on {path}; use {allowed}."
    if exc.code == 413:
        return f"The request body is larger than the limit of {current_app.config['MAX_CONTENT_LENGTH']} bytes."
    if exc.code == 429:
        return f"Too many requests (limit: {exc.description}). Retry after the time in the Retry-After header."
    described = exc.description if exc.description != type(exc).description else None
    return described or exc.name


def speak(app: Flask, path: str, dialect: Dialect) -> None:
    """Answer errors under ``path`` (the path itself and below it) in ``dialect``, e.g. OpenAI's error shape.

    Chosen by path rather than by blueprint so that routing failures (404, 405), which belong to no
    blueprint, are in the protocol's shape too.
    """
    app.extensions.setdefault(DIALECTS, []).append((path.rstrip("/"), dialect))


def in_dialect(status: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The error as the current request's protocol spells it (our own shape unless a dialect claims the path)."""
    for path, dialect in current_app.extensions.get(DIALECTS, []):
        if request.path == path or request.path.startswith(path + "/"):
            return dialect(status, body)
    return status, body


def init_app(app: Flask) -> None:
    app.register_error_handler(AssistantError, _assistant_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _assistant_error(exc: AssistantError) -> Response:
    status, body = in_dialect(*body_for(exc))
    if status >= 500:
        log.warning("request failed: %s", exc.code, extra={"fields": {"code": exc.code, "status": status}})
    response = jsonify(body)
    response.status_code = status
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE_S)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="assistant"'
    return response


def _http_error(exc: HTTPException) -> Response:
    status, body = in_dialect(*body_for(exc))
    response = exc.get_response()  # keeps Allow, Retry-After and friends
    response.set_data(jsonify(body).get_data())
    response.content_type = "application/json"
    response.status_code = status
    return response


def _unexpected(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):  # pragma: no cover - Flask routes these to _http_error
        return _http_error(exc)
    log.exception("unexpected error", extra={"fields": {"path": request.path, "method": request.method}})
    status, body = in_dialect(*body_for(exc))
    response = jsonify(body)
    response.status_code = status
    return response
