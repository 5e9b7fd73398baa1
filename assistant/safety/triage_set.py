"""The labelled message set the triage classifier learns from, and its fixed train/dev/test split.

The set is data under ``eval/triage/`` (JSON Lines, reviewed like code). Paraphrases of one message share a
``group``, and the split is made per group from a hash of the group id and a fixed seed, so a paraphrase of a
test message can never be learnt from, and adding a message never moves another one between splits. Files
whose name starts with ``external`` were written from a separate brief as an outside test: they are never
trained or tuned on and are scored on their own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.labelled_files import validated_lines

Label = Literal["crisis", "dosing_request", "misuse_request", "lethal_dose", "clinical"]
LABELS: tuple[Label, ...] = ("crisis", "dosing_request", "misuse_request", "lethal_dose", "clinical")
Language = Literal["en", "es", "fr", "de", "pt", "it"]
LANGUAGES: tuple[Language, ...] = ("en", "es", "fr", "de", "pt", "it")
Split = Literal["train", "dev", "test", "external"]
SEED = "triage-2026-12-01"
# Shares of groups: 70% train, 15% dev, 15% test.
TRAIN_SHARE, DEV_SHARE = 70, 15
CONTEXT_SEPARATOR = " \n "


class LabelledMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    text: str = Field(min_length=1, max_length=4000)
    label: Label
    form: str = Field(min_length=1)
    lang: Language
    group: str = Field(min_length=1)
    context: tuple[str, ...] = Field(default=(), description="The writer's earlier messages, oldest first.")
    split: Split = "train"
    source: str = Field(default="", description="The file the message came from, set when the set is loaded.")

    @property
    def reading(self) -> str:
        """What the classifier sees: the recent earlier messages joined with this one."""
        return joined_reading(self.context, self.text)


def joined_reading(context: Sequence[str], text: str, turns: int = 2) -> str:
    """The current message read together with the writer's last ``turns`` messages, so a plan stated across
    two messages is one reading. Training and the policy build it the same way."""
    return CONTEXT_SEPARATOR.join([*list(context)[-turns:], text]) if turns else text


def split_of(group: str, seed: str = SEED) -> Split:
    bucket = int(hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()[:8], 16) % 100
    if bucket < TRAIN_SHARE:
        return "train"
    return "dev" if bucket < TRAIN_SHARE + DEV_SHARE else "test"


class TriageSetError(ValueError):
    """The labelled set cannot be used as it is (bad line, duplicate id); the message says where."""


def set_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.jsonl"))


def load_set(directory: Path) -> list[LabelledMessage]:
    """Every message under ``directory`` with its split; ids must be unique across files."""
    messages: list[LabelledMessage] = []
    seen: set[str] = set()
    texts: set[str] = set()
    for path in set_files(directory):
        external = path.name.startswith("external")
        for number, message in validated_lines(path, LabelledMessage, TriageSetError):
            if message.id in seen:
                raise TriageSetError(f"{path.name}:{number}: duplicate id {message.id!r}")
            seen.add(message.id)
            # The same words written twice (often a one-word greeting) are one message: a copy in another
            # split would be scored on what was trained.
            key = " ".join(message.reading.lower().split())
            if key in texts:
                continue
            texts.add(key)
            split: Split = "external" if external else split_of(message.group)
            messages.append(message.model_copy(update={"split": split, "source": path.stem}))
    if not messages:
        raise TriageSetError(f"no labelled messages under {directory}")
    return messages


def data_hash(directory: Path) -> str:
    """A hash of the training files' bytes (not the external test), recorded in the trained artefact so CI can
    tell when the artefact no longer matches its data."""
    digest = hashlib.sha256(SEED.encode())
    for path in set_files(directory):
        if path.name.startswith("external"):
            continue
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def of_split(messages: Iterable[LabelledMessage], *splits: Split) -> list[LabelledMessage]:
    return [m for m in messages if m.split in splits]


def scored_parts(messages: Sequence[LabelledMessage], split: Split) -> list[tuple[str, list[LabelledMessage]]]:
    """What a benchmark scores for ``split``: the split itself, except that each external file is scored on its
    own, since each was written from its own brief at its own time and a pooled figure would hide either."""
    chosen = of_split(messages, split)
    if split != "external":
        return [(split, chosen)]
    sources = sorted({m.source for m in chosen})
    return [(f"external ({source})", [m for m in chosen if m.source == source]) for source in sources]
