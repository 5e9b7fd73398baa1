"""Liveness and readiness, for load balancers and orchestrators.

``/healthz`` says only that the process answers, so a slow index never gets a healthy worker
restarted. ``/readyz`` says whether requests can be served: the index is loaded and the vector
store and conversation store answer; otherwise 503 with the reason.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from assistant.errors import AssistantError
from assistant.schemas import Health, Readiness
from assistant.web import context
from assistant.web.errors import error_body

bp = Blueprint("health", __name__)


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
    if not status["ready"]:
        error = error_body("not_ready", status["reason"])["error"]
        body = Readiness(ready=False, reason=status["reason"], error=error)
        return jsonify(body.model_dump(mode="json", exclude_none=True)), 503
    return jsonify(Readiness(**status).model_dump(mode="json", exclude_none=True)), 200
