"""What lets the API sit behind widgets on other sites: CORS, API keys, rate limits, safe headers.

* CORS is off unless origins are configured; then only those origins may call ``/v1/*`` and ``/api/*`` from a
  browser, and preflights are answered without a key (browsers never send one on preflight).
* API keys are optional. When configured, every ``/v1`` and ``/api`` request must carry
  ``Authorization: Bearer <key>``; keys are compared in constant time and never logged.
* Rate limits apply per API key when a valid one is presented, otherwise per client address.
  The limiter runs before the key check, so guessing keys is rate limited too.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Blueprint, Flask, Response, request
from flask_cors import CORS
from flask_limiter import Limiter
from werkzeug.middleware.proxy_fix import ProxyFix

from assistant.errors import Unauthorized
from assistant.settings import WebSettings

API_PATHS = (r"/v1/*", r"/api/*")
EXPOSED_HEADERS = ["X-Request-ID", "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]


def init_app(app: Flask, web: WebSettings, *protected: Blueprint) -> Limiter:
    """Protect the API blueprints (``/v1``, ``/api``) alike; call before registering them on the app."""
    if web.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=web.trusted_proxies, x_proto=web.trusted_proxies)  # type: ignore[method-assign]
    if web.cors_origins:
        CORS(app, resources={prefix: {"origins": web.cors_origins} for prefix in API_PATHS}, allow_headers=[
            "Content-Type", "Authorization", "X-Request-ID", "Accept"], expose_headers=EXPOSED_HEADERS,
            methods=["GET", "POST", "DELETE", "OPTIONS"], max_age=600, supports_credentials=False)
        app.after_request(_vary_on_origin)
    keys = [key.get_secret_value().encode() for key in web.api_keys]
    # Registered before the limiter so that it runs after the limiter's own header hook.
    app.after_request(_retry_after_only_when_refused)
    limiter = Limiter(
        key_func=lambda: _client_key(keys), app=app, storage_uri=web.rate_limit_storage,
        headers_enabled=True, swallow_errors=True, strategy="fixed-window")
    limiter.request_filter(lambda: request.method == "OPTIONS")
    for api in protected:
        limiter.limit(web.rate_limit)(api)
        if keys:
            api.before_request(lambda: _require_key(keys))
    app.after_request(_safe_headers)
    return limiter


def _presented_key() -> bytes | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip().encode()


def _is_valid(token: bytes | None, keys: list[bytes]) -> bool:
    # Compare against every key so the time taken does not reveal which one nearly matched.
    return token is not None and sum(hmac.compare_digest(token, key) for key in keys) > 0


def _client_key(keys: list[bytes]) -> str:
    token = _presented_key()
    if keys and _is_valid(token, keys):
        return "key:" + hashlib.sha256(token or b"").hexdigest()[:16]
    return "addr:" + (request.remote_addr or "unknown")


def _require_key(keys: list[bytes]) -> None:
    if request.method == "OPTIONS":
        return
    if not _is_valid(_presented_key(), keys):
        raise Unauthorized("A valid API key is required: send it as 'Authorization: Bearer <key>'.")


def _retry_after_only_when_refused(response: Response) -> Response:
    """flask-limiter puts Retry-After on every response; on a 200 it would only mislead clients."""
    if response.status_code not in {429, 503}:
        response.headers.pop("Retry-After", None)
    return response


def _vary_on_origin(response: Response) -> Response:
    """An API answer with CORS on depends on the Origin header (granted or not), so say so to caches.

    flask-cors adds ``Vary: Origin`` only when several origins are configured; with one, a cache
    could hand the answer given to a foreign origin (no grant) to the listed one, or the reverse.
    """
    if request.path.startswith(("/v1/", "/api/")):
        response.vary.add("Origin")
    return response


def _safe_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if response.mimetype in {"application/json", "text/event-stream"}:
        response.headers.setdefault("Cache-Control", "no-store")
    return response
