"""Where Slack questions are answered after the request that brought them has been acknowledged.

Slack wants a 2xx within 3 seconds and retries otherwise; an answer (especially from an LLM
engine) can take longer. So listeners only parse, check and enqueue, and a small pool owned by
the Slack module does the work. The queue is bounded: under a flood, new work is refused
(a slash command says so in its ack) instead of piling up answers nobody is still waiting for.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("assistant.slack")

QUEUE_PER_WORKER = 25


class Worker:
    def __init__(self, threads: int, max_pending: int | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="slack-answer")
        self.max_pending = max_pending or threads * QUEUE_PER_WORKER
        self._pending = 0
        self._changed = threading.Condition()

    def submit(self, job: Callable[[], None], name: str) -> bool:
        """Run ``job`` in the background; False when the queue is full and the job was not taken."""
        with self._changed:
            if self._pending >= self.max_pending:
                log.warning("slack queue full; refused %s", name, extra={"fields": {"job": name}})
                return False
            self._pending += 1
        self._pool.submit(self._run, job, name)
        return True

    @property
    def pending(self) -> int:
        """Jobs accepted and not yet finished (running or queued)."""
        with self._changed:
            return self._pending

    def drain(self, timeout_s: float) -> bool:
        """Wait until every accepted job has finished; False if that took longer than ``timeout_s``."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending == 0, timeout_s)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait)

    def _run(self, job: Callable[[], None], name: str) -> None:
        try:
            job()
        except Exception:  # a background job has no caller to raise to; the log is its only witness
            log.exception("slack job failed: %s", name, extra={"fields": {"job": name}})
        finally:
            with self._changed:
                self._pending -= 1
                self._changed.notify_all()
