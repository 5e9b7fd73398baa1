"""Typed spans of an evidence sentence: the numbers and names a question's answer is made of.

"How soon" wants a time, "what rate" a percentage, "which dose" an amount in mg or mg/kg, "how many
patients" a sample size. Finding these once, at ingest, lets the answer engine prefer the sentence
that carries the kind of answer the question expects without reading every sentence again per
request. Each recogniser is one named pattern; a span is (kind, the text it matched).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NUM = r"\d+(?:[.,]\d+)?"
_RANGE = rf"{_NUM}(?:\s*(?:-|–|to)\s*{_NUM})?"
# A number and its unit, apart or joined into an adjective ("40 minutes", "a 40-minute infusion", "4-week trials").
_UNIT = r"(?:\s*|-)"

PATTERNS: tuple[tuple[str, str], ...] = (
    # "95% CI" is the width of an interval, not a rate
    ("percent", rf"{_RANGE}\s*(?:%|per ?cent\b|percent\b)(?!\s*(?:CI|CrI|confidence|credible)\b)"),
    ("dose_per_kg", rf"{_RANGE}\s*mg\s*/\s*kg"),
    ("dose", rf"{_RANGE}\s*(?:mg|milligrams?)\b(?!\s*/)"),
    ("minutes", rf"{_RANGE}{_UNIT}(?:min|mins|minutes?)\b"),
    ("hours", rf"(?:{_RANGE}{_UNIT}(?:h|hrs?|hours?)\b|\b(?:one|two|three|four|six|twelve)\s+hours?\b|\bhour\s+\d+\b)"),
    ("days", rf"(?:{_RANGE}{_UNIT}days?\b|\bdays?\s+{_RANGE}\b|\b(?:one|two|three|four|five|seven|ten)\s+days?\b)"),
    ("weeks", rf"(?:{_RANGE}{_UNIT}weeks?\b|\bweeks?\s+{_NUM}\b|\b(?:one|two|three|four|six|eight)\s+weeks?\b"
              rf"|\ba week\b)"),
    ("months", rf"(?:{_RANGE}{_UNIT}months?\b|\b(?:one|two|three|six|twelve)\s+months?\b)"),
    # How often a treatment is given ("twice weekly", "three times a week", "every 2 weeks").
    ("frequency", r"\b(?:once|twice|(?:two|three|four|\d+) times)(?: a| per)? ?(?:daily|weekly|monthly|day|week|"
                  r"month)\b|\bevery (?:\d+|two|three|four|other) (?:days?|weeks?|months?)\b"
                  r"|\b(?:daily|weekly|fortnightly|monthly)\b"),
    ("p_value", r"\bp\s*(?:=|<|>|≤|<=)\s*0?\.\d+"),
    ("ci", r"\b(?:95\s*%\s*)?(?:confidence interval|CI)\b"),
    # The abbreviations in capitals only: "0.5 or 1.0 mg/kg" reports two doses, not an odds ratio.
    ("effect_size", rf"\b(?:(?-i:OR|HR|RR|NNT|SMD)|Cohen'?s?\s*d|d|g|odds ratio|hazard ratio|risk ratio|"
                    rf"number needed to treat|effect size)\s*(?:\(\w+\)\s*)?(?:of|=|was|:)?\s*-?{_NUM}"
                    # the estimate named, then what it compared, then its value ("the OR for response at 24 hours
                    # with ketamine versus placebo was 3.94")
                    rf"|\b(?:(?-i:OR|HR|RR|SMD)|odds ratio|hazard ratio|risk ratio|effect size)\b"
                    rf"[^.;]{{0,80}}?\b(?:was|of)\s+-?{_NUM}"),
    # A count of people may carry a describing word or two ("99 outpatients", "89 ketamine-treated patients",
    # "68 suicidal patients"): a hyphenated word or one shaped like an adjective.
    ("sample_size", r"(?:\bn\s*=\s*\d+|\b\d+\s+(?:of\s+\d+\s+)?"
                    r"(?:(?:[a-z]+-[a-z-]+|[a-z]+(?:ed|al|ic|ive|ant))\s+){0,2}"
                    r"(?:patients|outpatients|inpatients|participants|adults|subjects|people|individuals|"
                    r"completers|volunteers|users|rcts|trials|studies|randomi[sz]ed)\b)"),
    ("points", rf"{_NUM}\s*points?\b"),
    ("difference", rf"\b(?:difference|differed|lower|higher|reduction|change)\b[^.;]{{0,60}}?(?:was|of|by)\s+"
                   rf"-?{_NUM}\b"),
    ("count", rf"\b(?:a |the )?(?:median|mean|average|total) of {_NUM}\b"),
    ("year", r"\b(?:19[5-9]\d|20[0-4]\d)\b"),
    ("scale", r"\b(?:MADRS|Montgomery[- ]As?berg|HDRS|HAM-?D|Hamilton|SSI|Scale for Suicid\w+ Ideation|BSS|QIDS|"
              r"CADSS|BPRS|BDI|C-SSRS|YMRS|CGI)\b"),
    ("trial", r"\b(?:TRANSFORM|SUSTAIN|ASPIRE)[- ]?(?:\d|I{1,3})\b"),
    ("registration", r"\bNCT\d{8}\b"),  # a ClinicalTrials.gov identifier
    # Words that name a harm: what a sentence answering "what side effects ..." reports, though it may carry no
    # number at all ("AEs appeared shortly after dosing and had resolved by 1.5 hours").
    ("adverse_event", r"\b(?:adverse (?:events?|effects?|reactions?)|AEs?|side[- ]effects?|dissociat\w*|nausea|"
                      r"vomiting|headaches?|dizz\w+|vertigo|sedat\w+|somnolence|dysgeusia|hypertensi\w+|"
                      r"blood pressure|psychotomimetic|hallucinat\w*|cystitis|bladder|urinary|tolerab\w+|"
                      r"toxicit\w+|harms?|deaths?)\b"),
)
# Spans that name a thing rather than report a figure: they answer a question only when it asks for no figure
# ("which side effects?", not "what share stopped because of side effects?").
WORD_SPANS = frozenset({"adverse_event"})
RECOGNISERS = tuple((kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in PATTERNS)


def find_spans(sentence: str) -> list[tuple[str, str]]:
    """Every (kind, text) in ``sentence``, in recogniser order, each text once per kind."""
    found: list[tuple[str, str]] = []
    for kind, pattern in RECOGNISERS:
        for match in pattern.finditer(sentence):
            item = (kind, match.group(0).strip())
            if item not in found:
                found.append(item)
    return found


def encode(spans: Iterable[tuple[str, str]]) -> str:
    """Spans as one metadata string (Chroma metadata holds scalars only)."""
    return "\n".join(f"{kind}\t{text}" for kind, text in spans)


def decode(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((kind, value) for kind, _, value in (line.partition("\t") for line in text.split("\n") if line))
