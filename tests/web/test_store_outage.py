"""The stores go away and come back while the app runs: the vector store (a Chroma server, under
`assistant serve`) and the conversation store (PostgreSQL).

While a store is down, requests that need it get a clear 503 (quickly, not a hung request) and
/readyz says why; nothing crashes, so the same workers are still there; once the store is back,
service resumes without restarting the app.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest

from assistant.evaluation.served import serve
from assistant.settings import IndexSettings, Settings, WebSettings
from tests import servers
from tests.web.conftest import AppFactory

pytestmark = pytest.mark.slow

QUESTION = {"message": "What did the TRANSFORM-2 trial of esketamine nasal spray find?"}


def ask(base: str) -> httpx.Response:
    return httpx.post(base + "/v1/chat", json=QUESTION, timeout=30)


def test_a_store_outage_gives_503s_and_service_resumes_when_the_store_returns(
        shipped_settings: Settings, tmp_path: Path) -> None:
    # The Chroma server serves a copy of the shipped index, so nothing is re-embedded.
    data = tmp_path / "chroma-server"
    shutil.copytree(shipped_settings.chroma_path, data)
    chroma = servers.ChromaServer(data)
    chroma.start()
    try:
        settings = shipped_settings.model_copy(update={
            "index": IndexSettings(chroma_url=chroma.url, reload_interval_s=5.0),
            "web": WebSettings(**{**shipped_settings.web.model_dump(), "rate_limit": "10000/minute",
                                  "conversations_url": f"sqlite:///{tmp_path / 'conversations.sqlite3'}"})})
        with serve(settings, tmp_path / "serve.log", workers=2, threads=2) as served:
            workers = served.worker_pids()
            assert ask(served.base_url).status_code == 200

            chroma.stop()
            for _ in range(6):  # enough to reach both workers
                started = time.monotonic()
                response = ask(served.base_url)
                assert response.status_code == 503, response.text
                assert time.monotonic() - started < 10
                error = response.json()["error"]
                assert error["code"] == "index_unavailable"
                assert "vector" in error["message"].lower() or "index" in error["message"].lower()
                assert "Traceback" not in response.text
            ready = httpx.get(served.base_url + "/readyz", timeout=30)
            assert ready.status_code == 503
            assert ready.json()["ready"] is False and "vector store" in ready.json()["reason"].lower()

            chroma.start()  # same port, same data
            deadline = time.monotonic() + 30
            while ask(served.base_url).status_code != 200:
                assert time.monotonic() < deadline, "service did not resume within 30 s of the store's return"
                time.sleep(0.5)
            assert all(ask(served.base_url).status_code == 200 for _ in range(6))
            assert httpx.get(served.base_url + "/readyz", timeout=30).json()["ready"] is True
            assert served.worker_pids() == workers  # nothing crashed, nothing was restarted
    finally:
        chroma.stop()


def test_a_conversation_store_outage_gives_503s_and_the_conversation_resumes(make_app: AppFactory) -> None:
    database = servers.PostgresServer()
    try:
        database.start()
        url = servers.fresh_database(database.url, "outage")
        client = make_app(conversations_url=url).test_client()
        first = client.post("/v1/chat", json=QUESTION)
        assert first.status_code == 200
        conversation = first.get_json()["conversation_id"]

        database.stop()
        for request in (lambda: client.post("/v1/chat", json=QUESTION),
                        lambda: client.post("/v1/chat", json={**QUESTION, "conversation_id": conversation}),
                        lambda: client.get(f"/v1/conversations/{conversation}")):
            response = request()
            assert response.status_code == 503, response.get_data(as_text=True)
            assert response.get_json()["error"]["code"] == "store_unavailable"
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "conversation store" in ready.get_json()["reason"]

        database.start()
        again = client.post("/v1/chat", json={**QUESTION, "conversation_id": conversation})
        assert again.status_code == 200, again.get_data(as_text=True)
        assert len(client.get(f"/v1/conversations/{conversation}").get_json()["turns"]) == 2
        assert client.get("/readyz").status_code == 200
    finally:
        database.remove()


def test_the_app_starts_while_the_conversation_store_is_down_and_migrates_when_it_returns(
        make_app: AppFactory) -> None:
    database = servers.PostgresServer()
    try:
        database.start()
        url = servers.fresh_database(database.url, "late")
        database.stop()
        client = make_app(conversations_url=url).test_client()
        assert client.get("/readyz").status_code == 503
        assert client.post("/v1/chat", json=QUESTION).status_code == 503

        database.start()
        assert client.get("/readyz").status_code == 200
        assert client.post("/v1/chat", json=QUESTION).status_code == 200
    finally:
        database.remove()
