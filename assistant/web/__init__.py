"""The Flask application factory."""

from __future__ import annotations

from flask import Flask, jsonify

from assistant.services import Services, build_services
from assistant.settings import Settings, load_settings


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    settings = settings or load_settings()
    services = services or build_services(settings)
    app = Flask(__name__)
    app.extensions["assistant"] = services

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz():  # type: ignore[no-untyped-def]
        status = services.index.status()
        return jsonify(status), 200 if status["ready"] else 503

    return app
