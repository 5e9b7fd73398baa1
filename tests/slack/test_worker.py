"""The background pool: bounded, drainable, and a failing job is logged rather than lost silently."""

from __future__ import annotations

import logging
import threading

import pytest

from assistant.slack.worker import Worker


def test_a_full_queue_refuses_new_work_until_a_slot_frees() -> None:
    release = threading.Event()
    worker = Worker(threads=1, max_pending=2)
    try:
        assert worker.submit(release.wait, "first") and worker.submit(release.wait, "second")
        assert worker.submit(release.wait, "third") is False
        release.set()
        assert worker.drain(5.0)
        assert worker.submit(lambda: None, "after")
    finally:
        release.set()
        worker.shutdown()


def test_drain_reports_work_that_does_not_finish_in_time() -> None:
    release = threading.Event()
    worker = Worker(threads=1)
    try:
        worker.submit(release.wait, "slow")
        assert worker.drain(0.05) is False
    finally:
        release.set()
        worker.shutdown()


def test_a_failing_job_is_logged_with_its_name(caplog: pytest.LogCaptureFixture) -> None:
    worker = Worker(threads=1)

    def broken() -> None:
        raise RuntimeError("boom")

    worker.submit(broken, "broken_job")
    assert worker.drain(5.0)
    worker.shutdown()

    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage() == "slack job failed: broken_job" and record.exc_info is not None
