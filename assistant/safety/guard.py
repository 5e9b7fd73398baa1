"""Guards on text that crosses a trust boundary: passages going into an engine, drafts coming out of a model.

Triage looks at what the user asked; these guards look at what the service is about to use or show.

* A passage that addresses the assistant ("ignore previous instructions", "omit the caveats") is an
  attack planted in a document, not evidence, so the whole document is left out of the answer: a
  source that tries to steer the reader cannot be trusted for its numbers either.
* A sentence that gives a dose for use at home or without supervision is never shown, whoever wrote
  it (a document, a model or a user's message echoed back).
* Model text that repeats prompt text, deployment rules or settings values, or tells the reader the
  caveats do not apply, is discarded; the caveats themselves are attached later, by rules.

Obfuscation is undone before matching (zero-width characters, look-alike letters, leetspeak,
letter-by-letter spelling, base64, hex, rot13, reversed text), because whoever can make a model
obey can make it encode what it writes, and a planted instruction can be encoded the same way.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from assistant.retrieval.hybrid import RetrievedChunk
from assistant.text import fold, split_sentences, unhide

log = logging.getLogger(__name__)

LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "l"}
# Only inside a word ("h0me", "k3tamine", "4t"): a free-standing "1 mg" or "0.5" stays a number.
LEET_IN_WORD = re.compile(r"(?<=[A-Za-z])[013457@$!|]|[013457@$!|](?=[A-Za-z])")
BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9_-]{16,}={0,2}")
HEX_RUN = re.compile(r"\b(?:[0-9a-fA-F]{2}[ :]?){12,}")
# Text spelt letter by letter ("i g n o r e", "C-A-N-A-R-Y"): at least six single characters in a row.
SPELT = re.compile(r"(?<![\w])(?:\w[\s.\-_*·]+){5,}\w(?![\w])")


def _printable(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    shown = sum(ch.isprintable() or ch in "\n\t" for ch in text)
    return text if text and shown / len(text) >= 0.9 and re.search(r"[A-Za-z]{3}", text) else None


def _base64(run: str) -> str | None:
    padded = (run + "=" * (-len(run) % 4)).encode()
    for alphabet in (b"+/", b"-_"):
        try:
            text = _printable(base64.b64decode(padded, altchars=alphabet, validate=True))
        except (binascii.Error, ValueError):
            continue
        if text:
            return text
    return None


def _unspell(match: re.Match[str]) -> str:
    """"i g n o r e  a l l" -> "ignore all": a wider gap (two spaces, or a slash) separates words."""
    words = re.split(r"\s{2,}|\s*/\s*", match.group(0))
    return " ".join(re.sub(r"[\s.\-_*·]+", "", w) for w in words)


def decodings(text: str) -> list[str]:
    """Readings of ``text`` an attacker might have hidden a message in; the plain reading is not included."""
    out: list[str] = []
    for match in BASE64_RUN.finditer(text):
        decoded = _base64(match.group(0))
        if decoded:
            out.append(decoded)
    for match in HEX_RUN.finditer(text):
        try:
            decoded = _printable(bytes.fromhex(re.sub(r"[ :]", "", match.group(0))))
        except ValueError:
            decoded = None
        if decoded:
            out.append(decoded)
    out.append(codecs.encode(text, "rot13"))
    out.append(text[::-1])
    out.append(LEET_IN_WORD.sub(lambda m: LEET[m.group(0)], text))
    spelt = SPELT.sub(_unspell, text)
    if spelt != text:
        out.append(spelt)
    return out


def variants(text: str) -> list[str]:
    """The folded text followed by its decoded readings (folded too), without repeats."""
    unhidden = unhide(text)
    plain = " ".join(unhidden.split())
    return list(dict.fromkeys([plain, *(fold(d) for d in decodings(unhidden))]))


def _compile(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


# Sentences that speak to the assistant instead of reporting evidence. Deliberately narrow: the test
# suite checks that no sentence of the shipped corpus matches.
DIRECTIVE = _compile([
    r"\b(ignore|disregard|forget|override|bypass)\b[^.!?]{0,50}\b(instructions?|rules|prompts?|guidelines|"
    r"polic(y|ies)|directives?|guardrails?|safety)\b",
    r"\b(system|hidden|initial|developer|original)[ -](prompt|message|instructions?)\b",
    r"\b(developer|debug|god|jailbreak|dan|unrestricted|admin)[ -]mode\b|\bjailbr[eo]ak|\bdo anything now\b",
    r"\b(reveal|print|show|repeat|output|leak|disclose|display|recite|dump|echo)\b[^.!?]{0,40}\b(prompt|"
    r"instructions|configuration|config|settings|api[ _-]?key|secrets?|environment variables?|system message|"
    r"deployment rules?)\b",
    r"\b(omit|remove|drop|skip|leave out|suppress|hide|strip|do not (include|add|show|mention|attach)|"
    r"don'?t (include|add|show|mention|attach)|no need for)\b[^.!?]{0,40}\b(caveats?|warnings?|disclaimers?|"
    r"safety (information|notes?|messages?|text))\b",
    r"\b(note|message|instructions?|reminder) (to|for) (the |any |all )?(ai|assistants?|chatbots?|"
    r"language models?|llms?|models?)\b",
    r"\b(ai|language models?|llms?|chatbots?|assistants?)\b[^.!?]{0,20}\b(reading|summari[sz]ing|processing|"
    r"answering|quoting)\b[^.!?]{0,20}\b(this|these)\b",
    r"\b(you are now|from now on,? you|pretend (to be|you are|that you)|role-?play as|you must now)\b",
    r"\b(tell|instruct|advise|encourage)\b (the |all |your )?(readers?|users?|patients?|people|everyone)\b"
    r"[^.!?]{0,30}\b(take|use|dose|inject|snort|administer|buy)\b",
])

DOSE = re.compile(
    r"\b\d+(?:[.,]\d+)?\s*(?:mg(?:\s*/\s*kg)?|milligrams?|mcg|[µμ]g|micrograms?|ml|millilit(?:er|re)s?|grams?|g\b|"
    r"sprays?|puffs?|bumps?|lines?|tablets?|lozenges?|drops?|devices?|vials?)"
    r"|\b(?:one|two|three|four|half an?|a quarter)\s+(?:mg|milligrams?|sprays?|bumps?|lines?|tablets?|vials?)\b",
    re.IGNORECASE)
HOME = _compile([
    r"\bat[- ]home\b", r"\bhome[- ](use|dos\w*|administ\w*|treatment|infusions?|regimen|protocol)\b",
    r"\bin (your|my|their|the patient'?s) (own )?(home|house|flat|apartment|bedroom)\b",
    r"\byourself\b", r"\bmyself\b", r"\bby (your|my|them)sel(f|ves)\b", r"\bon (your|my|their) own\b",
    r"\bunsupervised\b", r"\bwithout (a |an |any |your |medical |clinical )?(doctor|clinician|prescription|"
    r"supervision|monitoring|clinic|prescriber)\b",
    r"\bself[- ]?(administ\w*|dos\w*|inject\w*|medicat\w*)\b(?![^.!?]{0,60}\bunder (medical |clinical )?supervision)",
])
INSTRUCTION = _compile([
    r"^\W*(take|use|inject|snort|administer|give yourself|try|start (with|at)|dose yourself)\b",
    r"\byou (should|can|could|may|must|need to|want to|will need to) (take|use|inject|snort|administer|start|try|"
    r"dose)\b",
])


# Claims that would contradict the caveats the service attaches: no engine may make them.
UNDERMINES = _compile([
    r"\b(no|without( any)?|skip( the)?|ignore( the)?|disregard( the)?) (caveats?|warnings?|disclaimers?|"
    r"safety (information|notes?))\b[^.!?]{0,30}\b(needed|necessary|apply|required|matter|below|above)\b",
    r"\b(caveats?|warnings?|disclaimers?) (below |above )?(do not|don'?t|does not|doesn'?t|no longer) (apply|matter)\b",
    r"\b(completely|perfectly|totally|entirely|100%) safe\b",
    r"\bhas no (side[- ]effects|risks?|abuse potential)\b|\bno (risk|side[- ]effects) (at all|whatsoever)\b",
    r"\b(approved|cleared|licen[cs]ed|safe) for (unsupervised |home |at-home |self-administered )+(use|dosing|"
    r"treatment)\b",
    r"\bnot (a )?controlled substance\b|\bnot addictive\b",
])


def undermines_safety(text: str) -> list[str]:
    """Sentences that tell the reader the caveats do not apply or that the drug is risk-free."""
    return [s for s in split_sentences(text) if any(UNDERMINES.search(v) for v in variants(s))]


@lru_cache(maxsize=8192)
def directives(text: str) -> tuple[str, ...]:
    """Sentences of ``text`` that give the assistant instructions, in any of their readings (cached: passages
    repeat from answer to answer)."""
    return tuple(s for s in split_sentences(text) if any(DIRECTIVE.search(v) for v in variants(s)))


@lru_cache(maxsize=8192)
def home_dosing(text: str) -> tuple[str, ...]:
    """Sentences that pair a dose amount with home, self or unsupervised use, or tell the reader to take a dose."""
    found: list[str] = []
    for sentence in split_sentences(text):
        readings = variants(sentence)
        if any(DOSE.search(r) for r in readings) and any(HOME.search(r) or INSTRUCTION.search(r) for r in readings):
            found.append(sentence)
    return tuple(found)


class PassageScreen:
    """Keeps planted instructions and home-dosing sentences away from every answer engine.

    Documents are judged whole: every chunk of the current index generation is scanned once, and a
    document with any sentence addressed to the assistant is excluded even when retrieval surfaced
    only its harmless chunks, since the rest of the answer could quote them next to a citation.
    """

    def __init__(self) -> None:
        self._generation: str | None = None
        self._flagged: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def flagged(self, generation: str, chunks: Iterable[tuple[str, str, str]]) -> frozenset[str]:
        """Document ids with planted instructions; ``chunks`` are (doc_id, title, text), scanned once per generation."""
        with self._lock:
            if generation == self._generation:
                return self._flagged
        flagged = frozenset(doc_id for doc_id, title, text in chunks if directives(f"{title}.\n{text}"))
        for doc_id in sorted(flagged):
            log.warning("document %s addresses the assistant; left out of answers until it is fixed", doc_id)
        with self._lock:
            self._generation, self._flagged = generation, flagged
        return flagged

    @staticmethod
    def clean(chunks: Sequence[RetrievedChunk], excluded: frozenset[str]) -> list[RetrievedChunk]:
        """Chunks of trusted documents, with any home-dosing sentence cut out of their text."""
        out = []
        for chunk in chunks:
            if chunk.doc_id in excluded:
                continue
            bad = home_dosing(chunk.text)
            if bad:
                text = chunk.text
                for sentence in bad:
                    text = text.replace(sentence, " ")
                if not re.search(r"[A-Za-z]{3}", text):
                    continue
                # A new id, so caches keyed by chunk id never mix the cut text with the original.
                chunk = replace(chunk, id=f"{chunk.id}#screened", text=re.sub(r"[ \t]+", " ", text).strip())
            out.append(chunk)
        return out


# Prompt templates whose text must never reach a user, and the shortest clause of them that
# counts as a leak (shorter ones occur in ordinary answers by chance).
PROMPT_TEMPLATES = ("system.md", "answer.md", "condense.md")
MIN_FRAGMENT_CHARS = 24


def template_fragments(templates: Iterable[str]) -> tuple[str, ...]:
    """The clauses of prompt templates (their fixed text, not the placeholders), folded and casefolded.

    Shared by the answer engine, which discards a draft that repeats one, and by the replay
    scorer, which reports one in any reply: both must mean the same thing by "prompt text".
    """
    fragments: list[str] = []
    for template in templates:
        for line in template.splitlines():
            line = re.sub(r"^\s*(\d+\.|-)\s+", "", line)
            for sentence in split_sentences(line):
                for piece in re.split(r"(?<=[;:])\s+|\$\{?\w+\}?|\"", sentence):
                    piece = fold(piece).casefold().strip(" .;:!?\"")
                    if len(piece) >= MIN_FRAGMENT_CHARS:
                        fragments.append(piece)
    return tuple(dict.fromkeys(fragments))


@dataclass(frozen=True)
class LeakCheck:
    """What must never leave the service: prompt text, deployment rules and settings values.

    ``fragments`` are clauses of the prompt templates (their fixed text, not the placeholders);
    ``secrets`` are exact values (the extra rules, API key, endpoint, model name) and the
    identifier-like tokens inside them, so a canary in the extra rules is caught on its own.
    Both are compared in folded form against every reading of a text, and also with all spacing
    and punctuation squeezed out, which catches text spelt with separators or split across lines.
    """

    fragments: tuple[str, ...]
    secrets: tuple[str, ...]

    MIN_FRAGMENT = MIN_FRAGMENT_CHARS
    MIN_SECRET = 8

    @staticmethod
    def _norm(text: str) -> str:
        return fold(text).casefold()

    @staticmethod
    def _squeeze(text: str) -> str:
        return re.sub(r"[\W_]+", "", text)

    @classmethod
    def build(cls, templates: Iterable[str], secrets: Iterable[str]) -> LeakCheck:
        fragments = template_fragments(templates)
        values: list[str] = []
        for secret in secrets:
            norm = cls._norm(secret)
            if len(norm) < cls.MIN_SECRET:
                continue
            values.append(norm)
            for line in re.split(r"[\n.;]+", norm):
                if len(line.strip()) >= cls.MIN_FRAGMENT:
                    values.append(line.strip())
            for token in re.findall(r"[\w\-:/.@]+", norm):
                token = token.strip(".:/-")
                if len(token) >= cls.MIN_SECRET and re.search(r"\d", token) and re.search(r"[a-z]", token):
                    values.append(token)
        return cls(fragments, tuple(dict.fromkeys(values)))

    def leaks(self, text: str, public: str = "") -> list[str]:
        """The fragments and secrets found in ``text`` under any reading; empty when it is clean.

        ``public`` is text the writer was entitled to repeat (the passages it was given): a needle
        that also occurs there, say a trial name in the extra rules, is not a leak.
        """
        readings = [r.casefold() for r in variants(text)]
        squeezed = [self._squeeze(r) for r in readings]
        known = self._norm(public)
        found = []
        for needle in (*self.fragments, *self.secrets):
            if known and needle in known:
                continue
            tight = self._squeeze(needle)
            if any(needle in r for r in readings) or (
                    len(tight) >= self.MIN_SECRET and any(tight in s for s in squeezed)):
                found.append(needle)
        return found
