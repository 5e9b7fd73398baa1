"""Loading the evidence corpus: files in, validated documents out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.corpus.loaders import LOADERS
from assistant.corpus.models import Document, Section
from assistant.errors import CorpusError

# Files that describe the corpus rather than belong to it.
IGNORED_NAMES = {"README.md", "readme.md", "LICENSE", "LICENSE.md"}


@dataclass
class CorpusLoad:
    documents: list[Document] = field(default_factory=list)
    problems: list[CorpusError] = field(default_factory=list)


def corpus_files(corpus_dir: Path) -> list[Path]:
    return sorted(
        p
        for p in corpus_dir.rglob("*")
        if p.is_file() and p.suffix.lower() in LOADERS and p.name not in IGNORED_NAMES and not p.name.startswith(".")
    )


def load_corpus(corpus_dir: Path) -> CorpusLoad:
    """Load every supported file; a bad file becomes a reported problem, not a crash.

    Duplicate ids or DOIs are problems too: two documents claiming one identity would make
    a citation ambiguous, so the later file is rejected.
    """
    result = CorpusLoad()
    if not corpus_dir.is_dir():
        result.problems.append(CorpusError(str(corpus_dir), "is not a directory"))
        return result
    seen_ids: dict[str, str] = {}
    seen_dois: dict[str, str] = {}
    for path in corpus_files(corpus_dir):
        try:
            docs = list(LOADERS[path.suffix.lower()](path))
        except CorpusError as exc:
            result.problems.append(exc)
            continue
        for doc in docs:
            if doc.id in seen_ids:
                result.problems.append(CorpusError(str(path), f"duplicates the id of {seen_ids[doc.id]}", field="id"))
                continue
            doi = doc.doi.lower() if doc.doi else None
            if doi and doi in seen_dois:
                result.problems.append(
                    CorpusError(str(path), f"duplicates the DOI of {seen_dois[doi]}", field="doi")
                )
                continue
            seen_ids[doc.id] = str(path)
            if doi:
                seen_dois[doi] = str(path)
            result.documents.append(doc)
    return result


__all__ = ["CorpusLoad", "Document", "Section", "corpus_files", "load_corpus"]
