"""The widget is plain files with no third-party code, and it never turns text into HTML."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from assistant.web.widget import STATIC

SCRIPT = (STATIC / "widget.js").read_text()
CODE = re.sub(r"/\*.*?\*/", "", SCRIPT, flags=re.DOTALL)  # comments may show example URLs


@pytest.mark.parametrize(("path", "mimetype"), [("/widget.js", "text/javascript"), ("/widget.css", "text/css"),
                                                 ("/", "text/html"), ("/demo.css", "text/css")])
def test_the_widget_files_are_served_with_their_types(client: FlaskClient, path: str, mimetype: str) -> None:
    response = client.get(path)

    assert response.status_code == 200 and response.mimetype == mimetype
    assert response.headers["Cache-Control"].startswith("public") or "max-age" in response.headers["Cache-Control"]


@pytest.mark.parametrize("sink", ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                                  "new Function", "setTimeout(\"", "DOMParser", "createContextualFragment"])
def test_the_script_uses_no_html_sinks(sink: str) -> None:
    assert sink not in CODE


def test_the_script_loads_nothing_from_other_hosts() -> None:
    assert "://" not in CODE
    assert "import " not in CODE and "importScripts" not in CODE


def test_links_from_the_server_are_restricted_to_http_and_https() -> None:
    assert 'url.protocol === "https:" || url.protocol === "http:"' in CODE
    assert CODE.count("href: url") == CODE.count("safeUrl(citation.url)"), "every link goes through safeUrl"


def test_the_demo_page_embeds_the_widget_with_one_tag_and_no_inline_script(client: FlaskClient) -> None:
    response = client.get("/")
    html = response.get_data(as_text=True)

    assert len(re.findall(r"<script\b", html)) == 1
    assert re.search(r'<script src="/widget.js" data-target="#evidence-chat" defer></script>', html)
    assert "style=" not in html
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
