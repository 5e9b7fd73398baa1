"""The Flask application factory: thin blueprints over the shared services.

``create_app`` wires the app from parts that each do one job (request ids, logs, metrics,
errors, security, one blueprint per area) and warms the models and the index before the first
request, so under gunicorn each worker pays the start-up cost once, when it boots. A missing
index does not stop the app: it starts, reports not-ready on /readyz and answers 503.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask

from assistant.errors import AssistantError
from assistant.services import Services, build_services
from assistant.settings import Settings, load_settings
from assistant.slack import init_slack
from assistant.web import (
    ai_sdk,
    chat,
    context,
    conversations,
    errors,
    health,
    logs,
    metrics,
    openai_api,
    openapi,
    security,
    sources,
    widget,
)

log = logging.getLogger("assistant.web")


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    settings = settings or (services.settings if services else load_settings())
    logs.configure_logging(settings.log_level)
    services = services or build_services(settings)

    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.web.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["assistant"] = services

    context.init_app(app)  # first: every later hook and handler may use the request id
    logs.init_app(app)
    metrics.init_app(app)
    errors.init_app(app)

    api = Blueprint("v1", __name__, url_prefix="/v1")
    for area in (chat.bp, conversations.bp, sources.bp, openai_api.bp):
        api.register_blueprint(area)
    openai_api.init_app(app)
    ui = Blueprint("api", __name__, url_prefix="/api")  # the AI SDK's default path, /api/chat
    ui.register_blueprint(ai_sdk.bp)
    app.extensions["assistant.limiter"] = security.init_app(app, settings.web, api, ui)
    app.register_blueprint(api)
    app.register_blueprint(ui)
    for area in (health.bp, openapi.bp, widget.bp):
        app.register_blueprint(area)

    warm_up(services)
    slack = init_slack(app, services)  # POST /slack/events, only when a Slack signing secret is configured
    if slack is not None:
        health.add_component(app, "slack", slack.readiness)
    return app


def warm_up(services: Services) -> None:
    """Load the embedding models and the index snapshot now rather than on the first question."""
    services.embedder.embed_query("warm-up")
    services.answers.triage.warm_up()
    try:
        snapshot = services.index.snapshot()
    except AssistantError as exc:
        log.warning("index not ready at start-up: %s", exc.message)
        return
    services.answers.questions.document_labels(snapshot)  # the generation's vocabulary, read once
    log.info("index loaded", extra={"fields": {"collection": snapshot.name, "documents": len(snapshot.documents)}})
