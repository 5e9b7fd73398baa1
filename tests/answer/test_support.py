"""The support check, as a table: a model's sentence, the passages it was given, and the verdict."""

from __future__ import annotations

import pytest

from assistant.answer.support import check, quantities

SUSTAIN = ("SUSTAIN-1 randomized 297 adults in stable remission to continued esketamine 56 or 84 mg or placebo; "
           "relapse was delayed (HR 0.49, p = 0.003) and 26.7% relapsed on esketamine versus 45.3% on placebo.")
INFUSION = ("A single 0.5 mg/kg intravenous ketamine infusion over 40 minutes reduced MADRS scores within 24 hours; "
            "response rates were 64 percent at day 1 in 1,000 screened records (Cohen's d = 0.8).")
BLADDER = "Ulcerative cystitis was described in recreational users who took large amounts for years."
PASSAGES = [SUSTAIN, INFUSION, BLADDER]

SUPPORTED = [
    ("copied with its marker", "Relapse was delayed in SUSTAIN-1 (HR 0.49, p = 0.003) [1]."),
    ("marker after the full stop", "Relapse was delayed with esketamine 56 or 84 mg. [1]"),
    ("dose without the space", "One 0.5mg/kg infusion reduced MADRS scores [2]."),
    ("percent spelt out", "Response reached 64% at day 1 [2]."),
    ("thousands without separator", "The review screened 1000 records [2]."),
    ("p-value without the leading zero", "Relapse was delayed (p=.003) [1]."),
    ("hyphenated duration", "Scores fell within a 24-hour window after the infusion [2]."),
    ("minutes as min", "The infusion ran over 40 min [2]."),
    ("unit shared by a list", "Maintenance used 56 mg or 84 mg esketamine and relapse was delayed [1]."),
    ("count noun against a bare number", "The trial randomized 297 participants in remission [1]."),
    ("effect size as written", "The effect on MADRS scores was large (d = 0.8) [2]."),
    ("trailing zero", "Relapse affected 45.30% of those on placebo [1]."),
    ("numbers in names are names", "SUSTAIN-1 tested maintenance esketamine against placebo [1]."),
    ("two markers, figures from either", "A 0.5 mg/kg infusion helped within 24 h [2] and relapse fell to 26.7% [1]."),
    ("study year from the attributes", "In Daly 2019, relapse was delayed [1]."),
]

REFUSED = [
    ("no marker", "Relapse was delayed in SUSTAIN-1.", "cites none", ()),
    ("only markers of passages it was not given", "Relapse was delayed [7].", "cites none", ()),
    ("invented percentage", "Relapse was delayed and 97.3% stayed well [1].", "numbers", ("97.3%",)),
    ("right number, wrong unit", "Relapse was delayed for 26.7 weeks [1].", "numbers", ("26.7 weeks",)),
    ("figure from another passage", "Relapse was delayed within 24 hours [1].", "numbers", ("24 hours",)),
    ("invented dose", "Maintenance used 112 mg of esketamine against relapse [1].", "numbers", ("112 mg",)),
    ("invented p-value", "Relapse was delayed (p < 0.0001) [1].", "numbers", ("p < 0.0001",)),
    ("invented sample size", "SUSTAIN-1 randomized 500 adults to esketamine [1].", "numbers", ("500 adults",)),
    ("invented duration in words", "Relapse was delayed for two weeks [1].", "numbers", ("two weeks",)),
    ("cites a passage about something else", "Esketamine maintenance delayed relapse [3].", "key terms", ()),
]


@pytest.mark.parametrize(("case", "sentence"), SUPPORTED, ids=[c for c, _ in SUPPORTED])
def test_a_sentence_its_cited_passages_hold_passes(case: str, sentence: str) -> None:
    passages = [f'study="Daly 2019" {SUSTAIN}', INFUSION, BLADDER]
    verdict = check(sentence, passages)
    assert verdict.ok, (case, verdict)


@pytest.mark.parametrize(("case", "sentence", "reason", "unsupported"), REFUSED, ids=[c for c, *_ in REFUSED])
def test_a_sentence_they_do_not_hold_is_refused_with_its_reason(case: str, sentence: str, reason: str,
                                                                unsupported: tuple[str, ...]) -> None:
    verdict = check(sentence, PASSAGES)
    assert not verdict.ok and verdict.reason is not None and reason in verdict.reason, (case, verdict)
    assert verdict.unsupported == unsupported


@pytest.mark.parametrize(("text", "expected"), [
    ("0.5 mg/kg, 0.5mg/kg and 0.5 mg per kg", [("0.5", "mg/kg")] * 3),
    ("64%, 64 percent and 64 per cent", [("64", "%")] * 3),
    ("1,000 and 1000", [("1000", None)] * 2),
    ("doses of 0.1, 0.2 and 0.5 mg/kg", [("0.1", "mg/kg"), ("0.2", "mg/kg"), ("0.5", "mg/kg")]),
    ("At week 4, 52% responded", [("4", None), ("52", "%")]),
    ("0.5 or 1.0 mg/kg", [("0.5", "mg/kg"), ("1", "mg/kg")]),
    ("p < .001, n = 40, OR 2.1", [("0.001", "p"), ("40", "count"), ("2.1", "ratio")]),
    ("twenty-four hours, 24-72 h", [("24", "h"), ("24", "h"), ("72", "h")]),
    ("SUSTAIN-1, TRANSFORM-2, 5-HT2A, COVID-19 [3]", [("5", None)]),
])
def test_numbers_are_read_with_their_units(text: str, expected: list[tuple[str, str | None]]) -> None:
    from decimal import Decimal

    assert [(q.value, q.unit) for q in quantities(text)] == [(Decimal(v), u) for v, u in expected]
