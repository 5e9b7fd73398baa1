"""CORS for listed origins, optional API keys, rate limits, request ids and safe headers."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.web.conftest import AppFactory

WIDGET_SITE = "https://clinic.example.org"
CHAT = {"message": "Does ketamine help depression?"}


def preflight(client: FlaskClient, origin: str, path: str = "/v1/chat"):  # type: ignore[no-untyped-def]
    return client.options(path, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization"})


def test_a_listed_origin_passes_the_preflight_and_can_read_the_request_id(make_app: AppFactory) -> None:
    client = make_app(cors_origins=[WIDGET_SITE]).test_client()

    response = preflight(client, WIDGET_SITE)

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == WIDGET_SITE
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()
    actual = client.post("/v1/sources/nope", headers={"Origin": WIDGET_SITE})
    assert actual.headers["Access-Control-Allow-Origin"] == WIDGET_SITE
    assert "X-Request-ID" in actual.headers["Access-Control-Expose-Headers"]


@pytest.mark.parametrize("origin", ["https://evil.example.com", "https://clinic.example.org.evil.com", "null"])
def test_other_origins_get_no_cors_grant(make_app: AppFactory, origin: str) -> None:
    client = make_app(cors_origins=[WIDGET_SITE]).test_client()

    assert "Access-Control-Allow-Origin" not in preflight(client, origin).headers


def test_without_configured_origins_cors_is_off(client: FlaskClient) -> None:
    assert "Access-Control-Allow-Origin" not in preflight(client, WIDGET_SITE).headers


@pytest.fixture
def keyed(make_app: AppFactory) -> FlaskClient:
    return make_app(api_keys=["first-key", "second-key"], cors_origins=[WIDGET_SITE]).test_client()


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Bearer ", "Basic Zmlyc3Qta2V5", "first-key",
                                           "Bearer first-key-but-longer"])
def test_with_keys_configured_a_request_without_a_valid_key_is_a_401(
        keyed: FlaskClient, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}

    response = keyed.post("/v1/chat", json=CHAT, headers=headers)

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "first-key" not in response.get_data(as_text=True)


@pytest.mark.parametrize("key", ["first-key", "second-key"])
def test_any_configured_key_is_accepted(keyed: FlaskClient, key: str) -> None:
    response = keyed.get("/v1/sources", headers={"Authorization": f"Bearer {key}"})

    assert response.status_code == 200


def test_probes_the_widget_and_preflights_need_no_key(keyed: FlaskClient) -> None:
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json", "/", "/widget.js"]:
        assert keyed.get(path).status_code == 200, path
    assert preflight(keyed, WIDGET_SITE).status_code == 200


def test_the_rate_limit_answers_429_with_retry_after(make_app: AppFactory) -> None:
    client = make_app(rate_limit="3/minute").test_client()

    statuses = [client.get("/v1/sources/berman2000").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    refused = client.get("/v1/sources/berman2000")
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert client.get("/healthz").status_code == 200, "probes are not rate limited"


def test_the_rate_limit_is_per_key_when_keys_are_used(make_app: AppFactory) -> None:
    client = make_app(rate_limit="2/minute", api_keys=["alpha", "beta"]).test_client()
    alpha, beta = ({"Authorization": f"Bearer {k}"} for k in ("alpha", "beta"))

    assert [client.get("/v1/sources", headers=alpha).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/v1/sources", headers=beta).status_code == 200


def test_guessing_keys_is_rate_limited_too(make_app: AppFactory) -> None:
    client = make_app(rate_limit="2/minute", api_keys=["alpha"]).test_client()

    statuses = [client.get("/v1/sources", headers={"Authorization": f"Bearer guess{i}"}).status_code
                for i in range(3)]

    assert statuses == [401, 401, 429]


def test_a_successful_response_carries_no_retry_after(client: FlaskClient) -> None:
    response = client.get("/v1/sources")

    assert response.status_code == 200 and "Retry-After" not in response.headers


@pytest.mark.parametrize(("sent", "echoed"), [
    ("client-abc-123", True),
    ("a" * 128, True),
    ("a" * 129, False),
    ("has space", False),
    ("inject\r\nX-Evil: 1", False),
    ("", False),
])
def test_a_sane_client_request_id_is_echoed_and_anything_else_replaced(
        client: FlaskClient, sent: str, echoed: bool) -> None:
    try:
        response = client.get("/v1/sources/nope", headers={"X-Request-ID": sent})
    except ValueError:  # werkzeug itself refuses to send a header with a newline
        return
    returned = response.headers["X-Request-ID"]
    assert (returned == sent) is echoed
    assert response.get_json()["error"]["request_id"] == returned


@pytest.mark.parametrize(("method", "path"), [("GET", "/healthz"), ("GET", "/"), ("GET", "/widget.js"),
                                              ("POST", "/v1/chat"), ("GET", "/nowhere"), ("GET", "/metrics")])
def test_every_response_has_a_request_id_and_nosniff(client: FlaskClient, method: str, path: str) -> None:
    response = client.open(path, method=method, json=CHAT if method == "POST" else None)

    assert len(response.headers["X-Request-ID"]) >= 16
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_api_responses_are_not_cached(client: FlaskClient) -> None:
    assert client.get("/v1/sources").headers["Cache-Control"] == "no-store"
