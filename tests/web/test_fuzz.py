"""Property-based fuzzing of the HTTP API from its own /openapi.json (schemathesis + hypothesis).

Schemathesis reads the document the app serves and generates requests for every operation in it:
valid ones (positive mode) and, for operations whose input the document constrains, invalid ones
(negative mode). Whatever is sent, every response must

* never be a 5xx;
* have a status, content type, headers and body that the document lists for the operation
  (for a stream, every Server-Sent Event is checked against its event schema);
* when it is an error, be the JSON error shape with the request id of the ``X-Request-ID`` header;
* in positive mode be accepted (2xx, or 404 for an id that names nothing), and in negative mode be
  refused with a 4xx: the document and the validators agree on what "valid" means.

Generated ids almost never name anything, so a few real conversations, answers and sources are mixed
into the valid requests: reading, continuing, rating and deleting real things is fuzzed too. The runs
are derandomized (the same requests every time), so a failure here reproduces.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from jsonschema import Draft202012Validator
from pydantic_core import PydanticCustomError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from assistant.domain import clean_text
from assistant.web.openapi import TYPED_TEXT_PATTERN
from tests.web.conftest import AppFactory

pytestmark = pytest.mark.slow

POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, positive_data_acceptance, negative_data_rejection]
# Examples per (operation, mode). Operations without parameters have exactly one possible request,
# which hypothesis notices and sends once; their budget is a ceiling, not a count. Generating an invalid
# message list for the two chat protocols costs schemathesis about 0.2 s a case (their schemas nest unions of
# parts), ten times what answering it costs; 80 of each still reach every 400 and 422 branch of both.
BUDGET: dict[str, dict[GenerationMode, int]] = {
    "POST /v1/chat": {POSITIVE: 450, NEGATIVE: 350},
    "POST /v1/feedback": {POSITIVE: 250, NEGATIVE: 250},
    "GET /v1/conversations/{conversation_id}": {POSITIVE: 250},
    "DELETE /v1/conversations/{conversation_id}": {POSITIVE: 250},
    "GET /v1/sources/{doc_id}": {POSITIVE: 300},
    "POST /v1/chat/completions": {POSITIVE: 60, NEGATIVE: 80},
    "POST /api/chat": {POSITIVE: 60, NEGATIVE: 80},
}
DEFAULT_BUDGET = {POSITIVE: 20}
MIN_REQUESTS = 2000
KEY = "fuzz-key"
SPEC_URI = "urn:assistant:openapi"
# Rules of a valid request that JSON Schema cannot state (they compare fields or add lengths up);
# the document says them in words, and the server's refusal names them: (field, words).
CROSS_FIELD_RULES = [("filters", "year_min must not be after year_max"),
                     ("messages", "the last message must be the user's question")]
PARTS_ADD_UP = "characters in all"  # a user message's text parts count together towards the limit
# A question appended to every valid message list (JSON Schema cannot say the last message must be the user's).
QUESTION = "Does ketamine help depression?"
ENDS_WITH_A_QUESTION = {
    "POST /v1/chat/completions": {"role": "user", "content": QUESTION},
    "POST /api/chat": {"id": "fuzz-question", "role": "user", "parts": [{"type": "text", "text": QUESTION}]},
}


@dataclass
class Tally:
    """Every request sent, by operation and status, and every failure, by operation and mode."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    seconds: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    def histogram(self) -> Counter[int]:
        by_status: Counter[int] = Counter()
        for (_, status), count in self.statuses.items():
            by_status[status] += count
        return by_status

    def report(self, title: str, seconds: float) -> str:
        by_status = dict(sorted(self.histogram().items()))
        lines = [f"{title}: {self.total} requests in {seconds:.1f} s; by status {by_status}"]
        lines += [f"  {label:48} {status} x {count}" for (label, status), count in sorted(self.statuses.items())]
        lines += [f"  {label:48} {spent:.1f} s" for label, spent in self.seconds.most_common(4)]
        return "\n".join(lines)


@dataclass(frozen=True)
class Known:
    """Real things to mix into generated requests, so that 200s are fuzzed and not only 404s."""

    conversations: list[str]  # read, continued and rated; never deleted
    disposable: list[str]  # deleted by the fuzzer, one by one
    messages: list[str]
    doc_ids: list[str]


def seed(app: Flask) -> Known:
    """Two conversations of two turns to read and rate, and three to delete."""
    client = app.test_client()
    conversations, messages, disposable = [], [], []
    for question in ("Does ketamine reduce suicidal ideation within 24 hours?", "What did TRANSFORM-2 find?"):
        first = client.post("/v1/chat", json={"message": question}).get_json()
        second = client.post("/v1/chat", json={"message": "And how long did it last?",
                                               "conversation_id": first["conversation_id"]}).get_json()
        conversations.append(first["conversation_id"])
        messages += [first["message_id"], second["message_id"]]
    for _ in range(3):
        disposable.append(client.post("/v1/chat", json={"message": "Is esketamine approved?"}).get_json()
                          ["conversation_id"])
    doc_ids = [source["doc_id"] for source in client.get("/v1/sources").get_json()["sources"]]
    return Known(conversations, disposable, messages, doc_ids)


def with_body_field(name: str, value: str) -> Callable[[Case], Case]:
    """Aim a generated body at a real thing by overwriting one of its fields (the rest stays generated)."""

    def put(case: Case) -> Case:
        if isinstance(case.body, dict):
            case.body = {**case.body, name: value}
        return case

    return put


def ending_with(message: dict[str, Any]) -> Callable[[Case], Case]:
    """Append the question to a generated (valid) message list, so the request has something to answer."""

    def put(case: Case) -> Case:
        if isinstance(case.body, dict) and isinstance(case.body.get("messages"), list):
            case.body = {**case.body, "messages": [*case.body["messages"], message]}
        return case

    return put


def strategy(operation: APIOperation, mode: GenerationMode, known: Known | None,
             headers: dict[str, str] | None = None) -> SearchStrategy[Case]:
    """Generated requests for one operation; valid ones sometimes aimed at things that exist."""
    generated = operation.as_strategy(generation_mode=mode, headers=headers)
    if mode is POSITIVE and operation.label in ENDS_WITH_A_QUESTION:
        return generated.map(ending_with(ENDS_WITH_A_QUESTION[operation.label]))
    if mode is NEGATIVE or known is None:
        return generated
    aimed: list[SearchStrategy[Case]] = []
    match operation.label:
        case "POST /v1/chat":
            aimed = [generated.map(with_body_field("conversation_id", c)) for c in known.conversations]
        case "POST /v1/feedback":
            aimed = [generated.map(with_body_field("message_id", m)) for m in known.messages]
        case "GET /v1/conversations/{conversation_id}":
            aimed = [operation.as_strategy(path_parameters={"conversation_id": c}, headers=headers)
                     for c in known.conversations]
        case "DELETE /v1/conversations/{conversation_id}":
            aimed = [operation.as_strategy(path_parameters={"conversation_id": c}, headers=headers)
                     for c in known.disposable]
        case "GET /v1/sources/{doc_id}":
            aimed = [operation.as_strategy(path_parameters={"doc_id": d}, headers=headers)
                     for d in known.doc_ids[:8]]
    return st.one_of(generated, *aimed)


def assert_json_error(response: Response) -> None:
    """An error is ``{"error": {"code", "message", "request_id", ...}}`` and quotes the response's id."""
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), f"{response.status_code} error sent as {content_type!r}"
    error = response.json()["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert error["request_id"] == response.headers["x-request-id"][0]


def is_the_cross_field_rule(case: Case, response: Response) -> bool:
    """A valid-looking request refused only for a rule the document states in words."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code not in {400, 422}:
        return False
    error = response.json()["error"]
    field = error.get("field") or error.get("param") or ""
    if any(field == name and words in error["message"] for name, words in CROSS_FIELD_RULES):
        return True
    return field.startswith("messages") and field.endswith((".content", ".parts")) and PARTS_ADD_UP in error[
        "message"]


def is_valid_once_trimmed(case: Case, response: Response,
                          body_schema: Callable[[Case], Draft202012Validator]) -> bool:
    """An invalid-looking body accepted because texts are trimmed before their length is counted.

    The document's ``maxLength`` counts the raw text, the server the trimmed one (docs/api.md:
    "Trimmed; 1 to 2000 characters"), so 1,990 letters and 20 spaces are accepted. That leniency
    is tolerated only when trimming every text in the body makes it valid by the document.
    """
    if case.meta is None or not case.meta.generation.mode.is_negative or response.status_code >= 400:
        return False
    if not isinstance(case.body, dict):
        return False
    trimmed = _trim(case.body)
    return trimmed != case.body and body_schema(case).is_valid(trimmed)


def _trim(value: Any) -> Any:
    """Every text in a body trimmed, nested ones too (a stateless request's ``history`` items are texts)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        return {k: _trim(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trim(v) for v in value]
    return value


def fuzz(schema: BaseSchema, tally: Tally, *, known: Known | None = None, headers: dict[str, str] | None = None,
         expect: Callable[[Case, Response], None] | None = None, budget_scale: float = 1.0) -> None:
    """Send each operation's generated requests, check every response, and record what came back."""
    operations = [result.ok() for result in schema.get_all_operations()]
    body_validator = request_body_validator(schema.raw_schema)
    for operation in operations:
        for mode, examples in BUDGET.get(operation.label, DEFAULT_BUDGET).items():
            run = _runner(operation, mode, max(1, int(examples * budget_scale)), tally, known, headers, expect,
                          body_validator)
            started = time.perf_counter()
            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a BaseExceptionGroup
                tally.failures.append(f"{operation.label} ({mode.value}): {exc}")
            tally.seconds[f"{operation.label} ({mode.value})"] += time.perf_counter() - started


def _runner(operation: APIOperation, mode: GenerationMode, examples: int, tally: Tally, known: Known | None,
            headers: dict[str, str] | None, expect: Callable[[Case, Response], None] | None,
            body_validator: Callable[[Case], Draft202012Validator]) -> Callable[[], None]:
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None, print_blob=False,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink])
    @given(case=strategy(operation, mode, known, headers))
    def run(case: Case) -> None:
        response = case.call()
        tally.statuses[(operation.label, response.status_code)] += 1
        if response.status_code >= 400:
            assert_json_error(response)
        if response.status_code == 413:  # a refusal of any body over the size limit, whatever its schema says
            case.validate_response(response, checks=[c for c in CHECKS if c not in {
                positive_data_acceptance, negative_data_rejection}])
        elif is_the_cross_field_rule(case, response):
            case.validate_response(response, checks=[c for c in CHECKS if c is not positive_data_acceptance])
        elif is_valid_once_trimmed(case, response, body_validator):
            case.validate_response(response, checks=[c for c in CHECKS if c is not negative_data_rejection])
        else:
            case.validate_response(response, checks=CHECKS)
        if expect is not None:
            expect(case, response)

    return run


def request_body_validator(spec: dict[str, Any]) -> Callable[[Case], Draft202012Validator]:
    """For a case, a validator of its operation's JSON request body whose refs resolve inside ``spec``."""
    registry = Registry().with_resource(SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012))

    def validator(case: Case) -> Draft202012Validator:
        operation = spec["paths"][case.operation.path][case.method.lower()]
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return Draft202012Validator({"$ref": SPEC_URI + ref}, registry=registry)

    return validator


def routes_in(schema: BaseSchema) -> set[str]:
    return {result.ok().label for result in schema.get_all_operations()}


def test_thousands_of_generated_requests_get_documented_answers_and_never_a_5xx(app: Flask) -> None:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    tally = Tally()
    started = time.perf_counter()

    fuzz(schema, tally, known=seed(app))

    print("\n" + tally.report("fuzzed without keys", time.perf_counter() - started))
    assert not tally.failures, "\n\n".join(tally.failures)
    assert tally.total >= MIN_REQUESTS
    assert {label for label, _ in tally.statuses} == routes_in(schema), "every documented operation was called"
    assert not [status for status in tally.histogram() if status >= 500]
    exercised = {(label, status) for label, status in tally.statuses}
    assert {("POST /v1/chat", 200), ("POST /v1/chat", 422), ("POST /v1/chat", 404), ("POST /v1/feedback", 201),
            ("GET /v1/conversations/{conversation_id}", 200), ("DELETE /v1/conversations/{conversation_id}", 204),
            ("GET /v1/sources/{doc_id}", 200), ("POST /v1/feedback", 400), ("POST /v1/chat/completions", 200),
            ("POST /v1/chat/completions", 400), ("POST /api/chat", 200), ("POST /api/chat", 422),
            ("GET /v1/models", 200)} <= exercised, \
        "the fuzzer reached both the accepting and the refusing branches"


def test_with_api_keys_generated_requests_need_the_key_and_get_documented_answers(make_app: AppFactory) -> None:
    """Without a key every /v1 and /api request is a documented 401 (the key is checked before the body);
    with one, none is."""
    app = make_app(api_keys=[KEY])
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    without, with_key = Tally(), Tally()

    def refused_without_key(case: Case, response: Response) -> None:
        if case.path.startswith(("/v1/", "/api/")):
            assert response.status_code == 401, f"{case.method} {case.formatted_path} without a key"
        else:
            assert response.status_code != 401

    def never_refused_with_key(case: Case, response: Response) -> None:
        assert response.status_code != 401, f"{case.method} {case.formatted_path} refused a valid key"

    started = time.perf_counter()
    fuzz(schema, without, expect=refused_without_key, budget_scale=0.1)
    middle = time.perf_counter()
    fuzz(schema, with_key, headers={"Authorization": f"Bearer {KEY}"}, expect=never_refused_with_key,
         budget_scale=0.1)

    print("\n" + without.report("keyed app, no key", middle - started))
    print(with_key.report("keyed app, valid key", time.perf_counter() - middle))
    assert not without.failures, "\n\n".join(without.failures)
    assert not with_key.failures, "\n\n".join(with_key.failures)
    assert {label for label, _ in with_key.statuses} == routes_in(schema)
    assert without.histogram()[401] >= 50


# Whitespace per str.strip, control characters, ordinary letters and punctuation, other scripts.
TYPED_TEXT = st.text(st.one_of(st.sampled_from(list(" \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2003\u2028\u3000\ufeff")),
                               st.characters(codec="utf-8")), max_size=12)


@settings(max_examples=2000, derandomize=True, database=None)
@given(text=TYPED_TEXT)
def test_the_documented_pattern_for_typed_text_is_exactly_the_servers_rule(text: str) -> None:
    """The OpenAPI pattern on ``message`` and ``comment`` accepts a text iff the server's validator does.

    The fuzzer relies on it: positive requests must be accepted and negative ones refused.
    """
    try:
        clean_text(text, limit=10_000)
        accepted = True
    except PydanticCustomError:
        accepted = False

    assert bool(re.match(TYPED_TEXT_PATTERN, text)) is accepted



def integer_fields(spec: dict[str, Any], schema: dict[str, Any], path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Paths of every property a request body's schema lets hold an integer (array items count as the array)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return integer_fields(spec, spec["components"]["schemas"][name], path)
    takes_integers = schema.get("type") == "integer" or any(
        isinstance(v, int) and not isinstance(v, bool) for v in schema.get("enum", []))
    found = {path} if takes_integers else set()
    for choice in (*schema.get("anyOf", []), *schema.get("oneOf", []), *schema.get("allOf", [])):
        found |= integer_fields(spec, choice, path)
    if isinstance(schema.get("items"), dict):
        found |= integer_fields(spec, schema["items"], path)
    for name, sub in schema.get("properties", {}).items():
        found |= integer_fields(spec, sub, (*path, name))
    return found


def huge_integer_bodies(spec: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """(path, field) for every integer field of every JSON request body in the document."""
    out = []
    for route, methods in spec["paths"].items():
        for operation in (m for m in methods.values() if isinstance(m, dict)):
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                out += [(route, f) for f in sorted(integer_fields(spec, body["schema"])) if f]
    return out


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(digits=st.integers(4301, 12_000), sign=st.sampled_from(["", "-"]), pick=st.integers(0, 10_000))
def test_an_integer_too_long_to_parse_in_any_integer_field_is_a_4xx_never_a_500(
        client: FlaskClient, digits: int, sign: str, pick: int) -> None:
    """Python refuses to convert an integer of more than 4300 digits; that is the client's mistake, in every
    integer field the document declares (filter years and levels, the protocols' counts...)."""
    spec = client.get("/openapi.json").get_json()
    targets = huge_integer_bodies(spec)
    assert {"year_min", "evidence_levels", "n"} <= {f[-1] for _, f in targets}
    route, field_path = targets[pick % len(targets)]
    text = '"__N__"'
    for name in reversed(field_path):
        text = json.dumps({name: "__MARK__"}).replace('"__MARK__"', text)
    body = text.replace('"__N__"', sign + "7" * digits)

    response = client.post(route, data=body, content_type="application/json")

    assert 400 <= response.status_code < 500, (route, field_path, response.status_code)
    error = response.get_json()["error"]
    assert "too long to read" in error["message"]
