"""`assistant ingest --rebuild` while `assistant serve` answers: no failed request, no downtime,
and every worker answers from the new index generation afterwards.

The workers only read the store; the rebuild writes a new generation beside the serving one and
flips the alias when it is complete, and each worker notices the flip within its reload interval.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from assistant.evaluation.load import LoadPlan, LoadResult, run_load
from assistant.evaluation.served import serve
from assistant.index import MiniLMEmbedder, VectorStore
from assistant.index.ingest import ingest
from assistant.settings import IndexSettings, WebSettings, to_env
from tests.conftest import SHIPPED_CORPUS, make_settings

pytestmark = pytest.mark.slow

DOCS = ["berman2000", "zarate2006", "murrough2013ajp", "popova2019", "daly2019", "fedgchin2019"]
QUESTIONS = ["What did the TRANSFORM-2 trial find?", "How fast did ketamine act in the Zarate trial?",
             "Did esketamine delay relapse in SUSTAIN-1?"]


def test_a_rebuild_while_serving_fails_no_request_and_switches_every_worker(
        tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    settings = make_settings(tmp_path, corpus_dir=tmp_path / "corpus", index=IndexSettings(reload_interval_s=1.0),
                             web=WebSettings(rate_limit="10000/minute",
                                             conversations_url=f"sqlite:///{tmp_path / 'c.sqlite3'}"))
    settings.corpus_dir.mkdir()
    for doc in DOCS:
        shutil.copy(next(SHIPPED_CORPUS.glob(f"{doc}*.md")), settings.corpus_dir)
    first = ingest(VectorStore(settings.index, settings.chroma_path, embedder), settings.index, settings.corpus_dir)

    with serve(settings, tmp_path / "serve.log", workers=2, threads=2) as served:
        assert collections_seen(served.base_url) == {first.collection}
        results: list[LoadResult] = []
        stop = threading.Event()
        load = threading.Thread(target=lambda: results.append(
            run_load(served.base_url, QUESTIONS, LoadPlan(clients=4, duration_s=300), stop)))
        load.start()
        try:
            rebuild = subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", "--rebuild", "--quiet"],
                                     env={**to_env(settings), "PATH": "/usr/bin:/bin"}, capture_output=True,
                                     text=True, timeout=300)
            assert rebuild.returncode == 0, rebuild.stderr
            new = VectorStore(settings.index, settings.chroma_path, embedder).active()
            assert new is not None and new[0] != first.collection
            deadline = time.monotonic() + 20
            while collections_seen(served.base_url) != {new[0]}:
                assert time.monotonic() < deadline, "a worker still serves the old generation"
            time.sleep(2)  # keep answering from the new generation for a while
        finally:
            stop.set()
            load.join()
        (result,) = results
        assert result.errors == [], result.error_kinds()
        assert len(result.completed) > 20


def collections_seen(base: str, probes: int = 12) -> set[str]:
    """Generations named by /readyz over fresh connections, which the kernel spreads over the workers."""
    return {httpx.get(base + "/readyz", timeout=10).json().get("collection", "none") for _ in range(probes)}
