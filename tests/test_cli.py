"""The `assistant` command as a user runs it."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from assistant.cli import main
from tests.conftest import write_doc


def run(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, args, env=env)
    return result.exit_code, result.output


def test_ingest_reports_then_embeds_nothing_the_second_time(tmp_path: Path) -> None:
    env = {"ASSISTANT_DATA_DIR": str(tmp_path / "data"), "ASSISTANT_CORPUS_DIR": str(tmp_path / "corpus")}
    write_doc(tmp_path / "corpus", "alpha2010")
    write_doc(tmp_path / "corpus", "beta2012")
    (tmp_path / "corpus" / "broken.md").write_text("---\nid: [oops\n---\n")
    code, out = run(["ingest", "--quiet"], env)
    assert code == 0, out
    assert "indexed 2 documents" in out and "full build" in out and "chunks/s" in out
    assert "skipped:" in out and "broken.md" in out
    code, out = run(["ingest", "--quiet"], env)
    assert code == 0 and "index up to date: 2 documents" in out and "embedded nothing" in out
    code, out = run(["ingest", "--quiet", "--strict"], env)
    assert code == 1 and "broken.md" in out


def test_sources_lists_documents_with_design_and_level(tmp_path: Path) -> None:
    env = {"ASSISTANT_DATA_DIR": str(tmp_path / "data")}
    write_doc(tmp_path / "corpus", "alpha2010", design="meta-analysis", evidence_level=1,
              included_studies="controlled trials")
    code, _ = run(["ingest", "--quiet", "--corpus", str(tmp_path / "corpus")], env)
    assert code == 0
    code, out = run(["sources"], env)
    assert code == 0
    assert "alpha2010" in out and "meta-analysis" in out and "1 documents" in out


def test_sources_without_an_index_says_how_to_build_one(tmp_path: Path) -> None:
    code, out = run(["sources"], {"ASSISTANT_DATA_DIR": str(tmp_path / "empty")})
    assert code == 1 and "assistant ingest" in out


def test_ask_prints_answer_references_and_caveats(shipped_settings) -> None:  # type: ignore[no-untyped-def]
    env = {"ASSISTANT_DATA_DIR": str(shipped_settings.data_dir)}
    code, out = run(["ask", "What did TRANSFORM-2 find?"], env)
    assert code == 0, out
    assert "Bottom line:" in out and "References:" in out and "https://doi.org/" in out and "Caveats:" in out
    code, out = run(["ask", "I want to kill myself"], env)
    assert code == 0 and out.index("988") < out.index("(safety: crisis, escalated")
