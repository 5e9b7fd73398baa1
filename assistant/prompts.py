"""Prompts, caveats, crisis and refusal texts: data files in prompts/, loaded and checked at start-up.

Clinical wording lives in files so it is reviewed like code and changed without touching logic.
Templates use ``string.Template`` (never Jinja2, since users influence the values) and each one
declares its variables here; a file whose placeholders differ fails at start-up, not mid-answer.
Every access is recorded in ``used`` so a test can prove each file is wired in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

import yaml
from pydantic import ValidationError

from assistant.errors import ConfigError
from assistant.prompt_files import MODELS

TEMPLATES: dict[str, set[str]] = {
    "system.md": {"cannot_answer", "extra_rules"},
    "answer.md": {"question", "passages", "max_sentences"},
    "condense.md": {"history", "question"},
}
DATA_FILES = tuple(MODELS)
TEXT_FILES: tuple[str, ...] = ()


def _placeholders(template: str) -> set[str]:
    return {m.group("named") or m.group("braced") for m in Template.pattern.finditer(template)
            if m.group("named") or m.group("braced")}


@dataclass
class PromptBook:
    root: Path
    _texts: dict[str, str] = field(default_factory=dict)
    _data: dict[str, Any] = field(default_factory=dict)  # as parsed, for fingerprints; readers use ``typed``
    _typed: dict[str, Any] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, root: Path) -> PromptBook:
        book = cls(root)
        for name, expected in TEMPLATES.items():
            text = book._read(name)
            found = _placeholders(text)
            if found != expected:
                raise ConfigError(f"{root / name}: placeholders {sorted(found)} differ from {sorted(expected)}")
            book._texts[name] = text
        for name in TEXT_FILES:
            book._texts[name] = book._read(name)
        for name in DATA_FILES:
            try:
                data = yaml.safe_load(book._read(name))
            except yaml.YAMLError as exc:
                raise ConfigError(f"{root / name}: invalid YAML ({exc.__class__.__name__})") from None
            if not isinstance(data, dict):
                raise ConfigError(f"{root / name}: must be a YAML mapping")
            book._data[name] = data
        book._validate()
        return book

    def _read(self, name: str) -> str:
        path = self.root / name
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            raise ConfigError(f"{path}: missing or unreadable") from None
        if not text.strip():
            raise ConfigError(f"{path}: empty")
        return text

    def _validate(self) -> None:
        for name, model in MODELS.items():
            try:
                self._typed[name] = model.model_validate(self._data[name])
            except ValidationError as exc:
                error = exc.errors()[0]
                where = ".".join(str(part) for part in error["loc"]) or "(top level)"
                raise ConfigError(f"{self.root / name}: {where}: {error['msg']}") from None

    def text(self, name: str) -> str:
        self.used.add(name)
        return self._texts[name]

    def render(self, name: str, **values: Any) -> str:
        """Fill a template; ``substitute`` fails loudly on a missing value instead of leaving $holes."""
        self.used.add(name)
        return Template(self._texts[name]).substitute(**values)

    def typed(self, name: str) -> Any:
        """The validated model of a data file (see ``prompt_files.MODELS``)."""
        self.used.add(name)
        return self._typed[name]

    @property
    def all_names(self) -> set[str]:
        return set(TEMPLATES) | set(TEXT_FILES) | set(DATA_FILES)

    def fingerprint(self, name: str) -> str:
        """Short hash of a prompt file, logged with answers so a replay can be reproduced."""
        raw = self._texts.get(name) or yaml.safe_dump(self._data.get(name), sort_keys=True)
        return hashlib.sha256(raw.encode()).hexdigest()[:12]
