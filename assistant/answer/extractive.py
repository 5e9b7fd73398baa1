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
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answer.citations import CitationBuilder
from assistant.answer.question import Analysis
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
DESIGN_ANSWERS = frozenset({"sample_size", "count", "dose", "dose_per_kg"})  # figures a design sentence reports
FILLER_PENALTY = 0.3
# An estimate on a named rating scale, with its CI and p-value, is a study's finding at its most specific.
RESULT_SPANS = frozenset({"percent", "effect_size", "p_value", "ci", "points", "difference", "scale"})
QUANTITIES = RESULT_SPANS | {"minutes", "hours", "days", "weeks", "months", "dose", "dose_per_kg"}
RESULT_BONUS = 0.08  # per further kind of result a sentence reports
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
    """What the cue patterns say about each sentence of a generation: read once, not per question."""

    hedge: tuple[bool, ...]
    design: tuple[bool, ...]
    filler: tuple[bool, ...]
    finding: tuple[bool, ...]
    kinds: tuple[frozenset[str], ...]
    contrary: tuple[bool, ...]
    secondary: tuple[bool, ...]
    comparator: tuple[bool, ...]
    certainty: tuple[bool, ...]
    sample: tuple[int, ...]  # the largest sample size the sentence reports (0: none)
    times: tuple[frozenset[float], ...]  # the time points it reports, in hours


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
                texts = sentences.texts
                self._flags = (sentences, SentenceFlags(
                    hedge=tuple(bool(HEDGE_CUES.search(t)) for t in texts),
                    design=tuple(any(p.search(t) for p in self._design) for t in texts),
                    filler=tuple(any(p.search(t) for p in self._filler) for t in texts),
                    finding=tuple(bool(FINDING_CUES.search(t)) for t in texts),
                    kinds=tuple(frozenset(kind for kind, _ in spans) for spans in sentences.spans),
                    contrary=tuple(self.is_contrary(t) for t in texts),
                    secondary=tuple(any(p.search(t) for p in self._secondary) for t in texts),
                    comparator=tuple(any(p.search(t) for p in self._comparator) and
                                     any(p.search(t) for p in self._between) for t in texts),
                    certainty=tuple(any(p.search(t) for p in self._certainty) for t in texts),
                    sample=tuple(_sample(spans) for spans in sentences.spans),
                    times=tuple(time_points(t) for t in texts)))
            return self._flags[1]

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
        qtokens = {t for t in tokenize(question) if t not in GENERIC}
        asks_limits = bool(re.search(r"limit|weak|bias|blind|small|caveat|quality", question, re.IGNORECASE))
        asks_mechanism = bool(MECHANISM_Q.search(question))
        asks_safety = bool(SAFETY_Q.search(question))
        doc_order: list[str] = []
        for chunk in chunks:
            if chunk.doc_id not in doc_order:
                doc_order.append(chunk.doc_id)
        named = [c for c in analysis.focus if c.label]
        if named:
            # A question about a named study is answered from that study, when it is among the passages.
            theirs = [c for c in chunks if any(n.tokens & names.get(c.doc_id, frozenset()) for n in named)]
            chunks = theirs or chunks
        by_id = {c.id: c for c in chunks}
        rows = sentences.rows(list(by_id))
        if not rows:
            return []
        similarity = sentences.vectors[rows] @ qvec
        flags = self.flags(sentences)
        asks_secondary = any(p.search(question) for p in self._secondary)
        # The size of a study is the largest sample it reports; a smaller count is a subgroup ("10 patients (30%)").
        study_size: dict[str, int] = {}
        for row in rows:
            doc = by_id[sentences.chunk_ids[row]].doc_id
            study_size[doc] = max(study_size.get(doc, 0), flags.sample[row])
        # What each document says anywhere among these passages: the words that pick out a study.
        doc_tokens: dict[str, set[str]] = {}
        for row in rows:
            doc_tokens.setdefault(by_id[sentences.chunk_ids[row]].doc_id, set()).update(sentences.tokens[row])
        out: list[Candidate] = []
        for row, sim in zip(rows, similarity, strict=True):
            chunk = by_id[sentences.chunk_ids[row]]
            sentence = sentences.texts[row]
            stokens = sentences.tokens[row]
            section = sentences.sections[row].lower()
            rank = doc_order.index(chunk.doc_id)
            kinds = flags.kinds[row]
            if "sample_size" in kinds and flags.sample[row] < study_size[chunk.doc_id]:
                kinds = kinds - {"sample_size"}
            asked = self._asked(float(sim), qtokens, stokens, kinds, analysis.span_kinds)
            score = 0.08 / (1 + rank) - (FURTHER_DOCUMENT_PENALTY if rank >= LEADING_DOCUMENTS else 0.0)
            if flags.hedge[row]:
                score -= 0.25
            if section in META_SECTIONS:
                score -= 0.15
            elif section == "limitations":
                score += 0.05 if asks_limits else SECTION_PRIOR["limitations"]
            elif section == "adverse effects":
                score += 0.1 if asks_safety else 0.0
            else:
                score += SECTION_PRIOR.get(section, 0.0)
            if chunk.metadata.design == "preclinical" and not asks_mechanism:
                score -= 0.12
            score += LEVEL_PRIOR.get(chunk.metadata.level_key, 0.0)
            is_design = flags.design[row]
            if flags.finding[row] and not is_design:
                score += 0.05 + (COMPARATOR_BONUS if flags.comparator[row] and not asks_safety else 0.0)
            if flags.secondary[row] and not asks_secondary:
                score -= SECONDARY_PENALTY
            if is_design and not analysis.asks_design and not kinds & analysis.span_kinds & DESIGN_ANSWERS:
                score -= DESIGN_PENALTY  # unless it carries what was asked ("randomized 346 patients")
            if not analysis.asks_filler and flags.filler[row]:
                score -= FILLER_PENALTY
            score += NUMBER_BONUS * len(analysis.numbers & stokens)
            if analysis.times & flags.times[row]:
                score += TIME_BONUS
            if analysis.subject in ESKETAMINE and not ESKETAMINE & (stokens | labels.get(chunk.doc_id, frozenset())):
                score -= OTHER_DRUG_PENALTY
            coverage = analysis.coverage(stokens | labels.get(chunk.doc_id, frozenset()), doc_tokens[chunk.doc_id],
                                         DOCUMENT_SHARE)
            score += FOCUS_WEIGHT * coverage
            out.append(Candidate(sentence, chunk, rank, sentences.vectors[row], score + asked, coverage, kinds,
                                 stokens, prior=score, contrary=flags.contrary[row],
                                 secondary=flags.secondary[row] and not asks_secondary,
                                 certainty=flags.certainty[row]))
        if analysis.focus and any(c.coverage > 0 for c in out):
            out = [c for c in out if c.coverage > 0]  # answer only from sentences that cover the focus
        return sorted(out, key=lambda c: c.score, reverse=True)

    @staticmethod
    def _asked(sim: float, qtokens: set[str], stokens: frozenset[str], kinds: frozenset[str],
               span_kinds: frozenset[str]) -> float:
        """What a sentence scores for the wording of what is asked: meaning, shared words, the kind of answer."""
        lexical = len(qtokens & stokens) / len(qtokens) if qtokens else 0.0
        score = 0.65 * sim + 0.35 * lexical
        if span_kinds and kinds & span_kinds:
            score += KIND_BONUS + RESULT_BONUS * min(2, max(0, len(kinds & RESULT_SPANS) - 1))
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
