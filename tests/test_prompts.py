"""Prompts and clinical texts are data: validated at start-up, and every file is actually used."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.domain import Turn
from assistant.errors import ConfigError
from assistant.index import MiniLMEmbedder
from assistant.prompts import PromptBook
from assistant.services import build_services
from assistant.settings import AnswerSettings, Settings
from tests.conftest import REPO
from tests.fakes import OpenAIStub


def test_shipped_prompts_load() -> None:
    book = PromptBook.load(REPO / "prompts")
    assert book.fingerprint("system.md") and len(book.fingerprint("caveats.yaml")) == 12


POLICY = ("version: 2\npolicy: {costs: {crisis: 1, lethal_dose: 1, dosing_request: 1, misuse_request: 1, clinical: 1},"
          " context_turns: 2, decoded_known_share: 0.6, sentence_crisis: 0.9,"
          " second_reading_band: 0.2}\n")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("answer.md", "Question: $question only", "placeholders"),
        ("system.md", "", "empty"),
        ("triage.yaml", POLICY + "injection: ['(unclosed']\n", "bad pattern"),
        ("triage.yaml", POLICY.replace("misuse_request: 1, ", "") + "injection: [x]\n", "policy.costs"),
        ("crisis.yaml", "version: 1\nresources: {en: 'call 911'}\nsummary: []\noffer: x\n", "crisis.yaml: resources"),
        ("caveats.yaml", "version: 1\ncaveats: [{id: a, text: x}, {id: a, text: y}]\n", "unique ids"),
        ("refusals.yaml", "dosing_request: no\n", "missing texts"),
        ("scope.yaml", "- just a list\n", "mapping"),
        ("scope.yaml", "version: 1\nsubjects_in: [ketamine]\n", "scope.yaml: entities_in: Field required"),
        ("screens.yaml", "version: 1\ndirective: ['(ignore']\ndose: [mg]\nhome: [home]\ninstruction: [take]\n"
                         "undermines: [safe]\n", "screens.yaml: directive: .*bad pattern"),
        ("follow_ups.yaml", "version: 1\nby_topic: {efficacy: [x]}\ndefault: []\n", "follow_ups.yaml: default"),
        ("synonyms.yaml", "version: 1\ngroups: [[alone]]\n", "two or more phrases"),
        ("caveats.yaml", "version: 1\ncaveats: [{id: a, text: x, when: {sometimes: true}}]\n",
         "caveats.0.when.sometimes"),
    ],
)
def test_a_broken_prompt_file_fails_at_start_up(tmp_path: Path, name: str, content: str, message: str) -> None:
    folder = tmp_path / "prompts"
    shutil.copytree(REPO / "prompts", folder)
    (folder / name).write_text(content)
    with pytest.raises(ConfigError, match=message):
        PromptBook.load(folder)


def test_answers_yaml_names_only_topic_groups_it_has_as_medicines(tmp_path: Path) -> None:
    folder = tmp_path / "prompts"
    shutil.copytree(REPO / "prompts", folder)
    answers = folder / "answers.yaml"
    text = answers.read_text()
    shipped = "medicine_topics: [medicines, substances]"
    assert shipped in text
    answers.write_text(text.replace(shipped, "medicine_topics: [medicines, potions]"))
    with pytest.raises(ConfigError, match="medicine_topics name no group of topic_vocabulary: \\['potions'\\]"):
        PromptBook.load(folder)


def test_every_prompt_file_is_used(shipped_settings: Settings, embedder: MiniLMEmbedder) -> None:
    """Drive each path once (extractive, LLM, follow-up, crisis, refusal, abstention) and check every file was read."""
    stub = OpenAIStub(["What did SUSTAIN-1 find?", "SUSTAIN-1 delayed relapse [1]."])
    with stub.running():
        settings = shipped_settings.model_copy(update={"answer": AnswerSettings(
            engine="llm", llm_base_url=stub.base_url, llm_api_key="k", llm_timeout_s=10)})
        services = build_services(settings, embedder=embedder)
        answers = services.answers
        answers.answer("And how long did it last?", [Turn(user="Tell me about SUSTAIN-1", assistant="...")])
        answers.answer("I want to end my life")
        answers.answer("How much ketamine should I take at home?")
        answers.answer("What is the capital of France?")
    assert services.prompts.used == services.prompts.all_names
