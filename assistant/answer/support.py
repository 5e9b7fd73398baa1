"""Is a sentence of a model's draft supported by the passages it cites?

A marker that points at a retrieved passage is not enough: the sentence may invent a figure, or
cite a passage about something else. So a sentence passes only when

* it cites at least one of the passages the model was given ([n], numbered from 1);
* those passages share at least one of its key terms (content words, stemmed, generic words of
  the field such as "ketamine" or "patients" left out); and
* every number in it, with its unit, appears in one of those passages: doses, percentages,
  durations, effect sizes, p-values, sample sizes, years. Formatting does not matter (0.5 mg/kg
  and 0.5mg/kg, 64% and 64 percent, 1,000 and 1000, 0.50 and 0.5, 24-hour and 24 h, p=.03 and
  p = 0.03, "two weeks" and 2 weeks); the value and the kind of unit do. A unit written once
  for a list or range ("0.5 and 1.0 mg/kg", "24-72 h") belongs to every number in it. Signs are
  not compared (a hyphen is as often a range as a minus).

Units of counting (patients, infusions, studies) are weak: "40 patients" is supported by "n = 40"
or by a bare 40. A number without a unit is supported by the same value anywhere in the passages.
Numbers that are part of a name (SUSTAIN-1, 5-HT2A, COVID-19) are names, not figures.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import snowballstemmer

from assistant.index.bm25 import tokenize

MARKER = re.compile(r"\[(\d{1,3})\]")
NUMBER = re.compile(r"(?<![\w.])(?<![A-Za-z]-)(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|(?<![\w.])\.\d+")
WORD_NUMBERS = {w: n for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
WORD_NUMBERS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90})
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_UNITS_WORDS = "one|two|three|four|five|six|seven|eight|nine"
SPELT_NUMBER = re.compile(rf"\b(?:(?:{_TENS})(?:[- ](?:{_UNITS_WORDS}))?|{'|'.join(WORD_NUMBERS)})\b", re.IGNORECASE)

# (pattern, canonical unit), longest first. Strong units must match exactly; weak ones are counts.
UNITS: tuple[tuple[str, str], ...] = (
    (r"mg\s*(?:/|per)\s*kg|mg\s*[·.]?\s*kg\s*(?:-1|⁻¹)|milligrams?\s+per\s+kilo(?:gram)?s?", "mg/kg"),
    (r"(?:mcg|ug)\s*(?:/|per)\s*kg|micrograms?\s+per\s+kilo(?:gram)?s?", "ug/kg"),
    (r"mg|milligrams?", "mg"), (r"mcg|ug|micrograms?", "ug"), (r"ml|millilit(?:er|re)s?", "ml"),
    (r"grams?", "g"), (r"%|percent|percentage[- ]points?", "%"),
    (r"hours?|hrs?|h", "h"), (r"minutes?|mins?", "min"), (r"days?|d", "day"), (r"weeks?|wks?", "week"),
    (r"months?|mos?", "month"), (r"years?|yrs?", "year"), (r"points?", "point"),
    (r"infusions?|sessions?|doses?|sprays?|devices?|tablets?|treatments?", "count"),
    (r"patients?|participants?|adults?|subjects?|people|persons?|individuals?|women|men|children|adolescents?|"
     r"veterans?|responders?|volunteers?|trials?|studies|rcts?|sites?|centres?|centers?", "count"),
)
UNIT = re.compile(r"(?:\s?-\s?|\s)?(?:" + "|".join(f"(?P<u{i}>{p})" for i, (p, _) in enumerate(UNITS))
                  + r")(?![A-Za-z])", re.IGNORECASE)
WEAK_UNITS = frozenset({"count"})
# Statistics named before their value: "p < .001", "n = 40", "d = 0.8", "OR 2.1", "NNT 6".
QUALIFIER = re.compile(
    r"(?:(?P<named>\bp|\bn|\bd|\bg|\br|\bSMD|\bES|\bCohen'?s d|\bHedges'? g)\s*(?:[=<>≤≥]|&[lg]t;)\s*"
    r"|(?P<ratio>(?-i:\bOR|\bRR|\bHR|\bSMD|\bNN[TH]))\s*[=:]?\s*)-?$", re.IGNORECASE)
QUALIFIER_UNITS = {"p": "p", "n": "count", "or": "ratio", "rr": "ratio", "hr": "ratio", "nnt": "nnt", "nnh": "nnt"}
# Between two numbers that share the unit written after the second: "0.5 and 1.0 mg/kg", "24-72 h".
SHARED_UNIT = re.compile(r"\s*(?:-|–|—|to|and|or|,|, and|, or|/|vs\.?|versus)\s*", re.IGNORECASE)

GENERIC = frozenset("""ketamine esketamine arketamine depression depressive depressed disorder disorders major
    patient patients participant participants people adults adult study studies trial trials evidence show shows
    showed shown find finds found finding findings report reports reported result results effect effects
    significant significantly compared group groups treatment treatments treated associated also however may might
    data analysis analyses use used using based including included within among versus overall line bottom
    research researchers author authors paper review reviewed suggest suggests suggested""".split())
_STEMMER = snowballstemmer.stemmer("english")


@dataclass(frozen=True)
class Quantity:
    value: Decimal
    unit: str | None
    text: str  # as written, for the log


@dataclass(frozen=True)
class Verdict:
    """``reason`` is None when the sentence is supported; ``cited`` are the valid markers it used."""

    reason: str | None
    cited: tuple[int, ...] = ()
    unsupported: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.reason is None


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("−", "-").replace("μ", "u").replace("µ", "u")
    return re.sub(r"\bper cent\b", "percent", MARKER.sub(" ", text), flags=re.IGNORECASE)


def _unit_after(text: str, end: int) -> tuple[str | None, int]:
    match = UNIT.match(text, end)
    if not match:
        return None, end
    index = next(i for i, (_, _) in enumerate(UNITS) if match.group(f"u{i}") is not None)
    return UNITS[index][1], match.end()


def _qualifier(plain: str, start: int) -> tuple[str | None, int]:
    """The statistic named just before the number at ``start``, and where its name begins."""
    window = max(0, start - 24)
    match = QUALIFIER.search(plain[window:start])
    if not match:
        return None, start
    name = (match.group("named") or match.group("ratio")).casefold()
    return QUALIFIER_UNITS.get(name, "effect"), window + match.start()


@lru_cache(maxsize=4096)
def quantities(text: str) -> tuple[Quantity, ...]:
    """Every number in ``text`` with its unit (None when it has none), citation markers left out."""
    plain = _plain(text)
    found: list[tuple[Decimal, str | None, str, int, int]] = []  # value, unit, text, start, end (after unit)
    spans = [(m.start(), m.end(), m.group(0).replace(",", "")) for m in NUMBER.finditer(plain)]
    for match in SPELT_NUMBER.finditer(plain):
        unit, _ = _unit_after(plain, match.end())
        if unit is not None and unit not in WEAK_UNITS:  # "two weeks", not "one of the trials"
            words = re.split(r"[- ]", match.group(0).casefold())
            spans.append((match.start(), match.end(), str(sum(WORD_NUMBERS[w] for w in words))))
    for start, end, digits in sorted(spans):
        try:
            value = Decimal(digits).normalize()
        except InvalidOperation:
            continue
        unit, after = _unit_after(plain, end)
        qualified, named_at = _qualifier(plain, start)
        found.append((value, qualified or unit, plain[named_at:after].strip(), start, after))
    # A unit written once for a list or range belongs to the numbers before it; across a bare comma only
    # inside such a list ("0.1, 0.2 and 0.5 mg/kg"), not from a figure that has its own ("week 4, 52%").
    inherited = [False] * len(found)
    for i in range(len(found) - 2, -1, -1):
        value, unit, written, start, after = found[i]
        following = found[i + 1]
        between = plain[after:following[3]]
        if unit is None and following[1] is not None and SHARED_UNIT.fullmatch(between) and (
                between.strip() != "," or inherited[i + 1]):
            found[i] = (value, following[1], written, start, after)
            inherited[i] = True
    return tuple(Quantity(value, unit, written) for value, unit, written, _, _ in found)


def _stem(token: str) -> str:
    return token if re.search(r"\d|-", token) else _STEMMER.stemWord(token)


@lru_cache(maxsize=4096)
def terms(text: str) -> frozenset[str]:
    """Stemmed words of ``text`` (numbers left out), for comparing a sentence with a passage."""
    return frozenset(_stem(t) for t in tokenize(_plain(text)) if not re.fullmatch(r"[\d.,]+", t) and len(t) > 2)


def key_terms(text: str) -> frozenset[str]:
    """The words that say what a sentence is about: its terms without the field's generic words."""
    return frozenset(_stem(t) for t in tokenize(_plain(text))
                     if not re.fullmatch(r"[\d.,]+", t) and len(t) > 2 and t not in GENERIC)


def _held(quantity: Quantity, pool: Sequence[Quantity]) -> bool:
    for other in pool:
        if other.value != quantity.value:
            continue
        if quantity.unit is None or other.unit == quantity.unit:
            return True
        if quantity.unit in WEAK_UNITS and (other.unit is None or other.unit in WEAK_UNITS):
            return True
    return False


def check(sentence: str, passages: Sequence[str]) -> Verdict:
    """Whether ``sentence`` is supported by the passages its markers cite; ``passages[n - 1]`` is the text
    (with the study name and attributes the model saw) of the passage it cites as [n]."""
    cited = tuple(dict.fromkeys(n for n in map(int, MARKER.findall(sentence)) if 1 <= n <= len(passages)))
    if not cited:
        return Verdict("cites none of the passages it was given")
    sources = [passages[n - 1] for n in cited]
    wanted = key_terms(sentence)
    if not wanted & frozenset().union(*(terms(s) for s in sources)):
        return Verdict("the passages it cites share none of its key terms", cited)
    pool = [q for s in sources for q in quantities(s)]
    missing = tuple(q.text for q in quantities(sentence) if not _held(q, pool))
    if missing:
        return Verdict("has numbers the passages it cites do not hold", cited, missing)
    return Verdict(None, cited)
