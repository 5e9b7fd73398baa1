"""Section weights: meta sections and Limitations count less, unless the question asks for them."""

from __future__ import annotations

import pytest

from assistant.errors import ConfigError
from assistant.prompt_files import RetrievalFile, SectionRule
from assistant.prompts import PromptBook
from assistant.retrieval.sections import SectionWeights
from tests.conftest import REPO


@pytest.fixture(scope="module")
def shipped() -> SectionWeights:
    data: RetrievalFile = PromptBook.load(REPO / "prompts").typed("retrieval.yaml")
    return SectionWeights(data.sections)


def test_a_rule_weighs_its_sections_for_questions_that_do_not_ask_for_them() -> None:
    weights = SectionWeights([SectionRule(sections=["Limitations"], weight=0.5, unless=[r"\blimit"])])
    assert weights.for_question("Does ketamine work?") == {"limitations": 0.5}
    assert weights.for_question("What limited the trial?") == {}


def test_the_shipped_rules_weigh_meta_sections_always_and_limitations_unless_asked(shipped: SectionWeights) -> None:
    broad = shipped.for_question("Does esketamine nasal spray work for treatment-resistant depression?")
    assert broad["relevance to the review"] < 1 and broad["limitations"] < 1
    asked = shipped.for_question("What are the main weaknesses and biases of TRANSFORM-2?")
    assert "limitations" not in asked and asked["relevance to the review"] < 1
    assert "results" not in broad and "summary" not in broad


def test_no_rules_weigh_nothing() -> None:
    assert SectionWeights().for_question("anything") == {}


def test_a_bad_pattern_or_weight_stops_the_prompt_book(tmp_path) -> None:
    for name in (p.name for p in (REPO / "prompts").iterdir()):
        (tmp_path / name).write_bytes((REPO / "prompts" / name).read_bytes())
    (tmp_path / "retrieval.yaml").write_text("version: 1\nsections:\n  - {sections: [limitations], weight: 0.5, "
                                             "unless: ['(unclosed']}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"retrieval\.yaml"):
        PromptBook.load(tmp_path)
    (tmp_path / "retrieval.yaml").write_text("version: 1\nsections:\n  - {sections: [limitations], weight: 2}\n",
                                             encoding="utf-8")
    with pytest.raises(ConfigError, match="weight"):
        PromptBook.load(tmp_path)
