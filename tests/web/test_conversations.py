"""Conversations persist, can be read back with their citations, and can be forgotten; feedback is kept."""

from __future__ import annotations

from datetime import datetime

from flask.testing import FlaskClient

from tests.web.conftest import AppFactory

QUESTION = "What did the esketamine nasal spray trials find?"


def start(client: FlaskClient, message: str = QUESTION) -> dict:
    response = client.post("/v1/chat", json={"message": message})
    assert response.status_code == 200
    return response.get_json()


def test_a_conversation_reads_back_with_every_turn_and_its_citations(client: FlaskClient) -> None:
    first = start(client)
    second = client.post("/v1/chat", json={"message": "And side effects?",
                                           "conversation_id": first["conversation_id"]}).get_json()

    record = client.get(f"/v1/conversations/{first['conversation_id']}").get_json()

    assert record["conversation_id"] == first["conversation_id"]
    assert datetime.fromisoformat(record["created_at"])
    assert [t["seq"] for t in record["turns"]] == [1, 2]
    assert [t["message_id"] for t in record["turns"]] == [first["message_id"], second["message_id"]]
    stored = record["turns"][0]["answer"]
    assert stored["answer"] == first["answer"]
    assert stored["citations"] == first["citations"] and stored["citations"]


def test_conversations_survive_a_restart_of_the_app(make_app: AppFactory) -> None:
    first = start(make_app().test_client())

    restarted = make_app().test_client()  # same settings, same SQLite file, new process state

    assert restarted.get(f"/v1/conversations/{first['conversation_id']}").status_code == 200
    follow = restarted.post("/v1/chat", json={"message": "What about relapse?",
                                              "conversation_id": first["conversation_id"]})
    assert follow.status_code == 200


def test_a_deleted_conversation_is_gone_with_its_feedback(client: FlaskClient) -> None:
    first = start(client)
    client.post("/v1/feedback", json={"message_id": first["message_id"], "rating": "up"})

    response = client.delete(f"/v1/conversations/{first['conversation_id']}")

    assert response.status_code == 204 and response.data == b""
    assert client.get(f"/v1/conversations/{first['conversation_id']}").status_code == 404
    assert client.delete(f"/v1/conversations/{first['conversation_id']}").status_code == 404
    assert client.post("/v1/feedback", json={"message_id": first["message_id"], "rating": "up"}).status_code == 404
    continued = client.post("/v1/chat", json={"message": QUESTION, "conversation_id": first["conversation_id"]})
    assert continued.status_code == 404


def test_feedback_is_stored_against_the_answer(client: FlaskClient) -> None:
    first = start(client)

    response = client.post("/v1/feedback", json={"message_id": first["message_id"], "rating": "down",
                                                 "comment": "  Too long.  "})

    assert response.status_code == 201
    body = response.get_json()
    assert body["message_id"] == first["message_id"] and body["rating"] == "down"
    stored = client.application.extensions["assistant"].conversations.feedback_for(first["message_id"])
    assert [(f.rating, f.comment, f.source) for f in stored] == [("down", "Too long.", "web")]


def test_feedback_on_an_unknown_answer_is_a_404(client: FlaskClient) -> None:
    response = client.post("/v1/feedback", json={"message_id": "msg_" + "0" * 32, "rating": "up"})

    assert response.status_code == 404
    assert response.get_json()["error"]["field"] == "message_id"


def test_slack_threads_in_the_same_store_are_not_visible_over_the_web(client: FlaskClient) -> None:
    store = client.application.extensions["assistant"].conversations
    slack_id = store.get_or_create_by_ref("T1:C1:1700000000.0001", channel="slack")

    assert client.get(f"/v1/conversations/{slack_id}").status_code == 404
    assert client.delete(f"/v1/conversations/{slack_id}").status_code == 404
    assert client.post("/v1/chat", json={"message": QUESTION, "conversation_id": slack_id}).status_code == 404
    assert store.get_conversation(slack_id) is not None
