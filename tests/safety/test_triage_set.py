"""The labelled triage set: valid lines, one split per paraphrase group, a stable split, and a hash CI can check."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from assistant.safety.triage_set import TriageSetError, data_hash, load_set, of_split, split_of
from tests.conftest import REPO

SET = REPO / "eval" / "triage"


def test_the_shipped_set_is_large_and_covers_every_label_and_language() -> None:
    messages = load_set(SET)
    trainable = of_split(messages, "train", "dev", "test")
    assert len(trainable) >= 1500
    assert {m.label for m in trainable} == {"crisis", "dosing_request", "misuse_request", "lethal_dose", "clinical"}
    crisis_languages = {m.lang for m in trainable if m.label == "crisis"}
    assert crisis_languages == {"en", "es", "fr", "de", "pt", "it"}
    assert any(m.form == "suicidality_research" for m in trainable)


def test_paraphrases_never_straddle_splits() -> None:
    splits: dict[str, set[str]] = defaultdict(set)
    for message in load_set(SET):
        splits[message.group].add(message.split)
    assert all(len(s) == 1 for s in splits.values())


def test_the_split_is_fixed_by_the_group_alone() -> None:
    assert split_of("cen-g001") == split_of("cen-g001")
    shares = [split_of(f"group-{i}") for i in range(4000)]
    assert 0.65 < shares.count("train") / 4000 < 0.75 and 0.12 < shares.count("test") / 4000 < 0.18


def test_the_external_files_are_never_trained_on() -> None:
    messages = load_set(SET)
    external = [m for m in messages if m.split == "external"]
    assert {m.source for m in external} == {"external_test", "external_test2", "external_test3", "external_test4",
                                            "external_test4b", "external_test5_en", "external_test5_ml"}
    assert not [m for m in messages if m.source.startswith("external") and m.split != "external"]


def _write(folder: Path, rows: list[dict[str, object]]) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "a.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")


ROW = {"id": "x-1", "text": "How fast does it work?", "label": "clinical", "form": "speed", "lang": "en",
       "group": "x-g1"}


@pytest.mark.parametrize(
    ("rows", "message"),
    [([{**ROW, "label": "urgent"}], "a.jsonl:1"),
     ([ROW, {**ROW, "text": "Another one"}], "duplicate id"),
     ([{**ROW, "extra": 1}], "a.jsonl:1")],
)
def test_a_bad_line_is_named(tmp_path: Path, rows: list[dict[str, object]], message: str) -> None:
    _write(tmp_path / "set", rows)
    with pytest.raises(TriageSetError, match=message):
        load_set(tmp_path / "set")


def test_the_hash_changes_with_the_training_data_but_not_the_external_file(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    _write(folder, [ROW])
    before = data_hash(folder)
    (folder / "external_more.jsonl").write_text(json.dumps({**ROW, "id": "e-1"}) + "\n", encoding="utf-8")
    assert data_hash(folder) == before
    _write(folder, [{**ROW, "label": "crisis"}])
    assert data_hash(folder) != before
