"""Fixtures for the HTTP layer: the real app over the real index of the shipped corpus.

Each test gets its own app and its own SQLite conversation store under ``tmp_path``; the
embedding model and the shipped index are built once per session (tests/conftest.py), so a
fresh app costs well under a second.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import BaseWSGIServer, make_server

from assistant.index import MiniLMEmbedder
from assistant.services import build_services
from assistant.settings import Settings, WebSettings
from assistant.web import create_app
from tests.fakes import free_port

AppFactory = Callable[..., Flask]
# Generous by default so tables of bad input never trip the limiter; the limiter has its own test.
TEST_RATE_LIMIT = "10000/minute"


def web_settings(base: Settings, tmp_path: Path, **web: Any) -> Settings:
    values: dict[str, Any] = {"conversations_url": f"sqlite:///{tmp_path / 'conversations.sqlite3'}",
                              "rate_limit": TEST_RATE_LIMIT}
    values.update(web)
    return base.model_copy(update={"web": WebSettings(**{**base.web.model_dump(), **values})})


@pytest.fixture
def make_app(shipped_settings: Settings, embedder: MiniLMEmbedder, tmp_path: Path) -> AppFactory:
    """Build an app over the shipped index with some web settings changed, e.g. ``make_app(api_keys=["k"])``."""

    def build(settings: Settings | None = None, **web: Any) -> Flask:
        settings = web_settings(settings or shipped_settings, tmp_path, **web)
        app = create_app(settings, build_services(settings, embedder=embedder))
        app.testing = True
        return app

    return build


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()




@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """The app on a loopback port in a thread (werkzeug, threaded); yields its base URL."""
    server: BaseWSGIServer = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    with serving(app) as url:
        yield url
