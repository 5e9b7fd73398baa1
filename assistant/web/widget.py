"""The embeddable widget and its demo page, served as plain files: no build step, no CDN.

The demo page gets a strict Content-Security-Policy (scripts, styles and requests only from this
origin, no inline script), which also proves the widget works on sites that lock themselves down.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_from_directory

STATIC = Path(__file__).parent / "static"
DEMO_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
CACHE_SECONDS = 300

bp = Blueprint("widget", __name__)


@bp.get("/")
def demo() -> Response:
    response = send_from_directory(STATIC, "demo.html", mimetype="text/html", max_age=CACHE_SECONDS)
    response.headers["Content-Security-Policy"] = DEMO_CSP
    return response


@bp.get("/widget.js")
def script() -> Response:
    return send_from_directory(STATIC, "widget.js", mimetype="text/javascript", max_age=CACHE_SECONDS)


@bp.get("/widget.css")
def styles() -> Response:
    return send_from_directory(STATIC, "widget.css", mimetype="text/css", max_age=CACHE_SECONDS)


@bp.get("/demo.css")
def demo_styles() -> Response:
    return send_from_directory(STATIC, "demo.css", mimetype="text/css", max_age=CACHE_SECONDS)


@bp.get("/favicon.svg")
def favicon() -> Response:
    return send_from_directory(STATIC, "favicon.svg", mimetype="image/svg+xml", max_age=CACHE_SECONDS)
