"""Each supported format becomes a Document with its bibliographic record and sections."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.corpus import load_corpus
from assistant.corpus.loaders import load_markdown, load_pdf, load_pubmed_xml, load_text
from assistant.errors import CorpusError
from tests.conftest import FIXTURES, write_doc


def test_markdown_with_front_matter_keeps_record_and_sections(tmp_path: Path) -> None:
    path = write_doc(tmp_path, "trial2015", topics=["efficacy", "dosing"], route=["IV", "oral"])
    (doc,) = load_markdown(path)
    assert doc.id == "trial2015"
    assert doc.doi == "10.5555/trial2015"
    assert doc.route == ("IV", "oral")
    assert doc.topics == ("efficacy", "dosing")
    assert [s.heading for s in doc.sections] == ["Summary", "Results"]
    assert "10 points at 24 hours" in doc.sections[1].text
    assert doc.link == "https://doi.org/10.5555/trial2015"


def test_plain_text_takes_its_title_from_the_first_line(tmp_path: Path) -> None:
    path = tmp_path / "My Notes.txt"
    path.write_text("Ketamine notes\n\nSome text about infusions.\n")
    (doc,) = load_text(path)
    assert doc.id == "my-notes"
    assert doc.title == "Ketamine notes"
    assert doc.design == "unspecified"


def test_pdf_text_is_split_at_recognised_headings() -> None:
    (doc,) = load_pdf(FIXTURES / "pilot.pdf")
    assert doc.title == "Ketamine pilot study"
    headings = [s.heading for s in doc.sections]
    assert "Abstract" in headings and "Results" in headings
    results = next(s for s in doc.sections if s.heading == "Results")
    assert "24 hours" in results.text


def test_pubmed_efetch_xml_yields_record_and_abstract_sections() -> None:
    (doc,) = load_pubmed_xml(FIXTURES / "pubmed_efetch.xml")
    assert doc.id == "pmid99999901"
    assert doc.pmid == "99999901"
    assert doc.doi == "10.9999/test.2021.001"
    assert doc.year == 2021
    assert doc.journal == "Journal of Test Psychiatry"
    assert doc.authors == "Tester A, Probe B"
    assert doc.design == "randomized controlled trial" and doc.evidence_level == 2
    assert [s.heading for s in doc.sections] == ["Background", "Results"]
    assert "changed by some amount" in doc.sections[1].text


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.md", b"", "is empty"),
        ("nofm.md", b"# Title\nno front matter here\n", "no YAML front matter"),
        ("badyaml.md", b"---\nid: [unclosed\n---\nbody\n", "not valid YAML"),
        ("latin1.txt", "caf\xe9".encode("latin-1"), "not valid UTF-8"),
        ("bad.xml", b"<PubmedArticleSet><PubmedArticle>", "not well-formed"),
        ("other.xml", b"<root><child/></root>", "no PubmedArticle"),
        (
            "bomb.xml",
            b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><l>&b;</l>',
            "not well-formed or safe",
        ),
    ],
)
def test_bad_files_are_reported_with_their_path_and_skipped(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    write_doc(tmp_path, "good2015")
    (tmp_path / name).write_bytes(content)
    result = load_corpus(tmp_path)
    assert [d.id for d in result.documents] == ["good2015"]
    (problem,) = result.problems
    assert name in problem.message and reason in problem.message


def test_unreadable_pdf_is_reported(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "broken.pdf", tmp_path / "broken.pdf")
    result = load_corpus(tmp_path)
    assert result.documents == []
    assert "broken.pdf" in result.problems[0].message
    assert "not a readable PDF" in result.problems[0].message


def test_corpus_readme_is_not_a_document(tmp_path: Path) -> None:
    write_doc(tmp_path, "good2015")
    (tmp_path / "README.md").write_text("# How this corpus is written\n")
    assert [d.id for d in load_corpus(tmp_path).documents] == ["good2015"]


def test_missing_folder_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    result = load_corpus(tmp_path / "absent")
    assert result.documents == [] and "is not a directory" in result.problems[0].message


def test_pdf_loader_rejects_text_less_pdf(tmp_path: Path) -> None:
    blank = (FIXTURES / "pilot.pdf").read_bytes().replace(b"Tj", b"  ")
    path = tmp_path / "blank.pdf"
    path.write_bytes(blank)
    with pytest.raises(CorpusError, match="no extractable text"):
        list(load_pdf(path))
