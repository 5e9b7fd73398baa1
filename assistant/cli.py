"""The `assistant` command: ingest, inspect, ask, serve, evaluate and benchmark."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import click

from assistant.cli_errors import CommandFailed, ReportingGroup
from assistant.cli_replay import replay
from assistant.settings import Settings, load_settings

if TYPE_CHECKING:
    from assistant.evaluation.load_bench import BenchReport, GreedyClient, Run


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj  # type: ignore[no-any-return]


@click.group(cls=ReportingGroup)
@click.pass_context
def main(ctx: click.Context) -> None:
    """Ketamine Evidence Assistant: answers from a cited evidence corpus."""
    ctx.obj = load_settings()


@main.command()
@click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path), help="Folder of documents.")
@click.option("--rebuild", is_flag=True, help="Re-embed everything into a fresh index generation.")
@click.option("--strict", is_flag=True, help="Fail on the first unreadable or invalid file instead of skipping it.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def ingest(ctx: click.Context, corpus_dir: Path | None, rebuild: bool, strict: bool, quiet: bool) -> None:
    """Build or update the index from the corpus (only what changed is embedded)."""
    from tqdm import tqdm

    from assistant.index import make_store
    from assistant.index.ingest import ingest as run_ingest

    settings = _settings(ctx)
    corpus_dir = corpus_dir or settings.corpus_dir
    bar: tqdm | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="chunk", desc="embedding", disable=quiet, file=sys.stderr)
        bar.update(done)

    try:
        report = run_ingest(make_store(settings), settings.index, corpus_dir, rebuild=rebuild, strict=strict,
                            progress=progress)
    finally:
        if bar is not None:
            bar.close()
    if report.quarantined:
        click.echo(f"the local index was damaged; moved it to {report.quarantined} and rebuilt it", err=True)
    for problem in report.problems:
        click.echo(f"skipped: {problem.message}", err=True)
    for doc_id in report.kept_despite_errors:
        click.echo(f"kept the indexed version of {doc_id} (its file now fails to load)", err=True)
    if report.up_to_date:
        click.echo(f"index up to date: {report.documents} documents, {report.chunks} chunks; embedded nothing "
                   f"({report.seconds:.2f} s)")
        return
    rate = report.embedded_chunks / report.embed_seconds if report.embed_seconds else 0.0
    click.echo(
        f"indexed {report.documents} documents, {report.chunks} chunks "
        f"({'full build' if report.rebuilt else 'incremental'}: {len(report.added)} added, "
        f"{len(report.changed)} changed, {len(report.removed)} removed; embedded {report.embedded_chunks} chunks "
        f"at {rate:.0f} chunks/s) in {report.seconds:.2f} s -> {report.collection}"
    )
    click.echo(f"sentence index: {report.sentences} sentences, {report.embedded_sentences} embedded, "
               f"{report.sentences - report.embedded_sentences} copied, in {report.sentence_seconds:.2f} s")


@main.command()
@click.pass_context
def sources(ctx: click.Context) -> None:
    """List the indexed documents with design and evidence level."""
    from assistant.index import LiveIndex, make_store

    settings = _settings(ctx)
    snap = LiveIndex(make_store(settings)).snapshot()
    click.echo(f"{'id':<20} {'year':>4}  {'level':<10} {'design':<28} title")
    for doc_id, meta in sorted(snap.documents.items(), key=lambda kv: (kv[1].year or 0, kv[0])):
        click.echo(f"{doc_id:<20} {meta.year or 0:>4}  {meta.level_key:<10} {meta.design:<28} {meta.title[:70]}")
    click.echo(f"{len(snap.documents)} documents, {len(snap.chunks)} chunks in {snap.name}")


@main.group()
def corpus() -> None:
    """Work with the source documents."""


@corpus.command("check")
@click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path), help="Folder of documents.")
@click.option("--strict", is_flag=True, help="Fail on writing-rule warnings too, not only on errors.")
@click.pass_context
def corpus_check(ctx: click.Context, corpus_dir: Path | None, strict: bool) -> None:
    """Validate every document (schema, level rule, writing rules); exit 1 on any problem."""
    from assistant.corpus import load_corpus
    from assistant.corpus.style import style_warnings

    corpus_dir = corpus_dir or _settings(ctx).corpus_dir
    result = load_corpus(corpus_dir)
    for problem in result.problems:
        click.echo(f"error: {problem.message}", err=True)
    warnings = [w for doc in result.documents for w in style_warnings(doc)]
    for warning in warnings:
        click.echo(f"{'error' if strict else 'warning'}: {warning}", err=True)
    click.echo(f"{len(result.documents)} documents valid, {len(result.problems)} problems, "
               f"{len(warnings)} warnings in {corpus_dir}{' (strict)' if strict else ''}")
    sys.exit(1 if result.problems or (strict and warnings) else 0)


def print_answer(answer: object) -> None:
    """The terminal rendering of an Answer: crisis text first, then the answer, references and caveats."""
    from assistant.domain import Answer

    assert isinstance(answer, Answer)
    click.echo(answer.answer)
    if answer.citations:
        click.echo("\nReferences:")
        for c in answer.citations:
            level = f"level {c.evidence_level}" if c.evidence_level is not None else "unrated"
            click.echo(f"  [{c.marker}] {c.authors} ({c.year}). {c.title}. {c.journal or ''}. "
                       f"{c.design}, {level}. Section: {c.section}. {c.url or ''}")
    if answer.caveats:
        click.echo("\nCaveats:")
        for caveat in answer.caveats:
            click.echo(f"  - {caveat.text}")
    if answer.follow_up_questions:
        click.echo("\nYou could also ask:")
        for q in answer.follow_up_questions:
            click.echo(f"  - {q}")
    click.echo(f"\n(safety: {answer.safety.category}{', escalated' if answer.safety.escalated else ''}; "
               f"abstained: {str(answer.abstained).lower()}; engine: {answer.engine})")


@main.command()
@click.argument("question", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the Answer as JSON.")
@click.pass_context
def ask(ctx: click.Context, question: tuple[str, ...], as_json: bool) -> None:
    """Ask one question and print the answer, numbered references and caveats."""
    from assistant.services import build_services

    text = " ".join(question).strip()
    if not text:
        raise click.UsageError("the question is empty")
    answer = build_services(_settings(ctx)).answers.answer(text)
    if as_json:
        click.echo(answer.model_dump_json(indent=2))
    else:
        print_answer(answer)


@main.command()
@click.option("--host", help="Address to bind (default: settings, 127.0.0.1).")
@click.option("--port", type=int, help="Port to bind (default: settings, 8000).")
@click.option("--workers", type=int, help="gunicorn worker processes (default: settings).")
@click.option("--threads", type=int, help="Threads per worker (default: settings).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int | None, threads: int | None) -> None:
    """Serve the HTTP API (and the Slack bot when configured) with gunicorn."""
    from assistant.web.server import run

    web = _settings(ctx).web
    run(_settings(ctx), host or web.host, port or web.port, workers or web.workers, threads or web.threads)


@main.group()
def bench() -> None:
    """Benchmarks whose figures go into closing notes (never timed assertions in tests)."""


@bench.command("retrieval")
@click.option("--questions", "questions_path", type=click.Path(path_type=Path, exists=True),
              default=Path("eval/questions.jsonl"), show_default=True)
@click.pass_context
def bench_retrieval(ctx: click.Context, questions_path: Path) -> None:
    """Dense vs BM25 vs hybrid: recall@1/5, MRR, nDCG@10, abstention and warm latency against the cost floor."""
    from assistant.evaluation import retrieval_bench
    from assistant.evaluation.questions import load_questions
    from assistant.services import build_services

    report = retrieval_bench.run(build_services(_settings(ctx)), load_questions(questions_path))
    click.echo(retrieval_bench.render(report))


@bench.command("answer")
@click.option("--questions", "questions_path", type=click.Path(path_type=Path, exists=True),
              default=Path("eval/questions.jsonl"), show_default=True)
@click.pass_context
def bench_answer(ctx: click.Context, questions_path: Path) -> None:
    """In-process answer latency: cold (first ask in a process) and warm, against the floor of one query
    embedding plus vector search plus BM25."""
    from assistant.evaluation import answer_bench
    from assistant.services import build_services

    report = answer_bench.run(build_services(_settings(ctx)), _bench_questions(questions_path))
    click.echo(answer_bench.render(report))


@bench.command("triage")
@click.option("--data", "data_dir", type=click.Path(path_type=Path, exists=True, file_okay=False),
              default=Path("eval/triage"), show_default=True, help="The labelled message set.")
@click.option("--misses", is_flag=True, help="List the wrongly triaged messages of each split.")
@click.option("--splits", default="dev,test,external", show_default=True, help="Splits to score, comma-separated.")
@click.pass_context
def bench_triage(ctx: click.Context, data_dir: Path, misses: bool, splits: str) -> None:
    """Precision, recall and confusion per label on the dev, test and external splits, false crisis escalation on
    suicidality research, the share of messages read a second time, and the time triage adds per message."""
    from assistant.evaluation import triage_bench
    from assistant.safety.triage_set import load_set, of_split, scored_parts
    from assistant.services import build_services

    triage = build_services(_settings(ctx)).answers.triage
    messages = load_set(data_dir)
    for split in [s.strip() for s in splits.split(",") if s.strip()]:
        if split not in ("train", "dev", "test", "external"):
            raise click.BadParameter(f"unknown split {split!r} (train, dev, test, external)", param_hint="--splits")
        for name, part in scored_parts(messages, split):  # type: ignore[arg-type]
            report = triage_bench.run_split(triage, part, name)
            click.echo(triage_bench.render_split(report))
            if misses:
                click.echo(triage_bench.render_misses(report))
    texts = [m.text for m in of_split(messages, "dev", "test")]
    click.echo(triage_bench.render_timings(triage_bench.timings(triage, texts)))


@bench.command("answerability")
@click.option("--data", "data_path", type=click.Path(path_type=Path, exists=True, file_okay=False),
              default=Path("eval/answerability"), show_default=True, help="The labelled question set.")
@click.option("--splits", default="dev,test", show_default=True, help="Splits to score, comma-separated.")
@click.option("--misses", is_flag=True, help="List the questions answered or abstained wrongly.")
@click.pass_context
def bench_answerability(ctx: click.Context, data_path: Path, splits: str, misses: bool) -> None:
    """Abstention on questions the corpus does not cover and wrong abstention on those it does, per split, with the
    topic-word model's precision and recall on the words it reads."""
    from assistant.answer.topic_words import load_questions
    from assistant.evaluation import answerability_bench
    from assistant.services import build_services

    service = build_services(_settings(ctx)).answers
    questions = load_questions(data_path)
    for split in [s.strip() for s in splits.split(",") if s.strip()]:
        if split not in ("train", "dev", "test"):
            raise click.BadParameter(f"unknown split {split!r} (train, dev, test)", param_hint="--splits")
        report = answerability_bench.run_split(service, [q for q in questions if q.split == split], split)
        click.echo(answerability_bench.render(report, misses))


def _bench_questions(path: Path) -> list[str]:
    from assistant.evaluation.questions import load_questions

    return [question.question for question in load_questions(path)]


def _run_load_bench(settings: Settings, questions_path: Path, runs: list[Run], workers: int | None,
                    threads: int | None, kill_after: float | None = None,
                    greedy: GreedyClient | None = None, cold_questions: int = 0) -> BenchReport:
    import tempfile

    from assistant.evaluation import load_bench
    from assistant.evaluation.served import ServeError

    with tempfile.TemporaryDirectory(prefix="assistant-bench-") as workdir:
        try:
            return load_bench.run_bench(settings, _bench_questions(questions_path), runs, Path(workdir),
                                        workers or settings.web.workers, threads or settings.web.threads,
                                        kill_after, greedy, cold_questions=cold_questions)
        except ServeError as exc:
            raise CommandFailed(str(exc), exit_code=2) from None


_QUESTIONS_OPTION = click.option(
    "--questions", "questions_path", type=click.Path(path_type=Path, exists=True),
    default=Path("eval/questions.jsonl"), show_default=True, help="Questions the clients ask, in turn.")


COLD_QUESTIONS = 40  # never-asked questions timed on the fresh server before the warm-up


@bench.command("http")
@_QUESTIONS_OPTION
@click.option("--duration", type=click.FloatRange(min=1), default=30.0, show_default=True, help="Seconds per run.")
@click.option("--workers", type=int, help="gunicorn workers (default: settings).")
@click.option("--threads", type=int, help="Threads per worker (default: settings).")
@click.option("--engine", type=click.Choice(["extractive", "llm"]), help=(
    "Answer engine (default: settings). llm: against a stub model that the bench starts on loopback, which "
    "copies its draft from the passages at --token-ms per token."))
@click.option("--token-ms", type=click.FloatRange(min=0), default=20.0, show_default=True,
              help="With --engine llm: the stub model's pace, milliseconds per token.")
@click.pass_context
def bench_http(ctx: click.Context, questions_path: Path, duration: float, workers: int | None,
               threads: int | None, engine: str | None, token_ms: float) -> None:
    """POST /v1/chat latency for 1 and for 8 concurrent clients against `assistant serve` on loopback, then
    the time to the first text delta of one streaming client on /v1/chat, /v1/chat/completions and /api/chat;
    with --engine llm, the time to the first sentence beside the time to the whole answer."""
    from assistant.evaluation import llm_bench
    from assistant.evaluation.load import LoadPlan
    from assistant.evaluation.load_bench import Run, render_report

    runs = [Run("1 client", LoadPlan(1, duration)), Run("8 clients", LoadPlan(8, duration)),
            Run("1 stream /v1/chat", LoadPlan(1, duration, stream=True)),
            Run("1 stream chat/compl.", LoadPlan(1, duration, stream=True, protocol="openai")),
            Run("1 stream /api/chat", LoadPlan(1, duration, stream=True, protocol="ai-sdk"))]
    settings = _settings(ctx)
    if engine == "extractive":
        settings = settings.model_copy(update={"answer": settings.answer.model_copy(update={"engine": engine})})
    stubbed = llm_bench.stub_model(settings, token_ms / 1000) if engine == "llm" else nullcontext((settings, None))
    with stubbed as (settings, stub):
        report = _run_load_bench(settings, questions_path, runs, workers, threads, cold_questions=COLD_QUESTIONS)
        shown = render_report(report)
        if stub is not None:
            shown += "\n\n" + llm_bench.render(report, llm_bench.stub_run(stub))
    click.echo(shown)
    sys.exit(1 if report.errors or (report.cold and any(r.errors for r in report.cold)) else 0)


@bench.command("load")
@_QUESTIONS_OPTION
@click.option("--clients", type=click.IntRange(1, 256), default=32, show_default=True)
@click.option("--duration", type=click.FloatRange(min=1), default=60.0, show_default=True, help="Seconds per run.")
@click.option("--workers", type=int, help="gunicorn workers (default: settings).")
@click.option("--threads", type=int, help="Threads per worker (default: settings).")
@click.option("--kill-worker-after", type=click.FloatRange(min=0),
              help="SIGKILL one worker this many seconds into the first run (a fault drill).")
@click.option("--max-growth", type=float, default=10.0, show_default=True,
              help="Largest acceptable worker memory growth from start to end, in percent.")
@click.option("--greedy-limit", type=click.IntRange(1), help=(
    "Add a client that asks as fast as it can under its own key, with this per-key limit per hour; it must get "
    "exactly that many answers across all workers (set ASSISTANT_WEB__RATE_LIMIT_STORAGE=redis://... to share "
    "the count), and the other clients no 429."))
@click.pass_context
def bench_load(ctx: click.Context, questions_path: Path, clients: int, duration: float, workers: int | None,
               threads: int | None, kill_worker_after: float | None, max_growth: float,
               greedy_limit: int | None) -> None:
    """Many clients against `assistant serve`: JSON, then streaming; throughput, latency, errors, memory.

    Exit 1 when a request failed (other than those in flight in a killed worker), a completed turn is
    missing from the conversation store, or a worker's memory grew more than --max-growth.
    """
    from assistant.evaluation.load import LoadPlan
    from assistant.evaluation.load_bench import GreedyClient, Run, render_report, worst_growth

    runs = [Run(f"{clients} clients json", LoadPlan(clients, duration)),
            Run(f"{clients} clients stream", LoadPlan(clients, duration, stream=True))]
    greedy = GreedyClient(greedy_limit) if greedy_limit else None
    report = _run_load_bench(_settings(ctx), questions_path, runs, workers, threads, kill_worker_after, greedy)
    click.echo(render_report(report))
    growth = worst_growth(report)
    problems = [text for bad, text in (
        (report.unexplained_errors() > 0, f"{report.unexplained_errors()} failed requests"),
        (report.missing_turns > 0, f"{report.missing_turns} completed turns missing"),
        (growth > max_growth, f"worker memory grew {growth:.1f}% (limit {max_growth:.0f}%)"),
        (report.greedy is not None and report.greedy.statuses.get(200, 0) != report.greedy.limit_per_hour,
         "the greedy client's answers differ from its limit (fewer: it never reached it, lower --greedy-limit; "
         "more: the limit is not shared by the workers)"),
    ) if bad]
    for problem in problems:
        click.echo(f"FAIL: {problem}", err=True)
    sys.exit(1 if problems else 0)


@main.group("triage")
def triage_group() -> None:
    """The safety triage classifier."""


@triage_group.command("train")
@click.option("--data", "data_dir", type=click.Path(path_type=Path, exists=True, file_okay=False),
              default=Path("eval/triage"), show_default=True, help="The labelled message set.")
@click.pass_context
def triage_train(ctx: click.Context, data_dir: Path) -> None:
    """Train the triage classifier (its cheap heads and its second reading) on the train split and write it, with
    its data hash, into the package."""
    from assistant.index.embeddings import E5Embedder, make_embedder
    from assistant.safety.triage_model import ASSET_DIR, train_from_set

    settings = _settings(ctx)
    embedder = make_embedder(settings.index.embedding_model, settings.index.onnx_threads)
    model = train_from_set(data_dir, embedder, E5Embedder())
    model.save(ASSET_DIR)
    click.echo(f"trained on {model.meta['messages']} messages (data {model.data_hash[:12]}) -> {ASSET_DIR}")


@main.group("answerability")
def answerability_group() -> None:
    """The topic-word model of question analysis: is an absent word what a question is about?"""


@answerability_group.command("train")
@click.option("--data", "data_path", type=click.Path(path_type=Path, exists=True, file_okay=False),
              default=Path("eval/answerability"), show_default=True, help="The labelled question set.")
@click.pass_context
def answerability_train(ctx: click.Context, data_path: Path) -> None:
    """Train the topic-word model on the train split, read against the current index, and write it, with its data
    hash, into the package."""
    from assistant.answer.topic_words import ASSET
    from assistant.answer.topic_words_train import train
    from assistant.services import build_services

    services = build_services(_settings(ctx))
    model, count = train(data_path, services.answers.questions, services.index.snapshot(), services.embedder.embed)
    model.save(ASSET)
    click.echo(f"trained on {count} words (data {model.data_hash[:12]}) -> {ASSET}")


@main.command("export")
@click.argument("conversation_id")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Append the case to this file (e.g. eval/conversations.jsonl) instead of printing it.")
@click.pass_context
def export(ctx: click.Context, conversation_id: str, out: Path | None) -> None:
    """Turn a stored conversation into a replay case line (JSON): its user turns, cited sources and kinds."""
    from assistant.conversations import make_store
    from assistant.evaluation.export import append_case, case_from_conversation

    settings = _settings(ctx)
    conversation = make_store(settings.web.conversations_url, settings.data_dir).get_conversation(conversation_id)
    if conversation is None:
        raise CommandFailed(f"no conversation {conversation_id} in the conversation store")
    try:
        case = case_from_conversation(conversation)
        if out is None:
            click.echo(case.to_line())
            return
        append_case(out, case)
    except ValueError as exc:
        raise CommandFailed(str(exc)) from None
    click.echo(f"appended {case.id} ({len(case.turns)} turns) to {out}; add the facts it must contain")


main.add_command(replay)

if __name__ == "__main__":
    main()
