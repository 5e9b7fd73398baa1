"""Document priors: what a document's front matter says it is about, against what the question asks.

Every study matches a broad question ("Does esketamine nasal spray work?") in its words, so the words alone
ranked the relapse-prevention trial, the trial in older adults and a review of side effects above the trials
that answer it. Two priors from typed data weigh a document's passages before documents are ranked:

- Topics. A question's topics come from cue patterns (prompts/retrieval.yaml), a document's from its front
  matter. A document weighs ``1 - topic_weight * (share of its topics the question does not ask about)``: a
  dose-finding trial answers "does it work" less directly than a trial of whether it works.
- Subgroups. A study whose title names a subgroup or a narrower aim (a synonym group listed under
  ``subgroups``: older adults, relapse prevention, suicidal patients) weighs ``1 - subgroup_weight`` for a
  question that names none of that group's phrasings.

A question that matches no topic cue and names no subgroup is weighed by neither, and documents are then
ranked on their words alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from assistant.errors import ConfigError
from assistant.index.metadata import ChunkMeta
from assistant.retrieval.synonyms import SynonymTable


class DocumentPriors:
    def __init__(self, topic_cues: Mapping[str, Sequence[str]], subgroups: Sequence[str], synonyms: SynonymTable,
                 topic_weight: float, subgroup_weight: float) -> None:
        self._topics = {topic: [re.compile(cue, re.IGNORECASE) for cue in cues] for topic, cues in topic_cues.items()}
        self._subgroups: list[re.Pattern[str]] = []
        for name in subgroups:
            group = synonyms.group_of(name)
            if group is None:
                raise ConfigError(f"prompts/retrieval.yaml: subgroup {name!r} is not a phrase of prompts/synonyms.yaml")
            self._subgroups.append(synonyms.pattern(group))
        self.topic_weight = topic_weight
        self.subgroup_weight = subgroup_weight
        self._labelled: tuple[str, dict[str, tuple[frozenset[str], frozenset[int]]]] | None = None

    def asked_topics(self, question: str) -> frozenset[str]:
        return frozenset(t for t, cues in self._topics.items() if any(c.search(question) for c in cues))

    def _labels(self, generation: str, documents: Mapping[str, ChunkMeta]
                ) -> dict[str, tuple[frozenset[str], frozenset[int]]]:
        """Document -> (its topics that have cues, the subgroups its title names); read once per index generation."""
        if self._labelled is None or self._labelled[0] != generation:
            self._labelled = (generation, {
                doc_id: (frozenset(meta.topics) & self._topics.keys(),
                         frozenset(i for i, p in enumerate(self._subgroups) if p.search(meta.title.lower())))
                for doc_id, meta in documents.items()})
        return self._labelled[1]

    def weights(self, question: str, generation: str, documents: Mapping[str, ChunkMeta]) -> dict[str, float]:
        """Document id -> the weight of its passages for ``question``; documents left out weigh 1."""
        asked = self.asked_topics(question)
        text = question.lower()
        named = {i for i, p in enumerate(self._subgroups) if p.search(text)}
        out: dict[str, float] = {}
        for doc_id, (topics, narrowed) in self._labels(generation, documents).items():
            weight = 1.0
            if asked and topics:
                weight *= 1 - self.topic_weight * len(topics - asked) / len(topics)
            if narrowed - named:
                weight *= 1 - self.subgroup_weight
            if weight != 1.0:
                out[doc_id] = weight
        return out
