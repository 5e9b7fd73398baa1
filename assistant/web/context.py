"""Per-request context every other web module relies on: the request id, the clock, the services.

The request id is the thread that ties a client's error report to the server's log line, so it is
assigned before anything else runs and returned on every response, errors included. A client's
own ``X-Request-ID`` is echoed when it is short and plain; anything else is replaced, so a
hostile header cannot forge log lines or bloat them.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import cast

from flask import Flask, Response, current_app, g, has_request_context, request

from assistant.services import Services

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_stamp)


def _start() -> None:
    g.started = time.perf_counter()
    supplied = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = supplied if _SANE_REQUEST_ID.match(supplied) else uuid.uuid4().hex


def _stamp(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = request_id()
    return response


def request_id() -> str:
    """The current request's id; outside a request (or before ``_start`` ran) a fresh one."""
    if has_request_context():
        if "request_id" not in g:
            g.request_id = uuid.uuid4().hex
        return cast(str, g.request_id)
    return uuid.uuid4().hex


def elapsed() -> float:
    """Seconds since the request started (0 when the start hook never ran, e.g. a routing failure)."""
    started = g.get("started")
    return time.perf_counter() - started if started is not None else 0.0


def services() -> Services:
    return cast(Services, current_app.extensions["assistant"])


def when_finished(response: Response, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the body has been sent.

    A streamed answer takes most of its time after the view returns, so logging and metrics for
    a stream wait for the generator to end (or for the client to go away); an ordinary response
    is finished already.
    """
    if response.is_streamed:
        response.response = _then(cast(Iterable[bytes], response.response), callback)
    else:
        callback()


def _then(body: Iterable[bytes], callback: Callable[[], None]) -> Iterator[bytes]:
    try:
        yield from body
    finally:
        callback()
