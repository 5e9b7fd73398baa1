"""The Chroma side of the index: generations of collections behind one alias.

Every ingest that changes anything writes a *new* collection (copying unchanged chunks with
their stored vectors, embedding only what changed) and then flips an alias record. Readers in
other processes therefore never see a half-written index, a crash mid-build leaves the old
generation serving, and a serving process picks up the new generation by re-reading the alias.
This works the same on an embedded database and on a Chroma server shared by several hosts.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.errors import NotFoundError

from assistant.errors import ConfigError, IndexUnavailable
from assistant.index.embeddings import MiniLMEmbedder
from assistant.settings import IndexSettings

ALIAS_ID = "active"
SENTENCE_SUFFIX = ".sentences"  # a generation's sentence collection is named after it
KEEP_GENERATIONS = 2  # the active one and its predecessor, which requests in flight may still read


def make_client(settings: IndexSettings, chroma_path: Path) -> ClientAPI:
    """An embedded client on disk, or an HTTP client when a Chroma server URL is configured."""
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(f"index.chroma_url must be an http(s) URL, got {settings.chroma_url!r}")
        return chromadb.HttpClient(
            host=url.hostname,
            port=url.port or (443 if url.scheme == "https" else 80),
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(chroma_path), settings=chroma_settings)


class VectorStore:
    """Owns the Chroma client and the alias; translates Chroma failures into IndexUnavailable."""

    def __init__(self, settings: IndexSettings, chroma_path: Path, embedder: MiniLMEmbedder) -> None:
        self.settings = settings
        self.chroma_path = chroma_path
        self.embedder = embedder
        self._client: ClientAPI | None = None

    @property
    def client(self) -> ClientAPI:
        if self._client is None:
            # Chroma caches one system per local path for the whole process. When opening a damaged
            # database fails, the broken system stays cached and the next attempt fails on it
            # differently, releasing it; so a local store tries twice, leaving the cache clean for
            # the call after `assistant ingest` has repaired the database.
            attempts = 1 if self.settings.chroma_url else 2
            for attempt in range(attempts):
                try:
                    self._client = make_client(self.settings, self.chroma_path)
                    break
                except ConfigError:
                    raise
                except Exception as exc:  # chromadb raises many types for an unreachable or damaged store
                    if attempt < attempts - 1:
                        continue
                    where = self.settings.chroma_url or str(self.chroma_path)
                    hint = "" if self.settings.chroma_url else "; `assistant ingest` repairs a damaged local index"
                    raise IndexUnavailable(
                        f"The vector store at {where} cannot be opened ({exc.__class__.__name__}){hint}.") from exc
        assert self._client is not None
        return self._client

    def reset_client(self) -> None:
        """Forget the client so the next call reconnects (after a server restart, for instance).

        A local client is closed too: Chroma keeps one system per path for the whole process, so
        without this a database that `assistant ingest` has repaired would still be read through
        the damaged one until a restart.
        """
        client, self._client = self._client, None
        if client is not None and self.is_local:
            with contextlib.suppress(Exception):  # a broken client may fail to close; forgetting it is what matters
                client.close()

    @property
    def alias_name(self) -> str:
        return f"{self.settings.collection}-alias"

    def _alias(self, create: bool = False) -> Collection:
        if create:
            return self.client.get_or_create_collection(
                self.alias_name, embedding_function=self.embedder.chroma, metadata={"hnsw:space": "cosine"}
            )
        return self.client.get_collection(self.alias_name, embedding_function=self.embedder.chroma)

    def active(self) -> tuple[str, dict[str, Any]] | None:
        """Name and metadata of the serving generation, or None when nothing was ever built.

        Only reads: serving processes call this, and only `assistant ingest` may write to the store
        (Chroma is not safe for concurrent writers on one local path).
        """
        try:
            got = self._alias().get(ids=[ALIAS_ID], include=["metadatas"])
        except NotFoundError:
            return None
        except Exception as exc:
            self.reset_client()
            raise IndexUnavailable(f"The vector store cannot be read ({exc.__class__.__name__}).") from exc
        if not got["ids"]:
            return None
        meta = dict(got["metadatas"][0] or {})
        return str(meta.pop("collection")), meta

    def open(self, name: str) -> Collection:
        try:
            return self.client.get_collection(name, embedding_function=self.embedder.chroma)
        except Exception as exc:
            self.reset_client()
            raise IndexUnavailable(f"The index collection {name} cannot be opened ({exc.__class__.__name__}).") from exc

    def new_generation(self, fingerprint: str) -> Collection:
        # Sortable to the microsecond, so generations built within one second still prune in order.
        stamp = time.strftime("%Y%m%d%H%M%S") + f"{time.time_ns() // 1000 % 1_000_000:06d}"
        name = f"{self.settings.collection}-{stamp}-{uuid.uuid4().hex[:6]}"
        return self.client.create_collection(
            name,
            embedding_function=self.embedder.chroma,
            metadata={"hnsw:space": "cosine", "fingerprint": fingerprint, "created": time.time()},
        )

    def sentences_of(self, generation: str, create: bool = False) -> Collection:
        """The sentence collection that belongs to ``generation`` (see ``assistant.index.sentences``)."""
        name = f"{generation}{SENTENCE_SUFFIX}"
        if create:
            return self.client.create_collection(name, embedding_function=self.embedder.chroma,
                                                 metadata={"hnsw:space": "cosine", "generation": generation})
        return self.open(name)

    def activate(self, collection: Collection, info: dict[str, Any]) -> None:
        """Point the alias at ``collection`` and drop generations older than its predecessor."""
        meta = {"collection": collection.name, **info}
        self._alias(create=True).upsert(ids=[ALIAS_ID], documents=[collection.name], metadatas=[meta], embeddings=[
            self.embedder.embed([collection.name])[0].tolist()
        ])
        self.prune(keep=collection.name)

    def prune(self, keep: str) -> None:
        prefix = f"{self.settings.collection}-"
        names = {c.name for c in self.client.list_collections()}
        generations = sorted(n for n in names if n.startswith(prefix) and n != self.alias_name
                             and not n.endswith(SENTENCE_SUFFIX))
        keep_names = {keep, *[n for n in generations if n < keep][-(KEEP_GENERATIONS - 1) :]}
        for name in generations:
            if name not in keep_names:
                self.client.delete_collection(name)
        for name in names:  # a generation's sentences go with it
            if name.endswith(SENTENCE_SUFFIX) and name.removesuffix(SENTENCE_SUFFIX) not in keep_names:
                self.client.delete_collection(name)

    @property
    def is_local(self) -> bool:
        return not self.settings.chroma_url

    def quarantine(self) -> Path | None:
        """Move a damaged local database aside (kept for inspection) so a fresh one can be built."""
        self.reset_client()
        if not self.is_local or not self.chroma_path.exists():
            return None
        from chromadb.api.client import SharedSystemClient

        target = self.chroma_path.with_name(f"{self.chroma_path.name}.damaged-{time.strftime('%Y%m%d%H%M%S')}")
        self.chroma_path.rename(target)
        SharedSystemClient.clear_system_cache()  # Chroma caches one system per path, damaged one included
        return target

    def ping(self) -> None:
        try:
            self.client.heartbeat()
        except IndexUnavailable:
            raise
        except Exception as exc:
            self.reset_client()
            raise IndexUnavailable(f"The vector store does not answer ({exc.__class__.__name__}).") from exc
