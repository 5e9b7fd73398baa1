"""Question analysis: what a question is about (its focus) and what kind of answer it expects.

The focus is the question's content words once the words that only frame a question ("what did ...
find", "patients", "how long") and the words every question here shares ("ketamine", "depression")
are set aside; a phrase of the synonym table (prompts/synonyms.yaml) counts as one concept, covered
by any of its spellings. A concept is *absent* when no document of the index uses it, in any of its
inflections (words with the same Snowball stem: "clinic" matches "clinical", "surgery" does not match
"surge"): a question about ketamine with warfarin, when no study mentions warfarin, cannot be answered
from this corpus whatever the retriever returns. An absent word is a topic of its own when rules say
so (a name, a code, a medicine's shape, the topic vocabulary) or, for the ordinary words they leave
open ("nightmares" against "woozy"), when the topic-word model trained on eval/answerability does
(assistant.answer.topic_words). A word that only says which study is meant is not a topic when another
word of the same phrase picks the study out: "the Israeli oral ketamine RCT" is the oral ketamine trial, though no
document says "Israeli". The expected kind of answer (a time for "how soon", a rate for "what
rate") comes from cue patterns in prompts/answers.yaml and is matched against the typed spans the
sentence index stores for every sentence.
"""

from __future__ import annotations

import bisect
import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import snowballstemmer

from assistant.answer.timepoints import time_points
from assistant.answer.topic_words import TopicWordModel, word_features
from assistant.index.embeddings import TOKENIZER_PATH
from assistant.index.live import Snapshot
from assistant.index.spans import WORD_SPANS
from assistant.memo import LastOne
from assistant.prompt_files import AnswersFile
from assistant.retrieval.synonyms import SynonymTable
from assistant.text import STOP_WORDS, cited_short_surnames, cited_surnames, split_sentences, tokenize

CONTEXT_MARK = " (context: "  # how assistant.answer.condense appends the earlier questions
MIN_STEM = 5  # shorter words must match exactly
UNKNOWN = 1_000_000  # the rarity of a word the embedding vocabulary does not hold whole
RARE = 15_000  # vocabulary rank beyond which a word is specific (drug, condition, test names)
SUBJECT = re.compile(r"\b(esketamine|spravato|arketamine|ketamine)\b", re.IGNORECASE)
_CLAUSES = re.compile(r"(?<=[.:;!?])\s+")
_PARTS = re.compile(r"(?<=[.:;!?])\s+|,\s*(?:and )?then\s+")
ASKING = re.compile(r"\?|^\W*(what|which|who|whom|whose|when|where|why|how|is|are|was|were|do|does|did|can|could|"
                    r"should|would|will|has|have|had|may|might|tell|explain|describe|list|give|compare|summari[sz]e|"
                    r"and|or|but|so)\b", re.IGNORECASE)

YES_NO = re.compile(r"\W*(do|does|did|is|are|was|were|can|could|should|will|would|has|have|had|may|might)\b",
                    re.IGNORECASE)
_STEMMER = snowballstemmer.stemmer("english")


@lru_cache(maxsize=65_536)
def _stem(word: str) -> str:
    """A word's Snowball stem, remembered: every question compares its words with dozens of corpus words."""
    return _STEMMER.stemWord(word)


@dataclass(frozen=True)
class Concept:
    """One thing a question is about, as it said it, and the corpus tokens that cover it."""

    surface: str
    tokens: frozenset[str]  # corpus tokens that count as mentioning it (inflections, synonyms)
    label: bool = False  # it names a study, trial or author (covered by a document's labels)
    topic: bool = False  # a phrase of the topic vocabulary, absent unless one sentence says all of it

    @property
    def absent(self) -> bool:
        return not self.tokens


@dataclass(frozen=True)
class Part:
    """One of the things a compound question asks ("When was it approved, and under what restrictions?")."""

    text: str
    span_kinds: frozenset[str]  # the typed spans an answer to this part carries
    words: frozenset[str] = frozenset()  # its content words: not those that only frame a question


# A second question joined to the first: "..., and under what restrictions?", "... and how long does it last?"
_JOINED = re.compile(r"(?:,\s*|\s+)(?:and|but|or)\s+(?=(?:(?:under|at|in|for|with|by|on|from|to|of|after)\s+)?"
                     r"(?:what|which|when|how|who|whom|where|why|whether|is|are|was|were|does|do|did|can|could)\b)",
                     re.IGNORECASE)
MIN_PART_WORDS = 2


def question_parts(asking: str) -> list[str]:
    """The separate questions of a message that asks more than one: its questions, each split where a second
    question is joined to it with "and", "but" or "or"; a single question is one part."""
    sentences = [q for q in split_sentences(asking) if q.strip()] or [asking]
    parts = [p.strip(" ,;") for q in sentences for p in _JOINED.split(q)]
    return [p for p in parts if len(p.split()) >= MIN_PART_WORDS]


@dataclass(frozen=True)
class Analysis:
    focus: tuple[Concept, ...]
    kinds: tuple[str, ...]
    span_kinds: frozenset[str]
    subject: str
    asks_filler: bool
    asks_design: bool
    asks: bool = True  # the message asks something (a planted "new instruction" does not)
    numbers: frozenset[str] = frozenset()  # numbers the question names ("at 24 hours", "over 75")
    covered_clause: bool = False  # one clause of a longer message asks about nothing absent
    parts: tuple[Part, ...] = ()  # the questions of a compound message, each answered in the bottom line
    times: frozenset[float] = frozenset()  # time points the question names, in hours ("the next day": 24)

    @property
    def not_covered(self) -> bool:
        """The question asks about something no document mentions, and no part of it can be answered."""
        return bool(self.absent) and self.asks and not self.covered_clause

    @property
    def absent(self) -> tuple[Concept, ...]:
        return tuple(c for c in self.focus if c.absent)

    def coverage(self, tokens: frozenset[str] | set[str], document: frozenset[str] | set[str] = frozenset(),
                 document_share: float = 0.0) -> float:
        """Share of the focus concepts that ``tokens`` (a sentence plus its document's labels) mention; a concept
        only the rest of the sentence's ``document`` mentions counts ``document_share``. Words that pick out the
        study ("the NIMH crossover", "the flexible-dose trial") are said once in a study's description, not in
        every sentence of its results."""
        present = [c for c in self.focus if not c.absent]
        if not present:
            return 1.0
        return sum(1.0 if c.tokens & tokens else document_share if c.tokens & document else 0.0
                   for c in present) / len(present)


@lru_cache(maxsize=2)
def _word_ranks(tokenizer_path: Path) -> dict[str, int]:
    vocab = json.loads(tokenizer_path.read_text(encoding="utf-8"))["model"]["vocab"]
    return {word: rank for word, rank in vocab.items() if word.isalpha()}


# Words an initialism leaves out ("American Journal of Psychiatry": AJP).
_INITIALISM_SKIPS = frozenset({"of", "and", "the", "for", "in", "on", "to", "a", "an"})
_WORDS = re.compile(r"[A-Za-z][A-Za-z'-]*")
_CAPITALS = re.compile(r"(?<![A-Za-z])[A-Z]{2,5}(?![A-Za-z])")
_IDENTIFIER = re.compile(r"([a-z]{2,5})\d{4,}")
# A unit and a number written together ("d28", "wk4", "24h" is caught as a quantity already): a time point.
_TIME_POINT = re.compile(r"(?:d|day|wk|w|h|hr|mo|m|yr|y)\d+(?:\.\d+)?")


def _initialisms(text: str, longest: int = 5) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Each run of two to ``longest`` words of ``text`` that an initialism could stand for, as its initials and its
    words, lower-cased; the words an initialism skips ("of", "and") are left out of both."""
    words = [w.lower() for w in _WORDS.findall(text)]
    for start, first in enumerate(words):
        if first in _INITIALISM_SKIPS:
            continue
        run: list[str] = []
        for word in words[start:start + longest + 2]:
            if word in _INITIALISM_SKIPS:
                continue
            run.append(word)
            if len(run) >= 2:
                yield "".join(w[0] for w in run), tuple(run)
            if len(run) >= longest:
                break


def specific(concept: Concept) -> bool:
    """A concept of specific words only ("BDNF", "warfarin"), not of everyday ones ("follow-up", "journal")."""
    words = [w for w in re.split(r"[\s/-]+", concept.surface) if w]
    return bool(words) and min(map(rarity, words)) >= RARE


def rarity(word: str) -> int:
    """How uncommon a word is in general English: its rank in the embedding model's WordPiece vocabulary,
    which is ordered roughly by frequency; a word the vocabulary does not hold whole ("warfarin") is rarest."""
    return _word_ranks(TOKENIZER_PATH).get(word.lower(), 1_000_000)


def missing_names(absent: Iterable[Concept]) -> list[str]:
    """What an abstention names: the most specific absent concept, and a second one as specific as it."""
    ordered = sorted(absent, key=lambda c: -max(rarity(w) for w in c.surface.split()))
    if not ordered:
        return []
    names = [ordered[0].surface]
    if len(ordered) > 1 and rarity(ordered[1].surface.split()[0]) >= 1_000_000:
        names.append(ordered[1].surface)
    return names


MIN_COMPOUND_PART = 4


def english_compound(word: str) -> bool:
    """Whether a word the vocabulary does not hold whole is two common English words run together ("borderline",
    "guideline"): shaped like a medicine's name by its ending, it is still not one."""
    return any(rarity(word[:i]) < RARE and rarity(word[i:]) < RARE
               for i in range(MIN_COMPOUND_PART, len(word) - MIN_COMPOUND_PART + 1))


def stem_prefix(word: str) -> str | None:
    """The prefix two inflections of a word share ("recreational"/"recreationally"), or None for short words."""
    if len(word) < MIN_STEM or not word.isalpha():
        return None
    return word[:max(MIN_STEM, len(word) - 4)]


def question_part(message: str) -> str:
    """The clause that asks, when a message also says who is asking ("I'm a resident: how quickly ...?"),
    or the follow-up itself without the earlier questions condensing appended to it."""
    message = message.split(CONTEXT_MARK)[0]
    clauses = [c for c in _CLAUSES.split(message.strip()) if c.strip()]
    asking = [c for c in clauses if c.rstrip().endswith("?")]
    return " ".join(asking) if asking and len(asking) < len(clauses) else message


_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                 "twelve")
# "five years later", not an age ("65-74 year olds", "a 12-year-old").
_SPAN_OF_TIME = re.compile(r"\b(\d+|" + "|".join(_NUMBER_WORDS[2:]) + r")[- ](year|month)s?\b(?![- ]olds?\b)")
_POSSESSIVE = re.compile(r"['’]s\b")
_AGE_GROUP = re.compile(r"(?:over|under)-\d+s?")  # "over-65s": the ages a question is about, not a topic
_WORD = re.compile(r"[\w'-]+")
_DETERMINERS = frozenset({"the", "a", "an", "that", "this", "these", "those", "their", "its", "his", "her", "your",
                          "my", "our"})
MAX_DESCRIPTORS = 6  # words between a determiner and its source noun
MIN_ABBREVIATION = 3  # letters of an abbreviation by first letters ("mol", "clin")
_NAME_AND_INITIAL = re.compile(r"\b\w*[a-z\d][A-Z]\b")  # "eEF2K": a name, then a word's initial in capitals
# A name written with digits or capitals ("eEF2", "NMDA"), then a lower-case word ("kinase", "receptor").
_NAME_THEN_WORD = re.compile(r"\b([A-Za-z]*(?:\d|[A-Z]{2})[A-Za-z\d]*)\s+([a-z]{3,})\b")
# Within a sentence, a colon or semicolon starts a clause whose first word may be capitalised too.
_CLAUSE_BREAK = re.compile(r"(?<=[:;])\s+")


def _names(text: str) -> frozenset[str]:
    """Tokens the writer spelled as names: with a capital letter anywhere but at the start of a clause
    ("NICE", "European Medicines Agency", "ELEKT-D"; not "Does" or "Is")."""
    found: set[str] = set()
    clauses = (clause for sentence in split_sentences(text) for clause in _CLAUSE_BREAK.split(sentence))
    for clause in clauses:
        for word in _WORD.findall(clause)[1:]:
            if any(ch.isupper() for ch in word):
                found.update(tokenize(word))
    return frozenset(found)


SHOUTING = 0.5  # above this share of capitalised words, capitals say nothing about names


def capitalised_runs(text: str) -> list[str]:
    """Names of two or more words the writer capitalised inside a clause ("Class B", "Misuse of Drugs Act" gives
    "Drugs Act"); none when the message capitalises most of its words anyway (shouting, title case)."""
    clauses = [_WORD.findall(c) for sentence in split_sentences(text) for c in _CLAUSE_BREAK.split(sentence)]
    words = [w for clause in clauses for w in clause[1:]]  # a clause's first word is capitalised anyway
    if not words or sum(w[0].isupper() for w in words) > SHOUTING * len(words):
        return []
    runs: list[str] = []
    for clause in clauses:
        run: list[str] = []
        for word in [*clause[1:], ""]:
            if word[:1].isupper():
                run.append(word)
                continue
            if len(run) >= 2:
                runs.append(" ".join(run))
            run = []
    return runs


def _whole(phrase: str) -> re.Pattern[str]:
    """A phrase as a whole word or words of lower-cased text: "iv" in "iv ketamine", not in "ivermectin"."""
    return re.compile(r"(?<![\w-])" + re.escape(phrase) + r"(?![\w-])")


def _said(term: str) -> re.Pattern[str]:
    """A synonym term as said in lower-cased text, its words apart or hyphenated: "suicidal-ideation" says the
    phrase "suicidal ideation" as much as the spaced spelling does."""
    return re.compile(r"(?<![\w-])" + re.escape(term).replace(r"\ ", r"[\s-]+") + r"(?![\w-])")


ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*\b")


@dataclass(frozen=True)
class _Vocabulary:
    """One generation's words, sorted for prefix search, and the tokens that name or label each document."""

    generation: str
    words: list[str]
    names: dict[str, frozenset[str]]
    labels: dict[str, frozenset[str]]
    all_names: frozenset[str]
    cited: re.Pattern[str] | None  # the studies with a short surname, where cited as a study is ("Loo 2016")
    words_of: dict[str, frozenset[str]]  # the tokens each document's sentences and labels say
    # What an abbreviation the documents never write stands for in them: the initials of a phrase they write
    # ("ipd": individual participant data) and the letters of their identifiers ("nct": nct02493868).
    abbreviations: dict[str, frozenset[str]]

    @classmethod
    def of(cls, snap: Snapshot) -> _Vocabulary:
        names: dict[str, frozenset[str]] = {}
        labels: dict[str, frozenset[str]] = {}
        for doc, meta in snap.documents.items():
            title = meta.title
            acronyms = " ".join(a for a in ACRONYM.findall(title) if len(a) >= 4 or "-" in a)
            names[doc] = frozenset(tokenize(f"{meta.short_name} {meta.surname} {meta.authors} {acronyms}"))
            labels[doc] = names[doc] | frozenset(tokenize(title))
        # A phrase counts as a term the documents use when they write it more than once (or in a title): the
        # initials of any run of words ("cognitive behavioural therapy" is no phrase here, but some run of three
        # words begins with c, b and t) would make every abbreviation look covered.
        phrases: dict[tuple[str, ...], int] = {}
        for text in snap.sentences.texts:
            for run in {words for _, words in _initialisms(text)}:
                phrases[run] = phrases.get(run, 0) + 1
        for meta in snap.documents.values():
            for _, run in _initialisms(meta.title):
                phrases[run] = phrases.get(run, 0) + 2
        abbreviations: dict[str, set[str]] = {}
        for run, count in phrases.items():
            # Three letters or more, of words that are not themselves compounds: two letters ("BP") are the
            # initials of too many runs to tell.
            if count >= 2 and len(run) >= 3 and not any("-" in word or "'" in word for word in run):
                abbreviations.setdefault("".join(word[0] for word in run), set()).update(run)

        pairs: dict[tuple[str, str], int] = {}
        for text in snap.sentences.texts:
            for name, word in _NAME_THEN_WORD.findall(text):
                pairs[name.lower(), word] = pairs.get((name.lower(), word), 0) + 1
        for (name, word), count in pairs.items():
            if count >= 2:  # a name and the initial of the word after it: "eEF2K" is the "eEF2 kinase" they write
                abbreviations.setdefault(name + word[0], set()).update((name, word))
        for token in snap.doc_freq:
            identifier = _IDENTIFIER.fullmatch(token)
            if identifier:  # "NCT" is the register of "NCT02493868"
                abbreviations.setdefault(identifier.group(1), set()).add(token)
        said: dict[str, set[str]] = {doc: set(tokens) for doc, tokens in labels.items()}
        for doc, tokens in zip(snap.sentences.doc_ids, snap.sentences.tokens, strict=True):
            said.setdefault(doc, set()).update(tokens)
        return cls(snap.name, sorted(snap.doc_freq), names, labels, frozenset().union(*names.values()),
                   cited_short_surnames(snap.dated_studies),
                   {doc: frozenset(tokens) for doc, tokens in said.items()},
                   {key: frozenset(words) for key, words in abbreviations.items()})


_last_vocabulary: LastOne[str, _Vocabulary] = LastOne()  # by generation name


def _vocabulary_of(snap: Snapshot) -> _Vocabulary:
    """``_Vocabulary.of``, shared by every analyser of the process: a generation never changes once built (a
    rebuild has a new name), and reading one takes a tenth of a second that each app a process builds (every
    test's, every worker's) would otherwise spend again."""
    vocabulary = _last_vocabulary.get(snap.name)
    if vocabulary is None:
        vocabulary = _Vocabulary.of(snap)
        _last_vocabulary.put(snap.name, vocabulary)
    return vocabulary


class QuestionAnalyser:
    """Reads questions against one index generation; the vocabulary index is rebuilt when it changes."""

    def __init__(self, answers: AnswersFile, synonyms: SynonymTable, topic_words: TopicWordModel | None = None,
                 embed_words: Callable[[list[str]], np.ndarray] | None = None) -> None:
        self.answers = answers
        self.synonyms = synonyms
        # Reads the absent ordinary words the rules leave open (assistant.answer.topic_words); without it they
        # are all ways of asking.
        self.topic_words = topic_words
        self._embed_words = embed_words
        self._ignored = frozenset(w.lower() for w in [*answers.frame_words, *answers.domain_words]) | STOP_WORDS
        # One pattern per kind, its cues as alternatives: a question is read against a dozen patterns, not 70.
        self._kinds = {name: re.compile("|".join(f"(?:{p})" for p in kind.cues), re.IGNORECASE)
                       for name, kind in answers.answer_kinds.items()}
        self._filler = [re.compile(p, re.IGNORECASE) for p in answers.asks_filler]
        self._design = re.compile(r"\b(design|designed|method|methods|how was .* (done|run|conducted))\b", re.I)
        self._vocab: _Vocabulary | None = None
        self._lock = threading.Lock()
        terms = [t.lower() for group in answers.topic_vocabulary.values() for t in group]
        self._topic_words = frozenset(stem_prefix(t) or t for t in terms if len(tokenize(t)) == 1)
        self._medical = re.compile("(?:" + "|".join(map(re.escape, answers.medical_suffixes)) + ")$")
        self._treatment_heads = frozenset(w.lower() for w in answers.treatment_heads)
        self._source_nouns = frozenset(w.lower() for w in answers.source_nouns)
        medicines = [t.lower() for name in answers.medicine_topics for t in answers.topic_vocabulary[name]]
        self._medicine_terms = frozenset(medicines) | frozenset(stem_prefix(t) or t for t in medicines)
        self._topic_phrases = [(phrase, _whole(phrase)) for phrase in
                               sorted({t for t in terms if len(tokenize(t)) > 1}, key=len, reverse=True)]
        # Compiled once: every question is read against every phrase of the topic vocabulary and synonym table.
        self._group_patterns = [[(term, term.split()[0], _said(term)) for term in group] for group in synonyms.groups]

    def _vocabulary(self, snap: Snapshot) -> _Vocabulary:
        with self._lock:
            if self._vocab is None or self._vocab.generation != snap.name:
                self._vocab = _vocabulary_of(snap)
            return self._vocab

    def document_labels(self, snap: Snapshot) -> dict[str, frozenset[str]]:
        """Per document, the tokens every one of its sentences counts as mentioning (title, names, year)."""
        return self._vocabulary(snap).labels

    def document_names(self, snap: Snapshot) -> dict[str, frozenset[str]]:
        """Per document, the tokens that name it: authors, short name, trial acronyms of its title."""
        return self._vocabulary(snap).names

    def _forms(self, word: str, vocab: list[str], known: dict[str, int]) -> frozenset[str]:
        found = {word} if word in known else set()
        prefix = stem_prefix(word)
        if prefix:
            start = bisect.bisect_left(vocab, prefix)
            stem = _stem(word)
            while start < len(vocab) and vocab[start].startswith(prefix):
                if _stem(vocab[start]) == stem:
                    found.add(vocab[start])
                start += 1
        return frozenset(found)

    @staticmethod
    def _beginning(word: str, vocab: list[str]) -> frozenset[str]:
        """The corpus words a word no vocabulary holds whole is the beginning of: an abbreviation by its first
        letters ("Biol Psych", "Clin", "neurosci") stands for them. Not a word written in capitals ("DEA" is not
        "deaths"): those are initials, read by ``_Vocabulary.abbreviations``."""
        if len(word) < MIN_ABBREVIATION or not word.isalpha() or rarity(word) < UNKNOWN:
            return frozenset()
        start = bisect.bisect_left(vocab, word)
        end = bisect.bisect_left(vocab, word + "\uffff", start)
        return frozenset(vocab[start:end])

    def _concept(self, surface: str, words: Iterable[str], vocab: list[str], snap: Snapshot,
                 labels: frozenset[str]) -> Concept:
        tokens: set[str] = set()
        for word in words:
            tokens |= self._forms(word, vocab, snap.doc_freq)
        # It names a study when a name is a form of the word as said, not of a synonym or a shared stem
        # ("relapse" is not SUSTAIN-1, though "sustained" is one of its synonyms).
        said = [stem_prefix(w) or w for w in tokenize(surface)]
        label = any(name.startswith(stem) for name in tokens & labels for stem in said)
        return Concept(surface, frozenset(tokens), label=label)

    def _is_topic(self, concept: Concept, named: frozenset[str]) -> bool:
        """Whether a concept no document uses is a topic of its own, so that the question cannot be answered
        without it: a term of the topic vocabulary, a name (written with a
        capital or digits), a word shaped like the name of a medicine or a diagnosis that general English does
    not use. An ordinary word no study happens to use ("gloomy", "woozy") is only a way of asking."""
        words = tokenize(concept.surface)
        return any(re.search(r"\d", w) or w in named or (stem_prefix(w) or w) in self._topic_words
                   or self._medicine_shaped(w) for w in words)

    def names_medicine(self, concept: Concept) -> bool:
        """Whether a concept names a medicine or a substance someone takes: a term of the medicine groups of the
        topic vocabulary, or a word no study uses that general English does not hold and that ends like a
        medicine's name ("sertraline"); a word with digits in it is a code or an obfuscated word ("k3tamine"), not a
        medicine's name."""
        if concept.surface.lower() in self._medicine_terms:
            return True
        return any((stem_prefix(w) or w) in self._medicine_terms or self._medicine_shaped(w)
                   for w in tokenize(concept.surface) if w.isalpha())

    def _medicine_shaped(self, word: str) -> bool:
        """A word general English does not use, ending like the name of a medicine or a diagnosis."""
        return rarity(word) >= UNKNOWN and bool(self._medical.search(word)) and not english_compound(word)

    def _focus(self, text: str, snap: Snapshot, read_words: bool = False) -> list[Concept]:
        return self._focus_and_open(text, snap, read_words)[0]

    def _focus_and_open(self, text: str, snap: Snapshot, read_words: bool) -> tuple[list[Concept], list[Concept]]:
        """The concepts of ``text`` that it is about, and the absent single words the rules do not call topics
        (whether they are is the topic-word model's call). ``read_words`` lets the model read those, which it learnt
        to do on the clause that asks (not on what the writer says about themselves: "I'm a nurse on a ward")."""
        named = _names(text)
        descriptors = self._descriptors(text, snap)
        concepts = [c for c in self._concepts(text, snap) if not (c.absent and set(tokenize(c.surface)) <= descriptors)]
        ruled = {c.surface: c.topic or self._is_topic(c, named) for c in concepts if c.absent}
        unsure = [c for c in concepts if c.absent and not ruled[c.surface] and " " not in c.surface]
        topics = self._read_words(unsure, text, snap) if read_words else set()
        return [c for c in concepts if not c.absent or ruled[c.surface] or c in topics], unsure

    def _descriptors(self, text: str, snap: Snapshot) -> frozenset[str]:
        """The words that only say which study a question means: those between a determiner and a source noun
        ("the Israeli oral ketamine RCT") when another of them is a word the documents use ("oral") and so picks
        the study out. The documents need not say "Israeli" for the question to be about that trial. Acronyms and
        codes are kept ("the ESCAPE-TRD trial", "the EMA review"): they name a source or body of their own."""
        found: set[str] = set()
        for clause in (c for sentence in split_sentences(text) for c in _CLAUSE_BREAK.split(sentence)):
            words = _WORD.findall(clause)
            for i, word in enumerate(words):
                if word.lower() not in self._source_nouns:
                    continue
                start = next((j for j in range(i - 1, max(-1, i - MAX_DESCRIPTORS - 2), -1)
                              if words[j].lower() in _DETERMINERS), None)
                between = words[start + 1:i] if start is not None else []
                if not any(t in snap.doc_freq and t not in self._ignored for w in between for t in tokenize(w)):
                    continue
                found.update(t for w in between if w.isalpha() and not (len(w) > 1 and w.isupper())
                             for t in tokenize(w))
        return frozenset(found)

    def unsure_words(self, question: str, snap: Snapshot) -> list[str]:
        """The words of a question's asking clause that the topic-word model reads (its training examples)."""
        return [c.surface for c in self._focus_and_open(question_part(question), snap, False)[1]]

    def _read_words(self, unsure: list[Concept], text: str, snap: Snapshot) -> set[Concept]:
        if self.topic_words is None or self._embed_words is None or not unsure:
            return set()
        vectors = self._embed_words([c.surface for c in unsure])
        return {c for c, vector in zip(unsure, vectors, strict=True)
                if self.topic_words.is_topic(self.word_features(c.surface, text, snap), vector)}

    def word_features(self, word: str, text: str, snap: Snapshot) -> dict[str, float]:
        """The topic-word model's named features of ``word`` in ``text``, read against this generation."""
        vocab = self._vocabulary(snap).words
        kin = 0.0
        for length in range(len(word) - 1, MIN_STEM - 1, -1):
            at = bisect.bisect_left(vocab, word[:length])
            if at < len(vocab) and vocab[at].startswith(word[:length]):
                kin = length / len(word)
                break
        return word_features(word, text, rarity(word), UNKNOWN, kin)

    def _concepts(self, text: str, snap: Snapshot) -> list[Concept]:
        vocabulary = self._vocabulary(snap)
        vocab, labels = vocabulary.words, vocabulary.all_names
        lowered = text.lower()
        concepts: list[Concept] = []
        claimed: set[str] = set()
        for phrase, pattern in self._topic_phrases:
            if phrase not in lowered or not pattern.search(lowered):  # the substring test is the cheap one
                continue
            words = frozenset(tokenize(phrase))
            if words <= claimed:
                continue
            # A topic phrase ("social anxiety") is covered where one sentence says all of it, not its parts apart.
            said_whole = any(words <= sentence for sentence in snap.sentences.tokens)
            concepts.append(Concept(phrase, words if said_whole else frozenset(), topic=True))
            claimed |= words
        for run in capitalised_runs(text):
            # A name of several words ("Class B") is covered where one sentence says all its words, not its parts
            # apart: the corpus's "drug class" and a "B" elsewhere do not cover the UK's Class B.
            # A possessive is the name's ("the Beck Depression Inventory's suicide item"), not a word of it.
            # A hyphenated word is said by its parts ("BDNF-translation": BDNF and translation), which tokenize lists.
            words = [t for t in tokenize(_POSSESSIVE.sub("", run)) if t not in STOP_WORDS and "-" not in t]
            if len(words) < 2 or set(words) <= claimed:
                continue
            initials = {w.lower() for w in _CAPITALS.findall(run)}
            if not self._said_together(words, vocab, snap, initials):
                concepts.append(Concept(run, frozenset(), topic=True))
                claimed |= set(words)
        for concept in self._treatments(lowered, vocab, snap, claimed):
            concepts.append(concept)
            claimed |= set(tokenize(concept.surface)) - self._treatment_heads
        for match in _SPAN_OF_TIME.finditer(lowered):
            # A span of time the question names ("five years later") is covered where a sentence reports that
            # many of that unit; the corpus spells numbers as digits.
            number, unit = match.group(1), match.group(2)
            digits = str(_NUMBER_WORDS.index(number)) if number in _NUMBER_WORDS else number
            units = {unit, unit + "s"}
            said_whole = any(digits in sentence and units & sentence for sentence in snap.sentences.tokens)
            concepts.append(Concept(match.group(0), frozenset({digits, *units}) if said_whole else frozenset(),
                                    topic=True))
            claimed |= {number, unit, unit + "s"}
        for group, patterns in zip(self.synonyms.groups, self._group_patterns, strict=True):
            # A term's first word is in any text that says it, so the cheap test comes before the pattern.
            said = [term for term, first, pattern in patterns if first in lowered and pattern.search(lowered)]
            if not said:
                continue
            words = {t for term in said for t in tokenize(term)}
            if words <= self._ignored:
                claimed |= words
                continue
            # Every spelling of the group covers it; only whole words of the group need to be in a sentence.
            forms = {t for term in group for t in tokenize(term) if t not in self._ignored}
            concepts.append(self._concept(said[0], forms, vocab, snap, labels))
            claimed |= words
        for surname in dict.fromkeys(cited_surnames(vocabulary.cited, text)):
            # A short surname names its study only where cited as one ("Li 2010"); read alone below, it is a
            # word too short to be a topic.
            if surname in labels and surname not in claimed:
                concepts.append(Concept(surname, frozenset({surname}), label=True))
                claimed.add(surname)
        # How the writer spelled abbreviations: in capitals ("IPD"), or as a name and one more capital ("eEF2K").
        in_capitals = {w.lower() for w in _CAPITALS.findall(text)}
        name_and_initial = {w.lower() for w in _NAME_AND_INITIAL.findall(text) if w[:-1].lower() in snap.doc_freq}
        for token in dict.fromkeys(tokenize(text)):
            if token in claimed or token in self._ignored or token.isdigit() or len(token) < 3:
                continue
            if re.fullmatch(r"[\d.,/%-]+", token) or re.match(r"\d", token):
                continue  # quantities ("24-hour", "0.5") are not topics
            if _AGE_GROUP.fullmatch(token):
                claimed |= set(re.split(r"[-/]", token))
                continue
            if "-" in token or "/" in token:
                if set(re.split(r"[-/]", token)) <= self._ignored | claimed:
                    continue
                if token in snap.doc_freq:
                    concepts.append(Concept(token, frozenset({token}), label=token in labels))
                    claimed |= set(re.split(r"[-/]", token))
                    continue
                if re.search(r"\d", token):  # a trial or gene name no document uses ("sustain-3", "cyp2b6")
                    concepts.append(Concept(token, frozenset()))
                    claimed |= set(re.split(r"[-/]", token))
                continue  # its parts are read on their own
            if _TIME_POINT.fullmatch(token):
                continue  # "d28", "wk4": a time point, as "24-hour" is a quantity
            if re.search(r"\d", token):
                present = frozenset({token}) if token in snap.doc_freq else frozenset()
                if not present and token in name_and_initial:
                    present = vocabulary.abbreviations.get(token, frozenset())
                concepts.append(Concept(token, present))
                continue
            concept = self._concept(token, [token], vocab, snap, labels)
            stands_for = vocabulary.abbreviations.get(token) if concept.absent else None
            if stands_for and (token in in_capitals or token in name_and_initial):
                # An abbreviation written in capitals ("IPD", "AJP", "NCT") that the documents spell out.
                concept = Concept(token, stands_for - self._ignored or stands_for)
            elif concept.absent and token not in in_capitals and (beginning := self._beginning(token, vocab)):
                concept = Concept(token, beginning)  # "psych", "neurosci": the start of words the documents use
            concepts.append(concept)
        return concepts

    def _study_says(self, study: Concept, concepts: Sequence[Concept], snap: Snapshot) -> bool:
        """Whether some document the concept ``study`` names mentions each of ``concepts`` (its text or labels)."""
        vocabulary = self._vocabulary(snap)
        return any(study.tokens & names and all(c.tokens & vocabulary.words_of[doc] for c in concepts)
                   for doc, names in vocabulary.names.items())

    def _said_together(self, words: Iterable[str], vocab: list[str], snap: Snapshot,
                       initials: Iterable[str] | None = None) -> bool:
        """Whether one sentence of the corpus says every word, in any of its forms; with ``initials`` (the words
        written in capitals), a word no vocabulary holds whole may be the abbreviation of its forms."""
        words = list(words)
        forms = [self._forms(w, vocab, snap.doc_freq) for w in words]
        if initials is not None:
            forms = [f or (frozenset() if w in initials else self._beginning(w, vocab))
                     for w, f in zip(words, forms, strict=True)]
        return any(all(f & sentence for f in forms) for sentence in snap.sentences.tokens)

    def _treatments(self, lowered: str, vocab: list[str], snap: Snapshot, claimed: set[str]) -> Iterator[Concept]:
        """Named kinds of treatment no study covers: two or more words just before a treatment head that no one
        sentence says together. "Cognitive behavioural therapy" is not covered by a memory study's "cognitive" and
        a mouse study's "behavioural". Of the (up to three) content words before the head, the concept is the
        shortest run ending at the head that no sentence says together: the rest is how the question asks."""
        words = _WORD.findall(lowered)
        for i, head in enumerate(words):
            if head not in self._treatment_heads:
                continue
            run: list[str] = []
            for word in reversed(words[max(0, i - 3):i]):
                if word in self._ignored or word in claimed or re.search(r"\d", word):
                    break
                run.insert(0, word)
            for k in range(2, len(run) + 1):
                if not self._said_together(run[-k:], vocab, snap):
                    yield Concept(" ".join([*run[-k:], head]), frozenset(), topic=True)
                    break

    def _kinds_of(self, text: str) -> tuple[str, ...]:
        return tuple(name for name, cues in self._kinds.items() if cues.search(text))

    def _spans(self, kinds: Iterable[str]) -> frozenset[str]:
        spans = frozenset(s for name in kinds for s in self.answers.answer_kinds[name].spans)
        return spans if spans <= WORD_SPANS else spans - WORD_SPANS  # a figure asked for is the answer

    def analyse(self, question: str, snap: Snapshot) -> Analysis:
        asking = question_part(question)
        # A follow-up without a cue of its own ("And those over 75?") expects what its conversation asked for;
        # a yes-or-no question of its own ("Do patients need to stay ...?") expects a finding, not that.
        kinds = self._kinds_of(asking) or (() if YES_NO.match(asking) else self._kinds_of(question))
        spans = self._spans(kinds)
        split = question_parts(asking)
        asked = tuple(Part(text, self._spans(self._kinds_of(text)), frozenset(tokenize(text)) - self._ignored)
                      for text in split) if len(split) > 1 else ()
        subject = SUBJECT.search(question)
        # The words left to the topic-word model are embedded apart from the request's batch: a few short words
        # in a batch of their own cost less than as rows padded to the length of the question.
        focus = self._focus(asking, snap, read_words=True)
        own = question.split(CONTEXT_MARK)[0]
        parts = [c for c in _PARTS.split(own) if c.strip()]
        said = " ".join(c for c in parts if c not in asking)
        if said:
            # What the writer says around the question counts when it names something specific ("My patient
            # takes warfarin."), not when it says who is asking ("I'm a resident preparing a talk").
            focus += [c for c in self._focus(said, snap) if c.absent and rarity(c.surface) >= RARE]
        asks = [c for c in parts if ASKING.search(c)]
        covered_clause = len(asks) > 1 and any(
            (SUBJECT.search(c) or found) and not any(f.absent for f in found)
            for c in asks for found in [self._focus(c, snap)])
        if asking != question and not any(c.label for c in focus):
            # A follow-up keeps the study its conversation was about ("How many patients did it include?"), unless
            # it asks about something specific that study never mentions ("What about BDNF?" after Li 2010).
            own = [c for c in focus if not c.absent and specific(c)]
            focus += [c for c in self._focus(question, snap) if c.label and c not in focus
                      and self._study_says(c, own, snap)]
        return Analysis(
            focus=tuple(focus), kinds=kinds, span_kinds=spans,
            subject=subject.group(1).lower() if subject else "ketamine",
            asks_filler=any(p.search(asking) for p in self._filler), asks_design=bool(self._design.search(asking)),
            asks=bool(ASKING.search(question)),
            covered_clause=covered_clause, parts=asked,
            numbers=frozenset(t for t in tokenize(asking) if re.fullmatch(r"\d+(?:\.\d+)?", t)),
            times=time_points(asking),
        )
