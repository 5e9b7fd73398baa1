"""Slack's request signature: the same HMAC Slack computes, and refusals that say why."""

from __future__ import annotations

import pytest
from slack_sdk.signature import SignatureVerifier

from assistant.slack.verify import RequestVerifier, signature

# The worked example from Slack's "Verifying requests from Slack" guide.
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TIMESTAMP = "1531420618"
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
SLACK_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_the_signature_matches_slacks_worked_example() -> None:
    assert signature(SLACK_SECRET, SLACK_TIMESTAMP, SLACK_BODY) == SLACK_SIGNATURE


def test_the_signature_agrees_with_slack_sdks_verifier() -> None:
    body = '{"type":"event_callback","event":{"text":"Ketamine – does it help? ✓"}}'.encode()
    assert SignatureVerifier("s3cret-value").generate_signature(timestamp="1700000000", body=body) == signature(
        "s3cret-value", "1700000000", body)


def verifier(now: float = int(SLACK_TIMESTAMP) + 10) -> RequestVerifier:
    return RequestVerifier(SLACK_SECRET, clock=lambda: now)


def test_a_fresh_correctly_signed_request_passes() -> None:
    assert verifier().refusal(SLACK_BODY, SLACK_TIMESTAMP, SLACK_SIGNATURE) is None


@pytest.mark.parametrize(("timestamp", "given", "reason"), [
    (None, SLACK_SIGNATURE, "missing"),
    (SLACK_TIMESTAMP, None, "missing"),
    ("15314206１8", SLACK_SIGNATURE, "missing"),  # a non-ASCII digit is not a timestamp
    ("soon", SLACK_SIGNATURE, "missing"),
    (str(int(SLACK_TIMESTAMP) - 301), SLACK_SIGNATURE, "stale"),
    (str(int(SLACK_TIMESTAMP) + 400), SLACK_SIGNATURE, "stale"),
    (SLACK_TIMESTAMP, SLACK_SIGNATURE[:-1] + "0", "bad_signature"),
    (SLACK_TIMESTAMP, "v0=é", "bad_signature"),  # odd bytes in a header are refused, not a crash
])
def test_refusals_name_their_reason(timestamp: str | None, given: str | None, reason: str) -> None:
    assert verifier().refusal(SLACK_BODY, timestamp, given) == reason


def test_a_body_changed_after_signing_is_refused() -> None:
    assert verifier().refusal(SLACK_BODY + b"&text=more", SLACK_TIMESTAMP, SLACK_SIGNATURE) == "bad_signature"


def test_the_secret_never_shows_in_a_repr() -> None:
    assert SLACK_SECRET not in repr(verifier())
