"""`--scorer module:function`: an evaluator's own check, run on every answered turn.

A scorer is a plain function of one :class:`ScorerInput` that returns a ``bool``, a
:class:`~assistant.evaluation.scoring.Verdict`, or a mapping with ``passed`` (bool or None), and
optionally ``score`` (a number) and ``reason`` (text). ``passed`` False fails the turn like any
built-in check; None records the score without judging. The spec names an importable module
(``mypkg.checks:judge``) or a Python file (``checks/judge.py:judge``), so a check can live beside
the conversation file without being packaged. A scorer that raises fails its turn with the
exception as the reason: a check that could not run is never a pass.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.domain import Answer, Turn
from assistant.evaluation.conversations_file import CaseTurn, Meta
from assistant.evaluation.scoring import Verdict


@dataclass(frozen=True)
class ScorerInput:
    """What a scorer sees: the scripted turn (with its metadata), the answer and the history before it."""

    case_id: str
    index: int  # 1-based position of the turn in its conversation
    turn: CaseTurn
    answer: Answer
    history: tuple[Turn, ...]
    meta: Meta  # the conversation's metadata, overridden by the turn's


ScorerFunction = Callable[[ScorerInput], Any]


class ScorerSpecError(ValueError):
    """The ``module:function`` spec names nothing callable."""


@dataclass(frozen=True)
class Scorer:
    name: str
    function: ScorerFunction

    def __call__(self, given: ScorerInput) -> Verdict:
        try:
            return to_verdict(self.name, self.function(given))
        except Exception as exc:  # the user's code: any failure is that turn's failure, the run goes on
            return Verdict(self.name, False, None, f"raised {exc.__class__.__name__}: {exc}")


def to_verdict(name: str, result: Any) -> Verdict:
    """Accept the few shapes a scorer may return; anything else is a mistake in the scorer."""
    if isinstance(result, Verdict):
        return Verdict(name, result.passed, result.score, result.reason)
    if isinstance(result, bool):
        return Verdict(name, result)
    if isinstance(result, Mapping):
        passed, score, reason = result.get("passed"), result.get("score"), result.get("reason", "")
        if passed is not None and not isinstance(passed, bool):
            raise TypeError(f"'passed' must be true, false or null, not {passed!r}")
        if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)
                                  or not math.isfinite(score)):
            raise TypeError(f"'score' must be a finite number or null, not {score!r}")
        return Verdict(name, passed, None if score is None else float(score), str(reason))
    raise TypeError(f"a scorer returns a bool, a Verdict or a mapping with 'passed', not {type(result).__name__}")


def _import(target: str) -> Any:
    if target.endswith(".py") or "/" in target:
        path = Path(target)
        if not path.is_file():
            raise ScorerSpecError(f"no such file: {target}")
        spec = importlib.util.spec_from_file_location(f"replay_scorer_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise ScorerSpecError(f"cannot load {target}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return importlib.import_module(target)


def load_scorer(spec: str) -> tuple[str, ScorerFunction]:
    target, sep, attribute = spec.rpartition(":")
    if not sep or not target or not attribute:
        raise ScorerSpecError(f"{spec!r} is not module:function (or path/to/file.py:function)")
    try:
        module = _import(target)
    except ScorerSpecError:
        raise
    except Exception as exc:  # an import error, or the module failing as it loads
        raise ScorerSpecError(f"cannot import {target} ({exc.__class__.__name__}: {exc})") from None
    function = getattr(module, attribute, None)
    if not callable(function):
        raise ScorerSpecError(f"{target} has no function {attribute!r}")
    return attribute, function


def load_scorers(specs: Sequence[str]) -> list[Scorer]:
    """Named by their function, or by the whole spec when two share a function name."""
    loaded = [(spec, *load_scorer(spec)) for spec in specs]
    names = [name for _, name, _ in loaded]
    return [Scorer(spec if names.count(name) > 1 else name, function) for spec, name, function in loaded]
