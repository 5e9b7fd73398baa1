"""Settings travel to child processes (`assistant serve` started by a benchmark) unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.settings import Settings, WebSettings, to_env


def test_the_environment_made_from_settings_rebuilds_the_same_settings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Paths are absolute, as to_env sends them: the child may start in another directory.
    original = Settings(data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus", prompts_dir=tmp_path / "p",
                        web=WebSettings(api_keys=["k1", "k,2"], cors_origins=["https://a.example"],
                                        rate_limit="5/second", conversations_url="sqlite:////tmp/x.sqlite3"),
                        slack={"signing_secret": "s3cret"})
    for name, value in to_env(original).items():
        monkeypatch.setenv(name, value)

    rebuilt = Settings()
    assert rebuilt.model_dump(mode="json") == original.model_dump(mode="json")
    assert [k.get_secret_value() for k in rebuilt.web.api_keys] == ["k1", "k,2"]
    assert rebuilt.slack.signing_secret is not None and rebuilt.slack.signing_secret.get_secret_value() == "s3cret"


def test_relative_paths_are_sent_absolute_so_a_child_in_another_directory_finds_them() -> None:
    assert to_env(Settings(data_dir=Path("data")))["ASSISTANT_DATA_DIR"] == str(Path("data").resolve())


def test_unset_optional_values_are_left_out_rather_than_sent_as_none() -> None:
    env = to_env(Settings())
    assert "ASSISTANT_INDEX__CHROMA_URL" not in env and "SLACK_BOT_TOKEN" not in env
    assert all(value != "None" for value in env.values())
