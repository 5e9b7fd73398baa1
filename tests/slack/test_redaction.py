"""Credentials are rewritten in log records, whichever library wrote them."""

from __future__ import annotations

import logging

import pytest

from assistant.slack.redaction import REDACTED, RedactingFilter, install


@pytest.mark.parametrize(("line", "kept", "gone"), [
    ("Authorization: Bearer xoxb-123-456-abcDEF", "Bearer", "xoxb-123"),
    ("app token xapp-1-A0-123-abc", "app token", "xapp-1"),
    ("url: https://hooks.slack.com/commands/T01ABC/3871/Zq9secret, body", "hooks.slack.com/commands/", "Zq9secret"),
    ("url: https://hooks.slack.com/actions/T01ABC/3871/Zq9secret", "/actions/", "Zq9secret"),
    ("body: {'token': 'legacyVerif123', 'team_id': 'T1'}", "'team_id': 'T1'", "legacyVerif123"),
    ('body: {"token": "legacyVerif123"}', '"token": ', "legacyVerif123"),
    ("token=legacyVerif123&team_id=T1", "team_id=T1", "legacyVerif123"),
])
def test_known_credential_shapes_are_redacted(line: str, kept: str, gone: str) -> None:
    cleaned = RedactingFilter().redact(line)

    assert gone not in cleaned and kept in cleaned and REDACTED in cleaned


def test_configured_secrets_are_redacted_by_value_in_formatted_records() -> None:
    shared = RedactingFilter()
    shared.add_secrets(["signing-secret-value", "short"])
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "secret is %s, word %s", ("signing-secret-value",
                                                                                         "short"), None)

    shared.filter(record)

    assert record.getMessage() == f"secret is {REDACTED}, word short", "values under 8 characters are left alone"


def test_installing_twice_shares_one_filter_per_logger() -> None:
    logger = logging.getLogger("tests.slack.redaction.once")
    first = install([logger], ["first-secret-value"])
    second = install([logger], ["second-secret-value"])

    assert first is second and logger.filters.count(first) == 1
    assert first.redact("first-secret-value second-secret-value") == f"{REDACTED} {REDACTED}"
