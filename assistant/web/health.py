"""Liveness and readiness, for load balancers and orchestrators.

``/healthz`` says only that the process answers, so a slow index never gets a healthy worker
restarted. ``/readyz`` says whether requests can be served: the index is loaded and the vector
store and conversation store answer; otherwise 503 with the reason. Optional parts (the Slack
bot) report under ``details`` and never make the HTTP API unready: a bot without a token is a
bot that is off, not a service that is down.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Flask, Response, current_app, jsonify

from assistant.errors import AssistantError
from assistant.web import context
from assistant.web.errors import error_body
from assistant.web.schemas import ComponentReadiness, Health, Readiness

bp = Blueprint("health", __name__)
COMPONENTS = "assistant.components"


def add_component(app: Flask, name: str, check: Callable[[], ComponentReadiness]) -> None:
    """Report an optional part's state under ``details.<name>`` of ``/readyz``."""
    app.extensions.setdefault(COMPONENTS, {})[name] = check


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(Health(status="ok").model_dump(mode="json"))


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    services = context.services()
    status = services.index.status()
    if status["ready"]:
        try:
            services.conversations.ping()
        except AssistantError as exc:
            status = {"ready": False, "reason": exc.message}
    checks: dict[str, Callable[[], ComponentReadiness]] = current_app.extensions.get(COMPONENTS, {})
    details = {name: check() for name, check in checks.items()} or None
    if not status["ready"]:
        error = error_body("not_ready", status["reason"])["error"]
        body = Readiness(ready=False, reason=status["reason"], error=error, details=details)
        return jsonify(body.model_dump(mode="json", exclude_none=True)), 503
    return jsonify(Readiness(**status, details=details).model_dump(mode="json", exclude_none=True)), 200
