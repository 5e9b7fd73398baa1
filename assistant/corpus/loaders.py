"""Readers that turn a file into a :class:`Document`, one per supported format.

Our own Markdown sources carry a full bibliographic record in front matter. Plain text and PDF
are for users who drop in a paper they have; PubMed XML (E-utilities efetch) brings its own record.
Each reader raises :class:`CorpusError` naming the file, so one bad file never stops the others.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from xml.etree.ElementTree import Element

import yaml
from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from assistant.corpus.models import Document, Section
from assistant.corpus.schema import validate_front_matter
from assistant.errors import CorpusError

FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n?(.*)\Z", re.S)
HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)
PDF_HEADINGS = (
    "abstract", "background", "introduction", "methods", "materials and methods", "results",
    "discussion", "conclusion", "conclusions", "limitations", "references",
)


def _read_text(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CorpusError(str(path), "is not valid UTF-8 text") from None
    except OSError as exc:
        raise CorpusError(str(path), f"cannot be read ({exc.strerror})") from None
    if not text.strip():
        raise CorpusError(str(path), "is empty")
    return text


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:64] or "document"


def split_sections(body: str, default_heading: str = "Text") -> tuple[Section, ...]:
    """Split Markdown at its headings; text before the first heading keeps a default heading."""
    sections: list[Section] = []
    matches = list(HEADING_RE.finditer(body))
    preamble = body[: matches[0].start()] if matches else body
    if preamble.strip():
        sections.append(Section(default_heading, preamble.strip()))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(body)
        text = body[match.end() : end].strip()
        if text:
            sections.append(Section(match.group(2).strip(), text))
    return tuple(sections)


def load_markdown(path: Path) -> Iterator[Document]:
    text = _read_text(path)
    match = FRONT_MATTER_RE.match(text)
    if not match:
        raise CorpusError(str(path), "has no YAML front matter (a block between '---' lines)")
    try:
        raw = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise CorpusError(str(path), f"front matter is not valid YAML ({exc.__class__.__name__})") from None
    meta = validate_front_matter(str(path), raw)
    sections = split_sections(match.group(2), default_heading="Summary")
    if not sections:
        raise CorpusError(str(path), "has front matter but no body text")
    yield Document(
        sections=sections,
        source_path=str(path),
        route=tuple(meta.route),
        topics=tuple(meta.topics),
        # included_studies only feeds the level rule; the level it settles is what a reader sees.
        **meta.model_dump(exclude={"route", "topics", "included_studies"}),
    )


def load_text(path: Path) -> Iterator[Document]:
    text = _read_text(path)
    first_line = next(line for line in text.splitlines() if line.strip()).strip()
    yield Document(
        id=_slug(path.stem),
        title=first_line[:200],
        sections=split_sections(text),
        source_path=str(path),
    )


def load_pdf(path: Path) -> Iterator[Document]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings duplicate the error we report
    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
        info_title = (reader.metadata.title if reader.metadata else None) or ""
    except (PdfReadError, OSError, ValueError, KeyError, TypeError) as exc:
        raise CorpusError(str(path), f"is not a readable PDF ({exc.__class__.__name__})") from None
    text = "\n".join(pages).strip()
    if not text:
        raise CorpusError(str(path), "has no extractable text (a scanned PDF needs OCR first)")
    marked = re.sub(
        r"^[ \t]*(" + "|".join(PDF_HEADINGS) + r")[ \t]*:?[ \t]*$",
        lambda m: "## " + m.group(1).strip().title(),
        text,
        flags=re.I | re.M,
    )
    first_line = next(line for line in text.splitlines() if line.strip()).strip()
    yield Document(
        id=_slug(path.stem),
        title=(info_title.strip() or first_line)[:300],
        sections=split_sections(marked),
        source_path=str(path),
    )


PUBLICATION_TYPES = (
    ("Meta-Analysis", "meta-analysis", 1),
    ("Systematic Review", "systematic review", 1),
    ("Randomized Controlled Trial", "randomized controlled trial", 2),
    ("Clinical Trial", "open-label", 4),
    ("Case Reports", "case series", 4),
    ("Review", "review", 5),
)


def _pubmed_article(path: Path, article: Element) -> Document:
    def text_of(xpath: str) -> str:
        node = article.find(xpath)
        return "".join(node.itertext()).strip() if node is not None else ""

    pmid = text_of(".//MedlineCitation/PMID")
    title = text_of(".//Article/ArticleTitle")
    if not pmid or not title:
        raise CorpusError(str(path), "a PubmedArticle lacks its PMID or ArticleTitle")
    sections = []
    for node in article.findall(".//Article/Abstract/AbstractText"):
        body = "".join(node.itertext()).strip()
        if body:
            sections.append(Section((node.get("Label") or "Abstract").title(), body))
    if not sections:
        raise CorpusError(str(path), f"PMID {pmid} has no abstract text")
    authors = []
    for author in article.findall(".//Article/AuthorList/Author"):
        last, initials = author.findtext("LastName"), author.findtext("Initials")
        name = " ".join(p for p in (last, initials) if p) or author.findtext("CollectiveName")
        if name:
            authors.append(name)
    year_text = text_of(".//Article/Journal/JournalIssue/PubDate/Year") or text_of(
        ".//Article/Journal/JournalIssue/PubDate/MedlineDate"
    )
    year_match = re.search(r"\d{4}", year_text)
    doi = None
    for node in article.findall(".//PubmedData/ArticleIdList/ArticleId") + article.findall(".//Article/ELocationID"):
        if (node.get("IdType") or node.get("EIdType")) == "doi" and node.text:
            doi = node.text.strip()
            break
    types = {t.text for t in article.findall(".//Article/PublicationTypeList/PublicationType") if t.text}
    design, level = "unspecified", None
    for label, name, lvl in PUBLICATION_TYPES:
        if label in types:
            design, level = name, lvl
            break
    volume = text_of(".//Article/Journal/JournalIssue/Volume") or None
    return Document(
        id=f"pmid{pmid}",
        title=title,
        sections=tuple(sections),
        source_path=str(path),
        authors=", ".join(authors[:6]) + (", et al." if len(authors) > 6 else ""),
        year=int(year_match.group()) if year_match else None,
        journal=text_of(".//Article/Journal/Title") or None,
        volume=volume,
        pages=text_of(".//Article/Pagination/MedlinePgn") or None,
        doi=doi,
        pmid=pmid,
        design=design,
        evidence_level=level,
    )


def load_pubmed_xml(path: Path) -> Iterator[Document]:
    text = _read_text(path)
    try:
        root = SafeET.fromstring(text)
    except (SafeET.ParseError, DefusedXmlException) as exc:
        raise CorpusError(str(path), f"is not well-formed or safe XML ({exc.__class__.__name__})") from None
    articles = root.findall(".//PubmedArticle") if root.tag != "PubmedArticle" else [root]
    if not articles:
        raise CorpusError(str(path), "holds no PubmedArticle (expected E-utilities efetch XML)")
    for article in articles:
        yield _pubmed_article(path, article)


LOADERS: dict[str, Callable[[Path], Iterator[Document]]] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_text,
    ".pdf": load_pdf,
    ".xml": load_pubmed_xml,
}
