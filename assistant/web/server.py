"""gunicorn, started from Python so `assistant serve` needs no separate config file."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from assistant.settings import Settings


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
        "graceful_timeout": 20,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
    }
    _Server(settings, options).run()
