"""Reading a JSON request body into its model, with one precise error per kind of mistake.

The order of the checks is the order a client needs the answers in: wrong content type (415)
before too large (413, raised by werkzeug while reading) before not JSON (400) before wrong
shape (422). Validation is strict, so ``"stream": "yes"`` is refused rather than guessed at.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import UnsupportedMediaType

from assistant.errors import BadRequest
from assistant.web.errors import InvalidRequest

M = TypeVar("M", bound=BaseModel)


def parse_json(model: type[M], context: dict[str, Any] | None = None) -> M:
    _require_json_content_type()
    raw = request.get_data(cache=True)  # werkzeug raises 413 past MAX_CONTENT_LENGTH
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


def _decode(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The body is not valid UTF-8.") from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"The body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except RecursionError:
        raise BadRequest("The body is not valid JSON: it is nested too deeply.") from None


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a JSON value", name, 0)


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
