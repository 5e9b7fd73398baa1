"""The extractive engine's bottom line on the shipped corpus: it answers what was asked, every part of it,
with the finding at its strongest and the study's own qualification beside it."""

from __future__ import annotations

import pytest

from assistant.answer.extractive import ExtractiveEngine, _sample
from assistant.answer.question import question_parts
from assistant.answer.service import AnswerService
from assistant.domain import Turn
from assistant.evaluation.scoring import first_paragraph
from assistant.services import Services


@pytest.fixture(scope="module")
def service(shipped_services: Services) -> AnswerService:
    return shipped_services.answers


@pytest.fixture(scope="module")
def engine(shipped_services: Services) -> ExtractiveEngine:
    return shipped_services.answers.extractive


def bottom_line(service: AnswerService, question: str) -> str:
    answer = service.answer(question)
    assert not answer.abstained and answer.citations
    return first_paragraph(answer.answer)


@pytest.mark.parametrize(("question", "parts"), [
    ("When was it approved, and under what restrictions?", ["When was it approved", "under what restrictions?"]),
    ("How soon does it act and how long does it last?", ["How soon does it act", "how long does it last?"]),
    ("When was it approved? What does the label require?", ["When was it approved?", "What does the label require?"]),
    ("Is ketamine as effective as ECT and safe?", ["Is ketamine as effective as ECT and safe?"]),  # one question
    ("Do ketamine and esketamine differ?", ["Do ketamine and esketamine differ?"]),
])
def test_a_compound_question_is_split_where_a_second_question_joins_it(question: str, parts: list[str]) -> None:
    assert question_parts(question) == parts


def test_each_part_of_a_compound_question_has_its_answer_in_the_bottom_line(service: AnswerService) -> None:
    head = bottom_line(service, "When was Spravato approved by the FDA, and what restrictions apply to its use?")
    assert "2019" in head  # when
    assert "certified" in head or "REMS" in head  # under what restrictions


def test_a_finding_the_same_study_qualifies_is_told_with_its_qualification(service: AnswerService) -> None:
    # The label's indication for suicidal ideation comes with its statement that esketamine has not been
    # shown to reduce it; a bottom line with only the first half would mislead.
    head = bottom_line(service, "Has esketamine been approved for patients with suicidal ideation?")
    assert "not been shown" in head


@pytest.mark.parametrize(("sentence", "contrary"), [
    ("The label states that esketamine has not been shown to prevent suicide.", True),
    ("The difference was -3.6, but with p=0.059 it missed statistical significance.", True),
    ("The difference did not reach statistical significance at day 25.", True),
    ("Ketamine reduced suicidal ideation within 1 day compared with placebo.", False),
])
def test_contrary_findings_are_recognised(engine: ExtractiveEngine, sentence: str, contrary: bool) -> None:
    assert engine.is_contrary(sentence) is contrary


def test_a_study_size_is_its_whole_sample_not_a_subgroup(service: AnswerService) -> None:
    # DiazGranados 2010 enrolled 33 patients; 10 of them had a high baseline SSI score.
    head = bottom_line(service, "How many patients were in the DiazGranados 2010 study?")
    assert "33 patients" in head.split("\n")[0]


def test_a_year_is_not_a_sample_size() -> None:
    assert _sample((("sample_size", "2010 patients"), ("year", "2010"), ("sample_size", "10 of 33 patients"))) == 33
    assert _sample((("year", "2006"),)) == 0


def test_both_arms_of_a_comparison_make_the_bottom_line(service: AnswerService) -> None:
    # The two arms are reported in sentences worded alike: the second arm is not a repeat of the first.
    head = bottom_line(service, "In Singh 2016, what MADRS change did the twice-weekly arm show compared with "
                                "the thrice-weekly arm?")
    assert "18.4" in head and "17.7" in head


@pytest.mark.parametrize("question", ["Did esketamine work in older adults in TRANSFORM-3?",
                                      "Was esketamine nasal spray effective in older adults in TRANSFORM-3?"])
def test_a_primary_result_beats_a_reanalysis_or_subgroup(service: AnswerService, question: str) -> None:
    # TRANSFORM-3's primary day-28 result missed significance (p=0.059); a reanalysis or an age subgroup with a
    # nominal p-value is weaker evidence and does not lead.
    first = bottom_line(service, question).split("\n")[0]
    assert "0.059" in first
    assert "reanalysis" not in first and "nominal" not in first


@pytest.mark.parametrize("question", ["Does ketamine reduce suicidal thoughts?",
                                      "Does IV ketamine relieve suicidal ideation?"])
def test_a_controlled_finding_leads_a_does_it_work_answer(service: AnswerService, question: str) -> None:
    # Among findings of the same meta-analysis, the one measured against a control answers "does it work".
    first = bottom_line(service, question).split("\n")[0]
    assert any(control in first for control in ("placebo", "saline", "midazolam"))


def test_the_control_arms_own_result_is_not_a_controlled_finding(service: AnswerService) -> None:
    # "After IV saline, scores changed by about 0 points" names the control but compares nothing with it.
    first = bottom_line(service, "How was the Berman 2000 study designed and what did it find?").split("\n")[0]
    assert "ketamine" in first and not first.startswith("Bottom line: After IV saline")


def test_how_certain_the_bottom_lines_study_rates_its_evidence_is_shown(service: AnswerService) -> None:
    answer = service.answer("What odds ratio for response at 24 hours did the Cochrane review update report?")
    assert "3.94" in first_paragraph(answer.answer)
    rating = [line for line in answer.answer.splitlines() if "certainty" in line]
    assert rating and any(grade in rating[0] for grade in ("very low", "very-low"))


def test_a_question_about_esketamine_is_answered_from_esketamine_evidence(service: AnswerService) -> None:
    # The Singh 2016 trial of IV racemic ketamine lists dissociation among its common adverse events too.
    answer = service.answer("What rate of dissociation was seen with esketamine?")
    first = first_paragraph(answer.answer).split("\n")[0]
    assert "esketamine" in first.casefold() or "spravato" in first.casefold()


def test_the_bottom_line_reports_the_time_point_the_question_names(service: AnswerService) -> None:
    # Murrough 2013 reports its response at 24 hours; "the day after" is that time point in everyday words.
    head = bottom_line(service, "In the Murrough 2013 midazolam-controlled trial, how many responded the day after "
                                "one infusion?")
    assert "24 hours" in head and "64%" in head


def test_words_that_pick_out_a_study_do_not_make_its_description_the_bottom_line(service: AnswerService) -> None:
    # "flexible-dose" and "short-term" describe TRANSFORM-2; its result sentences do not repeat them, and the
    # design sentence that does must not win over the finding asked for.
    head = bottom_line(service, "In the flexible-dose short-term esketamine trial, what share of patients "
                                "stopped because of adverse events?")
    assert "7%" in head and "discontinued" in head


def test_a_question_about_side_effects_is_answered_by_a_sentence_that_names_them(service: AnswerService) -> None:
    # The efficacy results of the trial share the question's words; the answer is the sentence naming the harms.
    head = bottom_line(service, "Which side effects came up most often in the repeated-infusion study of twice "
                                "versus three times a week?")
    assert "Singh 2016" in head and "dissociation" in head.lower()
    assert "maintained efficacy" not in head


def test_a_dose_the_question_states_does_not_pull_in_a_sentence_about_doses(service: AnswerService) -> None:
    head = bottom_line(service, "In the phase 2 intranasal esketamine trial, what share responded at 24 hours "
                                "on 56 mg?")
    assert "response rates at 24 hours" in head and "27%" in head


@pytest.fixture
def batches(shipped_services: Services, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every embedding batch the embedder runs from now on, with nothing remembered from earlier requests."""
    embedder = shipped_services.embedder
    seen: list[list[str]] = []
    real = embedder.embed

    def counted(texts: list[str]):  # type: ignore[no-untyped-def]
        if texts:
            seen.append(list(texts))
        return real(texts)

    monkeypatch.setattr(embedder, "embed", counted)
    embedder.forget_queries()
    return seen


def test_a_compound_question_is_embedded_in_one_batch(shipped_services: Services, batches: list[list[str]]) -> None:
    # Issue 17: a request embeds its question once; the parts of a compound question go in the same batch.
    question = "How soon did ketamine act in the Zarate 2006 trial, and how long did the response last?"
    answer = shipped_services.answers.answer(question)
    assert not answer.abstained and answer.citations
    assert len(batches) == 1 and batches[0][0] == question and len(batches[0]) == 3  # the question, its 2 parts


def test_a_follow_up_is_embedded_in_one_batch_with_its_condensed_question(
        shipped_services: Services, batches: list[list[str]]) -> None:
    # The message, triage's reading of it with the earlier turn, and the condensed question retrieval embeds.
    history = [Turn(user="What did the TRANSFORM-2 trial of esketamine nasal spray find?", assistant="...")]
    answer = shipped_services.answers.answer("How long did it last?", history)
    assert not answer.abstained and answer.citations and answer.standalone_query != "How long did it last?"
    assert len(batches) == 1 and batches[0][0] == "How long did it last?"
    assert answer.standalone_query in batches[0] and len(batches[0]) == 3


def test_a_question_worded_in_general_terms_can_cite_a_study_ranked_below_the_first_three(
        shipped_services: Services) -> None:
    # The answer reads the five documents retrieval ranks first, not only three, so a study ranked fourth or
    # fifth is cited when its sentences are clearly on the question.
    service = shipped_services.answers
    question = "How soon after a single infusion does ketamine start to work?"
    ranked = service.retriever.retrieve(question).ranked_docs
    cited = {c.doc_id for c in service.answer(question).citations}
    assert cited - set(ranked[:3]), (ranked[:5], cited)
    assert cited <= set(ranked[:5])


def test_the_document_retrieval_ranks_first_is_cited(shipped_services: Services) -> None:
    service = shipped_services.answers
    for question in ("How does ketamine work as an antidepressant?", "What do we know about esketamine and relapse?"):
        top = service.retriever.retrieve(question).ranked_docs[0]
        assert top in {c.doc_id for c in service.answer(question).citations}, question


@pytest.mark.parametrize("question", [
    "Does esketamine raise blood pressure in TRANSFORM-2?",
    "How long did the antidepressant effect last in the NIMH crossover study?",
    "What did the flexible-dose trial report about dissociation?",
])
def test_each_sentence_covers_the_focus_as_the_question_analysis_counts_it(shipped_services: Services,
                                                                           question: str) -> None:
    # The engine scores all candidate sentences at once over arrays; each one's coverage is still what
    # Analysis.coverage gives for that sentence, its document's labels and its document's other sentences.
    from assistant.answer.extractive import DOCUMENT_SHARE

    service = shipped_services.answers
    snap = service.retriever.index.snapshot()
    analysis = service.questions.analyse(question, snap)
    assert [c for c in analysis.focus if not c.absent], analysis.focus
    chunks = service.retriever.retrieve(question).chunks
    labels = service.questions.document_labels(snap)
    vector = service.extractive.request_vectors(question, analysis)[0]
    candidates = service.extractive._candidates(question, chunks, snap.sentences, analysis, labels,
                                                service.questions.document_names(snap), vector)
    said: dict[str, set[str]] = {}
    for c in candidates:
        said.setdefault(c.chunk.doc_id, set()).update(c.tokens)
    assert candidates
    for c in candidates:
        expected = analysis.coverage(c.tokens | labels.get(c.chunk.doc_id, frozenset()), said[c.chunk.doc_id],
                                     DOCUMENT_SHARE)
        assert c.coverage == expected, c.text


@pytest.mark.parametrize(("question", "study"), [
    ("Which journal published Li 2010?", "li2010"),
    ("Loo 2016: which administration route was best tolerated?", "loo2016"),
    ("Was there evidence of publication bias in Han 2016?", "han2016"),
])
def test_a_study_with_a_short_surname_is_answered_from_that_study(service: AnswerService, question: str,
                                                                   study: str) -> None:
    answer = service.answer(question)
    assert not answer.abstained
    assert answer.citations[0].doc_id == study and "[1]" in first_paragraph(answer.answer), answer.answer


def test_a_follow_up_keeps_its_conversations_study_unless_that_study_never_mentions_what_it_asks(
        service: AnswerService) -> None:
    # "How many patients?" after TRANSFORM-1 is about TRANSFORM-1; "What about BDNF?" after Li 2010, which never
    # mentions BDNF, is answered from the studies that do, rather than with Li 2010 sentences on something else.
    about_trial = service.answer("How many patients did it include?",
                                 [Turn(user="What did TRANSFORM-1 find?", assistant="...")])
    assert first_paragraph(about_trial.answer).count("346"), about_trial.answer
    history = [Turn(user="What did Li 2010 find about ketamine and synapses in rats?", assistant="...")]
    about_bdnf = service.answer("What about BDNF?", history)
    assert "BDNF" in first_paragraph(about_bdnf.answer), about_bdnf.answer
    assert "li2010" not in {c.doc_id for c in about_bdnf.citations}


def test_a_named_study_that_says_nothing_of_the_rest_of_the_question_does_not_keep_the_answer_to_itself(
        service: AnswerService) -> None:
    answer = service.answer("What did Li 2010 find about BDNF?")
    assert "BDNF" in first_paragraph(answer.answer), answer.answer


@pytest.mark.parametrize(("question", "answer"), [
    ("What is the ClinicalTrials.gov identifier of the Zarate 2006 trial?", "NCT00088699"),
    ("Under which registration number was TRANSFORM-1 run?", "NCT02417064"),
])
def test_a_registration_question_is_answered_by_the_design_sentence_that_holds_it(
        service: AnswerService, question: str, answer: str) -> None:
    # A sentence describing design gives way to findings, unless it carries what was asked.
    assert answer in bottom_line(service, question).split("\n")[0]


@pytest.mark.parametrize(("question", "limitation"), [
    ("Does the Homayoun 2007 work show what happens in the human brain?", "do not show directly"),
    ("Is the Han 2016 meta-analysis informative about whether ketamine keeps working beyond a week?",
     "does not address longer-term"),
])
def test_a_question_about_what_a_study_cannot_show_is_answered_by_its_limitation(
        service: AnswerService, question: str, limitation: str) -> None:
    # No cue word says so ("limit", "bias"): the sentence closest in meaning to the question is a limitation.
    assert limitation in bottom_line(service, question).split("\n")[0]


def test_a_question_about_how_a_study_was_done_is_answered_by_its_design(service: AnswerService) -> None:
    # No cue word ("design", "method") says so: the sentence closest in meaning describes the design.
    first = bottom_line(service, "Is the Sanacora 2017 paper a randomised trial or a consensus statement?")
    assert "consensus statement" in first.split("\n")[0]


def test_when_a_study_was_published_online_is_filler(service: AnswerService) -> None:
    first = bottom_line(service, "Was the Fava 2020 trial run at several sites?").split("\n")[0]
    assert "published" not in first


def test_what_the_corpus_does_not_hold_answers_a_question_about_exactly_that(service: AnswerService) -> None:
    first = bottom_line(service, "Is the full text of the Shin and Kim 2020 review part of this collection?")
    assert "not part of this corpus" in first.split("\n")[0]


def test_a_dose_question_is_not_answered_by_a_result_for_its_confidence_interval_and_p_value(
        service: AnswerService) -> None:
    # Both sentences give the 50 mg dose; only one says how it was given. Kinds of result (points, CI,
    # p-value) make a sentence the better answer only to a question that asks for a result.
    first = bottom_line(service, "In the Lapidus 2014 trial, how was the 50 mg intranasal dose delivered?")
    assert "5 applications" in first.split("\n")[0]
