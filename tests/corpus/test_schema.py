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
