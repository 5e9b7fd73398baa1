"""A missing or damaged index at start-up: the app starts, says why it is not ready, and becomes
ready once `assistant ingest` (another process, as an operator would run it) has built or repaired
the index, without restarting the app."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.settings import Settings, to_env
from tests.conftest import SHIPPED_CORPUS, make_settings
from tests.web.conftest import AppFactory

DOCS = ["zarate2006", "popova2019", "daly2019"]
QUESTION = {"message": "What did the TRANSFORM-2 trial of esketamine nasal spray find?"}


def small_corpus_settings(root: Path) -> Settings:
    settings = make_settings(root)
    settings.corpus_dir.mkdir(parents=True)
    for doc in DOCS:
        shutil.copy(SHIPPED_CORPUS / f"{doc}.md", settings.corpus_dir)
    return settings


def run_ingest(settings: Settings) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", "--quiet"], capture_output=True,
                            text=True, timeout=300, env={**to_env(settings), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.slow
def test_a_missing_index_is_reported_and_ingest_makes_the_running_app_ready(
        make_app: AppFactory, tmp_path: Path) -> None:
    settings = small_corpus_settings(tmp_path)
    client = make_app(settings).test_client()
    assert client.get("/readyz").status_code == 503
    assert client.post("/v1/chat", json=QUESTION).status_code == 503

    run_ingest(settings)
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["documents"] == len(DOCS)
    assert client.post("/v1/chat", json=QUESTION).status_code == 200


@pytest.mark.slow
def test_a_damaged_index_is_reported_and_ingest_repairs_it_for_the_running_app(
        make_app: AppFactory, tmp_path: Path) -> None:
    settings = small_corpus_settings(tmp_path)
    run_ingest(settings)
    (settings.chroma_path / "chroma.sqlite3").write_bytes(b"not a database" * 100)

    client = make_app(settings).test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "assistant ingest" in response.get_json()["reason"]
    chat = client.post("/v1/chat", json=QUESTION)
    assert chat.status_code == 503 and chat.get_json()["error"]["code"] == "index_unavailable"

    repaired = run_ingest(settings)
    assert "damaged" in repaired.stderr and "rebuilt" in repaired.stderr
    assert list(settings.data_dir.glob("chroma.damaged-*"))
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    assert client.post("/v1/chat", json=QUESTION).status_code == 200
