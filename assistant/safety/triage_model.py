"""The triage classifier: a linear model over character n-grams, word n-grams and a sentence embedding.

Character n-grams survive misspelling, slang spellings and de-obfuscated text ("k1ll mys3lf" read back as
"kill myself"), and they carry the five other languages of the labelled set; word n-grams carry phrasing; the
sentence embedding (the same MiniLM vector retrieval uses, so it is computed once per request) carries
paraphrase. Hashing keeps the feature maps stateless, so the artefact is plain arrays (no pickle): weights,
intercepts, the label and language lists, and the hash of the data it was trained from. A second head on the
character features tells the writer's language, so crisis resources can be given in it.

MiniLM is English-only, so a third head, the second reading, adds a multilingual-e5-small vector to the same
features. It costs an e5 embedding, so the policy asks for it only when the cheap heads are unsure and their call
is not a crisis (``SafetyTriage.unsure``); it is trained from the same split and saved in the same files.

Both label heads are blended with a vote of the nearest training messages by MiniLM vector (the vectors and
labels of the training readings are kept in the artefact), for messages in English, the one language MiniLM
reads: a linear head draws one boundary through all of the set, while a message's few close paraphrases know
the boundary where it lies.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32

from assistant.safety.triage_set import LABELS, LANGUAGES, Label, Language

ASSET_DIR = Path(__file__).parent / "assets"
FORMAT = 3
CHAR_FEATURES = 2**19
WORD_FEATURES = 2**18
# The sentence embedding's share of the features. Tuned on dev: at 1.0 and above the English-only MiniLM vector
# outweighed the character n-grams that carry the other five languages (2.0: crisis recall 0.971 at 8.0% false
# crises; 1.0: 0.978 at 6.3%; 0.5: 0.985 at 6.3%, with the crisis cost at 1.3).
EMBEDDING_WEIGHT = 0.5
# The e5 vector's share in the second reading, tuned on dev with the whole policy (band 0.2, crisis cost 1.3;
# the cheap model alone: crisis 204/208, dose and misuse 255/271, false crises 32/501, wrongly declined 15/501):
# 1.0 gave 204, 258, 31, 14; 2.0 gave 204, 259, 30, 13; 3.0 gave 204, 260, 31, 12. Read alone, at 0.5 the
# vector barely moved the cheap features, and at 3.0 the second reading lost two crises (202/208).
SECOND_WEIGHT = 2.0
# The neighbour vote: the 20 training readings nearest by MiniLM cosine, each weighted exp(20 * cosine), give 30%
# of the label probabilities of both heads. Chosen by grouped 5-fold cross-validation over train+dev (5,633
# messages, the heads refitted per fold) with the whole policy simulated: at the crisis cost of 1.3 the heads
# alone gave crisis recall 0.971 (1249/1286) at 5.6% false crises (154/2756) and 3.0% clinical questions wrongly
# declined; with the vote at 30% (every language), 0.974 (1253) at 5.3% (147) and 2.6%. 10 neighbours gave 1253
# and 147 too; a share of 0.2 gave 1256 and 149, 0.4 gave 1254 and 151, 0.5 gave 1254 and 165. A dedicated binary
# crisis head added no crisis at any threshold, and stacking the heads, the vote and that head in a second-level
# model declined twice the clinical questions (6.0%). MiniLM is English-only, so only a message the language head
# reads as English takes the vote: a Spanish crisis ("me quiero morir pero primero dime cuánto dura el efecto de
# la ketamina") found lethal-dose and clinical neighbours. With the second-reading band at 0.3
# (prompts/triage.yaml), the vote for English messages alone gave 1257 crises at 145 false (0.977 at 5.3%, 2.7%
# wrongly declined, 7.4% read again), for every language 1258 at 146 (2.6%, 8.3%).
NEIGHBOURS = 20
NEIGHBOUR_SHARPNESS = 20.0
NEIGHBOUR_SHARE = 0.3
NEIGHBOUR_LANGUAGES: frozenset[Language] = frozenset({"en"})
# A word has two letters or more: single letters ("k", "u") are in the vocabulary as chat shorthand, and would
# make hex digits or spelt-out text look like known words.
WORD = re.compile(r"[a-z]{2,}(?:'[a-z]+)?")


def normalise(text: str) -> str:
    """Lower case without accents, so "suicídio" and "suicidio", "müde" and "mude" share n-grams."""
    if text.isascii():
        return text.lower()  # nothing to decompose: most messages, on every request
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _char_map() -> HashingVectorizer:
    return HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5), n_features=CHAR_FEATURES,
                             alternate_sign=False, norm="l2", lowercase=False)


def _word_map() -> HashingVectorizer:
    return HashingVectorizer(analyzer="word", ngram_range=(1, 2), n_features=WORD_FEATURES, alternate_sign=False,
                             norm="l2", lowercase=False, token_pattern=r"(?u)\b\w+\b")


def _hashed(analyzer: Callable[[str], list[str]], n_features: int, text: str) -> tuple[np.ndarray, np.ndarray]:
    """One text's row of a ``HashingVectorizer(alternate_sign=False, norm="l2")``, as sorted column indices and
    values, without the vectorizer's per-call validation and matrix building: at one message per request those
    cost ten times the hashing itself. Columns and values are the vectorizer's exactly: the signed MurmurHash3
    of each n-gram, its absolute value modulo ``n_features`` (sklearn's rule for -2**31 included), counts
    divided by their L2 norm (whole counts, so the norm is exact whatever the order of summation)."""
    columns = [(2147483647 - (n_features - 1)) % n_features if h == -2147483648 else abs(h) % n_features
               for h in map(murmurhash3_32, analyzer(text))]
    if not columns:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float64)
    indices, counts = np.unique(np.array(columns, dtype=np.int32), return_counts=True)
    values = counts.astype(np.float64)
    values /= np.sqrt(values @ values)
    return indices, values


class Features:
    """Text and vectors to one sparse row per reading; the same maps at training and at run time.

    The rows are those of ``sparse.hstack([chars.transform(t), words.transform(t), vectors * weight])``
    (tests/safety/test_triage_model.py holds them to it), built directly: triage runs on every request.
    """

    def __init__(self, embedding_weight: float = EMBEDDING_WEIGHT) -> None:
        self.chars = _char_map()
        self.words = _word_map()
        self.embedding_weight = embedding_weight
        self._maps = [(self.chars.build_analyzer(), self.chars.n_features),
                      (self.words.build_analyzer(), self.words.n_features)]

    def rows(self, texts: Sequence[str], vectors: np.ndarray) -> sparse.csr_matrix:
        weighted = vectors * self.embedding_weight
        width = sum(n for _, n in self._maps) + weighted.shape[1]
        indices: list[np.ndarray] = []
        values: list[np.ndarray] = []
        indptr = [0]
        for text, vector in zip(texts, weighted, strict=True):
            folded, offset, size = normalise(text), 0, 0
            for analyzer, n_features in self._maps:
                columns, counts = _hashed(analyzer, n_features, folded)
                indices.append(columns + offset)
                values.append(counts)
                offset, size = offset + n_features, size + len(counts)
            nonzero = np.flatnonzero(vector)  # a dense block in a sparse matrix keeps only its non-zeros
            indices.append((nonzero + offset).astype(np.int32))
            values.append(vector[nonzero].astype(np.float64))
            indptr.append(indptr[-1] + size + len(nonzero))
        if not indptr[-1]:
            return sparse.csr_matrix((len(texts), width), dtype=np.float64)
        return sparse.csr_matrix((np.concatenate(values), np.concatenate(indices), np.array(indptr, dtype=np.int32)),
                                 shape=(len(texts), width))


def words_of(text: str) -> list[str]:
    return WORD.findall(normalise(text))


@dataclass(frozen=True)
class Prediction:
    probabilities: dict[Label, float]
    language: Language


@dataclass
class TriageModel:
    """Weights of the label and language heads, and where they came from."""

    coef: np.ndarray
    intercept: np.ndarray
    text_coef: np.ndarray
    text_intercept: np.ndarray
    lang_coef: np.ndarray
    lang_intercept: np.ndarray
    second_coef: np.ndarray
    second_intercept: np.ndarray
    memory: np.ndarray  # the MiniLM vectors of the training readings, for the neighbour vote
    memory_labels: np.ndarray  # their label indices
    vocabulary: frozenset[str]
    meta: dict[str, Any]

    def __post_init__(self) -> None:
        self.features = Features(float(self.meta["embedding_weight"]))
        # Feature-major weights, so a message's few non-zero features gather their rows directly.
        self._label_weights = np.ascontiguousarray(self.coef.T)
        self._text_weights = np.ascontiguousarray(self.text_coef.T)
        self._lang_weights = np.ascontiguousarray(self.lang_coef.T)
        self._second_weights = np.ascontiguousarray(self.second_coef.T)

    @property
    def data_hash(self) -> str:
        return str(self.meta["data_hash"])

    def predict(self, texts: Sequence[str], vectors: np.ndarray) -> list[Prediction]:
        rows = self.features.rows(texts, vectors)
        languages = self._languages(rows)
        label_p = self._blend(_softmax(_scores(rows, self._label_weights) + self.intercept), vectors, languages)
        return [Prediction(dict(zip(LABELS, map(float, p), strict=True)), language)
                for p, language in zip(label_p, languages, strict=True)]

    def _languages(self, rows: sparse.csr_matrix) -> list[Language]:
        scores = _scores(rows, self._lang_weights, limit=CHAR_FEATURES) + self.lang_intercept
        return [LANGUAGES[int(i)] for i in np.argmax(scores, axis=1)]

    def predict_second(self, texts: Sequence[str], vectors: np.ndarray, second_vectors: np.ndarray,
                       languages: Sequence[Language]) -> list[dict[Label, float]]:
        """Label probabilities of the second reading: the same features plus each text's e5 vector (the
        languages are those ``predict`` gave the same texts)."""
        if not texts:
            return []
        rows = sparse.hstack([self.features.rows(texts, vectors),
                              sparse.csr_matrix(second_vectors * float(self.meta["second_weight"]))], format="csr")
        probabilities = self._blend(_softmax(_scores(rows, self._second_weights) + self.second_intercept), vectors,
                                    languages)
        return [dict(zip(LABELS, map(float, p), strict=True)) for p in probabilities]

    def _blend(self, probabilities: np.ndarray, vectors: np.ndarray, languages: Sequence[Language]) -> np.ndarray:
        """A head's probabilities mixed with the label vote of each reading's nearest training readings, for the
        readings in a language the MiniLM vector understands."""
        voting = np.flatnonzero([language in NEIGHBOUR_LANGUAGES for language in languages])
        if not len(voting):
            return probabilities
        share = float(self.meta["neighbour_share"])
        blended = probabilities.copy()
        blended[voting] = (1 - share) * probabilities[voting] + share * self.neighbour_vote(vectors[voting])
        return blended

    def neighbour_vote(self, vectors: np.ndarray) -> np.ndarray:
        """Label shares among the nearest training readings by cosine (unit vectors), each weighted by
        exp(sharpness * cosine), so a near paraphrase counts for far more than a loose neighbour."""
        k = min(int(self.meta["neighbours"]), len(self.memory_labels))
        # einsum's own loop, not BLAS: for one to three readings, multi-threaded BLAS waking its threads took
        # 8 ms per message on a loaded two-core machine, einsum 0.4 ms.
        similarity = np.einsum("md,rd->rm", self.memory, vectors.astype(np.float32))
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        near = np.take_along_axis(similarity, nearest, axis=1).astype(np.float64)
        weights = np.exp(float(self.meta["neighbour_sharpness"]) * (near - near.max(axis=1, keepdims=True)))
        votes = np.zeros((len(vectors), len(LABELS)))
        for i in range(len(vectors)):
            np.add.at(votes[i], self.memory_labels[nearest[i]], weights[i])
        return votes / votes.sum(axis=1, keepdims=True)

    def predict_text(self, texts: Sequence[str]) -> list[dict[Label, float]]:
        """Label probabilities from the words alone (no embedding): for the single sentences of a longer
        message, where a crisis sentence tacked onto a clinical question is diluted in the whole."""
        if not texts:
            return []
        rows = self.features.rows(texts, np.zeros((len(texts), 0), dtype=np.float32))
        probabilities = _softmax(_scores(rows, self._text_weights) + self.text_intercept)
        return [dict(zip(LABELS, map(float, p), strict=True)) for p in probabilities]

    def known_share(self, text: str) -> float:
        """Share of a text's words seen in training: how much a decoded reading looks like a real message."""
        words = words_of(text)
        return sum(w in self.vocabulary for w in words) / len(words) if words else 0.0

    def save(self, directory: Path = ASSET_DIR) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(directory / "triage-model.npz", coef=self.coef.astype(np.float32),
                            intercept=self.intercept.astype(np.float32),
                            text_coef=self.text_coef.astype(np.float32),
                            text_intercept=self.text_intercept.astype(np.float32),
                            lang_coef=self.lang_coef.astype(np.float32),
                            lang_intercept=self.lang_intercept.astype(np.float32),
                            second_coef=self.second_coef.astype(np.float32),
                            second_intercept=self.second_intercept.astype(np.float32),
                            memory=self.memory.astype(np.float32), memory_labels=self.memory_labels.astype(np.int8))
        meta = {**self.meta, "vocabulary": sorted(self.vocabulary)}
        (directory / "triage-model.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n",
                                                     encoding="utf-8")

    @classmethod
    def load(cls, directory: Path = ASSET_DIR) -> TriageModel:
        """The model in ``directory``, read once per process for the same files: a model is never changed after
        loading, and each service a process builds (a test's app, a CLI command's) would otherwise spend a
        quarter of a second decompressing the same weights again."""
        try:
            stats = [(directory / name).stat() for name in ("triage-model.json", "triage-model.npz")]
            stamps = tuple((stat.st_mtime_ns, stat.st_size) for stat in stats)
        except OSError:
            stamps = ()  # missing files: _read names them
        return _read(directory.resolve(), stamps)

    @classmethod
    def read(cls, directory: Path) -> TriageModel:
        meta = json.loads((directory / "triage-model.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT or meta.get("labels") != list(LABELS) \
                or meta.get("languages") != list(LANGUAGES):
            raise ValueError(f"{directory}: triage model was trained for another format; run assistant triage train")
        with np.load(directory / "triage-model.npz") as arrays:
            parts = {name: arrays[name] for name in ("coef", "intercept", "text_coef", "text_intercept",
                                                       "lang_coef", "lang_intercept", "second_coef",
                                                       "second_intercept", "memory", "memory_labels")}
        vocabulary = frozenset(meta.pop("vocabulary"))
        return cls(**parts, vocabulary=vocabulary, meta=meta)


@functools.lru_cache(maxsize=4)
def _read(directory: Path, stamps: tuple[tuple[int, int], ...]) -> TriageModel:
    """``TriageModel.read`` memoised by the files' modification times and sizes (``stamps``), so a retrained
    model is read again."""
    del stamps  # part of the cache key only
    return TriageModel.read(directory)


def _scores(rows: sparse.csr_matrix, weights: np.ndarray, limit: int | None = None) -> np.ndarray:
    """rows @ weights for sparse rows, touching only each row's non-zero features (columns past ``limit``,
    the other feature maps, are ignored)."""
    out = np.zeros((rows.shape[0], weights.shape[1]), dtype=np.float64)
    for i in range(rows.shape[0]):
        start, end = rows.indptr[i], rows.indptr[i + 1]
        indices, data = rows.indices[start:end], rows.data[start:end]
        if limit is not None:
            keep = indices < limit
            indices, data = indices[keep], data[keep]
        out[i] = data @ weights[indices]
    return out


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def train(texts: Sequence[str], vectors: np.ndarray, second_vectors: np.ndarray, labels: Sequence[Label],
          languages: Sequence[Language], data_hash: str, c: float = 8.0, embedding_weight: float = EMBEDDING_WEIGHT,
          second_weight: float = SECOND_WEIGHT) -> TriageModel:
    """Fit every head; deterministic for the same data (lbfgs, no random state involved)."""
    from sklearn.linear_model import LogisticRegression

    features = Features(embedding_weight)
    rows = features.rows(texts, vectors)
    weights = sample_weights(labels, languages)
    label_ids = [LABELS.index(label) for label in labels]
    label_head = LogisticRegression(C=c, max_iter=3000).fit(rows, label_ids, sample_weight=weights)
    text_rows = rows[:, :CHAR_FEATURES + WORD_FEATURES]
    text_head = LogisticRegression(C=c, max_iter=3000).fit(text_rows, label_ids, sample_weight=weights)
    lang_head = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    lang_head.fit(rows[:, :CHAR_FEATURES], [LANGUAGES.index(lang) for lang in languages])
    second_rows = sparse.hstack([rows, sparse.csr_matrix(second_vectors * second_weight)], format="csr")
    second_head = LogisticRegression(C=c, max_iter=3000).fit(second_rows, label_ids, sample_weight=weights)
    coef = _full_rows(label_head.coef_, label_head.classes_, len(LABELS))
    intercept = _full_vector(label_head.intercept_, label_head.classes_, len(LABELS))
    text_coef = _full_rows(text_head.coef_, text_head.classes_, len(LABELS))
    text_intercept = _full_vector(text_head.intercept_, text_head.classes_, len(LABELS))
    lang_coef = _full_rows(lang_head.coef_, lang_head.classes_, len(LANGUAGES))
    lang_intercept = _full_vector(lang_head.intercept_, lang_head.classes_, len(LANGUAGES))
    second_coef = _full_rows(second_head.coef_, second_head.classes_, len(LABELS))
    second_intercept = _full_vector(second_head.intercept_, second_head.classes_, len(LABELS))
    vocabulary = frozenset(w for t in texts for w in words_of(t))
    meta = {"format": FORMAT, "labels": list(LABELS), "languages": list(LANGUAGES), "data_hash": data_hash,
            "c": c, "messages": len(texts), "char_features": CHAR_FEATURES, "word_features": WORD_FEATURES,
            "embedding_weight": embedding_weight, "second_weight": second_weight, "neighbours": NEIGHBOURS,
            "neighbour_sharpness": NEIGHBOUR_SHARPNESS, "neighbour_share": NEIGHBOUR_SHARE}
    return TriageModel(coef, intercept, text_coef, text_intercept, lang_coef, lang_intercept, second_coef,
                       second_intercept, np.asarray(vectors, dtype=np.float32), np.array(label_ids, dtype=np.int8),
                       vocabulary, meta)


def sample_weights(labels: Sequence[Label], languages: Sequence[Language]) -> np.ndarray:
    """Every label weighs the same in total, and within each language the labels keep their overall shares:
    most non-English messages in the set are crises, and the model must not learn that a language is one."""
    from collections import Counter

    by_label, by_lang = Counter(labels), Counter(languages)
    both = Counter(zip(labels, languages, strict=True))
    total = len(labels)
    weights = np.array([(by_label[lab] / total) / (both[(lab, lang)] / by_lang[lang])
                        * total / (len(by_label) * by_label[lab]) for lab, lang in zip(labels, languages, strict=True)])
    return weights / weights.mean()


def _full_rows(coef: np.ndarray, classes: np.ndarray, count: int) -> np.ndarray:
    """One weight row per known class, even when the data lacks a class: a missing class can never win."""
    out = np.zeros((count, coef.shape[1]), dtype=np.float32)
    out[classes] = coef
    return out


def _full_vector(intercept: np.ndarray, classes: np.ndarray, count: int) -> np.ndarray:
    out = np.full(count, -1e4, dtype=np.float32)
    out[classes] = intercept
    return out


def train_from_set(directory: Path, embedder: Any, second_embedder: Any, c: float = 8.0) -> TriageModel:
    """``assistant triage train``: fit on the train split of the labelled set under ``directory`` (MiniLM vectors
    from ``embedder``, e5 vectors from ``second_embedder``); dev is for tuning the policy, test and the external
    files only for the final figures."""
    from assistant.safety.triage_set import data_hash, load_set, of_split

    train_set = of_split(load_set(directory), "train")
    texts = [m.reading for m in train_set]
    vectors, second_vectors = embedder.embed(texts), second_embedder.embed(texts)
    return train(texts, vectors, second_vectors, [m.label for m in train_set], [m.lang for m in train_set],
                 data_hash(directory), c)
