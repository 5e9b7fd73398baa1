"""The replay conversation file (eval/conversations.jsonl): one scripted conversation per line.

A line is ``{"id": str, "turns": [{"user": str, "kind": ..., "gold": [...], "facts": [[...], ...],
"caveat": bool, "forbid": [...]}]}``; every turn field but ``user`` is optional (``kind`` defaults
to ``clinical``). Validation is strict: unknown keys, wrong types, empty strings that would match
everything and contradictions (a refusal or abstention that names gold sources, which it must
never cite) are errors, and every error names its line so a file can be fixed in one pass.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

Kind = Literal["clinical", "crisis", "refuse", "abstain", "injection"]
KINDS: tuple[Kind, ...] = ("clinical", "crisis", "refuse", "abstain", "injection")
NO_CITATION_KINDS = {"refuse", "abstain"}

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Alternatives = Annotated[list[Text], Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class CaseTurn(_Strict):
    user: Text = Field(description="What the user says in this turn.")
    kind: Kind = Field("clinical", description="The behaviour this turn must show.")
    gold: list[Text] = Field(
        default_factory=list, description="DOIs, PMIDs or doc ids; one of them must be among the top 5 citations.")
    facts: list[Alternatives] = Field(
        default_factory=list, description="Expected facts; each is a list of alternative spellings.")
    caveat: bool = Field(False, description="The abuse/misuse and dissociation caveats must be attached.")
    forbid: list[Text] = Field(default_factory=list, description="Strings that must not appear in the reply.")

    @model_validator(mode="after")
    def _consistent(self) -> CaseTurn:
        if self.gold and self.kind in NO_CITATION_KINDS:
            raise ValueError(f"gold is set, but {self.kind!r} turns must cite nothing")
        return self


class Case(_Strict):
    id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    turns: Annotated[list[CaseTurn], Field(min_length=1)]

    def to_line(self) -> str:
        """The case as one JSONL line; optional fields at their defaults are left out, except ``kind``."""
        turns = [turn.model_dump(exclude_defaults=True) | {"user": turn.user, "kind": turn.kind}
                 for turn in self.turns]
        return json.dumps({"id": self.id, "turns": [_ordered(t) for t in turns]}, ensure_ascii=False)


def _ordered(turn: dict[str, object]) -> dict[str, object]:
    order = ("user", "kind", "gold", "facts", "caveat", "forbid")
    return {key: turn[key] for key in order if key in turn}


class CaseFileError(Exception):
    """The file cannot be replayed; ``problems`` holds one ``path:line: message`` per error."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _where(loc: tuple[int | str, ...]) -> str:
    """``("turns", 1, "facts", 0)`` -> ``turn 2: facts[0]``: turns counted from 1 as people read them."""
    parts = list(loc)
    head = ""
    if len(parts) >= 2 and parts[0] == "turns" and isinstance(parts[1], int):
        head, parts = f"turn {parts[1] + 1}", parts[2:]
    tail = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")
    return f"{head}: {tail}" if head and tail else head or tail


def _describe(error: ValidationError) -> list[str]:
    out = []
    for item in error.errors(include_url=False, include_input=False):
        where = _where(item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        out.append(f"{where}: {message}" if where else message)
    return out


def parse_cases(text: str, source: str = "<text>") -> list[Case]:
    cases: list[Case] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{source}:{number}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        try:
            # Strict validation in JSON mode: lists stay lists, "true" is not a boolean, 1 not a string.
            case = Case.model_validate_json(line)
        except ValidationError as exc:
            problems.extend(f"{source}:{number}: {message}" for message in _describe(exc))
            continue
        if case.id in first_line:
            problems.append(f"{source}:{number}: id {case.id!r} is already used on line {first_line[case.id]}")
            continue
        first_line[case.id] = number
        cases.append(case)
    if not cases and not problems:
        problems.append(f"{source}: no conversations in the file")
    if problems:
        raise CaseFileError(problems)
    return cases


def load_cases(path: Path) -> list[Case]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseFileError([f"{path}: cannot be read ({exc.__class__.__name__}: {exc})"]) from None
    return parse_cases(text, str(path))
