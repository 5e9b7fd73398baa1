"""The retrieval question set (eval/questions.jsonl) and the metrics computed over it."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.index.metadata import ChunkMeta


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    gold: tuple[str, ...]
    answerable: bool
    kind: str = ""
    style: str = ""


def load_questions(path: Path) -> list[Question]:
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw: dict[str, Any] = json.loads(line)
            out.append(Question(raw["id"], raw["question"], tuple(raw.get("gold", [])), bool(raw["answerable"]),
                                raw.get("kind", ""), raw.get("style", "")))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: invalid question ({exc.__class__.__name__}: {exc})") from None
    return out


def doc_identifiers(meta: ChunkMeta, doc_id: str) -> set[str]:
    """Every identifier a gold label may use for a document: DOI (any case), PMID or our id."""
    ids = {doc_id.lower()}
    if meta.doi:
        ids.add(meta.doi.lower())
    if meta.pmid:
        ids.add(meta.pmid)
    return ids


def first_hit(ranked: list[set[str]], gold: set[str]) -> int | None:
    for rank, ids in enumerate(ranked, 1):
        if ids & gold:
            return rank
    return None


def ndcg_at(ranked: list[set[str]], gold: set[str], k: int) -> float:
    gains = [1.0 if ids & gold else 0.0 for ids in ranked[:k]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(gold), k)))
    return dcg / ideal if ideal else 0.0
