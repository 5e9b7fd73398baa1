"""Corrected errors stay corrected: the fact sheet's corrections of 2026-12-01, checked sentence by sentence.

The errors were faithful copies of a wrong fact sheet, so nothing but a check like this stops a
later edit (or a regenerated document) from bringing one back. The cases live in
``corrections.yaml`` beside this file; each one says which correction it guards.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.corpus import Document, load_corpus
from assistant.index.sentences import quotable_sentences
from tests.conftest import REPO, SHIPPED_CORPUS

CASES = yaml.safe_load((Path(__file__).parent / "corrections.yaml").read_text(encoding="utf-8"))
SCANNED = ("corpus", "prompts", "eval", "docs")
TEXT_SUFFIXES = {".md", ".yaml", ".yml", ".jsonl", ".json", ".txt"}


@pytest.fixture(scope="module")
def documents() -> dict[str, Document]:
    result = load_corpus(SHIPPED_CORPUS)
    assert not result.problems, [p.message for p in result.problems]
    return {doc.id: doc for doc in result.documents}


def sentences_of(doc: Document) -> list[str]:
    return [s for section in doc.sections for s in quotable_sentences(" ".join(section.text.split()))]


def selected(documents: dict[str, Document], case: dict[str, Any]) -> list[Document]:
    if case["doc"] == "*":
        return list(documents.values())
    assert case["doc"] in documents, f"{case['doc']} is not in the corpus"
    return [documents[case["doc"]]]


def rule_violations(sentences: list[str], case: dict[str, Any]) -> list[str]:
    """The sentences that break the case's forbid and sentences rules."""
    found = [f"forbidden {p!r}: {s}" for p in case.get("forbid", []) for s in sentences if re.search(p, s, re.I)]
    for rule in case.get("sentences", []):
        found += [f"a sentence with {rule['with']!r} lacks {rule['must']!r}: {s}"
                  for s in sentences if re.search(rule["with"], s, re.I) and not re.search(rule["must"], s, re.I)]
    return found


def violations(docs: list[Document], case: dict[str, Any]) -> list[str]:
    """Every way the documents break the case, named by document and sentence."""
    found: list[str] = []
    for doc in docs:
        sentences = sentences_of(doc)
        found += [f"{doc.id}: {v}" for v in rule_violations(sentences, case)]
        found += [f"{doc.id}: no sentence matches {p!r}" for p in case.get("require", [])
                  if not any(re.search(p, s, re.I) for s in sentences)]
        if "title" in case and doc.title != case["title"]:
            found.append(f"{doc.id}: title is {doc.title!r}")
    return found


@pytest.mark.parametrize("case", CASES["entries"], ids=lambda c: f"{c['doc']}: {c['why'][:60]}")
def test_a_corrected_error_does_not_come_back(documents: dict[str, Document], case: dict[str, Any]) -> None:
    assert violations(selected(documents, case), case) == [], case["why"]


@pytest.mark.parametrize("banned", CASES["everywhere"], ids=lambda b: b["why"][:60])
def test_old_wording_is_gone_from_corpus_prompts_eval_and_docs(banned: dict[str, str]) -> None:
    hits = [
        f"{path.relative_to(REPO)}:{number}"
        for folder in SCANNED
        for path in sorted((REPO / folder).rglob("*"))
        if path.suffix in TEXT_SUFFIXES
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(banned["pattern"], line, re.I)
    ]
    assert hits == [], banned["why"]


@pytest.mark.parametrize("case", [c for c in CASES["entries"] if "old" in c], ids=lambda c: c["why"][:60])
def test_the_old_wording_breaks_its_case(case: dict[str, Any]) -> None:
    """A case that would pass the wrong sentence guards nothing."""
    assert rule_violations(quotable_sentences(case["old"]), case)


def test_the_old_krystal_title_is_caught(documents: dict[str, Document]) -> None:
    (case,) = [c for c in CASES["entries"] if "title" in c]
    doc = documents[case["doc"]]
    assert violations([doc], case) == []
    placeholder = "Psychotomimetic effects of IV ketamine in healthy subjects [title not verified]"
    assert violations([replace(doc, title=placeholder)], case)
