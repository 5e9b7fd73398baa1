"""/openapi.json is a valid OpenAPI 3.1 document and the real responses match it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.test import TestResponse

from tests.conftest import make_settings
from tests.web.conftest import AppFactory
from tests.web.sse_helpers import parse_events

SPEC_URI = "urn:assistant:openapi"


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    return client.get("/openapi.json").get_json()


def schema_validator(spec: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for ``schema`` whose local refs ("#/components/...") resolve inside ``spec``."""
    registry = Registry().with_resource(SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012))
    if "$ref" in schema:
        schema = {"$ref": SPEC_URI + schema["$ref"]}
    return Draft202012Validator(schema, registry=registry)


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def assert_matches(spec: dict[str, Any], path: str, method: str, response: TestResponse) -> None:
    """The status is documented for the operation, and the JSON body validates against its schema."""
    operation = spec["paths"][path][method.lower()]
    documented = operation["responses"]
    assert str(response.status_code) in documented, f"{method} {path} -> {response.status_code} is undocumented"
    declared = resolve(spec, documented[str(response.status_code)])
    if response.status_code == 204:
        return
    media = declared["content"][response.mimetype]
    if response.mimetype == "application/json":
        errors = list(schema_validator(spec, media["schema"]).iter_errors(response.get_json()))
        assert not errors, [e.message for e in errors[:3]]


def test_the_document_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"].startswith("3.1")


def test_every_route_is_documented_and_every_documented_path_exists(app: Flask, spec: dict[str, Any]) -> None:
    served = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        served.setdefault(path, set()).update(m.lower() for m in rule.methods or () if m not in {"HEAD", "OPTIONS"})
    documented = {path: {m for m in item if m != "parameters"} for path, item in spec["paths"].items()}
    assert served == documented


def test_the_message_limit_in_the_document_follows_the_settings(make_app: AppFactory) -> None:
    spec = make_app(max_message_chars=500).test_client().get("/openapi.json").get_json()

    assert spec["components"]["schemas"]["ChatRequest"]["properties"]["message"]["maxLength"] == 500


def test_real_successful_responses_match_the_document(client: FlaskClient, spec: dict[str, Any]) -> None:
    chat = client.post("/v1/chat", json={"message": "Does ketamine reduce suicidal thoughts?"})
    assert_matches(spec, "/v1/chat", "POST", chat)
    ids = chat.get_json()
    exchanges = [
        ("/v1/conversations/{conversation_id}", "GET", client.get(f"/v1/conversations/{ids['conversation_id']}")),
        ("/v1/feedback", "POST", client.post("/v1/feedback", json={"message_id": ids["message_id"], "rating": "up"})),
        ("/v1/sources", "GET", client.get("/v1/sources")),
        ("/v1/sources/{doc_id}", "GET", client.get("/v1/sources/zarate2006")),
        ("/healthz", "GET", client.get("/healthz")),
        ("/readyz", "GET", client.get("/readyz")),
        ("/metrics", "GET", client.get("/metrics")),
        ("/", "GET", client.get("/")),
        ("/widget.js", "GET", client.get("/widget.js")),
        ("/v1/conversations/{conversation_id}", "DELETE", client.delete(f"/v1/conversations/{ids['conversation_id']}")),
    ]
    for path, method, response in exchanges:
        assert_matches(spec, path, method, response)


def test_real_error_responses_match_the_document(client: FlaskClient, spec: dict[str, Any]) -> None:
    exchanges = [
        ("/v1/chat", "POST", client.post("/v1/chat", data="{", content_type="application/json")),
        ("/v1/chat", "POST", client.post("/v1/chat", data="{}", content_type="text/plain")),
        ("/v1/chat", "POST", client.post("/v1/chat", json={"message": ""})),
        ("/v1/chat", "POST", client.post("/v1/chat", json={"message": 1, "stream": 2})),
        ("/v1/chat", "POST", client.post("/v1/chat", json={"message": "hi", "conversation_id": "conv_none"})),
        ("/v1/chat", "POST", client.post("/v1/chat", data="x" * 70_000, content_type="application/json")),
        ("/v1/conversations/{conversation_id}", "GET", client.get("/v1/conversations/conv_none")),
        ("/v1/feedback", "POST", client.post("/v1/feedback", json={"message_id": "msg_none", "rating": "up"})),
        ("/v1/sources/{doc_id}", "GET", client.get("/v1/sources/none")),
    ]
    for path, method, response in exchanges:
        assert_matches(spec, path, method, response)


def test_every_event_of_a_stream_matches_its_documented_schema(client: FlaskClient, spec: dict[str, Any]) -> None:
    response = client.post("/v1/chat", json={"message": "I feel suicidal, can ketamine help?", "stream": True})
    assert_matches(spec, "/v1/chat", "POST", response)
    schema_of = {"meta": "MetaEvent", "delta": "DeltaEvent", "citations": "CitationsEvent",
                 "caveats": "CaveatsEvent", "done": "DoneEvent"}

    for name, data in parse_events(response.get_data(as_text=True)):
        validator = schema_validator(spec, {"$ref": f"#/components/schemas/{schema_of[name]}"})
        assert not list(validator.iter_errors(data)), name


def test_a_stream_error_event_is_an_error_response_plus_status(make_app: AppFactory, tmp_path: Path) -> None:
    client = make_app(make_settings(tmp_path / "empty")).test_client()
    spec = client.get("/openapi.json").get_json()
    response = client.post("/v1/chat", json={"message": "Does ketamine help?", "stream": True})
    ((name, data),) = parse_events(response.get_data(as_text=True))

    assert name == "error" and data.pop("status") == 503
    validator = schema_validator(spec, {"$ref": "#/components/schemas/ErrorResponse"})
    assert not list(validator.iter_errors(data))
    assert_matches(spec, "/readyz", "GET", client.get("/readyz"))
