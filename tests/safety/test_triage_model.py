"""Training the triage classifier: reproducible, saved as plain arrays with its data hash, loaded back the same."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from assistant.index import MiniLMEmbedder
from assistant.index.embeddings import E5Embedder
from assistant.safety.triage_model import Features, TriageModel, normalise, train_from_set
from assistant.safety.triage_set import LABELS, data_hash, load_set

TRIAGE_SET = Path(__file__).parents[2] / "eval" / "triage"

MESSAGES = {
    "crisis": ["i want to die tonight", "i have a plan to end my life", "quiero morir ya", "je veux mourir"],
    "dosing_request": ["how many mg should i take at home", "what dose for me, i weigh 70 kg"],
    "misuse_request": ["where can i buy ketamine online", "how do i get a k hole"],
    "lethal_dose": ["what is the lethal dose of ketamine", "how much ketamine is an overdose"],
    "clinical": ["what did transform-2 find", "how fast does ketamine work", "side effects of esketamine"],
}


@pytest.fixture(scope="module")
def small_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("triage")
    lines = []
    for label, texts in MESSAGES.items():
        for i, text in enumerate(texts):
            lang = "es" if text.startswith("quiero") else "fr" if text.startswith("je") else "en"
            lines.append(json.dumps({"id": f"{label}-{i}", "text": text, "label": label, "form": "t", "lang": lang,
                                     "group": f"{label}-{i}"}))
    (folder / "small.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def small_model(small_set: Path, embedder: MiniLMEmbedder, second_embedder: E5Embedder) -> TriageModel:
    return train_from_set(small_set, embedder, second_embedder)


def test_a_trained_model_round_trips_through_its_files(small_set: Path, small_model: TriageModel, tmp_path: Path,
                                                        embedder: MiniLMEmbedder, second_embedder: E5Embedder) -> None:
    small_model.save(tmp_path)
    loaded = TriageModel.load(tmp_path)
    assert loaded.data_hash == data_hash(small_set) and not list(tmp_path.glob("*.pkl"))
    texts = ["i want to die tonight", "what did transform-2 find"]
    vectors, second_vectors = embedder.embed(texts), second_embedder.embed(texts)
    predictions = small_model.predict(texts, vectors)
    for a, b in zip(predictions, loaded.predict(texts, vectors), strict=True):
        assert a.language == b.language
        assert np.allclose(list(a.probabilities.values()), list(b.probabilities.values()), atol=1e-5)
    languages = [p.language for p in predictions]
    for p, q in zip(small_model.predict_second(texts, vectors, second_vectors, languages),
                    loaded.predict_second(texts, vectors, second_vectors, languages), strict=True):
        assert np.allclose(list(p.values()), list(q.values()), atol=1e-5)


def test_training_twice_gives_the_same_weights(small_set: Path, small_model: TriageModel, embedder: MiniLMEmbedder,
                                               second_embedder: E5Embedder) -> None:
    again = train_from_set(small_set, embedder, second_embedder)
    assert np.array_equal(small_model.coef, again.coef) and np.array_equal(small_model.second_coef, again.second_coef)
    assert small_model.meta == again.meta


def test_the_second_embedder_gives_one_unit_length_384_d_vector_per_text(second_embedder: E5Embedder) -> None:
    vectors = second_embedder.embed(["ich will nicht mehr leben", "what did TRANSFORM-2 find?"])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert second_embedder.embed([]).shape == (0, 384)


def test_an_artefact_of_another_format_is_refused(small_model: TriageModel, tmp_path: Path) -> None:
    small_model.save(tmp_path)
    meta = json.loads((tmp_path / "triage-model.json").read_text())
    (tmp_path / "triage-model.json").write_text(json.dumps({**meta, "format": 0}))
    with pytest.raises(ValueError, match="another format"):
        TriageModel.load(tmp_path)


def test_a_model_is_read_once_per_process_until_its_files_change(small_model: TriageModel, tmp_path: Path) -> None:
    small_model.save(tmp_path)
    first = TriageModel.load(tmp_path)
    assert TriageModel.load(tmp_path) is first, "every service a process builds shares the loaded weights"
    retrained = replace(small_model, meta={**small_model.meta, "data_hash": "retrained"})
    retrained.save(tmp_path)
    again = TriageModel.load(tmp_path)
    assert again is not first and again.data_hash == "retrained"


def test_accents_and_case_do_not_change_the_features() -> None:
    assert normalise("SUICÍDIO Müde") == "suicidio mude"


def test_the_features_are_the_hashing_vectorizers_rows_bit_for_bit() -> None:
    """Features builds its rows without sklearn's per-call overhead; they must be the rows the vectorizers give,
    for a quarter of the labelled set (all six languages), odd inputs and a vector with zeros (which a sparse
    block drops)."""
    texts = [m.text for m in load_set(TRIAGE_SET)[::4]] + ["", "   ", "?!", "SUICÍDIO Müde", "k" * 2000]
    vectors = np.random.default_rng(0).standard_normal((len(texts), 384)).astype(np.float32)
    vectors[0, :50] = 0.0
    features = Features(0.5)
    fast = features.rows(texts, vectors)
    folded = [normalise(t) for t in texts]
    reference = sparse.hstack([features.chars.transform(folded), features.words.transform(folded),
                               sparse.csr_matrix(vectors * 0.5)], format="csr")
    assert fast.shape == reference.shape and fast.dtype == reference.dtype
    assert np.array_equal(fast.indptr, reference.indptr)
    assert np.array_equal(fast.indices, reference.indices)
    assert np.array_equal(fast.data.view(np.int64), reference.data.view(np.int64))


def test_the_neighbour_vote_follows_the_nearest_training_messages(small_model: TriageModel) -> None:
    """A reading next to one training reading takes that one's label from the vote, far more than from a loose
    neighbour; each vote sums to one, even when the memory is smaller than the number of neighbours asked for."""
    memory = np.zeros((3, 384), dtype=np.float32)
    memory[0, 0] = memory[1, 1] = memory[2, 2] = 1.0
    model = replace(small_model, memory=memory, memory_labels=np.array([0, 3, 4], dtype=np.int8))
    query = np.zeros((2, 384), dtype=np.float32)
    query[0, :2] = (0.6, 0.8)  # nearer the second reading (lethal_dose)
    query[1, 2] = 1.0  # the third (clinical) itself
    votes = model.neighbour_vote(query)
    assert np.allclose(votes.sum(axis=1), 1.0)
    assert [LABELS[i] for i in votes.argmax(axis=1)] == [LABELS[3], LABELS[4]] and votes[1, 4] > 0.99
