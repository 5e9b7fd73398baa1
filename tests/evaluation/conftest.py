"""Fixtures for replay tests: the real service stack over the shipped index, a fresh SQLite store each."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from assistant.index import MiniLMEmbedder
from assistant.services import Services, build_services
from assistant.settings import Settings, WebSettings
from tests.conftest import REPO
from tests.fakes import free_port

EVAL_FILE = REPO / "eval" / "conversations.jsonl"
# Every kind, a two-turn follow-up and an injection after a clinical turn; small enough to run in seconds.
SUBSET = ("c001", "c035", "c051", "c059", "c066", "c073", "c082")


def eval_lines(*ids: str) -> list[str]:
    lines = [line for line in EVAL_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    chosen = {json.loads(line)["id"]: line for line in lines}
    return [chosen[i] for i in ids]


def write_cases(path: Path, lines: list[str | dict[str, Any]]) -> Path:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    path.write_text(text + "\n", encoding="utf-8")
    return path


@pytest.fixture
def replay_settings(shipped_settings: Settings, tmp_path: Path) -> Settings:
    """The shipped index, with conversations in this test's own SQLite file and a limit no test trips."""
    web = WebSettings(**{**shipped_settings.web.model_dump(), "rate_limit": "10000/minute",
                         "conversations_url": f"sqlite:///{tmp_path / 'conversations.sqlite3'}"})
    return shipped_settings.model_copy(update={"web": web})


@pytest.fixture
def replay_services(replay_settings: Settings, embedder: MiniLMEmbedder) -> Services:
    return build_services(replay_settings, embedder=embedder)


@pytest.fixture
def subset_file(tmp_path: Path) -> Path:
    return write_cases(tmp_path / "subset.jsonl", eval_lines(*SUBSET))


@pytest.fixture
def cli_env(replay_settings: Settings, embedder: MiniLMEmbedder, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment that points `assistant` at the test's settings; the CLI reuses the session's model."""
    import assistant.services

    real = assistant.services.build_services
    monkeypatch.setattr(assistant.services, "build_services",
                        lambda settings, embedder_=None: real(settings, embedder=embedder))
    return {
        "ASSISTANT_DATA_DIR": str(replay_settings.data_dir),
        "ASSISTANT_CORPUS_DIR": str(replay_settings.corpus_dir),
        "ASSISTANT_PROMPTS_DIR": str(replay_settings.prompts_dir),
        "ASSISTANT_INDEX__RELOAD_INTERVAL_S": "0",
        "ASSISTANT_WEB__CONVERSATIONS_URL": str(replay_settings.web.conversations_url),
    }




@pytest.fixture
def serve() -> Iterator[Callable[[Settings, MiniLMEmbedder], str]]:
    """Start the real app on a loopback port in a thread; returns its base URL. Stopped after the test."""
    from assistant.web import create_app

    servers: list[tuple[BaseWSGIServer, threading.Thread]] = []

    def start(settings: Settings, embedder: MiniLMEmbedder) -> str:
        app = create_app(settings, build_services(settings, embedder=embedder))
        server = make_server("127.0.0.1", free_port(), app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="replay-live-server", daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
