"""Rate limits hold across gunicorn workers when they share a Redis, while the API is under load.

flask-limiter's default memory storage counts per process, so with two workers a client could get
twice its limit. With ``rate_limit_storage`` pointing at Redis, the count is shared: a client over
its limit gets 429s whichever worker answers, and clients with their own keys are unaffected.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest

from assistant.evaluation.load import LoadPlan, LoadResult, run_load
from assistant.evaluation.served import serve
from assistant.settings import Settings, WebSettings
from tests import servers
from tests.fakes import free_port
from tests.web.conftest import AppFactory

LIMIT = 30
NORMAL_KEYS = [f"normal-key-{n}" for n in range(4)]
GREEDY_KEY = "greedy-key"
QUESTIONS = ["What did the TRANSFORM-2 trial find?", "How quickly does IV ketamine act?"]


@pytest.mark.slow
def test_a_client_over_its_limit_gets_429s_on_every_worker_and_others_are_unaffected(
        shipped_settings: Settings, tmp_path: Path) -> None:
    with servers.redis_server(tmp_path / "redis") as redis_url:
        web = {**shipped_settings.web.model_dump(), "api_keys": [*NORMAL_KEYS, GREEDY_KEY],
               "rate_limit": f"{LIMIT}/minute", "rate_limit_storage": redis_url,
               "conversations_url": f"sqlite:///{tmp_path / 'conversations.sqlite3'}"}
        settings = shipped_settings.model_copy(update={"web": WebSettings(**web)})
        with serve(settings, tmp_path / "serve.log", workers=2, threads=2) as served:
            greedy: Counter[int] = Counter()
            retry_after: set[str | None] = set()

            def hammer() -> None:
                # A fresh connection per request, so the kernel spreads them over both workers.
                headers = {"Authorization": f"Bearer {GREEDY_KEY}", "Connection": "close"}
                with httpx.Client(base_url=served.base_url, headers=headers, timeout=30) as http:
                    for _ in range(15):
                        response = http.get("/v1/sources")
                        greedy[response.status_code] += 1
                        if response.status_code == 429:
                            retry_after.add(response.headers.get("Retry-After"))
                            assert response.json()["error"]["code"] == "rate_limited"

            # Four well-behaved clients hold conversations (their own keys, 6 turns each, under the limit)
            # while the greedy client sends 90 requests from six threads.
            results: list[LoadResult] = []
            plan = LoadPlan(clients=4, duration_s=120, turns_per_conversation=6, api_keys=NORMAL_KEYS, max_requests=6)
            normal = threading.Thread(target=lambda: results.append(run_load(served.base_url, QUESTIONS, plan)))
            threads = [threading.Thread(target=hammer) for _ in range(6)]
            normal.start()
            for thread in threads:
                thread.start()
            for thread in [*threads, normal]:
                thread.join()

            assert greedy == {200: LIMIT, 429: 90 - LIMIT}
            assert retry_after and all(value and value.isdigit() and int(value) > 0 for value in retry_after)
            (load,) = results
            assert load.errors == [], load.error_kinds()
            assert len(load.completed) == 4 * 6

            # The greedy client's accepted requests were answered by both workers: the limit was shared.
            served_by = {entry["pid"] for entry in _access_log(served.log_path)
                         if entry.get("path") == "/v1/sources" and entry.get("status") == 200}
            assert len(served_by) == 2, served_by


def _access_log(path: Path) -> list[dict[str, object]]:
    entries = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            entries.append(json.loads(line))
    return entries


def test_when_the_shared_limit_store_is_down_requests_are_served_not_refused(make_app: AppFactory) -> None:
    """Availability over strictness: a Redis outage must not take the API down with it."""
    client = make_app(rate_limit="2/minute", rate_limit_storage=f"redis://127.0.0.1:{free_port()}").test_client()
    statuses = [client.get("/v1/sources").status_code for _ in range(4)]
    assert statuses == [200] * 4
    assert client.post("/v1/chat", json={"message": "What did TRANSFORM-2 find?"}).status_code == 200
