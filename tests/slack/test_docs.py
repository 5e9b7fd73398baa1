"""The setup guide and the manifest match the code: every setting documented, every URL the one endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.settings import SlackSettings
from assistant.slack.oauth import BOT_SCOPES, INSTALL_PATH, REDIRECT_PATH
from assistant.slack.routes import PATH

REPO = Path(__file__).resolve().parents[2]
GUIDE = (REPO / "docs" / "slack.md").read_text()
SCOPES = ["app_mentions:read", "chat:write", "im:history", "commands"]


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "slack" / "manifest.yaml").read_text())
    return loaded


@pytest.mark.parametrize("field", sorted(SlackSettings.model_fields))
def test_every_slack_setting_is_documented(field: str) -> None:
    assert f"`SLACK_{field.upper()}`" in GUIDE


def test_the_guide_names_the_scopes_and_the_request_url() -> None:
    for scope in SCOPES:
        assert f"`{scope}`" in GUIDE
    assert f"https://<host>{PATH}" in GUIDE


def test_the_manifest_asks_for_exactly_the_documented_scopes(manifest: dict[str, Any]) -> None:
    assert manifest["oauth_config"]["scopes"]["bot"] == SCOPES


def test_every_url_in_the_manifest_is_the_one_endpoint(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    (command,) = manifest["features"]["slash_commands"]
    urls = [settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"], command["url"]]

    assert all(url.startswith("https://") and url.endswith(PATH) for url in urls)
    assert settings["interactivity"]["is_enabled"] is True


def test_the_manifest_redirects_installs_to_the_oauth_redirect_path(manifest: dict[str, Any]) -> None:
    (url,) = manifest["oauth_config"]["redirect_urls"]
    assert url.startswith("https://") and url.endswith(REDIRECT_PATH)
    assert f"https://<host>{REDIRECT_PATH}" in GUIDE and f"https://<host>{INSTALL_PATH}" in GUIDE


def test_the_manifest_asks_for_the_scopes_the_oauth_flow_requests(manifest: dict[str, Any]) -> None:
    assert manifest["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)


def test_the_manifest_subscribes_to_what_the_bot_handles(manifest: dict[str, Any]) -> None:
    (command,) = manifest["features"]["slash_commands"]

    assert manifest["settings"]["event_subscriptions"]["bot_events"] == [
        "app_home_opened", "app_mention", "app_uninstalled", "message.im", "tokens_revoked"]
    assert command["command"] == SlackSettings.model_fields["slash_command"].default
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


def test_the_manifest_fits_slacks_field_limits(manifest: dict[str, Any]) -> None:
    info = manifest["display_information"]
    assert len(info["name"]) <= 35 and len(info["description"]) <= 140
    assert 175 <= len(info["long_description"]) <= 4000


def setup_section() -> str:
    return GUIDE.split("## Creating the Slack app", 1)[1].split("\n## ", 1)[0]


def test_the_setup_steps_follow_the_order_in_which_slack_asks_for_things() -> None:
    """The signing secret exists before the URL check, and the URL check comes before any bot token."""
    steps = setup_section()
    order = ["From an app manifest", "**Signing Secret**", "`url_verification`", "**Install", "`xoxb-...`",
             "/invite @evidence"]
    positions = [steps.find(marker) for marker in order]

    assert -1 not in positions, dict(zip(order, positions, strict=True))
    assert positions == sorted(positions)


def test_the_guide_names_every_event_and_url_of_the_manifest(manifest: dict[str, Any]) -> None:
    steps = setup_section()
    for event in manifest["settings"]["event_subscriptions"]["bot_events"]:
        assert f"`{event.removesuffix('.im')}" in steps or f"`{event}`" in steps, event
    for url in (manifest["settings"]["event_subscriptions"]["request_url"], *manifest["oauth_config"]["redirect_urls"]):
        assert url.replace("https://assistant.example.org", "https://<host>") in steps
    assert manifest["settings"]["socket_mode_enabled"] is False and "`socket_mode_enabled: true`" in GUIDE
