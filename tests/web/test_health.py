"""Liveness, readiness and metrics: what an orchestrator and a Prometheus scraper see."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import make_settings
from tests.web.conftest import AppFactory


def test_healthz_says_the_process_answers(client: FlaskClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_reports_the_loaded_index(client: FlaskClient) -> None:
    body = client.get("/readyz").get_json()

    assert body["ready"] is True
    assert body["documents"] >= 40 and body["chunks"] > body["documents"]
    assert body["collection"].startswith("evidence")


def test_without_an_index_the_app_starts_alive_but_not_ready(make_app: AppFactory, tmp_path: Path) -> None:
    client = make_app(make_settings(tmp_path / "empty")).test_client()

    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["ready"] is False and "assistant ingest" in body["reason"]
    assert body["error"]["code"] == "not_ready"
    assert client.get("/v1/sources").status_code == 503


def samples(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = client.get("/metrics").get_data(as_text=True)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text) for sample in family.samples
    }


def test_metrics_count_requests_by_route_template_and_status(client: FlaskClient) -> None:
    client.get("/v1/conversations/conv_a")
    client.get("/v1/conversations/conv_b")
    client.get("/no/such/page")

    found = samples(client)
    key = ("assistant_http_requests_total",
           (("method", "GET"), ("route", "/v1/conversations/<conversation_id>"), ("status", "404")))
    assert found[key] == 2
    unmatched = ("assistant_http_requests_total", (("method", "GET"), ("route", "<unmatched>"), ("status", "404")))
    assert found[unmatched] == 1
    assert not any("conv_a" in str(labels) for _, labels in found)
    latency = ("assistant_http_request_duration_seconds_count",
               (("method", "GET"), ("route", "/v1/conversations/<conversation_id>"), ("status", "404")))
    assert found[latency] == 2


def test_metrics_count_answers_by_safety_category_and_abstentions(client: FlaskClient) -> None:
    client.post("/v1/chat", json={"message": "Does ketamine work for treatment-resistant depression?"})
    client.post("/v1/chat", json={"message": "I want to kill myself", "stream": True}).get_data()
    client.post("/v1/chat", json={"message": "What is the capital of France?"})

    found = samples(client)
    assert found[("assistant_answers_total", (("category", "clinical"),))] >= 1
    assert found[("assistant_answers_total", (("category", "crisis"),))] == 1
    assert found[("assistant_abstentions_total", ())] >= 1
    streamed = ("assistant_http_requests_total", (("method", "POST"), ("route", "/v1/chat"), ("status", "200")))
    assert found[streamed] == 3, "a streamed request is counted once its body has been sent"


def test_each_app_counts_only_its_own_traffic(make_app: AppFactory) -> None:
    busy, quiet = make_app().test_client(), make_app().test_client()
    for _ in range(3):
        busy.get("/healthz")

    healthz = ("assistant_http_requests_total", (("method", "GET"), ("route", "/healthz"), ("status", "200")))
    assert samples(busy)[healthz] == 3
    assert healthz not in samples(quiet)
