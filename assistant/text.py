"""Cutting and folding text: the one sentence splitter, the one tokenizer, the one canonical spelling.

Every layer cuts text into sentences: the safety screens judge a passage sentence by sentence, the extractive
engine quotes single sentences, triage reads each sentence of a message alone for a crisis, and the streaming
endpoints send whole sentences so a reader never sees half a number. They must agree on where a sentence ends:
when the screen split "At home, e.g. twice weekly, take 84 mg." at "e.g." while the engine quoted it whole, the
dose and "at home" fell into different pieces and the home-dosing screen let the sentence through.

A sentence ends at ``.``, ``!``, ``?`` or ``…`` followed by white space, or at a line break, and a Spanish ``¿`` or
``¡`` starts one. A full stop does not end a sentence after a known abbreviation ("e.g.", "i.e.", "et al.",
"vs.", "Fig."); inside a number ("0.5", "p=.03") it is not followed by white space, so it never could. Citation
markers after the full stop ("... at 24 h. [1] [wilkinson2018]") stay with the sentence they cite. This module
imports nothing of the package, so every layer can use it.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Iterable

# Lower-cased, without the final full stop. Written out here rather than guessed (a capitalised word before a full
# stop is usually a sentence end, "mg." always is), so a new one is added by name.
ABBREVIATIONS = frozenset({
    "e.g", "i.e", "et al", "vs", "cf", "viz", "approx", "ca", "fig", "figs", "eq", "ref", "refs", "resp",
    "dr", "prof", "mr", "mrs", "jr", "sr", "st", "no", "nos", "vol", "p", "pp",
})
# No break when one of these follows the full stop: "No. 5" and "p. 12" continue, "No. I meant" does not.
_NUMBERED = frozenset({"no", "nos", "vol", "p", "pp", "fig", "figs", "eq", "ref", "refs"})

# A candidate end: terminal punctuation, closing quotes or brackets, then citation markers ("[1]", "[lee2019]").
_END = re.compile(r"(?P<run>[.!?…]+)[\"'”’)\]]*(?:[ \t]*\[[^\[\]\s]{1,40}\])*(?=\s|$)")
_BREAK = re.compile(r"\n")
_LIST_NUMBER = re.compile(r"\s*\(?\d{1,2}")
_STARTS = re.compile(r"\s+[\"'“‘(\[]*[A-Z0-9¿¡]")
_OPENER = re.compile(r"[¿¡]")
_WORD_BEFORE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]+(?:\.[A-Za-z]+)*)\.$")


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the full stop at ``dot`` closes a known abbreviation rather than a sentence."""
    head = text[max(0, dot - 24):dot + 1]
    match = _WORD_BEFORE.search(head)
    if not match:
        return False
    word = match.group(1).lower()
    if word == "al" and re.search(r"\bet\s+al\.$", head, re.IGNORECASE):
        word = "et al"
    if word not in ABBREVIATIONS:
        return False
    if word in _NUMBERED:
        # Only before a number ("No. 5", "Fig. 2"); otherwise "no." is the word that ends "I said no."
        return bool(re.match(r"\s+\(?\d", text[dot + 1:dot + 4]))
    return True


def _cuts(text: str) -> list[int]:
    """Offsets where one sentence ends and white space or the next sentence begins, in order."""
    cuts: set[int] = set()
    last = 0
    for match in _END.finditer(text):
        end = match.end()
        if end >= len(text.rstrip()):
            continue  # the text's own end is no cut
        if match.group("run") == "." and _is_abbreviation(text, match.start()):
            continue
        if match.group("run") == "." and _LIST_NUMBER.fullmatch(text[last:match.start()]):
            continue  # "1. You are ..." numbers an item; it ends nothing
        if match.group(0).endswith(")") and not _STARTS.match(text, end):
            continue  # "(I'm ok!) - the claim ...": the aside ends, the sentence goes on
        cuts.add(end)
        last = end
    for match in _BREAK.finditer(text):
        cuts.add(match.start())
    for match in _OPENER.finditer(text):
        if text[:match.start()].strip() and text[match.start() - 1] not in "¿¡":
            cuts.add(match.start())
    return sorted(cuts)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each sentence, white space at either side excluded."""
    spans: list[tuple[int, int]] = []
    start = 0
    for cut in [*_cuts(text), len(text)]:
        piece = text[start:cut]
        if piece.strip():
            left = start + len(piece) - len(piece.lstrip())
            spans.append((left, start + len(piece.rstrip())))
        start = cut
    return spans


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, stripped, in order; empty pieces dropped."""
    return [text[a:b] for a, b in sentence_spans(text)]


def sentence_pieces(text: str) -> list[str]:
    """The sentences with the white space after each, so the pieces join back to exactly ``text``."""
    spans = sentence_spans(text)
    if not spans:
        return [text] if text else []
    starts = [0] + [a for a, _ in spans[1:]]
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]


# Cyrillic and Greek letters that render like Latin ones; NFKC does not fold these.
HOMOGLYPHS = str.maketrans({
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
    "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h",
    "ɡ": "g", "ɑ": "a", "ı": "i",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "У": "Y", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S", "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W", "Һ": "H",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
})


def unhide(text: str) -> str:
    """Compatibility forms folded (NFKC), invisible format characters removed, look-alike letters mapped to Latin."""
    if text.isascii():  # nothing to fold: the common case, kept fast
        return text
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf").translate(HOMOGLYPHS)


def fold(text: str) -> str:
    """One canonical spelling: ``unhide`` plus white space collapsed."""
    return " ".join(unhide(text).split())


TOKEN_RE = re.compile(r"[a-z0-9]+(?:[.\-/,][a-z0-9]+)*")
STOP_WORDS = frozenset(
    """a about above after again all also an and any are as at be been before being between both but by can
    could did do does doing during each for from had has have having how i if in into is it its just me more most
    my no nor not of on once only or other our out over own same she should so some such than that the their them
    then there these they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours""".split()
)


def tokenize(text: str) -> list[str]:
    """Lower-case tokens; compound tokens (mg/kg, transform-2, 0.5) are kept whole and also split."""
    tokens: list[str] = []
    for match in TOKEN_RE.finditer(text.lower()):
        token = match.group().strip(".,")
        if not token or token in STOP_WORDS:
            continue
        tokens.append(token)
        if any(sep in token for sep in "-/,") or (("." in token) and not token.replace(".", "").isdigit()):
            tokens.extend(p for p in re.split(r"[.\-/,]", token) if p and p not in STOP_WORDS)
    return tokens


_PROPER = re.compile(r"(?<![\w-])([A-Z][a-z]+)(?![\w-])")
_LOWER_WORD = re.compile(r"(?<![\w-])([a-z]+)(?![\w-])")


def names_in(texts: list[str]) -> frozenset[str]:
    """Words the texts write as names: capitalised inside a sentence and never in lower case anywhere ("Price and
    colleagues 2014"; not "The" or "Results", which open sentences, nor "Ketamine", also written "ketamine").
    Lower-cased."""
    capitalised: set[str] = set()
    lower: set[str] = set()
    for text in texts:
        lower.update(_LOWER_WORD.findall(text))
        for sentence in split_sentences(text):
            first = re.match(r"\W*[\w-]+", sentence)
            capitalised.update(_PROPER.findall(sentence, first.end() if first else 0))
    return frozenset(w.lower() for w in capitalised if w.lower() not in lower)


_CITED = re.compile(r"\b([A-Z][a-z'-]+)(?:\s+(?:and|&)\s+[A-Z][a-z'-]+|\s+et al\.?|\s+and colleagues)?,?\s+\(?"
                    r"((?:19|20)\d\d)\b")
_MONTHS = frozenset(m.lower() for m in (*calendar.month_name[1:], *calendar.month_abbr[1:]))


def studies_cited(texts: list[str], names: frozenset[str]) -> frozenset[tuple[str, int]]:
    """The (name, year) of the studies the texts cite, each by a word they write only as a name followed by a year
    ("Cottrell 2008", "Shirayama and Hashimoto 2018", "the Toronto 2007 case series"); not a month ("May 2020")."""
    found = set()
    for text in texts:
        for match in _CITED.finditer(text):
            name = match.group(1).lower()
            if name in names and name not in _MONTHS:
                found.add((name, int(match.group(2))))
    return frozenset(found)


SHORT_SURNAME = 3  # letters; a surname this short ("Su", "Han", "Loo") is also a word or a syllable


def cited_short_surnames(dated: Iterable[tuple[str, int]]) -> re.Pattern[str] | None:
    """A pattern for the short surnames among studies' (surname, year), matched only where cited as a study is:
    followed by its year ("Loo 2016", "Han (2016)"), "et al." or "and colleagues". Alone, such a surname names
    nothing: "han" is in "Han Chinese", "su" in many a word of other languages. Each surname has its own group."""
    short = sorted({(surname.lower(), year) for surname, year in dated if len(surname) <= SHORT_SURNAME})
    if not short:
        return None
    cited = "|".join(rf"({re.escape(surname)})(?=(?:\s+(?:et\s+al\b|and\s+colleagues)|,?\s+\(?{year}\b))"
                     for surname, year in short)
    return re.compile(rf"(?<![\w-])(?:{cited})", re.IGNORECASE)


def cited_surnames(pattern: re.Pattern[str] | None, text: str) -> list[str]:
    """The short surnames ``pattern`` (``cited_short_surnames``) finds cited in ``text``, lower-cased."""
    if pattern is None:
        return []
    return [next(g for g in match.groups() if g).lower() for match in pattern.finditer(text)]
