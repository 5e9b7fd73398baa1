"""The topic-word model: whether a word no study uses is what a question is about, learnt from a labelled set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.answer.question import UNKNOWN, question_part, rarity
from assistant.answer.topic_words import (
    AnswerabilitySetError,
    TopicWordModel,
    data_hash,
    load_questions,
    split_of,
    word_features,
)
from assistant.answer.topic_words_train import examples, train
from assistant.services import Services

ANSWERABILITY_SET = Path(__file__).parents[2] / "eval" / "answerability"


def _write(folder: Path, rows: list[dict[str, object]]) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "a.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return folder


def test_the_shipped_model_was_trained_on_the_shipped_set(shipped_services: Services) -> None:
    model = shipped_services.answers.questions.topic_words
    assert model is not None and model.data_hash == data_hash(ANSWERABILITY_SET)


def test_the_set_is_split_by_group_so_paraphrases_share_a_split() -> None:
    questions = load_questions(ANSWERABILITY_SET)
    by_group: dict[str, set[str]] = {}
    for q in questions:
        by_group.setdefault(q.group, set()).add(q.split)
    assert all(len(splits) == 1 for splits in by_group.values())
    assert {q.split for q in questions} == {"train", "dev", "test"}
    assert split_of("aqg-0001") == split_of("aqg-0001")


@pytest.mark.parametrize(("row", "problem"), [
    ({"id": "q1", "text": "Does ketamine help?", "covered": True, "absent_terms": ["x"], "group": "g1"},
     "a covered question has no absent terms"),
    ({"id": "q1", "text": "Does ketamine help tinnitus?", "covered": False, "group": "g1"},
     "a covered question has no absent terms"),
    ({"id": "q1", "covered": True, "group": "g1"}, "Field required"),
])
def test_a_bad_line_is_named_with_its_file_and_line(tmp_path: Path, row: dict[str, object], problem: str) -> None:
    folder = _write(tmp_path / "set", [row])
    with pytest.raises(AnswerabilitySetError, match=rf"a\.jsonl:1: .*{problem}"):
        load_questions(folder)


def test_training_writes_a_model_that_loads_back_the_same(tmp_path: Path, shipped_services: Services) -> None:
    rows = [{"id": f"c{i}", "text": text, "covered": True, "gold": ["zarate2006"], "group": f"g{i}"}
            for i, text in enumerate(["How quickly does the drip kick in?", "Does the spray make you woozy?",
                                      "How long until the jab wears off?", "Is the nose spray any good, honestly?"])]
    rows += [{"id": f"u{i}", "text": text, "covered": False, "absent_terms": [term], "group": f"h{i}"}
             for i, (text, term) in enumerate([("Does ketamine cause tinnitus?", "tinnitus"),
                                                ("Can I have a tattoo after an infusion?", "tattoo"),
                                                ("Does grapefruit interact with esketamine?", "grapefruit"),
                                                ("Is there parking at Spravato clinics?", "parking")])]
    folder = _write(tmp_path / "set", rows)
    # every group into the train split: the training reads that split only
    questions = [q for q in load_questions(folder)]
    analyser, snap = shipped_services.answers.questions, shipped_services.index.snapshot()
    words = examples(questions, analyser, snap)
    assert {w.word for w in words if w.topic} <= {"tinnitus", "tattoo", "grapefruit", "parking"}
    train_split = [q for q in questions if q.split == "train"]
    if not any(not q.covered for q in train_split) or not any(q.covered for q in train_split):
        pytest.fail("the small set's groups must put both kinds into the train split; rename a group")
    model, count = train(folder, analyser, snap, shipped_services.embedder.embed)
    assert count > 0 and model.data_hash == data_hash(folder)
    model.save(tmp_path / "model.json")
    loaded = TopicWordModel.load(tmp_path / "model.json")
    vector = np.asarray(shipped_services.embedder.embed(["tinnitus"])[0])
    features = word_features("tinnitus", "Does ketamine cause tinnitus?", rarity("tinnitus"), UNKNOWN)
    assert loaded.probability(features, vector) == pytest.approx(model.probability(features, vector), abs=1e-4)


@pytest.mark.parametrize(("question", "missing"), [
    ("Can I go to the gym the day after my ketamine infusion?", "gym"),
    ("Does esketamine make acne worse?", "acne"),
    ("Can I have a sauna after esketamine?", "sauna"),
    ("Does ketamine help with snoring?", "snoring"),
])
def test_an_everyday_thing_no_study_covers_stops_the_question(shipped_services: Services, question: str,
                                                               missing: str) -> None:
    analysis = shipped_services.answers.questions.analyse(question, shipped_services.index.snapshot())
    assert analysis.not_covered and missing in {c.surface for c in analysis.absent}


@pytest.mark.parametrize("question", [
    "How quickly does the ketamine drip kick in?",
    "I'm a nurse on a busy inpatient ward. Does ketamine reduce suicidal thoughts within a day?",
    "Is the esketamine nose spray better than a dummy spray?",
])
def test_a_way_of_asking_or_what_the_writer_says_of_themselves_does_not_stop_the_question(
        shipped_services: Services, question: str) -> None:
    analysis = shipped_services.answers.questions.analyse(question, shipped_services.index.snapshot())
    assert not analysis.not_covered, [c.surface for c in analysis.absent]


def test_the_model_reads_the_words_the_rules_leave_open_in_the_clause_that_asks(shipped_services: Services) -> None:
    analyser, snap = shipped_services.answers.questions, shipped_services.index.snapshot()
    question = "My mum is 71. Does ketamine give people nightmares?"
    assert question_part(question) == "Does ketamine give people nightmares?"
    assert "nightmares" in analyser.unsure_words(question, snap)
    assert "mum" not in analyser.unsure_words(question, snap)
