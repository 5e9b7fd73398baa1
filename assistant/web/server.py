"""gunicorn, started from Python so `assistant serve` needs no separate config file."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from assistant.settings import Settings

GRACEFUL_TIMEOUT_S = 20
DRAIN_MARGIN_S = 2  # leave the worker time to exit before gunicorn's SIGKILL


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # Runs in each worker after the fork: models and the index load once per worker.
        from assistant.web import create_app

        return create_app(self.settings)


def _worker_exit(_server: Any, worker: Any) -> None:
    """On SIGTERM (a redeploy), answer the Slack events this worker already acknowledged."""
    from assistant.slack import drain_slack

    app = getattr(worker, "wsgi", None)
    if isinstance(app, Flask):
        drain_slack(app, GRACEFUL_TIMEOUT_S - DRAIN_MARGIN_S)


def run(settings: Settings, host: str, port: int, workers: int, threads: int) -> None:
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        # Each worker listens on its own SO_REUSEPORT socket, so the kernel spreads new connections
        # across workers. With one shared socket, the first idle worker accepts every keep-alive
        # connection of a burst and serves it alone while the other workers sit idle.
        "reuse_port": True,
        "timeout": 120,
        "graceful_timeout": GRACEFUL_TIMEOUT_S,
        "worker_exit": _worker_exit,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
    }
    _Server(settings, options).run()
