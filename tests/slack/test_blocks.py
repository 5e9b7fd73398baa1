"""How an answer looks in Slack: Block Kit built by pure functions, within Slack's limits."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.domain import Answer, Caveat, Citation, Safety
from assistant.slack.blocks import (
    CRISIS_HEADER,
    FEEDBACK_DOWN,
    FEEDBACK_UP,
    MAX_BLOCKS,
    MAX_TEXT,
    SHARE,
    SHORTENED_NOTE,
    answer_blocks,
    fallback_text,
    reference_line,
    split_text,
)
from tests.slack.helpers import texts

CRISIS = "You deserve support right now.\n\n- **Call or text 988** in the US, any time."


def citation(marker: int, **overrides: Any) -> Citation:
    values: dict[str, Any] = {
        "marker": marker, "doc_id": f"doc{marker}", "title": f"Trial number {marker}", "authors": "A B",
        "year": 2010 + marker, "journal": "J", "doi": f"10.1000/{marker}", "pmid": None,
        "url": f"https://doi.org/10.1000/{marker}", "section": "Results", "snippet": "s",
        "design": "randomized controlled trial", "evidence_level": 2}
    values.update(overrides)
    return Citation(**values)


def answer(text: str = "Ketamine helped within a day [1]. It faded within a week [2].", **overrides: Any) -> Answer:
    values: dict[str, Any] = {
        "answer": text, "citations": [citation(1), citation(2)],
        "caveats": [Caveat(id="dissociation", text="Dissociation was common.")],
        "safety": Safety(category="clinical"), "follow_up_questions": ["How long does it last?"]}
    values.update(overrides)
    return Answer(**values)


def kinds(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["type"] for b in blocks]


def test_the_answer_keeps_its_markers_then_references_caveats_follow_ups_and_buttons() -> None:
    blocks = answer_blocks(answer(), message_id="msg_1")

    assert kinds(blocks) == ["section", "section", "context", "context", "actions"]
    assert blocks[0]["text"] == {"type": "mrkdwn",
                                 "text": "Ketamine helped within a day [1]. It faded within a week [2]."}
    assert blocks[1]["text"]["text"] == (
        "*References*\n"
        "<https://doi.org/10.1000/1|[1] Trial number 1 (2011, randomized controlled trial)>\n"
        "<https://doi.org/10.1000/2|[2] Trial number 2 (2012, randomized controlled trial)>")
    assert blocks[2]["elements"] == [{"type": "mrkdwn", "text": ":warning: Dissociation was common."}]
    assert "How long does it last?" in blocks[3]["elements"][0]["text"]


def test_feedback_buttons_carry_the_stored_message_id() -> None:
    (actions,) = [b for b in answer_blocks(answer(), message_id="msg_42") if b["type"] == "actions"]

    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        (FEEDBACK_UP, "msg_42"), (FEEDBACK_DOWN, "msg_42")]


def test_a_share_button_appears_only_when_asked_for() -> None:
    (actions,) = [b for b in answer_blocks(answer(), message_id="m", share_value="conv_1:m") if b["type"] == "actions"]

    assert actions["elements"][-1]["action_id"] == SHARE and actions["elements"][-1]["value"] == "conv_1:m"


def test_a_crisis_message_comes_first_under_its_own_header_and_is_not_repeated() -> None:
    crisis_answer = answer(text=f"{CRISIS}\n\nThe evidence on suicidal ideation [1].", crisis_message=CRISIS,
                           safety=Safety(category="crisis", escalated=True))

    blocks = answer_blocks(crisis_answer, message_id="m", preface="*You asked:* help")

    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": CRISIS_HEADER, "emoji": True}}
    assert blocks[1]["text"]["text"] == "You deserve support right now.\n\n• *Call or text 988* in the US, any time."
    assert blocks[2] == {"type": "divider"}
    assert blocks[3]["elements"][0]["text"] == "*You asked:* help"
    assert blocks[4]["text"]["text"] == "The evidence on suicidal ideation [1]."
    assert texts(blocks).count("988") == 1


def test_the_notification_text_is_plain_and_puts_the_crisis_message_first() -> None:
    crisis_answer = answer(text=f"{CRISIS}\n\nEvidence [1].", crisis_message=CRISIS)

    text = fallback_text(crisis_answer)

    assert text.startswith("You deserve support right now.")
    assert "Call or text 988" in text and "**" not in text
    assert "[1] Trial number 1 https://doi.org/10.1000/1" in text


def test_a_reference_without_a_usable_link_is_shown_unlinked() -> None:
    assert reference_line(citation(3, url=None, year=None)) == "[3] Trial number 3 (randomized controlled trial)"
    assert reference_line(citation(4, url="javascript:alert(1)")) == (
        "[4] Trial number 4 (2014, randomized controlled trial)")


def test_text_from_the_corpus_cannot_ping_a_channel_or_forge_a_link() -> None:
    sneaky = answer(text="Ask <!channel> or see <https://evil.example|doi.org> & more [1].",
                    citations=[citation(1, title="Title with <b> and | pipe")])

    shown = texts(answer_blocks(sneaky, message_id="m"))

    assert "<!channel>" not in shown and "&lt;!channel&gt;" in shown
    assert "<https://evil.example" not in shown and "&amp; more" in shown
    assert "|[1] Title with &lt;b&gt; and ¦ pipe (2011" in shown


def every_text(blocks: list[dict[str, Any]]) -> list[str]:
    found = [b["text"]["text"] for b in blocks if "text" in b]
    return found + [e["text"] for b in blocks for e in b.get("elements", []) if isinstance(e.get("text"), str)]


@pytest.mark.parametrize("length", [2_999, 3_001, 20_000, 400_000])
def test_long_answers_are_split_within_slacks_limits(length: int) -> None:
    words = [f"word{i}" for i in range(length // 8)]
    paragraphs = "\n\n".join(" ".join(words[i: i + 80]) for i in range(0, len(words), 80))

    blocks = answer_blocks(answer(text=paragraphs, citations=[]), message_id="m")

    assert len(blocks) <= MAX_BLOCKS
    assert all(len(text) <= MAX_TEXT for text in every_text(blocks))
    shown = " ".join(b["text"]["text"] for b in blocks if b["type"] == "section").split()
    if length <= 100_000:
        assert shown == words, "nothing lost, nothing reordered"
    else:
        assert shown == words[: len(shown)]
        assert SHORTENED_NOTE in every_text(blocks)


def test_splitting_prefers_paragraphs_then_lines_then_words_and_never_cuts_a_link() -> None:
    link = "<https://doi.org/10.1/x|[1] A title with several words in it>"
    text = "a" * 20 + "\n\n" + "b" * 20 + "\n" + "c " * 20 + link

    pieces = split_text(text, limit=70)

    assert pieces == ["a" * 20, "b" * 20 + "\n" + ("c " * 20).strip(), link]


def test_many_caveats_share_the_ten_elements_a_context_block_allows() -> None:
    many = [Caveat(id=f"c{i}", text=f"Caveat {i}.") for i in range(14)]

    (context,) = [b for b in answer_blocks(answer(caveats=many, follow_up_questions=[]), message_id="m")
                  if b["type"] == "context"]

    assert len(context["elements"]) == 10
    assert "Caveat 13." in context["elements"][-1]["text"]
