"""The one value a process computed last for a key: for things that never change once built (an index
generation, the vocabulary read from one), so that every app or service a process builds shares one copy.

Only the last entry is kept: whoever asked for it holds it anyway, so the memo costs no memory of its own.
Imports nothing of the package, so every layer can use it.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LastOne(Generic[K, V]):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entry: tuple[K, V] | None = None

    def get(self, key: K) -> V | None:
        with self._lock:
            return self._entry[1] if self._entry is not None and self._entry[0] == key else None

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._entry = (key, value)
