"""``assistant answerability train``: the topic-word model fitted on the train split of eval/answerability.

The examples are the words the analyser leaves to the model (``QuestionAnalyser.unsure_words``) in each question's
asking clause, read against the current index: a word of a question the corpus does not cover is a topic when it
spells one of the question's ``absent_terms``; every other such word, in any question, is a way of asking.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.answer.question import QuestionAnalyser, question_part
from assistant.answer.topic_words import LabelledQuestion, TopicWordModel, data_hash, fit, load_questions
from assistant.index.live import Snapshot
from assistant.text import tokenize


@dataclass(frozen=True)
class WordExample:
    question: LabelledQuestion
    word: str
    topic: bool
    features: dict[str, float]


def examples(questions: Sequence[LabelledQuestion], analyser: QuestionAnalyser, snap: Snapshot) -> list[WordExample]:
    out: list[WordExample] = []
    for question in questions:
        missing = {t for term in question.absent_terms for t in tokenize(term)}
        asking = question_part(question.text)
        for word in analyser.unsure_words(question.text, snap):
            out.append(WordExample(question, word, word in missing, analyser.word_features(word, asking, snap)))
    return out


def train(path: Path, analyser: QuestionAnalyser, snap: Snapshot,
          embed: Callable[[list[str]], np.ndarray]) -> tuple[TopicWordModel, int]:
    """The model fitted on the train split of ``path``, and how many word examples it learnt from."""
    chosen = examples([q for q in load_questions(path) if q.split == "train"], analyser, snap)
    if not any(e.topic for e in chosen) or all(e.topic for e in chosen):
        raise ValueError(f"{path}: the train split needs words of both kinds")
    vectors = embed([e.word for e in chosen])
    return fit([e.features for e in chosen], vectors, [int(e.topic) for e in chosen], data_hash(path)), len(chosen)
