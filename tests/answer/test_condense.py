"""Condensing a follow-up: the earlier subject comes along, minus what the follow-up replaces."""

from __future__ import annotations

from assistant.answer.condense import condense
from assistant.domain import Turn
from assistant.services import Services

IV_DOSE = Turn(user="What is the usual IV ketamine dose in the depression trials?", assistant="...")


def names_nothing(message: str) -> bool:
    return False


def test_without_a_replacer_the_earlier_question_is_appended_as_it_was() -> None:
    standalone = condense("And the nasal spray?", [IV_DOSE], names_nothing)
    assert standalone.startswith("And the nasal spray?") and IV_DOSE.user in standalone


def test_the_replacer_sees_the_message_and_rewrites_only_the_earlier_questions() -> None:
    seen: list[tuple[str, str]] = []

    def replaced(message: str, context: str) -> str:
        seen.append((message, context))
        return context.replace("IV", "nasal spray")

    standalone = condense("And the nasal spray?", [IV_DOSE], names_nothing, replaced)
    assert seen == [("And the nasal spray?", IV_DOSE.user)]
    assert standalone.startswith("And the nasal spray?")
    assert "IV" not in standalone and "usual nasal spray ketamine dose" in standalone


def test_a_follow_up_on_another_route_is_answered_from_the_studies_of_that_route(shipped_services: Services) -> None:
    answer = shipped_services.answers.answer("And the nasal spray?", [IV_DOSE])
    assert answer.standalone_query and " IV " not in answer.standalone_query
    cited = {c.doc_id for c in answer.citations}
    routes = {doc: meta.routes for doc, meta in shipped_services.index.snapshot().documents.items()}
    assert cited and all("intranasal" in routes[doc] for doc in cited), cited
