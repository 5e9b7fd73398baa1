"""Reading a labelled JSONL file (the triage messages, the answerability questions) one validated line at a time.

Both sets are data written by people and reviewed like code, so a bad line is named by file and line, and the
reader stops there rather than training on a half-read set.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

Line = TypeVar("Line", bound=BaseModel)


def validated_lines(path: Path, model: type[Line], error: type[Exception]) -> Iterator[tuple[int, Line]]:
    """Each non-blank line of ``path`` as ``model``, with its line number; a line that does not validate raises
    ``error`` with "FILE:LINE: what is wrong"."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield number, model.model_validate_json(line)
        except ValidationError as exc:
            raise error(f"{path.name}:{number}: {exc.errors()[0]['msg']}") from None
