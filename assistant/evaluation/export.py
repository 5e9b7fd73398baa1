"""`assistant export`: turn a stored conversation into a replay case.

The case replays the user's turns and expects what the service did then: the kind is inferred
from the stored safety category, gold is the cited DOIs (or PMIDs, or doc ids when a source has
neither), and ``caveat`` is set when the abuse/misuse and dissociation caveats were attached.
Expected facts are left for the evaluator to add: only a person can say what the answer must say.
"""

from __future__ import annotations

import json
from pathlib import Path

from assistant.conversations import Conversation
from assistant.domain import Answer
from assistant.evaluation.conversations_file import Case, CaseTurn, Kind
from assistant.evaluation.scoring import REQUIRED_CAVEATS

KIND_BY_CATEGORY: dict[str, Kind] = {
    "clinical": "clinical", "crisis": "crisis", "dosing_request": "refuse", "misuse_request": "refuse",
    "out_of_scope": "abstain", "injection": "injection",
}


def infer_kind(answer: Answer) -> Kind:
    if answer.safety.escalated:
        return "crisis"
    kind = KIND_BY_CATEGORY[answer.safety.category]
    return "abstain" if kind == "clinical" and answer.abstained else kind


def gold_of(answer: Answer) -> list[str]:
    ids = [c.doi or c.pmid or c.doc_id for c in sorted(answer.citations, key=lambda c: c.marker)]
    return list(dict.fromkeys(ids))


def case_from_conversation(conversation: Conversation) -> Case:
    if not conversation.turns:
        raise ValueError(f"conversation {conversation.id} has no turns")
    turns = []
    for stored in conversation.turns:
        answer = Answer.model_validate(stored.answer)
        kind = infer_kind(answer)
        caveat_ids = {c.id for c in answer.caveats}
        turns.append(CaseTurn(
            user=stored.user, kind=kind, gold=[] if kind in ("refuse", "abstain") else gold_of(answer),
            caveat=all(c in caveat_ids for c in REQUIRED_CAVEATS)))
    return Case(id=conversation.id, turns=turns)


def existing_ids(text: str) -> set[str]:
    """Ids on the lines of a case file, tolerating lines that would not validate."""
    ids = set()
    for line in text.splitlines():
        try:
            raw = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            ids.add(raw["id"])
    return ids


def append_case(path: Path, case: Case) -> None:
    """Add the case as the file's last line; refuse an id the file already uses."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if case.id in existing_ids(text):
        raise ValueError(f"{path} already has a conversation with id {case.id}")
    separator = "" if not text or text.endswith("\n") else "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(separator + case.to_line() + "\n")
