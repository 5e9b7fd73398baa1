"""The demo page in a real headless Chromium: ask, watch the answer stream in, check what is shown.

Needs Debian's ``chromium`` (``make browser`` installs it) and Playwright's Python package; the
browser is launched from ``/usr/bin/chromium``, so ``playwright install`` is never needed. When
either is missing, only this module is skipped, with the reason.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from assistant.web.sse import event

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: install it with `make browser` (apt-get install chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright's Python package is not installed")

pytestmark = pytest.mark.slow
QUESTION = "Does a single ketamine infusion reduce depressive symptoms within a day?"
HOSTILE = ('<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold?</b>'
           '<svg onload="window.__pwned=3"></svg><iframe srcdoc="<script>parent.__pwned=4</script>"></iframe>')
# Elements HOSTILE would create if it were parsed as HTML anywhere inside the widget.
INJECTED = ".kea img, .kea script, .kea b, .kea svg, .kea iframe"
PROBE = "/settle-probe.png"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 30_000


@contextmanager
def open_demo(live_server: str, *, bypass_csp: bool = False) -> Iterator[sync_api.Page]:
    """The demo page in a fresh browser; fails the test if the page logged any error."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1000, "height": 1400}, bypass_csp=bypass_csp)
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.route(re.compile(re.escape(PROBE)), lambda route: route.fulfill(status=200, content_type="image/png",
                                                                  body=b"not a png"))
            page.goto(live_server + "/")
            yield page
            assert not errors, f"the page logged errors: {errors}"
        finally:
            browser.close()


@pytest.fixture
def page(live_server: str) -> Iterator[sync_api.Page]:
    with open_demo(live_server) as page:
        yield page


@pytest.fixture
def unprotected_page(live_server: str) -> Iterator[sync_api.Page]:
    """The demo page with its Content-Security-Policy switched off, like a host site that has none.

    Under the demo's CSP injected markup could not run even if the widget parsed it, so "the
    script did not run" would prove nothing there; here it would run.
    """
    with open_demo(live_server, bypass_csp=True) as page:
        yield page


def settle(page: sync_api.Page) -> None:
    """Wait until a broken image added now has fired its error handler.

    Any ``<img onerror>`` injected before this point would have fired by then too, so checking for
    its side effect afterwards is not a race.
    """
    page.evaluate("""(src) => new Promise((resolve) => {
        const probe = new Image();
        probe.onload = probe.onerror = resolve;
        probe.src = src + "?" + Date.now();
    })""", PROBE)


def assert_nothing_ran_or_was_parsed(page: sync_api.Page) -> None:
    settle(page)
    assert page.evaluate("window.__pwned") is None, "markup from a message ran"
    assert page.locator(INJECTED).count() == 0, "markup from a message became elements"
    assert page.locator('.kea [href^="javascript:" i], .kea [src^="javascript:" i]').count() == 0


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


def test_markup_in_a_message_is_shown_as_text_and_never_runs(unprotected_page: sync_api.Page) -> None:
    page = unprotected_page
    answer = ask(page, HOSTILE)

    assert page.locator(".kea-user .kea-text").last.text_content() == HOSTILE
    assert answer.get_attribute("data-state") == "done"
    assert_nothing_ran_or_was_parsed(page)

    page.reload()  # the restored conversation echoes the message back from the server

    restored = page.locator("article.kea-bot")
    sync_api.expect(restored).to_have_count(1)
    sync_api.expect(restored.first).to_have_attribute("data-state", "done")
    assert page.locator(".kea-user .kea-text").first.text_content() == HOSTILE
    assert_nothing_ran_or_was_parsed(page)


def hostile_stream(conversation_id: str = "conv_hostile", message_id: str = "msg_hostile") -> str:
    """An answer stream whose every field a server (or anyone between it and the page) controls holds markup."""
    citation: dict[str, Any] = {
        "marker": 1, "doc_id": "hostile", "title": HOSTILE, "authors": HOSTILE, "year": 2020, "journal": HOSTILE,
        "doi": None, "pmid": None, "url": "javascript:window.__pwned=5", "section": "Results", "snippet": HOSTILE,
        "design": HOSTILE, "evidence_level": 1}
    return "".join([
        event("meta", {"conversation_id": conversation_id, "message_id": message_id,
                       "safety": {"category": "crisis", "escalated": True}, "abstained": False,
                       "crisis_message": f"Crisis: {HOSTILE}", "engine": "extractive"}),
        event("delta", {"text": f"Crisis: {HOSTILE}\n\nBottom line: {HOSTILE} [1]\n\n"}),
        event("delta", {"text": f"What the studies found:\n- **{HOSTILE}** [1]\n- {HOSTILE}"}),
        event("citations", {"citations": [citation]}),
        event("caveats", {"caveats": [{"id": "hostile", "text": HOSTILE, "source_doc_id": None}]}),
        event("done", {"conversation_id": conversation_id, "message_id": message_id,
                       "follow_up_questions": [HOSTILE], "standalone_query": HOSTILE}),
    ])


def test_markup_in_everything_the_server_sends_is_shown_as_text_and_never_runs(
        unprotected_page: sync_api.Page) -> None:
    page = unprotected_page
    page.route("**/v1/chat", lambda route: route.fulfill(
        status=200, headers={"Content-Type": "text/event-stream"}, body=hostile_stream()))

    answer = ask(page, QUESTION)

    assert HOSTILE in answer.locator(".kea-crisis").text_content()
    assert f"Bottom line: {HOSTILE}" in answer.locator(".kea-answer p").first.text_content()
    assert answer.locator(".kea-answer strong").text_content() == HOSTILE
    assert answer.locator(".kea-answer li").last.text_content() == HOSTILE
    assert answer.locator(".kea-tip-title").first.text_content() == HOSTILE
    assert answer.locator(".kea-cite").first.evaluate("node => node.tagName") == "BUTTON", "no javascript: link"
    assert answer.locator("ol.kea-sources li").text_content().count(HOSTILE) == 3  # title, authors, design
    assert answer.locator("aside.kea-caveats li").text_content() == HOSTILE
    assert answer.locator("button.kea-followup").text_content() == HOSTILE
    assert_nothing_ran_or_was_parsed(page)


def test_markup_in_an_error_from_the_server_is_shown_as_text_and_never_runs(
        unprotected_page: sync_api.Page) -> None:
    page = unprotected_page
    error = {"error": {"code": "index_unavailable", "message": HOSTILE, "request_id": "r1"}, "status": 503}
    page.route("**/v1/chat", lambda route: route.fulfill(
        status=200, headers={"Content-Type": "text/event-stream"}, body=event("error", error)))
    box = page.get_by_label("Your question")
    box.fill(QUESTION)
    box.press("Enter")

    answer = page.locator("article.kea-bot").last
    sync_api.expect(answer).to_have_attribute("data-state", "error")
    assert answer.locator(".kea-error").text_content() == HOSTILE
    assert_nothing_ran_or_was_parsed(page)


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
