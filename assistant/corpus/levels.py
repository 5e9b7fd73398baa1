"""The evidence-level rule: a document's level follows from its design and size, never from taste.

Levels are shown next to every citation and weigh in on which sentences an answer leads with, so
two documents of the same kind must not sit at different levels because different people rated
them. ``corpus/README.md`` states the rule in words; this module is that rule, and the corpus
schema rejects a front matter whose declared level disagrees with it.
"""

from __future__ import annotations

from typing import Literal

# Below this many randomized participants a randomized trial (parallel or crossover) is a pilot:
# the corpus's small crossovers (7-20 participants) and its 27-patient three-arm route study sit
# under it, its full-size trials (41 and more) above it; any cut from 28 to 41 sorts today's
# corpus the same way, and 30 is the conventional size of a pilot.
SMALL_TRIAL_N = 30

SYNTHESES = frozenset({"meta-analysis", "systematic review", "pooled analysis"})
RANDOMIZED_TRIALS = frozenset({"randomized controlled trial", "randomized crossover trial"})
UNCONTROLLED = frozenset({"open-label", "cohort", "case series"})
NOT_CLINICAL_EVIDENCE = frozenset({"preclinical", "review", "consensus statement", "commentary"})

# What a synthesis pooled: only controlled trials (placebo or active comparator), or also
# uncontrolled studies, whose weakest design then sets the level of the whole.
IncludedStudies = Literal["controlled trials", "includes uncontrolled studies"]
INCLUDED_STUDIES: tuple[str, ...] = ("controlled trials", "includes uncontrolled studies")

Level = int | str


class LevelRuleError(ValueError):
    """The rule cannot rate the document because a field it needs is missing or out of place."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def expected_level(design: str, n: int | None, included_studies: str | None) -> Level:
    """The level the rule gives a design of a given size (``regulatory`` for regulatory records)."""
    if design in SYNTHESES:
        if included_studies is None:
            raise LevelRuleError("included_studies", f"required for a {design} (one of: "
                                 f"{', '.join(INCLUDED_STUDIES)})")
        return 1 if included_studies == "controlled trials" else 4
    if included_studies is not None:
        raise LevelRuleError("included_studies", f"applies only to a meta-analysis, systematic review or pooled "
                             f"analysis, not to a {design}")
    if design in RANDOMIZED_TRIALS:
        if n is None:
            raise LevelRuleError("n", f"required to rate a {design} (level 2 from {SMALL_TRIAL_N} participants, "
                                 f"level 3 below)")
        return 2 if n >= SMALL_TRIAL_N else 3
    if design in UNCONTROLLED:
        return 4
    if design in NOT_CLINICAL_EVIDENCE:
        return 5
    if design == "regulatory":
        return "regulatory"
    raise LevelRuleError("design", f"the level rule does not rate design {design!r}")


def explain(design: str, n: int | None, included_studies: str | None) -> str:
    """Why the rule gives its level, in the words an author fixing the front matter needs."""
    if design in SYNTHESES:
        return f"a {design} whose included studies are {included_studies!r}"
    if design in RANDOMIZED_TRIALS:
        size = "at least" if n is not None and n >= SMALL_TRIAL_N else "fewer than"
        return f"a {design} of {n} participants ({size} {SMALL_TRIAL_N})"
    return f"a {design}"
