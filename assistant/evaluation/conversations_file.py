"""The replay conversation file (eval/conversations.jsonl): one scripted conversation per line.

A line is ``{"id": str, "turns": [{"user": str, "kind": ..., "gold": [...], "facts": [[...], ...],
"caveat": bool, "forbid": [...], "meta": {...}}], "meta": {...}}``; every turn field but ``user`` is
optional (``kind`` defaults to ``clinical``). Files come from evaluators' editors and spreadsheet
exports, so the reader forgives what it safely can and nothing more:

* keys it does not know (``origin``, ``notes``, ``tags``) are kept as metadata and named once in a
  warning, since they change nothing that is scored; ``strict`` makes them errors. A key that looks
  like a misspelt field (``fact`` for ``facts``) is always an error: forgiving it would silently
  drop a check;
* UTF-8 with or without a BOM, UTF-16 with a BOM, LF or CRLF line ends;
* wrong types, empty strings that would match everything and contradictions (a refusal or
  abstention that names gold sources, which it must never cite) are errors, and every error names
  its line so a file can be fixed in one pass. A JSON array instead of JSONL gets one message.
"""

from __future__ import annotations

import codecs
import difflib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, ValidationError, model_validator

Kind = Literal["clinical", "crisis", "refuse", "abstain", "injection"]
KINDS: tuple[Kind, ...] = ("clinical", "crisis", "refuse", "abstain", "injection")
NO_CITATION_KINDS = {"refuse", "abstain"}

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Alternatives = Annotated[list[Text], Field(min_length=1)]
Meta = dict[str, JsonValue]


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
    meta: Meta = Field(default_factory=dict, description="Anything the evaluator wants carried into the report.")

    @model_validator(mode="after")
    def _consistent(self) -> CaseTurn:
        if self.gold and self.kind in NO_CITATION_KINDS:
            raise ValueError(f"gold is set, but {self.kind!r} turns must cite nothing")
        return self


class Case(_Strict):
    id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    turns: Annotated[list[CaseTurn], Field(min_length=1)]
    meta: Meta = Field(default_factory=dict, description="Metadata of the whole conversation.")

    def to_line(self) -> str:
        """The case as one JSONL line; optional fields at their defaults are left out, except ``kind``."""
        turns = [turn.model_dump(exclude_defaults=True) | {"user": turn.user, "kind": turn.kind}
                 for turn in self.turns]
        line: dict[str, object] = {"id": self.id, "turns": [_ordered(t) for t in turns]}
        if self.meta:
            line["meta"] = self.meta
        return json.dumps(line, ensure_ascii=False)


def _ordered(turn: dict[str, object]) -> dict[str, object]:
    order = ("user", "kind", "gold", "facts", "caveat", "forbid", "meta")
    return {key: turn[key] for key in order if key in turn}


@dataclass(frozen=True)
class CaseFile:
    """The conversations of a file, and what the reader forgave (one warning each, never one per line)."""

    cases: list[Case]
    warnings: list[str] = field(default_factory=list)


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


def _lift_unknown(obj: dict[str, Any], fields: set[str], where: str, strict: bool,
                  seen: Counter[str]) -> tuple[dict[str, Any], list[str]]:
    """Move keys the model does not know into ``meta``; return the object and the errors found."""
    unknown = [key for key in obj if key not in fields]
    if not unknown:
        return obj, []
    errors = []
    for key in unknown:
        close = difflib.get_close_matches(key, sorted(fields - {"meta"}), n=1, cutoff=0.8)
        prefix = f"{where}: {key}" if where else key
        if close:
            errors.append(f"{prefix}: unknown key; did you mean {close[0]!r}? (metadata goes under \"meta\")")
        elif strict:
            errors.append(f"{prefix}: unknown key (--strict; put metadata under \"meta\")")
    meta = obj.get("meta", {})
    if not isinstance(meta, dict):
        return obj, errors  # the model reports that meta must be an object
    clash = [key for key in unknown if key in meta]
    errors += [f"{where + ': ' if where else ''}{key}: given both as a key and in \"meta\"" for key in clash]
    if errors:
        return obj, errors
    seen.update(unknown)
    kept = {key: value for key, value in obj.items() if key in fields}
    return kept | {"meta": {**{key: obj[key] for key in unknown}, **meta}}, []


def _lift(raw: Any, strict: bool, seen: Counter[str]) -> tuple[Any, list[str]]:
    if not isinstance(raw, dict):
        return raw, []
    raw, errors = _lift_unknown(raw, set(Case.model_fields), "", strict, seen)
    turns = raw.get("turns")
    if isinstance(turns, list):
        lifted = []
        for number, turn in enumerate(turns, 1):
            if isinstance(turn, dict):
                turn, turn_errors = _lift_unknown(turn, set(CaseTurn.model_fields), f"turn {number}", strict, seen)
                errors += turn_errors
            lifted.append(turn)
        raw = {**raw, "turns": lifted}
    return raw, errors


def _whole_file_problem(text: str, source: str) -> str | None:
    """One message for a file that is JSON but not JSONL, instead of an error on every line."""
    stripped = text.strip()
    if stripped.startswith("["):
        return (f"{source}: the file is a JSON array; replay reads JSONL, one conversation object per line "
                f"(convert it with: jq -c '.[]' {source})")
    if stripped.startswith("{") and "\n" in stripped:
        try:
            whole = json.loads(stripped)
        except json.JSONDecodeError:
            return None
        return (f"{source}: the file is one JSON object spread over several lines; replay reads JSONL, "
                f"each conversation on one line (convert it with: jq -c . {source})") if isinstance(whole, dict) \
            else None
    return None


def _lines(text: str) -> list[str]:
    """Split on LF only and drop a CR before it: U+2028 or NEL inside a JSON string is not a line end."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def parse_cases(text: str, source: str = "<text>", strict: bool = False) -> CaseFile:
    problem = _whole_file_problem(text, source)
    if problem:
        raise CaseFileError([problem])
    cases: list[Case] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    seen: Counter[str] = Counter()
    for number, line in enumerate(_lines(text), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{source}:{number}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        raw, errors = _lift(raw, strict, seen)
        if errors:
            problems.extend(f"{source}:{number}: {message}" for message in errors)
            continue
        try:
            # Strict validation in JSON mode: lists stay lists, "true" is not a boolean, 1 not a string.
            case = Case.model_validate_json(json.dumps(raw))
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
    warnings = []
    if seen:
        named = ", ".join(f"{key} ({count}x)" for key, count in sorted(seen.items()))
        warnings.append(f"{source}: unknown keys kept as metadata: {named}; "
                        f"put them under \"meta\" to silence this, or use --strict to refuse them")
    return CaseFile(cases, warnings)


BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def decode(raw: bytes, source: str) -> str:
    """UTF-8 (a BOM is dropped) or UTF-16 with its BOM; anything else is refused with where it broke.

    JSON never holds a raw NUL byte, so NULs in a file without a BOM mean UTF-16 without its mark,
    which cannot be told from other encodings reliably: it is refused rather than guessed.
    """
    encoding = next((name for bom, name in BOMS if raw.startswith(bom)), "utf-8")
    if encoding == "utf-8" and b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise CaseFileError([f"{source}:{line}: not UTF-8 (UTF-16 needs a byte-order mark); save the file as UTF-8"])
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding == "utf-8":
            line = raw[: exc.start].count(b"\n") + 1
            raise CaseFileError([f"{source}:{line}: not UTF-8; save the file as UTF-8"]) from None
        raise CaseFileError([f"{source}: cannot be read as {encoding} ({exc.reason})"]) from None


def load_cases(path: Path, strict: bool = False) -> CaseFile:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CaseFileError([f"{path}: cannot be read ({exc.__class__.__name__}: {exc})"]) from None
    return parse_cases(decode(raw, str(path)), str(path), strict)
