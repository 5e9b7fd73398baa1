"""docs/integrations.md is run, not just read: each code block against a real server on loopback.

The blocks point at http://127.0.0.1:8000 (what `make run` serves); the tests swap in the address
of the server they start. The React block cannot run without a browser build, so it is held to
the transport options of the Node block, which does run.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from openai import OpenAI

from tests.conftest import REPO
from tests.web.test_ai_sdk import SCRIPT

pytestmark = pytest.mark.slow

DOC = (REPO / "docs" / "integrations.md").read_text()
DOCUMENTED_URL = "http://127.0.0.1:8000"


def block(language: str, containing: str = "") -> str:
    found = [code for code in re.findall(rf"```{language}\n(.*?)```", DOC, flags=re.DOTALL) if containing in code]
    assert len(found) == 1, f"one {language} block containing {containing!r}"
    return found[0]


def run_python(code: str, base_url: str) -> str:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code.replace(DOCUMENTED_URL, base_url), "docs/integrations.md", "exec"), {})
    return printed.getvalue()


def test_the_openai_client_block_prints_an_answer_its_references_and_the_streamed_text(live_server: str) -> None:
    printed = run_python(block("python", "from openai import OpenAI"), live_server)

    assert "References:" in printed and "Caveats:" in printed
    assert printed.count("https://doi.org/") >= 2, "the references in the text and the citation lines"
    assert "'category': 'clinical'" in printed
    assert re.search(r"\n \d+ citations", printed)


def test_the_node_block_reads_the_text_and_the_source_links_with_the_ai_sdk(live_server: str) -> None:
    node = shutil.which("node")
    assert node and (SCRIPT.parent / "node_modules" / "ai").is_dir(), "run `make test` (npm ci --prefix tests/js)"
    script = SCRIPT.parent / f".integrations-doc-{os.getpid()}.mjs"  # beside node_modules, so `ai` resolves
    script.write_text(block("js").replace(DOCUMENTED_URL, live_server))
    try:
        done = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=120, check=False)
    finally:
        script.unlink()

    assert done.returncode == 0, done.stderr[-2000:]
    assert "References:" in done.stdout and "safety: clinical" in done.stdout
    assert re.search(r"^\[1\] https://doi\.org/", done.stdout, flags=re.MULTILINE)


def test_the_use_chat_block_uses_the_transport_options_the_node_block_runs_with() -> None:
    transport = re.search(r"new DefaultChatTransport\(\{ api: '([^']+)' \}\)", block("js")).group(1)  # type: ignore[union-attr]

    assert f"new DefaultChatTransport({{ api: '{transport}' }})" in block("tsx")
    assert transport == f"{DOCUMENTED_URL}/api/chat"


def holds(output: str, assertion: dict[str, Any]) -> bool:
    """The promptfoo assertion types the documented config uses, with promptfoo's meaning."""
    kind, value = assertion["type"], str(assertion["value"])
    checks = {"contains": lambda: value in output, "icontains": lambda: value.lower() in output.lower(),
              "not-regex": lambda: re.search(value, output) is None}
    return checks[kind]()


def test_the_promptfoo_config_points_at_the_service_and_its_assertions_hold(
        live_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = yaml.safe_load(block("yaml", "promptfoo"))
    [provider] = config["providers"]
    kind, _, model = provider["id"].partition(":chat:")
    base_url = provider["config"]["apiBaseUrl"].replace(DOCUMENTED_URL, live_server)
    monkeypatch.setenv(provider["config"]["apiKeyEnvar"], "anything")
    client = OpenAI(base_url=base_url, api_key=os.environ[provider["config"]["apiKeyEnvar"]], max_retries=0)

    assert kind == "openai" and model == "ketamine-evidence-assistant"
    for case in config["tests"]:
        prompt = config["prompts"][0].replace("{{question}}", case["vars"]["question"])
        output = client.chat.completions.create(model=model, messages=[{"role": "user", "content": prompt}])
        text = output.choices[0].message.content or ""
        assert all(holds(text, assertion) for assertion in case["assert"]), (case["vars"], text[:300])


def test_the_langchain_block_retrieves_documents_and_answers(
        live_server: str, shipped_settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(shipped_settings.data_dir))
    monkeypatch.setenv("ASSISTANT_PROMPTS_DIR", str(REPO / "prompts"))
    monkeypatch.setenv("ASSISTANT_WEB__CONVERSATIONS_URL", f"sqlite:///{tmp_path / 'c.sqlite3'}")

    printed = run_python(block("python", "langchain"), live_server)

    lines = printed.splitlines()
    assert len([line for line in lines if "10." in line]) >= 2, "document lines with a DOI, then citations"
    assert "clinical" in lines[-1] and "Bottom line" in printed
