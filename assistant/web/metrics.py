"""Prometheus metrics, one registry per app.

A registry per app (not prometheus_client's global one) lets tests build many apps in one
process and lets each count only its own traffic. Routes are labelled by their template
(``/v1/conversations/<conversation_id>``), never by the raw path, so ids and probes for
missing pages cannot blow up the number of series. Under gunicorn each worker reports its own
numbers; a scraper that must see one total should aggregate over workers.
"""

from __future__ import annotations

import time

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from assistant.domain import Answer
from assistant.web import context

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

bp = Blueprint("metrics", __name__)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "assistant_http_requests", "HTTP requests by route template, method and status.",
            ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram(
            "assistant_http_request_duration_seconds", "Time until the whole response was sent.",
            ["route", "method", "status"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.answers = Counter(
            "assistant_answers", "Answers given, by safety category.", ["category"], registry=self.registry)
        self.abstentions = Counter(
            "assistant_abstentions", "Answers that declined for lack of evidence.", registry=self.registry)

    def record_answer(self, answer: Answer) -> None:
        self.answers.labels(category=answer.safety.category).inc()
        if answer.abstained:
            self.abstentions.inc()


def init_app(app: Flask) -> Metrics:
    metrics = Metrics()
    app.extensions["assistant.metrics"] = metrics
    app.after_request(_observe)
    app.register_blueprint(bp)
    return metrics


def current_metrics() -> Metrics:
    metrics: Metrics = current_app.extensions["assistant.metrics"]
    return metrics


def _observe(response: Response) -> Response:
    metrics = current_metrics()
    labels = {
        "route": request.url_rule.rule if request.url_rule else "<unmatched>",
        "method": request.method,
        "status": str(response.status_code),
    }
    so_far = context.elapsed()
    finished_at = time.perf_counter()

    def record() -> None:
        metrics.requests.labels(**labels).inc()
        metrics.latency.labels(**labels).observe(so_far + time.perf_counter() - finished_at)

    context.when_finished(response, record)
    return response


@bp.get("/metrics")
def exposition() -> Response:
    return Response(generate_latest(current_metrics().registry), content_type=CONTENT_TYPE_LATEST)
