"""Where a replay report came from, so that two runs can be told apart and one can be reproduced.

Recorded: when it ran, the package version and git commit of the code that ran it, the conversation
file's hash, the index generation, a fingerprint of every prompt file, the answer engine, and the
settings that shape answers (retrieval, answer engine, history length; never a secret). Over
``--url`` the serving process's code and settings are not visible from here: the index generation
comes from its /readyz, the engine from its answers, and the rest is recorded as null rather than
filled in with this machine's values.
"""

from __future__ import annotations

import hashlib
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from assistant.settings import Settings

PACKAGE = "ketamine-evidence-assistant"
SOURCE_ROOT = Path(__file__).resolve().parents[2]


def package_version() -> str | None:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(SOURCE_ROOT), *args], capture_output=True, text=True, timeout=10,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_commit() -> dict[str, Any] | None:
    """The commit the code came from, and whether tracked files differ from it; None outside a checkout."""
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return None
    return {"sha": commit, "dirty": bool(_git("status", "--porcelain", "--untracked-files=no"))}


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def prompts_fingerprint(prompts_dir: Path) -> str:
    """One hash over every file's name and bytes: any change to any prompt changes it."""
    digest = hashlib.sha256()
    for path in sorted(p for p in prompts_dir.rglob("*") if p.is_file()):
        digest.update(path.relative_to(prompts_dir).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def answer_settings(settings: Settings) -> dict[str, Any]:
    """The settings that change what an answer says; connection details and secrets are left out."""
    answer = settings.answer.model_dump(mode="json", exclude={"llm_api_key", "llm_base_url", "llm_timeout_s"})
    return {"retrieval": settings.retrieval.model_dump(mode="json"), "answer": answer,
            "history_turns": settings.web.history_turns, "chunking": {
                "chunk_size": settings.index.chunk_size, "chunk_overlap": settings.index.chunk_overlap,
                "embedding_model": settings.index.embedding_model}}


def collect(file: Path, *, settings: Settings | None, index_generation: str | None, engine: str | None,
            url: str | None = None) -> dict[str, Any]:
    """``settings`` is None over ``--url``: this process's settings say nothing about the server's."""
    return {
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "package_version": package_version(),
        "git": git_commit(),
        "file": {"path": str(file), "sha256": file_digest(file)},
        "target": url or "in-process",
        "index_generation": index_generation,
        "prompts_fingerprint": prompts_fingerprint(settings.prompts_dir) if settings else None,
        "engine": engine,
        "answer_settings": answer_settings(settings) if settings else None,
    }
