"""Shared fixtures: real components on small, temporary data."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.index import LiveIndex, MiniLMEmbedder, VectorStore
from assistant.index.embeddings import E5Embedder
from assistant.index.ingest import ingest
from assistant.services import Services, build_services
from assistant.settings import IndexSettings, Settings

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
SHIPPED_CORPUS = REPO / "corpus"
SERVICE_INDEX = REPO / "data" / "chroma"  # what `make index` builds


def front_matter(doc_id: str, **overrides: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "id": doc_id,
        "title": f"A test document called {doc_id}",
        "authors": "Tester A, et al.",
        "year": 2015,
        "journal": "Journal of Tests",
        "volume": "1(1)",
        "pages": "1-2",
        "doi": f"10.5555/{doc_id}",
        "pmid": None,
        "url": None,
        "design": "randomized controlled trial",
        "design_detail": "Double-blind test design",
        "evidence_level": 2,
        "population": "Adults with test depression",
        "n": 40,
        "n_detail": "40 randomized",
        "intervention": "IV ketamine 0.5 mg/kg",
        "comparator": "saline",
        "outcomes": "MADRS change",
        "route": ["IV"],
        "topics": ["efficacy"],
    }
    meta.update(overrides)
    return {k: v for k, v in meta.items() if v is not ...}


def write_doc(folder: Path, doc_id: str, body: str | None = None, **overrides: Any) -> Path:
    """Write a valid Markdown source; pass a field as ``...`` to leave it out."""
    folder.mkdir(parents=True, exist_ok=True)
    body = body or (
        f"## Summary\nIn the {doc_id} test trial, ketamine improved test scores.\n\n"
        f"## Results\nIn the {doc_id} test trial, MADRS scores fell by 10 points at 24 hours.\n"
    )
    path = folder / f"{doc_id}.md"
    path.write_text("---\n" + yaml.safe_dump(front_matter(doc_id, **overrides), sort_keys=False) + "---\n" + body)
    return path


@pytest.fixture(scope="session")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


@pytest.fixture(scope="session")
def second_embedder() -> E5Embedder:
    """The triage's multilingual-e5 embedder; its model is shared by every instance in the process, so the
    session loads it once whichever test needs it first."""
    return E5Embedder()


def make_settings(root: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": root / "data",
        "corpus_dir": root / "corpus",
        "prompts_dir": REPO / "prompts",
        "index": IndexSettings(reload_interval_s=0),
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def store(settings: Settings, embedder: MiniLMEmbedder) -> VectorStore:
    return VectorStore(settings.index, settings.chroma_path, embedder)


@pytest.fixture(scope="session")
def shipped_settings(tmp_path_factory: pytest.TempPathFactory, embedder: MiniLMEmbedder) -> Settings:
    """Settings whose data directory holds an index of the shipped corpus, built once per session.

    ``make test`` has just brought the service's own index (data/chroma) in step with the corpus, so the session
    starts from a copy of it and its ingest embeds only what differs, as ingest does for any index: unchanged
    documents keep their vectors, and a fingerprint mismatch (another chunk or sentence format) or a damaged copy
    rebuilds everything. A copy, so that no test ever writes to the service's data directory."""
    root = tmp_path_factory.mktemp("shipped")
    settings = make_settings(root, corpus_dir=SHIPPED_CORPUS)
    if SERVICE_INDEX.is_dir():
        shutil.copytree(SERVICE_INDEX, settings.chroma_path)
    report = ingest(VectorStore(settings.index, settings.chroma_path, embedder), settings.index, SHIPPED_CORPUS)
    assert not report.problems, [p.message for p in report.problems]
    return settings


@pytest.fixture(scope="session")
def shipped_index(shipped_settings: Settings, embedder: MiniLMEmbedder) -> LiveIndex:
    return LiveIndex(VectorStore(shipped_settings.index, shipped_settings.chroma_path, embedder), 0)


@pytest.fixture(scope="session")
def shipped_services(shipped_settings: Settings, embedder: MiniLMEmbedder) -> Services:
    """The real service stack (retrieval, safety, answers) over the shipped corpus, built once."""
    return build_services(shipped_settings, embedder=embedder)


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """One PostgreSQL server per session (tests make their own databases on it); yields its URL."""
    from tests import servers

    with servers.postgres_server() as server:
        yield server.url
