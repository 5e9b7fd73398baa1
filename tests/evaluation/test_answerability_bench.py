"""assistant bench answerability: gaps that abstained, covered questions that abstained wrongly, the model's calls."""

from __future__ import annotations

from assistant.answer.topic_words import LabelledQuestion
from assistant.evaluation import answerability_bench
from assistant.services import Services


def _question(i: int, text: str, covered: bool, absent: list[str] | None = None) -> LabelledQuestion:
    return LabelledQuestion(id=f"q{i}", text=text, covered=covered, gold=["zarate2006"] if covered else [],
                            absent_terms=absent or [], group=f"g{i}")


def test_the_report_counts_abstentions_end_to_end_and_the_models_calls(shipped_services: Services) -> None:
    questions = [_question(1, "How long did the antidepressant effect of one ketamine infusion last in Zarate 2006?",
                           True),
                 _question(2, "Can I have a sauna after esketamine?", False, ["sauna"]),
                 _question(3, "Does ketamine interact with warfarin?", False, ["warfarin"])]
    report = answerability_bench.run_split(shipped_services.answers, questions, "dev")
    assert (report.gaps_abstained.hits, report.gaps_abstained.total) == (2, 2)
    assert (report.covered_abstained.hits, report.covered_abstained.total) == (0, 1)
    # "sauna" is left to the model (the rules call "warfarin" a medicine's name); the model calls it a topic
    assert (report.topics_found.hits, report.topics_found.total) == (1, 1)
    text = answerability_bench.render(report, misses=True)
    assert "questions not covered that abstained: 2/2 = 1.000" in text
    assert "covered questions that abstained wrongly: 0/1 = 0.000" in text
