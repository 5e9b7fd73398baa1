"""The Dockerfile builds what the issue asks for; checked with a parser, as no Docker engine runs here."""

from __future__ import annotations

import fnmatch
import json
import shlex
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from tests.conftest import REPO

DOCKERFILE = REPO / "Dockerfile"


@pytest.fixture(scope="module")
def parsed() -> DockerfileParser:
    parser = DockerfileParser(fileobj=DOCKERFILE.open("rb"))
    return parser


def instructions(parsed: DockerfileParser, name: str) -> list[str]:
    return [i["value"] for i in parsed.structure if i["instruction"] == name]


def final_stage(parsed: DockerfileParser) -> list[dict]:
    structure = parsed.structure
    last_from = max(i for i, ins in enumerate(structure) if ins["instruction"] == "FROM")
    return structure[last_from:]


def test_the_base_image_is_a_slim_python_311(parsed: DockerfileParser) -> None:
    args = {k: v for k, v in (a.split("=", 1) for a in instructions(parsed, "ARG") if "=" in a)}
    for base in instructions(parsed, "FROM"):
        image = base.split()[0]
        image = args.get(image.strip("${}"), image) if image.startswith("${") else image
        assert image.startswith("python:3.11") and "slim" in image, image


def test_the_runtime_runs_as_an_unprivileged_user(parsed: DockerfileParser) -> None:
    stage = final_stage(parsed)
    users = [i for i in stage if i["instruction"] == "USER"]
    assert users and users[-1]["value"] not in {"root", "0", "0:0"}
    user_at = stage.index(users[-1])
    assert all(i["instruction"] != "RUN" for i in stage[user_at:]), "nothing runs as root after USER"
    assert any("useradd" in i["value"] and users[-1]["value"] in i["value"] for i in stage[:user_at])


def test_the_package_is_installed_and_the_index_built_at_image_build_time(parsed: DockerfileParser) -> None:
    runs = instructions(parsed, "RUN")
    assert any('pip install ".[postgres]"' in run for run in runs)  # PostgreSQL by configuration alone
    ingest = [run for run in runs if "assistant ingest" in run]
    assert ingest and "--strict" in ingest[0]
    final_runs = [i["value"] for i in final_stage(parsed) if i["instruction"] == "RUN"]
    assert any("assistant ingest" in run for run in final_runs), "the index is built in the image that ships"


def test_the_entry_point_is_gunicorn_through_assistant_serve_on_all_interfaces(parsed: DockerfileParser) -> None:
    (entry,) = instructions(parsed, "ENTRYPOINT")
    assert json.loads(entry)[:4] == ["assistant", "serve", "--host", "0.0.0.0"]
    assert "8000" in instructions(parsed, "EXPOSE")


def test_the_healthcheck_asks_healthz_with_python_since_slim_has_no_curl(parsed: DockerfileParser) -> None:
    (check,) = instructions(parsed, "HEALTHCHECK")
    options, _, command = check.partition("CMD")
    assert "--interval=" in options and "--timeout=" in options and "--start-period=" in options
    argv = json.loads(command.strip())
    assert argv[0] == "python" and "/healthz" in argv[-1]
    compile(argv[-1], "<healthcheck>", "exec")


def test_settings_point_into_the_image(parsed: DockerfileParser) -> None:
    env = parsed.envs
    assert env["ASSISTANT_DATA_DIR"] == "/app/data"
    assert env["ASSISTANT_CORPUS_DIR"] == "/app/corpus"
    assert env["ASSISTANT_PROMPTS_DIR"] == "/app/prompts"


def ignored_patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def is_ignored(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, p.removeprefix("**/")) for p in patterns)


def test_every_copied_source_exists_and_is_not_ignored(parsed: DockerfileParser) -> None:
    patterns = ignored_patterns()
    for value in instructions(parsed, "COPY"):
        words = shlex.split(value)
        if any(w.startswith("--from") for w in words):
            continue
        for source in words[:-1]:
            assert (REPO / source).exists(), source
            assert not is_ignored(source, patterns), source


@pytest.mark.parametrize("path", [".venv", "data", ".git", "tests", "assistant/__pycache__", ".env"])
def test_the_build_context_leaves_out_local_state_and_secrets(path: str) -> None:
    assert is_ignored(path, ignored_patterns())


def test_the_package_data_the_image_needs_is_declared(parsed: DockerfileParser) -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"web/static/*"' in pyproject and '"index/assets/*.json"' in pyproject
    assert Path(REPO / "assistant" / "web" / "static" / "widget.js").exists()
