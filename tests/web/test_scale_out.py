"""The scale path as configured, not only on paper: two `assistant serve` instances on different
ports share one Chroma server, one PostgreSQL conversation store and one Redis for rate limits.

A user's conversation may land on either instance behind a load balancer: it starts on one and
continues on the other, feedback and deletion work from either, and a rate limit counts requests
to both. docs/deployment.md maps this onto several hosts.
"""

from __future__ import annotations

import shutil
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from assistant.evaluation.served import serve
from assistant.settings import IndexSettings, Settings, WebSettings
from tests import servers

pytestmark = pytest.mark.slow

USER_KEY, GREEDY_KEY = "user-key", "greedy-key"
LIMIT = 8


def test_a_conversation_started_on_one_instance_continues_on_the_other(
        shipped_settings: Settings, postgres: str, tmp_path: Path) -> None:
    shutil.copytree(shipped_settings.chroma_path, tmp_path / "chroma-server")
    with ExitStack() as stack:
        chroma = stack.enter_context(servers.chroma_server(tmp_path / "chroma-server"))
        redis_url = stack.enter_context(servers.redis_server(tmp_path / "redis"))
        database = servers.fresh_database(postgres, f"scale_{uuid.uuid4().hex[:8]}")
        settings = shipped_settings.model_copy(update={
            "index": IndexSettings(chroma_url=chroma.url),
            "web": WebSettings(conversations_url=database, rate_limit_storage=redis_url,
                               rate_limit=f"{LIMIT}/minute", api_keys=[USER_KEY, GREEDY_KEY])})
        a = stack.enter_context(serve(settings, tmp_path / "a.log", workers=1, threads=2))
        b = stack.enter_context(serve(settings, tmp_path / "b.log", workers=1, threads=2))
        assert a.base_url != b.base_url
        user = {"Authorization": f"Bearer {USER_KEY}"}

        first = httpx.post(a.base_url + "/v1/chat", headers=user, timeout=60,
                           json={"message": "What did the TRANSFORM-2 trial of esketamine nasal spray find?"})
        assert first.status_code == 200, first.text
        conversation = first.json()["conversation_id"]

        follow_up = httpx.post(b.base_url + "/v1/chat", headers=user, timeout=60,
                               json={"message": "What were its most common side effects?",
                                     "conversation_id": conversation})
        assert follow_up.status_code == 200, follow_up.text
        assert follow_up.json()["conversation_id"] == conversation
        # Instance b read the first turn from the shared store: the follow-up was resolved against it.
        assert "esketamine" in follow_up.json()["standalone_query"].lower()

        stored = httpx.get(f"{a.base_url}/v1/conversations/{conversation}", headers=user, timeout=30).json()
        assert [turn["message_id"] for turn in stored["turns"]] == [first.json()["message_id"],
                                                                   follow_up.json()["message_id"]]
        assert httpx.post(b.base_url + "/v1/feedback", headers=user, timeout=30, json={
            "message_id": first.json()["message_id"], "rating": "up"}).status_code in {200, 201}

        # One limit across both instances: the greedy key gets LIMIT answers in all, wherever it asks.
        greedy = {"Authorization": f"Bearer {GREEDY_KEY}"}
        statuses = [httpx.get(base + "/v1/sources", headers=greedy, timeout=30).status_code
                    for base in [a.base_url, b.base_url] * LIMIT]
        assert statuses.count(200) == LIMIT and statuses.count(429) == LIMIT

        assert httpx.delete(f"{b.base_url}/v1/conversations/{conversation}", headers=user,
                            timeout=30).status_code in {200, 204}
        assert httpx.get(f"{a.base_url}/v1/conversations/{conversation}", headers=user,
                         timeout=30).status_code == 404
