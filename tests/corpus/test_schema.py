"""The corpus check names the file and the field of every malformed record."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.corpus import load_corpus
from tests.conftest import SHIPPED_CORPUS, write_doc


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ...}, "title", "required field is missing"),
        ({"year": ...}, "year", "required field is missing"),
        ({"doi": "doi:10.1/x"}, "doi", "10.NNNN/suffix"),
        ({"doi": "10.12/abc"}, "doi", "10.NNNN/suffix"),
        ({"year": 1850}, "year", "between 1900 and 2100"),
        ({"year": "recent"}, "year", "integer"),
        ({"design": "anecdote"}, "design", "Input should be"),
        ({"evidence_level": 7}, "evidence_level", "Input should be"),
        ({"route": ["nasal"]}, "route.0", "Input should be"),
        ({"topics": []}, "topics", "at least one topic"),
        ({"pmid": "PM123"}, "pmid", "1-9 digits"),
        ({"id": "Bad Id!"}, "id", "lower-case"),
        ({"n": -3}, "n", "positive"),
        ({"doi": None, "pmid": None, "url": None}, "front matter", "url"),
        ({"surprise": "field"}, "surprise", "Extra inputs"),
    ],
)
def test_malformed_front_matter_is_rejected_naming_file_and_field(
    tmp_path: Path, overrides: dict, field: str, message: str
) -> None:
    path = write_doc(tmp_path, "bad2015", **overrides)
    result = load_corpus(tmp_path)
    assert result.documents == []
    (problem,) = result.problems
    assert str(path) in problem.message
    assert f": {field}: " in problem.message or field == "front matter"
    assert message in problem.message


def test_regulatory_document_without_doi_needs_a_url(tmp_path: Path) -> None:
    write_doc(tmp_path, "label2019", doi=None, pmid=None, url="https://example.org/label", design="regulatory",
              evidence_level="regulatory")
    result = load_corpus(tmp_path)
    assert not result.problems
    assert result.documents[0].link == "https://example.org/label"


def test_duplicate_ids_and_dois_are_errors(tmp_path: Path) -> None:
    write_doc(tmp_path / "a", "same2015")
    write_doc(tmp_path / "b", "same2015", doi="10.5555/other")
    write_doc(tmp_path / "c", "copy2015", doi="10.5555/SAME2015")
    result = load_corpus(tmp_path)
    assert [d.id for d in result.documents] == ["same2015"]
    messages = sorted(p.message for p in result.problems)
    assert any("duplicates the id" in m and ": id: " in m for m in messages)
    assert any("duplicates the DOI" in m and ": doi: " in m for m in messages)


def test_corpus_check_command_fails_on_a_bad_file(tmp_path: Path) -> None:
    write_doc(tmp_path, "good2015")
    write_doc(tmp_path, "bad2016", doi="not-a-doi")
    result = CliRunner().invoke(main, ["corpus", "check", "--corpus", str(tmp_path)])
    assert result.exit_code == 1
    assert "bad2016.md: doi: must look like 10.NNNN/suffix" in result.output
    assert "1 documents valid, 1 problems" in result.output


def test_shipped_corpus_passes_the_check() -> None:
    result = CliRunner().invoke(main, ["corpus", "check", "--corpus", str(SHIPPED_CORPUS)])
    assert result.exit_code == 0, result.output
    assert "0 problems" in result.output


@pytest.mark.parametrize(
    ("overrides", "level"),
    [
        ({"design": "randomized controlled trial", "n": 30}, 2),
        ({"design": "randomized controlled trial", "n": 27}, 3),
        ({"design": "randomized crossover trial", "n": 41}, 2),
        ({"design": "randomized crossover trial", "n": 20}, 3),
        ({"design": "meta-analysis", "n": None, "included_studies": "controlled trials"}, 1),
        ({"design": "systematic review", "n": None, "included_studies": "includes uncontrolled studies"}, 4),
        ({"design": "pooled analysis", "n": 367, "included_studies": "controlled trials"}, 1),
        ({"design": "open-label", "n": 400}, 4),
        ({"design": "case series", "n": 9}, 4),
        ({"design": "preclinical", "n": None}, 5),
        ({"design": "commentary", "n": None}, 5),
        ({"design": "regulatory", "n": None}, "regulatory"),
    ],
)
def test_the_level_rule_sets_the_level_from_design_and_size(tmp_path: Path, overrides: dict, level: object) -> None:
    write_doc(tmp_path, "rated2015", evidence_level=level, **overrides)
    result = load_corpus(tmp_path)
    assert not result.problems, result.problems
    assert result.documents[0].evidence_level == level


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"design": "randomized crossover trial", "n": 20, "evidence_level": 2}, "evidence_level",
         "gives 3 for a randomized crossover trial of 20 participants (fewer than 30)"),
        ({"design": "randomized controlled trial", "n": 80, "evidence_level": 3}, "evidence_level", "gives 2"),
        ({"design": "systematic review", "n": None, "included_studies": "includes uncontrolled studies",
          "evidence_level": 1}, "evidence_level", "gives 4"),
        ({"design": "meta-analysis", "n": None, "evidence_level": 1}, "included_studies",
         "required for a meta-analysis"),
        ({"design": "randomized controlled trial", "n": 40, "evidence_level": 2,
          "included_studies": "controlled trials"}, "included_studies", "applies only to"),
        ({"design": "randomized controlled trial", "n": None, "evidence_level": 2}, "n", "required to rate"),
        ({"design": "meta-analysis", "included_studies": "some trials"}, "included_studies", "Input should be"),
    ],
)
def test_a_level_the_rule_does_not_give_is_rejected_naming_the_field(
    tmp_path: Path, overrides: dict, field: str, message: str
) -> None:
    path = write_doc(tmp_path, "misrated2015", **overrides)
    (problem,) = load_corpus(tmp_path).problems
    assert f"{path}: {field}: " in problem.message
    assert message in problem.message


def test_every_shipped_document_is_at_the_level_the_rule_gives() -> None:
    result = load_corpus(SHIPPED_CORPUS)
    assert not result.problems, [p.message for p in result.problems]
    levels = {d.id: d.evidence_level for d in result.documents}
    # The three documents the rule moved, and their neighbours of the same kind.
    assert levels["lapidus2014"] == levels["zarate2006"] == levels["berman2000"] == 3
    assert levels["phillips2019"] == 2
    assert levels["short2018"] == 4 and levels["han2016"] == 1


def test_strict_check_fails_on_writing_rule_warnings_that_the_plain_check_only_reports(tmp_path: Path) -> None:
    body = "## Results\nIn the terse2015 trial, e.g. MADRS fell.\n\n## Summary\nShort.\n"
    write_doc(tmp_path, "terse2015", body=body)
    plain = CliRunner().invoke(main, ["corpus", "check", "--corpus", str(tmp_path)])
    strict = CliRunner().invoke(main, ["corpus", "check", "--strict", "--corpus", str(tmp_path)])
    assert plain.exit_code == 0 and "warning: " in plain.output
    assert strict.exit_code == 1 and "error: " in strict.output
    for output in (plain.output, strict.output):
        assert "body has 8 words (the corpus rule is 250-600)" in output
        assert "writes 'e.g.'" in output
        assert "are not in the order" in output
        assert "1 documents valid, 0 problems, 3 warnings" in output


def test_shipped_corpus_passes_the_strict_check() -> None:
    result = CliRunner().invoke(main, ["corpus", "check", "--strict", "--corpus", str(SHIPPED_CORPUS)])
    assert result.exit_code == 0, result.output
    assert "44 documents valid, 0 problems, 0 warnings" in result.output
