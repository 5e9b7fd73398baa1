"""A streamed draft is handed out in whole sentences, each as soon as it is certainly complete."""

from __future__ import annotations

import pytest

from assistant.answer.sentence_stream import SentenceBuffer
from assistant.evaluation.llm_stub import tokens


def fed(draft: str, pieces: list[str] | None = None) -> list[tuple[str, str, bool]]:
    """(the draft received so far, the sentence handed out, whether a line break came before it)."""
    buffer = SentenceBuffer()
    out = []
    for piece in pieces if pieces is not None else tokens(draft):
        out += [(buffer.text, s.text, s.new_line) for s in buffer.feed(piece)]
    out += [(buffer.text, s.text, s.new_line) for s in buffer.finish()]
    return out


def test_a_sentence_is_handed_out_once_the_next_one_has_begun() -> None:
    got = fed("Relapse was delayed [1]. Remission lasted longer [2].")
    assert [(seen, text) for seen, text, _ in got] == [
        ("Relapse was delayed [1]. Remission", "Relapse was delayed [1]."),
        ("Relapse was delayed [1]. Remission lasted longer [2].", "Remission lasted longer [2].")]


@pytest.mark.parametrize("pieces", [
    ["A dose of 0.", "5 mg/kg was used [1]. Then more."],
    ["A dose of 0", ".5", " mg/kg was used [1]. Then more."],
])
def test_a_number_cut_by_the_stream_is_not_a_sentence_end(pieces: list[str]) -> None:
    assert [text for _, text, _ in fed("", pieces)] == ["A dose of 0.5 mg/kg was used [1].", "Then more."]


@pytest.mark.parametrize("pieces", [
    ["Relapse was delayed.", " [", "1", "]", " Then more [2]."],
    ["Relapse was delayed. ", "[1", "] Then more [2]."],
    ["Relapse was delayed. [1][2]", " Then more [2]."],
])
def test_markers_after_the_full_stop_stay_with_their_sentence_however_they_arrive(pieces: list[str]) -> None:
    first = fed("", pieces)[0][1]
    assert first.startswith("Relapse was delayed.") and first.endswith("]") and "[1]" in first


def test_a_line_break_before_a_sentence_is_kept_for_the_layout() -> None:
    got = fed("Bottom line: it helps [1].\n- It works fast [2].\n- It fades [3]. It returns [3].")
    assert [(text, new_line) for _, text, new_line in got] == [
        ("Bottom line: it helps [1].", False), ("- It works fast [2].", True), ("- It fades [3].", True),
        ("It returns [3].", False)]


def test_what_is_left_when_the_draft_ends_is_the_last_sentence() -> None:
    buffer = SentenceBuffer()
    assert buffer.feed("Only one sentence [1].") == []
    assert [s.text for s in buffer.finish()] == ["Only one sentence [1]."]
