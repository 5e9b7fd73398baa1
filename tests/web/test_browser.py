"""The demo page in a real headless Chromium: ask, watch the answer stream in, check what is shown.

Needs Debian's ``chromium`` (``make browser`` installs it) and Playwright's Python package; the
browser is launched from ``/usr/bin/chromium``, so ``playwright install`` is never needed. When
either is missing, only this module is skipped, with the reason.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: install it with `make browser` (apt-get install chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright's Python package is not installed")

pytestmark = pytest.mark.slow
QUESTION = "Does a single ketamine infusion reduce depressive symptoms within a day?"
HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold?</b>'
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 30_000


@pytest.fixture
def page(live_server: str) -> Iterator[sync_api.Page]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 1400})
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.goto(live_server + "/")
            yield page
            assert not errors, f"the page logged errors: {errors}"
        finally:
            browser.close()


def ask(page: sync_api.Page, question: str) -> sync_api.Locator:
    """Type the question, send it with Enter, and wait until its answer is complete."""
    before = page.locator("article.kea-bot").count()
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")
    answer = page.locator("article.kea-bot").nth(before)
    sync_api.expect(answer).to_have_attribute("data-state", "done")
    return answer


def test_a_question_streams_an_answer_with_citations_and_caveats(page: sync_api.Page, tmp_path: Path) -> None:
    answer = ask(page, QUESTION)

    assert len(answer.locator(".kea-answer").inner_text()) > 100
    markers = answer.locator(".kea-answer a.kea-cite")
    assert markers.count() >= 1
    first = markers.first
    assert first.get_attribute("href").startswith("https://")
    assert first.get_attribute("rel") == "noopener noreferrer"
    first.focus()  # keyboard users see the study too
    tip = answer.locator(".kea-tip").first
    sync_api.expect(tip).to_be_visible()
    assert tip.inner_text().strip()
    first.press("Escape")
    sync_api.expect(tip).to_be_hidden()
    first.hover()  # and mouse users see it on hover
    sync_api.expect(tip).to_be_visible()
    sources = answer.locator("ol.kea-sources li")
    assert sources.count() >= 1 and sources.first.locator("a").get_attribute("href").startswith("https://")
    caveats = answer.locator("aside.kea-caveats li")
    assert caveats.count() >= 1 and "not medical advice" in answer.locator("aside.kea-caveats").inner_text()
    screenshot = tmp_path / "widget-answer.png"
    page.screenshot(path=str(screenshot), full_page=True)
    answer.locator("aside.kea-caveats").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "widget-caveats.png"))
    print(f"\nscreenshot: {screenshot}")


def test_markup_in_a_message_is_shown_as_text_and_never_runs(page: sync_api.Page) -> None:
    answer = ask(page, HOSTILE)

    user_bubble = page.locator(".kea-user .kea-text").last
    assert user_bubble.text_content() == HOSTILE
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".kea img, .kea b").count() == 0
    assert answer.get_attribute("data-state") == "done"


def test_a_crisis_message_comes_first_and_stands_out(page: sync_api.Page) -> None:
    answer = ask(page, "I want to end my life")

    crisis = answer.locator(".kea-crisis")
    sync_api.expect(crisis).to_be_visible()
    assert crisis.get_attribute("role") == "alert"
    assert "988" in crisis.inner_text()
    first_child = answer.locator(":scope > *:not([hidden])").first
    assert first_child.get_attribute("class") == "kea-crisis"


def test_follow_up_buttons_ask_the_next_question_and_the_conversation_continues(page: sync_api.Page) -> None:
    first = ask(page, "What did the esketamine nasal spray trials find?")
    buttons = first.locator("button.kea-followup")
    if buttons.count() == 0:
        pytest.skip("this answer offered no follow-up questions")
    suggestion = buttons.first.inner_text()

    buttons.first.press("Enter")  # reachable and usable from the keyboard

    second = page.locator("article.kea-bot").nth(1)
    sync_api.expect(second).to_have_attribute("data-state", "done")
    assert page.locator(".kea-user .kea-text").last.text_content() == suggestion


def test_a_reload_restores_the_conversation(page: sync_api.Page) -> None:
    ask(page, QUESTION)

    page.reload()

    restored = page.locator("article.kea-bot")
    sync_api.expect(restored).to_have_count(1)
    sync_api.expect(restored.first).to_have_attribute("data-state", "done")
    assert page.locator(".kea-user .kea-text").first.text_content() == QUESTION


def test_chromium_is_the_debian_package() -> None:
    assert shutil.which("chromium") or CHROMIUM.exists()
