"""POST /v1/chat with "store": false: evaluation traffic answered like any other, and nothing persisted."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from assistant.web.schemas import ChatRequest
from tests.conftest import REPO
from tests.web.sse_helpers import parse_events

QUESTION = "What did the esketamine nasal spray trials find?"
FOLLOW_UP = "What about side effects of it?"


def stored_turns(client: FlaskClient) -> int:
    return int(client.application.extensions["assistant"].conversations.count_turns())


def post(client: FlaskClient, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/chat", json=body)
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def test_an_unstored_answer_is_the_stored_answer_without_ids_and_leaves_the_store_untouched(
        client: FlaskClient) -> None:
    stored = post(client, message=QUESTION)
    before = stored_turns(client)
    unstored = post(client, message=QUESTION, store=False)

    assert stored_turns(client) == before
    assert unstored["conversation_id"] is None and unstored["message_id"] is None
    volatile = {"conversation_id", "message_id"}
    assert {k: v for k, v in unstored.items() if k not in volatile} == \
        {k: v for k, v in stored.items() if k not in volatile}


def test_a_follow_up_with_its_history_in_the_request_is_answered_as_in_a_stored_conversation(
        client: FlaskClient) -> None:
    first = post(client, message=QUESTION)
    stored = post(client, message=FOLLOW_UP, conversation_id=first["conversation_id"])
    before = stored_turns(client)
    unstored = post(client, message=FOLLOW_UP, store=False,
                    history=[{"user": QUESTION, "assistant": first["answer"]}])

    assert stored_turns(client) == before
    assert unstored["standalone_query"] == stored["standalone_query"] != FOLLOW_UP
    assert unstored["answer"] == stored["answer"] and unstored["citations"] == stored["citations"]


def test_an_existing_conversation_can_be_continued_without_adding_to_it(client: FlaskClient) -> None:
    first = post(client, message=QUESTION)
    before = stored_turns(client)
    unstored = post(client, message=FOLLOW_UP, conversation_id=first["conversation_id"], store=False)

    assert stored_turns(client) == before and unstored["message_id"] is None
    assert unstored["standalone_query"] != FOLLOW_UP  # the stored history was read
    turns = client.get(f"/v1/conversations/{first['conversation_id']}").get_json()["turns"]
    assert [t["message"] for t in turns] == [QUESTION]


def test_an_unstored_stream_sends_null_ids_and_stores_nothing(client: FlaskClient) -> None:
    before = stored_turns(client)
    response = client.post("/v1/chat", json={"message": QUESTION, "stream": True, "store": False})
    events = dict(parse_events(response.get_data(as_text=True)))

    assert response.status_code == 200 and stored_turns(client) == before
    assert (events["meta"]["conversation_id"], events["meta"]["message_id"]) == (None, None)
    assert (events["done"]["conversation_id"], events["done"]["message_id"]) == (None, None)


TURN = {"user": QUESTION, "assistant": "Bottom line: ..."}


@pytest.mark.parametrize(("body", "message"), [
    ({"history": [TURN]}, "history is only accepted with store false"),
    ({"history": [TURN], "store": True}, "history is only accepted with store false"),
    ({"history": [], "store": True}, "history is only accepted with store false"),
    ({"history": [TURN], "store": False, "conversation_id": "conv_abc"}, "either conversation_id or history"),
    ({"history": [{"user": "  ", "assistant": "x"}], "store": False}, "must contain some text"),
    ({"history": [{"user": "q"}], "store": False}, "Field required"),
    ({"history": [TURN] * 51, "store": False}, "at most 50 items"),
    ({"store": "no"}, "Input should be a valid boolean"),
])
def test_bad_store_and_history_fields_are_a_422_that_says_why(client: FlaskClient, body: dict[str, Any],
                                                              message: str) -> None:
    before = stored_turns(client)
    response = client.post("/v1/chat", json={"message": QUESTION, **body})

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert message in error["message"] or any(message in d["message"] for d in error.get("details") or [])
    assert stored_turns(client) == before


def test_the_openapi_document_describes_store_and_history(client: FlaskClient) -> None:
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    request = schemas["ChatRequest"]
    assert request["properties"]["store"]["type"] == "boolean" and request["properties"]["store"]["default"] is True
    assert request["properties"]["history"]["items"] == {"$ref": "#/components/schemas/HistoryTurn"}
    assert request["dependentSchemas"]["history"]["properties"]["store"] == {"const": False}
    assert set(schemas["HistoryTurn"]["required"]) == {"user", "assistant"}
    for name in ("ChatResponse", "MetaEvent", "DoneEvent"):
        assert {"type": "null"} in schemas[name]["properties"]["message_id"]["anyOf"], name


@pytest.mark.parametrize("field", sorted(ChatRequest.model_fields))
def test_every_request_field_is_in_the_request_table_of_the_api_document(field: str) -> None:
    assert f"| `{field}` |" in (REPO / "docs" / "api.md").read_text(encoding="utf-8")
