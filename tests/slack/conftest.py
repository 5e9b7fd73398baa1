"""The real app, over the real index of the shipped corpus, talking to a fake Slack on loopback.

Each test gets its own app, conversation store and fake Slack; the model and the index are
built once per session (tests/conftest.py). One answer thread per app keeps the order of
background work deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from assistant.index import MiniLMEmbedder
from assistant.services import build_services
from assistant.settings import Settings
from assistant.web import create_app
from tests.slack.fake_slack import FakeSlack
from tests.slack.helpers import Slack, extension, slack_settings


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def settings_for_slack(shipped_settings: Settings, tmp_path: Path, fake_slack: FakeSlack) -> Settings:
    return slack_settings(shipped_settings, tmp_path, fake_slack.api_url)


@pytest.fixture
def slack_app(settings_for_slack: Settings, embedder: MiniLMEmbedder, fake_slack: FakeSlack) -> Iterator[Flask]:
    app = create_app(settings_for_slack, build_services(settings_for_slack, embedder=embedder))
    app.testing = True
    fake_slack.forget()  # the start-up token check; tests/slack/test_setup.py covers it
    yield app
    extension(app).worker.shutdown(wait=True)


@pytest.fixture
def slack(slack_app: Flask, fake_slack: FakeSlack) -> Slack:
    return Slack(slack_app.test_client(), fake_slack)
