"""docs/api.md keeps up with the code: every web setting and every endpoint is described."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from assistant.errors import IndexUnavailable, StoreUnavailable
from assistant.settings import WebSettings
from assistant.web.errors import HTTP_CODES
from tests.conftest import REPO

DOC = (REPO / "docs" / "api.md").read_text()


@pytest.mark.parametrize("name", sorted(WebSettings.model_fields))
def test_every_web_setting_is_documented(name: str) -> None:
    assert f"`ASSISTANT_WEB__{name.upper()}`" in DOC


def test_every_endpoint_is_documented(app: Flask) -> None:
    for rule in app.url_map.iter_rules():
        assert f"{rule.rule}`" in DOC or f"`{rule.rule}" in DOC, rule.rule


def test_every_error_code_in_the_table_is_one_the_code_can_produce() -> None:
    documented = set(re.findall(r"^\| \d{3} \| `([a-z_]+)` \|", DOC, flags=re.MULTILINE))
    outages = {IndexUnavailable.code, StoreUnavailable.code}
    assert documented <= set(HTTP_CODES.values()) | outages
    assert {"bad_request", "unauthorized", "not_found", "method_not_allowed", "payload_too_large",
            "unsupported_media_type", "validation_error", "rate_limited", *outages} <= documented
