"""The default answer engine: an answer assembled from sentences of the retrieved passages.

Nothing is generated, so nothing can be invented: every sentence of the answer is a sentence of
a cited document, numbers included. The sentences and their vectors come from the sentence index
written at ingest, so answering embeds nothing but the question. Sentences are scored by meaning
(embedding similarity to the question), by shared words, by how much of the question's focus they
cover (with their document's labels: a sentence of the Berman study covers "Berman") and by whether
they carry the kind of answer the question expects (a time for "how soon", a rate for "what rate");
a finding beats a description of design, and filler (where and when something was published) is
dropped unless asked for. A finding measured against a control beats a change from baseline, a
study's primary result beats its reanalysis or subgroup, and a question about esketamine is not
answered from a study of racemic ketamine. Near-duplicates are dropped, and the best sentence
becomes the bottom line, the strongest evidence winning among near-equals, with a second sentence of
the same study when it qualifies the first ("has not been shown", "not significant by day 25") or
adds what the first leaves out (the other arm of a comparison, the figures behind a yes); a compound
question ("When was it approved, and under what restrictions?") gets the best sentence for each of
its parts. The rest follow strongest evidence first. A relevant finding that cuts the other way (a
null or negative result) is kept so that disagreement stays visible, and so is the bottom line's
study's rating of how certain its evidence is.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answer.citations import CitationBuilder
from assistant.answer.question import Analysis, specific
from assistant.answer.timepoints import time_points
from assistant.domain import Citation
from assistant.index.embeddings import MiniLMEmbedder
from assistant.index.sentences import SentenceIndex
from assistant.prompt_files import AnswersFile
from assistant.retrieval.hybrid import RetrievedChunk
from assistant.text import tokenize

GENERIC = frozenset({"ketamine", "esketamine", "depression", "depressive", "study", "studies", "trial", "trials",
                     "patients", "corpus", "evidence", "show", "find", "found", "effect", "effects"})
HEDGE_CUES = re.compile(r"\b(does not record|do not record|not recorded|this corpus)\b", re.IGNORECASE)
META_SECTIONS = {"relevance to the review", "scope of this document", "bibliographic record"}
# Findings answer questions better than descriptions of method; limitations only when asked for.
SECTION_PRIOR = {"summary": 0.05, "results": 0.08, "findings": 0.08, "design": -0.02, "limitations": -0.12}
MECHANISM_Q = re.compile(r"mechanis|how does .* work|receptor|nmda|ampa|bdnf|mtor|hnk|metabolit|synap|mice|mouse|"
                         r"\brats?\b|animal|preclinical|glutamat|signal", re.IGNORECASE)
SAFETY_Q = re.compile(r"safe|side[- ]?effect|adverse|harm|risk|tolera|dissociat|bladder|memory|cognit|abuse|addict",
                      re.IGNORECASE)
LEVEL_ORDER = {"1": 0, "2": 1, "3": 2, "4": 3, "regulatory": 4, "5": 5}
LEVEL_PRIOR = {"1": 0.04, "2": 0.03, "3": 0.01, "4": 0.0, "regulatory": 0.0, "5": -0.02}
FINDING_CUES = re.compile(r"\d|%|superior|reduc|improv|respon|remission|greater|fell|faster|rapid|separat|"
                          r"associated|increase|decrease|lower|higher|relapse", re.IGNORECASE)
REDUNDANCY = 0.87


COMPANION_MARGIN = 0.2  # a second bottom-line sentence scores at most this much below the first
NEAR_EQUAL = 0.03  # bottom-line candidates this close to the best are decided by evidence level
FOCUS_WEIGHT = 0.3
KIND_BONUS = 0.35
DESIGN_PENALTY = 0.3
# What a design sentence reports: figures, and the trial's registration.
DESIGN_ANSWERS = frozenset({"sample_size", "count", "dose", "dose_per_kg", "registration"})
FILLER_PENALTY = 0.3
# An estimate on a named rating scale, with its CI and p-value, is a study's finding at its most specific.
RESULT_SPANS = frozenset({"percent", "effect_size", "p_value", "ci", "points", "difference", "scale"})
QUANTITIES = RESULT_SPANS | {"minutes", "hours", "days", "weeks", "months", "dose", "dose_per_kg"}
RESULT_BONUS = 0.08  # per further kind of result a sentence reports, when the question asks for a result
NUMBER_BONUS = 0.05  # per number of the question the sentence repeats ("at 24 hours", "over 75")
TIME_BONUS = 0.12  # the sentence reports the time point the question names ("the next day": at 24 hours, day 1)
# Documents ranked below the first three are read too, so that the study that answers a question worded in
# general terms can be cited, but their sentences must be clearly better to take a place from the leading ones.
LEADING_DOCUMENTS = 3
FURTHER_DOCUMENT_PENALTY = 0.1
DOCUMENT_SHARE = 0.35  # a focus concept only the sentence's document mentions (the study's description) counts a third
SECONDARY_PENALTY = 0.05  # a reanalysis, subgroup or post hoc result gives way to the primary analysis
PRIMARY_WINDOW = 0.1  # how far below a secondary result the same study's primary result may score and still lead
# A question about esketamine is not answered from a study of racemic ketamine: a sentence that names neither,
# in a study whose title does not name it, is about another drug.
ESKETAMINE = frozenset({"esketamine", "spravato"})
OTHER_DRUG_PENALTY = 0.15
COMPARATOR_BONUS = 0.06  # a finding measured against a control (placebo, saline, midazolam)
# A comparison is told one arm per sentence, and the arm the question names second shares fewer of its words.
COMPARISON_MARGIN = 0.25
# A same-study sentence that qualifies the bottom line scores nearly as well and says much the same thing
# ("gained an indication for suicidal ideation" / "has not been shown to reduce suicidal ideation").
QUALIFY_MARGIN = 0.1
QUALIFY_SIMILARITY = 0.65
SAMPLE = re.compile(r"\d+")


def _closest(similarity: np.ndarray, rows: np.ndarray) -> bool:
    """Whether the sentence closest in meaning to the question is one of ``rows`` (a mask), and not all are."""
    return bool(rows.any() and not rows.all() and similarity[rows].max() >= similarity[~rows].max())


def _numbers(text: str) -> set[str]:
    """The figures a sentence reports, to tell a second result from a restatement of the first."""
    return set(re.findall(r"\d+(?:\.\d+)?", text))


def _sample(spans: tuple[tuple[str, str], ...]) -> int:
    """The largest sample size a sentence reports, 0 when none; a year is not a sample ("Zarate 2006 patients")."""
    years = {value for kind, value in spans if kind == "year"}
    return max((int(n) for kind, value in spans if kind == "sample_size"
                for n in SAMPLE.findall(value) if n not in years), default=0)


@dataclass(frozen=True)
class Candidate:
    text: str
    chunk: RetrievedChunk
    doc_rank: int
    vector: np.ndarray
    score: float = 0.0
    coverage: float = 1.0
    kinds: frozenset[str] = frozenset()  # the typed spans the sentence carries
    tokens: frozenset[str] = frozenset()
    prior: float = 0.0  # the score without the terms that depend on the question's wording and expected kind
    contrary: bool = False  # its finding cuts the other way (a null result, "has not been shown")
    secondary: bool = False  # it reports a reanalysis, subgroup or post hoc result
    certainty: bool = False  # it rates the certainty or quality of a study's evidence


@dataclass(frozen=True)
class SentenceFlags:
    """What the cue patterns say about each sentence of a generation, as arrays over its rows: read once, not per
    question, so that scoring a question's candidate sentences is array arithmetic rather than a Python loop."""

    hedge: np.ndarray
    design: np.ndarray
    filler: np.ndarray
    finding: np.ndarray
    secondary: np.ndarray
    comparator: np.ndarray
    meta_section: np.ndarray
    limitations: np.ndarray
    adverse: np.ndarray
    section_prior: np.ndarray  # SECTION_PRIOR of any other section
    sample: np.ndarray  # the largest sample size the sentence reports (0: none)
    kind_bits: np.ndarray  # its typed spans, one bit per kind of ``kind_names``
    results: np.ndarray  # how many kinds of result (RESULT_SPANS) it reports
    kind_names: dict[str, int]
    kinds: tuple[frozenset[str], ...]
    contrary: tuple[bool, ...]
    certainty: tuple[bool, ...]
    times: tuple[frozenset[float], ...]  # the time points it reports, in hours
    postings: dict[str, np.ndarray]  # token -> the rows whose sentence has it

    def bits(self, kinds: frozenset[str]) -> int:
        return sum(1 << self.kind_names[k] for k in kinds if k in self.kind_names)

    def having(self, tokens: frozenset[str] | set[str], rows: np.ndarray) -> np.ndarray:
        """How many of ``tokens`` each of ``rows``' sentences has."""
        counts = np.zeros(len(self.hedge), dtype=np.int64)
        for token in tokens:
            found = self.postings.get(token)
            if found is not None:
                counts[found] += 1
        return counts[rows]


@dataclass(frozen=True)
class Composed:
    text: str
    citations: list[Citation]


class ExtractiveEngine:
    name = "extractive"

    def __init__(self, embedder: MiniLMEmbedder, answers: AnswersFile, max_sentences: int = 6) -> None:
        self.embedder = embedder
        self.max_sentences = max_sentences
        self._design = [re.compile(p, re.IGNORECASE) for p in answers.design_cues]
        self._filler = [re.compile(p, re.IGNORECASE) for p in answers.filler_cues]
        self._contrary = [re.compile(p, re.IGNORECASE) for p in answers.contrary_cues]
        self._secondary = [re.compile(p, re.IGNORECASE) for p in answers.secondary_cues]
        self._comparator = [re.compile(p, re.IGNORECASE) for p in answers.comparator_cues]
        self._between = [re.compile(p, re.IGNORECASE) for p in answers.between_arm_cues]
        self._certainty = [re.compile(p, re.IGNORECASE) for p in answers.certainty_cues]
        self._flags: tuple[SentenceIndex, SentenceFlags] | None = None
        self._lock = threading.Lock()

    def flags(self, sentences: SentenceIndex) -> SentenceFlags:
        with self._lock:
            if self._flags is None or self._flags[0] is not sentences:
                self._flags = (sentences, self._read_flags(sentences))
            return self._flags[1]

    def _read_flags(self, sentences: SentenceIndex) -> SentenceFlags:
        texts = sentences.texts
        kinds = tuple(frozenset(kind for kind, _ in spans) for spans in sentences.spans)
        kind_names = {k: i for i, k in enumerate(sorted(set().union(*kinds, RESULT_SPANS, DESIGN_ANSWERS)))}
        postings: dict[str, list[int]] = {}
        for row, tokens in enumerate(sentences.tokens):
            for token in tokens:
                postings.setdefault(token, []).append(row)
        sections = [section.lower() for section in sentences.sections]

        def mask(values: object) -> np.ndarray:
            return np.fromiter(values, dtype=bool, count=len(texts))  # type: ignore[call-overload]

        return SentenceFlags(
            hedge=mask(bool(HEDGE_CUES.search(t)) for t in texts),
            design=mask(any(p.search(t) for p in self._design) for t in texts),
            filler=mask(any(p.search(t) for p in self._filler) for t in texts),
            finding=mask(bool(FINDING_CUES.search(t)) for t in texts),
            secondary=mask(any(p.search(t) for p in self._secondary) for t in texts),
            comparator=mask(any(p.search(t) for p in self._comparator) and any(p.search(t) for p in self._between)
                            for t in texts),
            meta_section=mask(s in META_SECTIONS for s in sections),
            limitations=mask(s == "limitations" for s in sections),
            adverse=mask(s == "adverse effects" for s in sections),
            section_prior=np.array([0.0 if s in META_SECTIONS or s in ("limitations", "adverse effects")
                                    else SECTION_PRIOR.get(s, 0.0) for s in sections], dtype=np.float64),
            sample=np.array([_sample(spans) for spans in sentences.spans], dtype=np.int64),
            kind_bits=np.array([sum(1 << kind_names[k] for k in ks) for ks in kinds], dtype=np.int64),
            results=np.array([len(ks & RESULT_SPANS) for ks in kinds], dtype=np.int64),
            kind_names=kind_names, kinds=kinds,
            contrary=tuple(self.is_contrary(t) for t in texts),
            certainty=tuple(any(p.search(t) for p in self._certainty) for t in texts),
            times=tuple(time_points(t) for t in texts),
            postings={token: np.array(rows, dtype=np.int64) for token, rows in postings.items()})

    def is_contrary(self, text: str) -> bool:
        """Whether a sentence reports a finding that cuts the other way (a null or negative result)."""
        return any(p.search(text) for p in self._contrary)

    @staticmethod
    def part_texts(analysis: Analysis) -> list[str]:
        """What each part of a compound question is read as: its own words plus the focus it leaves to the
        rest of the question ("how long did it last?" in a question about the NIMH trial)."""
        return [" ".join([part.text, *(c.surface for c in analysis.focus if c.surface not in part.text.lower())])
                for part in analysis.parts]

    def request_vectors(self, question: str, analysis: Analysis, also: Sequence[str] = ()) -> np.ndarray:
        """The vectors of the question, of its parts and of ``also`` (the other texts the request will read:
        triage's readings, the condensed follow-up), from one embedding batch; whatever the request embedded
        already is not embedded again."""
        return self.embedder.query_vectors([question, *self.part_texts(analysis), *also])

    def _candidates(self, question: str, chunks: Sequence[RetrievedChunk], sentences: SentenceIndex,
                    analysis: Analysis, labels: dict[str, frozenset[str]],
                    names: dict[str, frozenset[str]], qvec: np.ndarray) -> list[Candidate]:
        """Every sentence of the passages, scored. The terms are added row-wise over arrays in the order of
        ``_asked`` and the prior, so the scores are those of the same sums taken one sentence at a time."""
        qtokens = {t for t in tokenize(question) if t not in GENERIC}
        asks_limits = bool(re.search(r"limit|weak|bias|blind|small|caveat|quality", question, re.IGNORECASE))
        asks_mechanism = bool(MECHANISM_Q.search(question))
        asks_safety = bool(SAFETY_Q.search(question))
        asks_secondary = any(p.search(question) for p in self._secondary)
        doc_order: list[str] = []
        for chunk in chunks:
            if chunk.doc_id not in doc_order:
                doc_order.append(chunk.doc_id)
        named = [c for c in analysis.focus if c.label]
        if named:
            # A question about a named study is answered from that study, when it is among the passages and says
            # something of each specific word of the rest of the question: "What did Li 2010 find about BDNF?",
            # which Li 2010 never mentions, is answered from the studies that do.
            theirs = [c for c in chunks if any(n.tokens & names.get(c.doc_id, frozenset()) for n in named)]
            said = frozenset().union(*(sentences.tokens[row] for row in sentences.rows([c.id for c in theirs])),
                                     *(labels.get(c.doc_id, frozenset()) for c in theirs))
            rest = [c for c in analysis.focus if not c.label and not c.absent and specific(c)]
            if theirs and all(c.tokens & said for c in rest):
                chunks = theirs
        by_id = {c.id: c for c in chunks}
        row_list = sentences.rows(list(by_id))
        if not row_list:
            return []
        rows = np.array(row_list, dtype=np.int64)
        flags = self.flags(sentences)
        chunk_list = list(by_id.values())
        chunk_at = {c.id: i for i, c in enumerate(chunk_list)}
        at = np.array([chunk_at[sentences.chunk_ids[row]] for row in row_list], dtype=np.int64)  # row -> chunk
        docs = sorted({c.doc_id for c in chunk_list})
        doc_at = np.array([docs.index(c.doc_id) for c in chunk_list], dtype=np.int64)[at]  # row -> document
        ranks = [doc_order.index(c.doc_id) for c in chunk_list]
        chunk_labels = [labels.get(c.doc_id, frozenset()) for c in chunk_list]

        def per_chunk(values: Sequence[float] | Sequence[bool]) -> np.ndarray:
            return np.array(values)[at]

        # The size of a study is the largest sample it reports; a smaller count is a subgroup ("10 patients (30%)").
        sample = flags.sample[rows]
        study_size = np.zeros(len(docs), dtype=np.int64)
        np.maximum.at(study_size, doc_at, sample)
        sample_bit = flags.bits(frozenset({"sample_size"}))
        kind_bits = flags.kind_bits[rows]
        subgroup = (kind_bits & sample_bit != 0) & (sample < study_size[doc_at])
        kind_bits = np.where(subgroup, kind_bits & ~sample_bit, kind_bits)
        span_bits = flags.bits(analysis.span_kinds)

        score = per_chunk([0.08 / (1 + r) - (FURTHER_DOCUMENT_PENALTY if r >= LEADING_DOCUMENTS else 0.0)
                           for r in ranks])
        similarity = (sentences.vectors[rows] @ qvec).astype(np.float64)
        if analysis.span_kinds or not _closest(similarity, flags.hedge[rows]):
            # What this corpus does not record answers a question only when it is what the question is closest
            # to ("Which parts of the paper does this corpus hold?"), never one that asks for a figure.
            score = score - np.where(flags.hedge[rows], 0.25, 0.0)
        score = score - np.where(flags.meta_section[rows], 0.15, 0.0)
        limits = flags.limitations[rows]
        if not asks_limits and not analysis.span_kinds:
            # A question about what a study cannot show ("does the rat study prove it works in people?") is asked
            # in words no list holds; it shows in the sentence it is closest to in meaning being a limitation. A
            # question that asks for a finding or a figure ("what did it find?", "how many?") asks for results.
            asks_limits = _closest(similarity, limits)
        score = score + np.where(limits, 0.05 if asks_limits else SECTION_PRIOR["limitations"], 0.0)
        score = score + np.where(flags.adverse[rows], 0.1 if asks_safety else 0.0, 0.0)
        score = score + flags.section_prior[rows]
        if not asks_mechanism:
            score = score - np.where(per_chunk([c.metadata.design == "preclinical" for c in chunk_list]), 0.12, 0.0)
        score = score + per_chunk([LEVEL_PRIOR.get(c.metadata.level_key, 0.0) for c in chunk_list])
        design = flags.design[rows]
        finding = flags.finding[rows] & ~design
        compared = flags.comparator[rows] & (not asks_safety)
        score = score + np.where(finding, np.where(compared, 0.05 + COMPARATOR_BONUS, 0.05 + 0.0), 0.0)
        if not asks_secondary:
            score = score - np.where(flags.secondary[rows], SECONDARY_PENALTY, 0.0)
        # The same for design: "Was it blinded?", "Which scale and over what window?"
        asks_design = analysis.asks_design or (not analysis.span_kinds and _closest(similarity, design))
        if not asks_design:
            # unless it carries what was asked ("randomized 346 patients")
            carries = kind_bits & (span_bits & flags.bits(DESIGN_ANSWERS)) != 0
            score = score - np.where(design & ~carries, DESIGN_PENALTY, 0.0)
        if not analysis.asks_filler:
            score = score - np.where(flags.filler[rows], FILLER_PENALTY, 0.0)
        if analysis.numbers:
            score = score + NUMBER_BONUS * flags.having(analysis.numbers, rows)
        if analysis.times:
            score = score + np.where([bool(analysis.times & flags.times[row]) for row in row_list], TIME_BONUS, 0.0)
        if analysis.subject in ESKETAMINE:
            named_drug = (flags.having(ESKETAMINE, rows) > 0) | per_chunk([bool(ESKETAMINE & lab)
                                                                           for lab in chunk_labels])
            score = score - np.where(named_drug, 0.0, OTHER_DRUG_PENALTY)
        coverage = self._coverage(analysis, flags, rows, per_chunk, chunk_labels, doc_at, len(docs))
        prior = score + FOCUS_WEIGHT * coverage
        lexical = flags.having(qtokens, rows) / len(qtokens) if qtokens else np.zeros(len(rows))
        asked = 0.65 * similarity + 0.35 * lexical
        if span_bits:
            bonus = np.array([KIND_BONUS + RESULT_BONUS * k for k in range(3)])
            # Further kinds of result make a sentence the more specific answer to a question that asks for a result,
            # not to one that asks for a dose, a time or a sample: "50 mg, as 5 sprays 5 minutes apart" answers "how
            # much went up the nose?" better than "7.6 points lower after 50 mg (95% CI 3.9-11.3; p<.001)".
            results = flags.results[rows] if analysis.span_kinds & RESULT_SPANS else np.zeros(len(rows), np.int64)
            asked = asked + np.where(kind_bits & span_bits != 0, bonus[np.clip(results - 1, 0, 2)], 0.0)
        total = prior + asked
        secondary = flags.secondary[rows] & (not asks_secondary)
        out: list[Candidate] = []
        for row, chunk_i, total_i, coverage_i, prior_i, subgroup_i, secondary_i in zip(
                row_list, at.tolist(), total.tolist(), coverage.tolist(), prior.tolist(), subgroup.tolist(),
                secondary.tolist(), strict=True):
            kinds = flags.kinds[row] - {"sample_size"} if subgroup_i else flags.kinds[row]
            out.append(Candidate(sentences.texts[row], chunk_list[chunk_i], ranks[chunk_i], sentences.vectors[row],
                                 total_i, coverage_i, kinds, sentences.tokens[row], prior=prior_i,
                                 contrary=flags.contrary[row], secondary=secondary_i,
                                 certainty=flags.certainty[row]))
        if analysis.focus and any(c.coverage > 0 for c in out):
            out = [c for c in out if c.coverage > 0]  # answer only from sentences that cover the focus
        return sorted(out, key=lambda c: c.score, reverse=True)

    @staticmethod
    def _coverage(analysis: Analysis, flags: SentenceFlags, rows: np.ndarray,
                  per_chunk: Callable[[Sequence[bool]], np.ndarray], chunk_labels: list[frozenset[str]],
                  doc_at: np.ndarray, documents: int) -> np.ndarray:
        """``Analysis.coverage`` of every row at once: the share of the focus concepts its sentence or its
        document's labels mention, a concept that only another of its document's sentences here mentions
        counting DOCUMENT_SHARE (the study's description names it once, not in every result)."""
        present = [c for c in analysis.focus if not c.absent]
        if not present:
            return np.ones(len(rows))
        total = np.zeros(len(rows))
        for concept in present:
            in_sentence = flags.having(concept.tokens, rows) > 0
            in_document = np.zeros(documents, dtype=bool)
            in_document[doc_at[in_sentence]] = True
            in_sentence = in_sentence | per_chunk([bool(concept.tokens & lab) for lab in chunk_labels])
            total = total + np.where(in_sentence, 1.0, np.where(in_document[doc_at], DOCUMENT_SHARE, 0.0))
        return total / len(present)

    @staticmethod
    def _asked(sim: float, qtokens: set[str], stokens: frozenset[str], kinds: frozenset[str],
               span_kinds: frozenset[str]) -> float:
        """What a sentence scores for the wording of what is asked: meaning, shared words, the kind of answer."""
        lexical = len(qtokens & stokens) / len(qtokens) if qtokens else 0.0
        score = 0.65 * sim + 0.35 * lexical
        if span_kinds and kinds & span_kinds:
            results = len(kinds & RESULT_SPANS) if span_kinds & RESULT_SPANS else 0
            score += KIND_BONUS + RESULT_BONUS * min(2, max(0, results - 1))
        return score

    def _bottom_line(self, ranked: list[Candidate]) -> Candidate:
        """The best sentence; among near-equals, the one from the strongest evidence; and a study's primary result
        rather than a reanalysis or subgroup of it, when the primary one is nearly as good."""
        near = [c for c in ranked if c.score >= ranked[0].score - NEAR_EQUAL]
        best = min(near, key=lambda c: (LEVEL_ORDER.get(c.chunk.metadata.level_key, 6), -c.score))
        if best.secondary:
            primary = next((c for c in ranked if c.chunk.doc_id == best.chunk.doc_id and not c.secondary
                            and c.kinds & RESULT_SPANS and c.score >= best.score - PRIMARY_WINDOW), None)
            return primary or best
        return best

    def _companion(self, first: Candidate, ranked: list[Candidate], analysis: Analysis,
                   question_tokens: frozenset[str]) -> Candidate | None:
        """A second sentence of the bottom line: from the same study, nearly as good, and adding what the first
        leaves out (a result of the expected kind it lacks, another result of the kind asked for, a result
        on words of the question it does not cover, the figures behind a yes or no). A finding is often told in
        two sentences (the arm the question compares, another time point, how high and how long)."""
        lacking = analysis.span_kinds - first.kinds
        missing_words = question_tokens - first.tokens
        comparison = "comparison" in analysis.kinds
        margin = COMPARISON_MARGIN if comparison else COMPANION_MARGIN
        # Worded like the first but with other figures is the parallel result (the other arm), not a repeat.
        same_study = [c for c in ranked if c is not first and c.chunk.doc_id == first.chunk.doc_id
                      and c.score >= first.score - margin
                      and (float(c.vector @ first.vector) <= REDUNDANCY or _numbers(c.text) - _numbers(first.text))]
        if not first.contrary:
            # A finding the same study qualifies ("has not been shown", "not significant by day 25") is told
            # with its qualification, not three bullets later.
            qualifying = next((c for c in same_study if c.contrary and c.score >= first.score - QUALIFY_MARGIN
                               and float(c.vector @ first.vector) >= QUALIFY_SIMILARITY
                               and not HEDGE_CUES.search(c.text)), None)
            if qualifying is not None:
                return qualifying
        for cand in same_study:
            same_kind = analysis.span_kinds & cand.kinds & first.kinds
            if cand.score < first.score - COMPANION_MARGIN:
                if same_kind and _numbers(cand.text) - _numbers(first.text):
                    return cand  # beyond the usual margin, only the other arm of a comparison
                continue
            if (cand.kinds & lacking) or (cand.kinds & RESULT_SPANS and cand.tokens & missing_words):
                return cand
            if same_kind and _numbers(cand.text) - _numbers(first.text):
                return cand  # a second result of the kind asked for (the arm compared, another time point)
            if not analysis.span_kinds and cand.kinds & QUANTITIES and not first.kinds & QUANTITIES:
                return cand  # a yes-or-no question: the figures behind the yes (how high, how long)
        return None

    def _part_answers(self, first: Candidate, ranked: list[Candidate], analysis: Analysis,
                      part_vectors: np.ndarray) -> list[Candidate]:
        """For a compound question, the best sentence for each part that the bottom line does not hold yet: each
        part is scored on its own wording and expected kind ("under what restrictions" after "when approved")."""
        head = [first]
        for part, pvec in zip(analysis.parts, part_vectors, strict=True):
            ptokens = set(part.words - GENERIC)
            best = max(ranked, key=lambda c: c.prior + self._asked(float(c.vector @ pvec), ptokens, c.tokens,
                                                                   c.kinds, part.span_kinds))
            if best not in head and all(float(best.vector @ h.vector) <= REDUNDANCY for h in head):
                head.append(best)
        return head[1:]

    def _select(self, ranked: list[Candidate], analysis: Analysis, question_tokens: frozenset[str],
                part_vectors: np.ndarray) -> tuple[list[Candidate], int]:
        """The sentences of the answer, and how many of them make its bottom line (one or two; one per part of a
        compound question)."""
        if not ranked:
            return [], 0
        first = self._bottom_line(ranked)
        further = self._part_answers(first, ranked, analysis, part_vectors) if analysis.parts else []
        companion = None if further else self._companion(first, ranked, analysis, question_tokens)
        head = [first, *further, *([companion] if companion else [])]
        ranked = [*head, *[c for c in ranked if c not in head]]
        floor = first.score * 0.6
        chosen = list(head)  # the bottom line is shown whole, whatever the floor
        per_doc = Counter(h.chunk.doc_id for h in head)
        for cand in ranked[len(head):]:
            if len(chosen) >= self.max_sentences or cand.score < floor:
                break
            # A bottom line told in two sentences does not take a finding's place among the rest.
            allowed = 2 + max(0, sum(h.chunk.doc_id == cand.chunk.doc_id for h in head) - 1)
            if per_doc[cand.chunk.doc_id] >= allowed:
                continue
            if any(float(cand.vector @ c.vector) > REDUNDANCY for c in chosen):
                continue
            chosen.append(cand)
            per_doc[cand.chunk.doc_id] += 1
        if not any(c.contrary for c in chosen):
            contrary = next((c for c in ranked if c.contrary and c.score >= ranked[0].score * 0.5
                             and not HEDGE_CUES.search(c.text) and c not in chosen), None)
            if contrary is not None:
                self._keep(chosen, contrary, len(head))
        if not any(c.doc_rank == 0 for c in chosen):
            # The document retrieval ranks first is cited whenever one of its sentences is good enough to show.
            leading = next((c for c in ranked if c.doc_rank == 0 and c.score >= floor and c not in chosen
                            and not HEDGE_CUES.search(c.text)), None)
            if leading is not None:
                self._keep(chosen, leading, len(head))
        studies = {h.chunk.doc_id for h in head}
        if not any(c.certainty for c in chosen):
            # How certain the bottom line's study rates its own evidence ("very low certainty") stays with it.
            rating = next((c for c in ranked if c.certainty and c.chunk.doc_id in studies
                           and c.score >= ranked[0].score * 0.5 and c not in chosen), None)
            if rating is not None:
                self._keep(chosen, rating, len(head))
        return chosen, len(head)

    def _keep(self, chosen: list[Candidate], cand: Candidate, n_head: int) -> None:
        """Add a sentence that must be shown, in place of the weakest supporting one when the answer is full."""
        if len(chosen) >= self.max_sentences and len(chosen) > n_head:
            chosen.pop()
        chosen.append(cand)

    def compose(self, question: str, chunks: Sequence[RetrievedChunk], sentences: SentenceIndex,
                analysis: Analysis, labels: dict[str, frozenset[str]],
                names: dict[str, frozenset[str]]) -> Composed | None:
        question_tokens = frozenset(tokenize(question)) - GENERIC
        vectors = self.request_vectors(question, analysis)
        chosen, n_head = self._select(self._candidates(question, chunks, sentences, analysis, labels, names,
                                                       vectors[0]), analysis, question_tokens, vectors[1:])
        if not chosen:
            return None
        bottom, rest = chosen[:n_head], chosen[n_head:]
        rest.sort(key=lambda c: (LEVEL_ORDER.get(c.chunk.metadata.level_key, 6), -c.score))
        builder = CitationBuilder.empty()
        # One quoted sentence per line, each with its marker; the bottom line is the first paragraph.
        lines = [f"{'Bottom line: ' if i == 0 else ''}{c.text} [{builder.mark(c.chunk, c.text)}]"
                 for i, c in enumerate(bottom)]
        if rest:
            lines.append("")
            lines.append("What the studies found:")
            lines.extend(f"- {c.text} [{builder.mark(c.chunk, c.text)}]" for c in rest)
        return Composed("\n".join(lines), builder.citations)
