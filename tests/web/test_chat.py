"""POST /v1/chat: answers as JSON or as a stream, stored as turns of a conversation."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from assistant.domain import Answer
from tests.conftest import make_settings
from tests.web.conftest import AppFactory
from tests.web.sse_helpers import parse_events

QUESTION = "Does a single ketamine infusion reduce depressive symptoms within a day?"
ANSWER_FIELDS = set(Answer.model_fields)


def ask(client: FlaskClient, message: str = QUESTION, **body: object) -> dict:
    response = client.post("/v1/chat", json={"message": message, **body})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_json_answer_carries_every_answer_field_and_where_it_was_stored(client: FlaskClient) -> None:
    body = ask(client)

    assert set(body) >= ANSWER_FIELDS
    assert body["conversation_id"].startswith("conv_") and body["message_id"].startswith("msg_")
    assert body["safety"]["category"] == "clinical" and not body["abstained"]
    assert body["citations"], "a clinical question about the corpus is answered with citations"
    for citation in body["citations"]:
        assert f"[{citation['marker']}]" in body["answer"]
        assert citation["url"].startswith("https://")
    assert any(c["id"] == "not_medical_advice" for c in body["caveats"])


def test_a_conversation_grows_turn_by_turn_and_keeps_its_id(client: FlaskClient) -> None:
    first = ask(client)
    second = ask(client, "How long does that effect last?", conversation_id=first["conversation_id"])

    assert second["conversation_id"] == first["conversation_id"]
    assert second["message_id"] != first["message_id"]
    turns = client.get(f"/v1/conversations/{first['conversation_id']}").get_json()["turns"]
    assert [t["message"] for t in turns] == [QUESTION, "How long does that effect last?"]


def test_a_follow_up_is_understood_in_the_light_of_the_history(client: FlaskClient) -> None:
    first = ask(client, "What did the esketamine nasal spray trials find?")
    follow_up = ask(client, "What about side effects of it?", conversation_id=first["conversation_id"])

    assert follow_up["standalone_query"], "the service rewrote the follow-up using the earlier turn"
    assert "esketamine" in follow_up["standalone_query"].lower()


def test_an_unknown_conversation_is_a_404_and_nothing_is_stored(client: FlaskClient) -> None:
    response = client.post("/v1/chat", json={"message": QUESTION, "conversation_id": "conv_" + "0" * 32})

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert response.get_json()["error"]["field"] == "conversation_id"


def test_filters_restrict_the_evidence_that_may_be_cited(client: FlaskClient) -> None:
    body = ask(client, "What is known about ketamine for depression?",
               filters={"designs": ["meta-analysis", "systematic review"]})

    assert body["citations"]
    assert {c["design"] for c in body["citations"]} <= {"meta-analysis", "systematic review"}


def test_a_crisis_message_is_answered_with_help_first(client: FlaskClient) -> None:
    body = ask(client, "I want to end my life, nothing helps anymore")

    assert body["safety"] == {"category": "crisis", "escalated": True}
    assert body["crisis_message"] and "988" in body["crisis_message"]


# ---------------------------------------------------------------- streaming


def stream(client: FlaskClient, message: str = QUESTION, **kwargs: object) -> list[tuple[str, dict]]:
    response = client.post("/v1/chat", json={"message": message, "stream": True}, **kwargs)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    return parse_events(response.get_data(as_text=True))


def test_a_stream_sends_meta_then_deltas_then_citations_caveats_and_done(client: FlaskClient) -> None:
    events = stream(client)
    names = [name for name, _ in events]

    assert names[0] == "meta" and names[-3:] == ["citations", "caveats", "done"]
    assert set(names[1:-3]) == {"delta"} and len(names[1:-3]) > 1, "the text arrives in several pieces"
    meta, done = events[0][1], events[-1][1]
    assert meta["conversation_id"] == done["conversation_id"]
    assert meta["message_id"] == done["message_id"]
    assert meta["safety"]["category"] == "clinical"


def test_streamed_pieces_join_into_exactly_the_json_answer(client: FlaskClient) -> None:
    as_json = ask(client)
    events = stream(client)

    text = "".join(data["text"] for name, data in events if name == "delta")
    citations = next(data["citations"] for name, data in events if name == "citations")
    caveats = next(data["caveats"] for name, data in events if name == "caveats")
    assert text == as_json["answer"]
    assert citations == as_json["citations"]
    assert caveats == as_json["caveats"]
    assert events[-1][1]["follow_up_questions"] == as_json["follow_up_questions"]


def test_a_streamed_turn_is_stored_once_complete(client: FlaskClient) -> None:
    events = stream(client)
    done = events[-1][1]

    turns = client.get(f"/v1/conversations/{done['conversation_id']}").get_json()["turns"]
    assert [t["message_id"] for t in turns] == [done["message_id"]]
    assert turns[0]["answer"]["answer"] == "".join(d["text"] for n, d in events if n == "delta")


def test_the_crisis_message_reaches_the_widget_before_any_answer_text(client: FlaskClient) -> None:
    events = stream(client, "I am going to kill myself tonight")

    assert events[0][0] == "meta"
    assert "988" in events[0][1]["crisis_message"]
    assert events[1][0] == "delta"


@pytest.mark.parametrize(("accept", "stream_field", "expected"), [
    ("text/event-stream", None, "text/event-stream"),
    ("application/json", None, "application/json"),
    ("*/*", None, "application/json"),
    ("text/event-stream", False, "application/json"),
    ("application/json", True, "text/event-stream"),
])
def test_the_stream_field_wins_over_the_accept_header(
        client: FlaskClient, accept: str, stream_field: bool | None, expected: str) -> None:
    body: dict[str, object] = {"message": QUESTION}
    if stream_field is not None:
        body["stream"] = stream_field
    response = client.post("/v1/chat", json=body, headers={"Accept": accept})

    assert response.status_code == 200
    assert response.mimetype == expected


# ---------------------------------------------------------------- index unavailable


@pytest.fixture
def no_index_client(make_app: AppFactory, tmp_path: Path) -> FlaskClient:
    """An app whose data directory holds no index at all (ingest never ran)."""
    return make_app(make_settings(tmp_path / "empty", corpus_dir=tmp_path / "empty" / "corpus")).test_client()


def test_without_an_index_a_json_question_gets_a_503_that_says_why(no_index_client: FlaskClient) -> None:
    response = no_index_client.post("/v1/chat", json={"message": QUESTION})

    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "index_unavailable"
    assert int(response.headers["Retry-After"]) > 0


def test_without_an_index_a_stream_ends_with_an_error_event_not_a_broken_connection(
        no_index_client: FlaskClient) -> None:
    response = no_index_client.post("/v1/chat", json={"message": QUESTION, "stream": True})
    events = parse_events(response.get_data(as_text=True))

    assert response.status_code == 200
    assert [name for name, _ in events] == ["error"]
    error = events[0][1]
    assert error["status"] == 503
    assert error["error"]["code"] == "index_unavailable"
    assert error["error"]["request_id"] == response.headers["X-Request-ID"]


def test_a_failed_answer_leaves_no_conversation_behind(no_index_client: FlaskClient) -> None:
    no_index_client.post("/v1/chat", json={"message": QUESTION})

    services = no_index_client.application.extensions["assistant"]
    assert services.conversations.count_turns() == 0
