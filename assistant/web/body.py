"""Reading a JSON request body into its model, with one precise error per kind of mistake.

The order of the checks is the order a client needs the answers in: wrong content type (415)
before too large (413) before not JSON (400) before wrong
shape (422). Validation is strict, so ``"stream": "yes"`` is refused rather than guessed at.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from flask import current_app, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from assistant.errors import BadRequest
from assistant.web.errors import InvalidRequest

M = TypeVar("M", bound=BaseModel)


def parse_json(model: type[M], context: dict[str, Any] | None = None) -> M:
    _require_json_content_type()
    raw = _read_body()
    data = _decode(raw)
    if not isinstance(data, dict):
        raise InvalidRequest(f"The body must be a JSON object, not {_json_type(data)}.")
    try:
        return model.model_validate(data, strict=True, context=context)
    except ValidationError as exc:
        raise InvalidRequest.from_pydantic(exc) from None


def _require_json_content_type() -> None:
    mimetype = request.mimetype
    if not (mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))):
        got = mimetype or "none"
        raise UnsupportedMediaType(f"Send the body as application/json (got {got}).")
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in {"utf-8", "utf8"}:
        raise UnsupportedMediaType(f"Send the body as UTF-8 (got charset {charset}).")


def _read_body() -> bytes:
    """The body, refusing anything over the limit with a 413.

    werkzeug raises 413 itself when Content-Length is too large, but a chunked body (no
    Content-Length) is cut off silently at the limit; a body that fills the limit is therefore
    treated as too large rather than parsed truncated.
    """
    raw = request.get_data(cache=True)
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if request.content_length is None and limit is not None and len(raw) >= limit:
        raise RequestEntityTooLarge()
    return raw


def _decode(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The body is not valid UTF-8.") from None
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_number, parse_int=_integer)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"The body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except RecursionError:
        raise BadRequest("The body is not valid JSON: it is nested too deeply.") from None


def _number(literal: str) -> int | float:
    """A number whose fraction is zero is an integer, as JSON Schema counts it: ``2015.0`` is ``2015``.

    The OpenAPI document promises integers by JSON Schema's rule, and the strict models refuse a
    Python float where they want an int; without this, ``"year_min": 2015.0`` would be a 422 for a
    request the document calls valid. Anything with a real fraction stays a float and is refused.
    """
    value = float(literal)
    return int(value) if value.is_integer() else value


def _integer(literal: str) -> int:
    """An integer literal; one longer than Python will convert (``sys.get_int_max_str_digits``, 4300 digits by
    default) is the client's mistake, a 400 like any unreadable body, not a ``ValueError`` that ends in a 500."""
    try:
        return int(literal)
    except ValueError:
        raise BadRequest(f"The body holds an integer of {len(literal.lstrip('-'))} digits, too long to read.") from None


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a JSON value", name, 0)


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
