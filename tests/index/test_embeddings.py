"""The offline int8 model stays faithful to the full-precision all-MiniLM-L6-v2."""

from __future__ import annotations

import json
from pathlib import Path

import chromadb
import numpy as np

from assistant.index.embeddings import DIMENSIONS, MiniLMEmbedder
from tests.conftest import FIXTURES


def test_vectors_match_the_full_precision_reference(embedder: MiniLMEmbedder) -> None:
    reference = json.loads((FIXTURES / "reference_vectors.json").read_text())
    ours = embedder.embed(reference["sentences"])
    theirs = np.asarray(reference["vectors"], dtype=np.float32)
    theirs /= np.linalg.norm(theirs, axis=1, keepdims=True)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.99, cosines


def test_vectors_are_normalised_and_order_preserving(embedder: MiniLMEmbedder) -> None:
    texts = ["a much longer sentence about intravenous ketamine infusions in adults", "short", "nasal spray"]
    batch = embedder.embed(texts)
    assert batch.shape == (3, DIMENSIONS)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    for i, text in enumerate(texts):
        assert np.allclose(batch[i], embedder.embed([text])[0], atol=1e-5)


def test_langchain_interface(embedder: MiniLMEmbedder) -> None:
    query = embedder.embed_query("suicidal thoughts")
    docs = embedder.embed_documents(["suicidal ideation", "bladder damage"])
    assert len(query) == DIMENSIONS and len(docs) == 2
    assert np.dot(query, docs[0]) > np.dot(query, docs[1])


def test_a_reopened_collection_rebuilds_our_embedding_function(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    client = chromadb.PersistentClient(path=str(tmp_path))
    client.create_collection("probe-collection", embedding_function=embedder.chroma).add(
        ids=["1", "2"], documents=["esketamine nasal spray", "weather in Paris"]
    )
    reopened = chromadb.PersistentClient(path=str(tmp_path)).get_collection("probe-collection")
    hits = reopened.query(query_texts=["intranasal esketamine"], n_results=1)
    assert hits["ids"] == [["1"]]
