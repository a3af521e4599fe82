"""The `wiki` command: parses arguments, calls one library function, prints its report.

This is the only module that prints or exits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from llmwiki import history
from llmwiki.config import Config, load_config
from llmwiki.engines import Engine, open_engine
from llmwiki.errors import (
    ClipError,
    ConfigError,
    ContradictionError,
    EngineError,
    HistoryError,
    MergeError,
    SearchError,
    ServerSetupError,
    VaultError,
)
from llmwiki.ingest import IngestReport, Options, Progress, SourceResult, ingest
from llmwiki.manifest import Manifest
from llmwiki.obsidian import apply_settings
from llmwiki.status import vault_status
from llmwiki.vault import Vault, explain_os_error, find_vault, init_vault

LOCK_WAIT = 600.0  # seconds a command waits for another wiki process before giving up


def _engine_options(command: Callable[..., None]) -> Callable[..., None]:
    """--engine, --model and --jobs, as every command that ingests takes them."""
    for option in reversed(
        (
            click.option(
                "--engine",
                type=click.Choice(["auto", "llm", "extractive"]),
                default=None,
                help="auto (default): the LLM when a model is configured, else extractive.",
            ),
            click.option("--model", default=None, help="LLM model name (overrides WIKI_MODEL)."),
            click.option(
                "--jobs", type=int, default=None, help="Parallel LLM calls within a source."
            ),
        )
    ):
        command = option(command)
    return command


def _fail(message: str, code: int = 2) -> NoReturn:
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(code)


def _today() -> date:
    """Today, or the day SOURCE_DATE_EPOCH names (reproducible builds and tests)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), tz=UTC).date()
        except ValueError:
            _fail(f"SOURCE_DATE_EPOCH must be a number of seconds, got {epoch!r}")
    return date.today()


class _State:
    def __init__(self, vault_path: str | None) -> None:
        self.vault_path = vault_path

    def vault(self) -> Vault:
        if self.vault_path:
            root = Path(self.vault_path)
            if not (root / "wiki.toml").is_file():
                _fail(f"{root} is not a vault (no wiki.toml); create one with `wiki init {root}`")
            return Vault(root.resolve())
        env = os.environ.get("WIKI_VAULT")
        if env:
            return _State(env).vault()
        found = find_vault(Path.cwd())
        if found is None:
            _fail("no vault here: run `wiki init PATH`, or pass --vault PATH, or set WIKI_VAULT")
        return found

    def config(self, vault: Vault, **flags: Any) -> Config:
        try:
            return load_config(vault.root, overrides=flags)
        except ConfigError as exc:
            _fail(str(exc))


class _Commands(click.Group):
    """The `wiki` group: the one place an OS error no command expected (a full disk, a
    read-only or unreadable folder, a file where a folder should be) becomes one clear line
    naming the path, instead of a traceback. Writes never leave a half file (vault.py)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise  # `wiki ... | head`: click ends quietly
        except OSError as exc:
            _fail(explain_os_error(exc))


@click.group(cls=_Commands)
@click.version_option(package_name="llm-wiki")
@click.option(
    "--vault",
    "vault_path",
    type=click.Path(file_okay=False),
    help="The vault to use (default: WIKI_VAULT, else the folder holding wiki.toml "
    "at or above the current one).",
)
@click.pass_context
def cli(ctx: click.Context, vault_path: str | None) -> None:
    """A personal knowledge wiki that an LLM keeps up to date.

    Drop files in inbox/, run `wiki ingest`, open wiki/ in Obsidian.
    """
    ctx.obj = _State(vault_path)


@cli.command()
@click.argument("path", type=click.Path(file_okay=False), default=".")
def init(path: str) -> None:
    """Create a vault at PATH (default: here): inbox/ raw/ wiki/ prompts/ wiki.toml."""
    vault, created = init_vault(Path(path))
    settings = apply_settings(vault.wiki)
    click.echo(f"Vault ready at {vault.root} ({len(created)} files created).")
    for added in settings.added:
        click.echo(f"Obsidian setting added: wiki/.obsidian/{added}")
    for skipped in settings.skipped:
        click.echo(f"Obsidian settings left alone: wiki/.obsidian/{skipped}", err=True)
    click.echo(f"Next: copy documents into {vault.inbox} and run `wiki ingest`.")


@cli.command(name="ingest")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--dry-run", is_flag=True, help="Estimate the cost of the pending files; write nothing."
)
@_engine_options
@click.option(
    "--no-commit",
    is_flag=True,
    help="In a vault that is a git repository, do not commit each ingested source.",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Show each LLM call: its mode, tokens and time."
)
@click.pass_obj
def ingest_cmd(
    state: _State,
    files: tuple[str, ...],
    dry_run: bool,
    engine: str | None,
    model: str | None,
    jobs: int | None,
    no_commit: bool,
    verbose: bool,
) -> None:
    """Ingest FILES (default: everything in inbox/) into the wiki."""
    vault = state.vault()
    with _engine_log(verbose):
        wiki_engine, options = _engine_and_options(state, vault, engine, model, jobs)
        options = replace(options, dry_run=dry_run, commit=not no_commit, lock_wait=LOCK_WAIT)
        paths = [Path(f) for f in files] if files else None
        try:
            report = ingest(
                vault, wiki_engine, options, paths, _progress_printer(), on_wait=_say_waiting
            )
        except (VaultError, ValueError) as exc:
            _fail(str(exc))
    _print_report(report)
    sys.exit(0 if report.ok else 1)


@cli.command(name="add")
@click.argument("items", nargs=-1, required=True, metavar="URL|FILE|-...")
@click.option("--title", default="", help="Title of the text read from standard input (-).")
@click.option("--no-ingest", is_flag=True, help="Only put the clips and files into inbox/.")
@click.option("--no-images", is_flag=True, help="Do not download a page's images.")
@click.option(
    "--timeout", type=float, default=30.0, show_default=True, help="Seconds to wait for a server."
)
@_engine_options
@click.option("--no-commit", is_flag=True, help="Do not commit each ingested source (git).")
@click.pass_obj
def add_cmd(
    state: _State,
    items: tuple[str, ...],
    title: str,
    no_ingest: bool,
    no_images: bool,
    timeout: float,
    engine: str | None,
    model: str | None,
    jobs: int | None,
    no_commit: bool,
) -> None:
    """Add web pages (URL), files (FILE) or standard input (-) to the inbox, then ingest them.

    A page's original response is kept in raw/clips/, its main text goes to inbox/ as markdown
    with source, title, author, published, site and clipped in its frontmatter, and the images
    of its main text go to wiki/assets/, embedded on the source page."""
    from llmwiki import clip

    vault = state.vault()
    config = state.config(vault, engine=engine, model=model, jobs=jobs)
    limits = clip.Limits(
        max_bytes=int(config.max_file_mb * 1_000_000),
        connect_timeout=min(timeout, 10.0),
        read_timeout=timeout,
        images=not no_images,
    )
    added: list[Path] = []
    failed = 0
    with clip.client(limits) as http:
        for item in items:
            try:
                if clip.is_url(item):
                    done = clip.add_url(vault, item, limits, _today(), http)
                elif item == "-":
                    text = sys.stdin.read()
                    done = clip.add_text(vault, text, title, _today())
                else:
                    done = clip.add_file(vault, Path(item))
            except (ClipError, VaultError) as exc:
                click.secho(f"Error: {exc}", fg="red", err=True)
                failed += 1
                continue
            if done.inbox is None:
                click.echo(f"{item}: already clipped ({done.already}); nothing added.")
                continue
            where = done.inbox.relative_to(vault.root).as_posix()
            images = f", {_count(len(done.images), 'image')} in wiki/{clip.ASSETS}/"
            missed = f" ({done.skipped_images} not downloaded)" if done.skipped_images else ""
            shown = images + missed if clip.is_url(item) else ""
            click.echo(f'{item}: added "{done.title}" as {where}{shown}')
            added.append(done.inbox)
    if added and not no_ingest:
        with _engine_log(False):
            wiki_engine, options = _engine_and_options(state, vault, engine, model, jobs)
            options = replace(options, commit=not no_commit, lock_wait=LOCK_WAIT)
            try:
                report = ingest(vault, wiki_engine, options, added, on_wait=_say_waiting)
            except (VaultError, ValueError) as exc:
                _fail(str(exc))
        _print_report(report)
        failed += report.count("failed")
    sys.exit(1 if failed else 0)


def _engine_and_options(
    state: _State, vault: Vault, engine: str | None, model: str | None, jobs: int | None
) -> tuple[Engine, Options]:
    """The engine the flags and configuration ask for, and ingest options to match."""
    config = state.config(vault, engine=engine, model=model, jobs=jobs)
    try:
        wiki_engine = open_engine(config, vault.prompts, vault.state)
    except EngineError as exc:
        _fail(str(exc))
    if wiki_engine.name == "extractive" and config.engine == "auto":
        click.echo(
            "No LLM configured: using the embedded extractive engine (offline). "
            "Set WIKI_MODEL (and OPENAI_API_KEY or OPENAI_BASE_URL) to use an LLM.",
            err=True,
        )
    options = Options(
        today=_today(),
        jobs=config.jobs,
        max_bytes=int(config.max_file_mb * 1_000_000),
        max_candidates=config.max_candidates,
    )
    return wiki_engine, options


class _EchoHandler(logging.Handler):
    """The core's log records on stderr: warnings as `warning: ...`, the rest (shown with
    --verbose: each LLM call, mode changes, repairs) indented under the source's line."""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            click.secho(f"warning: {message}", fg="yellow", err=True)
        else:
            click.echo(f"  {message}", err=True)


@contextlib.contextmanager
def _engine_log(verbose: bool) -> Iterator[None]:
    logger = logging.getLogger("llmwiki")
    handler = _EchoHandler()
    level = logger.level
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _say_waiting() -> None:
    click.echo("Another wiki process is writing to this vault; waiting for it...", err=True)


def _progress_printer() -> Callable[[Progress], None]:
    def show(event: Progress) -> None:
        if event.result is None:
            return
        click.echo(f"[{event.index}/{event.total}] {_describe(event.result)}")

    return show


def _describe(result: SourceResult) -> str:
    tokens = f", {result.usage.total_tokens} tokens" if result.usage.total_tokens else ""
    if result.status == "ingested":
        extra = f", {result.contradictions} contradiction(s)" if result.contradictions else ""
        empty = ", but nothing extracted" if result.nothing_extracted else ""
        return (
            f"{result.file}: ingested as [[{result.page}]]{empty} "
            f"({len(result.created)} new, {len(result.updated)} updated pages{extra}{tokens})"
        )
    if result.status == "planned":
        return (
            f'{result.file}: would ingest "{result.title}" '
            f"(~{result.usage.prompt_tokens} prompt + ~{result.usage.completion_tokens} "
            f"completion tokens, {result.usage.calls} calls)"
        )
    if result.status == "skipped":
        return f"{result.file}: skipped ({result.message})"
    return f"{result.file}: FAILED: {result.message.removeprefix(result.file + ': ')}"


def _print_report(report: IngestReport) -> None:
    if not report.results:
        click.echo("Nothing to ingest: the inbox is empty.")
        return
    usage = report.usage
    if report.dry_run:
        click.echo(
            f"Dry run ({report.engine}): {report.count('planned')} to ingest, "
            f"{report.count('skipped')} already ingested, {report.count('failed')} unreadable; "
            f"estimated {usage.prompt_tokens} prompt + {usage.completion_tokens} completion "
            f"tokens in {usage.calls} calls."
        )
        return
    click.echo(
        f"Done ({report.engine}): {report.count('ingested')} ingested, "
        f"{report.count('skipped')} skipped, {report.count('failed')} failed; "
        f"{_count(report.count('ingested'), 'source page')} written, "
        f"{_count(report.created, 'other page')} created, {report.updated} updated; "
        f"{usage.total_tokens} tokens in {usage.calls} LLM calls."
    )
    empty = sum(1 for r in report.results if r.nothing_extracted)
    if empty:
        click.secho(
            f"warning: nothing extracted from {empty} source(s): the model found no claim and "
            "no entity; check the model, or ingest them again with `--engine extractive`.",
            fg="yellow",
            err=True,
        )
    for result in report.results:
        if result.status == "failed":
            click.secho(f"  failed: {result.file}: {result.message}", fg="red", err=True)


@cli.command()
@click.pass_obj
def status(state: _State) -> None:
    """What the vault holds: pages by type, sources, pending and failed files, engine."""
    vault = state.vault()
    config = state.config(vault)
    try:
        manifest = Manifest.load(vault)
    except ValueError as exc:
        _fail(str(exc))
    report = vault_status(vault, manifest)
    engine = f"llm ({config.model or 'no model set'})" if config.uses_llm else "extractive"
    click.echo(f"Vault: {vault.root}")
    click.echo(f"Engine: {engine}")
    click.echo(
        "Pages: " + ", ".join(f"{n} {kind}" for kind, n in report.pages.items())
        if report.pages
        else "Pages: none yet"
    )
    click.echo(f"Sources ingested: {report.sources} ({report.tokens} tokens spent)")
    ignored = f", {len(report.ignored)} ignored" if report.ignored else ""
    click.echo(f"Inbox: {len(report.pending)} pending, {len(report.failed)} failed{ignored}")
    for name in report.failed:
        click.echo(f"  failed: {name} (see inbox/failed/{name}.error.txt)")
    for name in report.ignored:
        click.echo(f"  ignored: {name} (hidden or temporary; rename it to ingest it)")
    for page, sources in sorted(report.not_applied.items()):
        click.echo(
            f"Locked page [[{page}]]: facts not applied from "
            + ", ".join(f"[[{s}]]" for s in sources)
        )


@cli.group(invoke_without_command=True)
@click.option("--all", "show_all", is_flag=True, help="Include resolved contradictions.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def contradictions(ctx: click.Context, show_all: bool, as_json: bool) -> None:
    """List the contradictions between sources (open ones; --all for resolved too)."""
    if ctx.invoked_subcommand is not None:
        return
    from llmwiki import contradictions

    vault = ctx.obj.vault()
    found = contradictions.scan(vault)
    pages = contradictions.pages_by_id(found)
    items = [c for c in contradictions.unique_by_id(found) if show_all or c.open]
    if as_json:
        rows = [{**dataclasses.asdict(c), "pages": pages[c.id]} for c in items]
        click.echo(json.dumps(rows, indent=2))
        return
    if not items:
        click.echo("No open contradictions." if not show_all else "No contradictions.")
        return
    for item in items:
        state = "open" if item.open else f"resolved {item.resolved}: {item.note}"
        where = ", ".join(f"[[{p}]]" for p in pages[item.id])
        click.echo(f"{item.id} on {where} ({item.kind}, {state})")
        for claim in item.claims:
            click.echo(f"    {claim}")


@contradictions.command()
@click.argument("cid", metavar="ID")
@click.option("--note", required=True, help="Why it is resolved (kept in the register).")
@click.pass_obj
def resolve(state: _State, cid: str, note: str) -> None:
    """Mark contradiction ID resolved; it stays in the register and is not raised again."""
    from llmwiki import contradictions

    vault = state.vault()
    try:
        item = contradictions.resolve(vault, cid, note, _today().isoformat())
    except (ContradictionError, VaultError) as exc:
        _fail(str(exc))
    click.echo(f"Resolved {item.id} on [[{item.page}]].")


@cli.command()
@click.pass_obj
def undo(state: _State) -> None:
    """Revert the last ingest (the vault must be a git repository)."""
    vault = state.vault()
    try:
        report = history.undo(vault)
    except (HistoryError, VaultError) as exc:
        _fail(str(exc))
    click.echo(f"Reverted {report.reverted[:10]}: {report.subject}")


@cli.command(name="graph")
@click.argument("page", required=False)
@click.option(
    "--export",
    "export_to",
    type=click.Path(dir_okay=False),
    help="Also write the graph to FILE: .graphml, .json (node-link) or .gexf.",
)
@click.option("--top", type=int, default=10, show_default=True, help="Hubs to list.")
@click.pass_obj
def graph_cmd(state: _State, page: str | None, export_to: str | None, top: int) -> None:
    """The link graph: pages, links, components, hubs (PageRank), orphans.

    With PAGE (a title or file name): its links, backlinks and related pages.
    """
    # imported here, like lint and merge below: networkx is slow to load and only they need it
    from llmwiki.graph import graph_report

    vault = state.vault()
    try:
        report = graph_report(vault, top, page, Path(export_to) if export_to else None)
    except (ValueError, OSError) as exc:
        _fail(str(exc))
    s = report.stats
    click.echo(f"Pages: {s.pages}, links: {s.links} ({s.broken} broken)")
    click.echo(f"Components: {s.components} (largest: {s.largest_component} pages)")
    if s.hubs:
        click.echo("Hubs (PageRank):")
        for hub in s.hubs:
            click.echo(f"  {hub.score:.4f}  [[{hub.stem}]]  ({hub.inbound} backlinks)")
    shown = ", ".join(f"[[{o}]]" for o in s.orphans[:20])
    more = f" and {len(s.orphans) - 20} more" if len(s.orphans) > 20 else ""
    click.echo(f"Orphans ({len(s.orphans)}): {shown + more if s.orphans else 'none'}")
    if report.page is not None:
        p = report.page
        for label, stems in (
            ("Links to", p.outgoing),
            ("Linked from", p.incoming),
            ("Related", p.related),
        ):
            click.echo(f"{label}: " + (", ".join(f"[[{x}]]" for x in stems) or "none"))
    if report.exported:
        click.echo(f"Exported to {report.exported}")


@cli.command(name="lint")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option(
    "--fix",
    is_flag=True,
    help="First repair what is mechanical: regenerate index.md, point links at file names, "
    "normalize frontmatter.",
)
@click.pass_obj
def lint_cmd(state: _State, as_json: bool, fix: bool) -> None:
    """Check the wiki: broken links, orphans, duplicates, stale index, contradictions.

    Exits with 1 when there are errors (broken links, invalid frontmatter).
    """
    from llmwiki.lint import lint

    vault = state.vault()
    try:
        report = lint(vault, fix=fix)
    except VaultError as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        sys.exit(0 if report.ok else 1)
    if report.fixed:
        click.echo(f"Fixed ({len(report.fixed)}):")
        for fixed in report.fixed:
            click.echo(f"  {fixed.page}: {fixed.message}")
    for label, found, color in (
        ("Errors", report.errors, "red"),
        ("Warnings", report.warnings, "yellow"),
    ):
        if found:
            click.secho(f"{label} ({len(found)}):", fg=color)
            for item in found:
                where = f"{item.page}: " if item.page else ""
                click.echo(f"  [{item.code}] {where}{item.message}")
    click.echo(
        f"{report.pages} pages checked: {len(report.errors)} error(s), "
        f"{len(report.warnings)} warning(s)."
    )
    sys.exit(0 if report.ok else 1)


@cli.command(name="merge")
@click.argument("keep")
@click.argument("other")
@click.pass_obj
def merge_cmd(state: _State, keep: str, other: str) -> None:
    """Merge page OTHER into page KEEP (titles or file names) and relink the wiki.

    OTHER's text, sources and names move to KEEP, every link to OTHER is pointed at KEEP, and
    OTHER's file is removed.
    """
    from llmwiki.merge_pages import merge_pages

    vault = state.vault()
    try:
        report = merge_pages(vault, keep, other, _today())
    except (MergeError, VaultError) as exc:
        _fail(str(exc), 1)
    click.echo(f"Merged {report.removed} into {report.keep}: {report.lines_moved} line(s) moved.")
    if report.sources_added:
        click.echo("  sources added: " + ", ".join(report.sources_added))
    if report.aliases_added:
        click.echo("  aliases added: " + ", ".join(report.aliases_added))
    click.echo(
        f"  {report.links_rewritten} link(s) rewritten on {len(report.relinked)} other page(s); "
        f"{report.removed} removed."
    )


@cli.command(name="ask")
@click.argument("question")
@click.option(
    "--save", is_flag=True, help="File the answer as a page in wiki/answers/ when it cites pages."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON: answer, citations, pages, tokens."
)
@click.option(
    "--engine",
    type=click.Choice(["auto", "llm", "extractive"]),
    default=None,
    help="auto (default): the LLM when a model is configured, else extractive.",
)
@click.option("--model", default=None, help="LLM model name (overrides WIKI_MODEL).")
@click.option(
    "--budget",
    type=click.IntRange(min=100),
    default=None,
    help="Tokens of page text the answer may draw on (default 3000).",
)
@click.pass_obj
def ask_cmd(
    state: _State,
    question: str,
    save: bool,
    as_json: bool,
    engine: str | None,
    model: str | None,
    budget: int | None,
) -> None:
    """Answer QUESTION from the wiki's pages, citing them as [[links]].

    Only the wiki is searched, never raw/. With an LLM the answer streams as it is written;
    without one, the best matching passages are quoted. Every link printed or saved points at
    an existing page.
    """
    from llmwiki.ask import DEFAULT_BUDGET, ask
    from llmwiki.engines import open_answerer

    vault = state.vault()
    config = state.config(vault, engine=engine, model=model)
    try:
        answerer = open_answerer(config, vault.prompts)
    except EngineError as exc:
        _fail(str(exc))
    if answerer.name == "extractive" and config.engine == "auto" and not as_json:
        click.echo(
            "No LLM configured: quoting the best matching passages of the wiki. "
            "Set WIKI_MODEL (and OPENAI_API_KEY or OPENAI_BASE_URL) for written answers.",
            err=True,
        )

    def show(text: str) -> None:
        click.echo(text, nl=False)

    try:
        result = ask(
            vault,
            answerer,
            question,
            budget_tokens=budget or DEFAULT_BUDGET,
            save=save,
            today=_today(),
            on_token=None if as_json else show,
            lock_wait=LOCK_WAIT,
            on_wait=_say_waiting,
        )
    except (EngineError, SearchError, VaultError, ValueError) as exc:
        if not as_json:
            click.echo()  # end a partly streamed answer's line before the error
        _fail(str(exc))
    if as_json:
        payload = {
            "answer": result.answer,
            "citations": list(result.citations),
            "pages": list(result.pages),
            "tokens": result.usage.total_tokens,
            "saved": result.saved.relative_to(vault.root).as_posix() if result.saved else None,
            "cut_off": result.cut_off,
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    click.echo()
    if result.cut_off:
        click.secho(f"(The answer is incomplete: {result.cut_off}.)", fg="yellow", err=True)
    if result.citations:
        click.echo("\nSources: " + ", ".join(f"[[{stem}]]" for stem in result.citations))
    if result.saved is not None:
        click.echo(f"Saved as {result.saved.relative_to(vault.root).as_posix()}")
    elif result.note:
        click.echo(result.note[0].upper() + result.note[1:] + ".", err=True)


@cli.command()
@_engine_options
@click.option(
    "--settle",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Seconds a file's size and mtime must stay the same before it is ingested.",
)
@click.option(
    "--no-commit",
    is_flag=True,
    help="In a vault that is a git repository, do not commit each ingested source.",
)
@click.pass_obj
def watch(
    state: _State,
    engine: str | None,
    model: str | None,
    jobs: int | None,
    settle: float,
    no_commit: bool,
) -> None:
    """Ingest what is in inbox/, then each file that arrives, until Ctrl-C (exits 0).

    A file is ingested once it stops changing; temporary names (.part, .crdownload, ~$...)
    wait for their rename. A file whose LLM call failed stays in the inbox until it changes.
    """
    import threading

    from llmwiki.watch import Watcher, WatchStatus, stop_on_signals

    try:
        vault = state.vault()
        wiki_engine, options = _engine_and_options(state, vault, engine, model, jobs)
        options = replace(options, commit=not no_commit)
        printed = [(0, 0, 0, 0)]  # the counts last shown

        def show_status(status: WatchStatus) -> None:
            counts = (status.ingested, status.skipped, status.failed, status.held)
            if status.state == "locked":
                click.echo("Another wiki process is writing to this vault; waiting...", err=True)
            elif status.state == "ingesting":
                click.echo(f"{_clock()} ingesting {status.file}...")
            elif status.state == "watching" and counts != printed[-1]:
                held = f", {status.held} held (their LLM call failed: edit or touch to retry)"
                click.echo(
                    f"{_clock()} watching: {status.ingested} ingested, {status.skipped} "
                    f"skipped, {status.failed} failed{held if status.held else ''} so far"
                )
                printed.append(counts)

        def show_result(result: SourceResult) -> None:
            failed = result.status == "failed"
            click.secho(f"{_clock()} {_describe(result)}", fg="red" if failed else None)

        stop = threading.Event()
        watcher = Watcher(
            vault,
            wiki_engine,
            options,
            settle=settle,
            on_result=show_result,
            on_status=show_status,
            today=_today,
        )
        click.echo(f"Watching {vault.inbox} for new files (Ctrl-C to stop).")
        # SIGINT too is turned into the stop event: a KeyboardInterrupt raised in the middle
        # of the watcher would leave the file being written to the worker thread unattended
        try:
            with stop_on_signals(stop):
                report = watcher.run(stop)
        except (VaultError, ValueError) as exc:
            _fail(str(exc))
    except KeyboardInterrupt:  # Ctrl-C while starting up, before the handler was in place
        click.echo("Stopped.")
        sys.exit(0)
    done = (
        f"{report.count('ingested')} ingested, {report.count('skipped')} skipped, "
        f"{report.count('failed')} failed"
    )
    click.echo(f"Stopped: {done}.")
    if report.abandoned:
        click.echo(f"{report.abandoned} was not finished; it stays in the inbox for next time.")
        sys.stdout.flush()
        sys.stderr.flush()
        # The abandoned ingest may be waiting on an LLM call in a worker thread; a normal exit
        # would wait for that call. It can write nothing (see llmwiki.watch), so leave now.
        os._exit(0)
    sys.exit(0)


@cli.command(name="search")
@click.argument("query")
@click.option(
    "--type",
    "page_type",
    type=click.Choice(["person", "concept", "source", "answer"]),
    default=None,
    help="Only pages of this type.",
)
@click.option(
    "--limit", type=click.IntRange(min=1, max=200), default=10, show_default=True, help="Hits."
)
@click.option("--json", "as_json", is_flag=True, help="Print the hits as a JSON list.")
@click.pass_obj
def search_cmd(state: _State, query: str, page_type: str | None, limit: int, as_json: bool) -> None:
    """Ranked pages matching QUERY from the full-text index: no LLM, nothing else printed.

    Each hit: score, type, title and a snippet; --json prints a list of objects with title,
    link, type, path, score, snippet, matched and terms.
    """
    from llmwiki.search_report import search_pages

    vault = state.vault()
    try:
        hits = search_pages(vault, query, page_type=page_type, limit=limit)
    except (SearchError, ValueError) as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps([h.to_dict() for h in hits], indent=2, ensure_ascii=False))
        return
    if not hits:
        click.echo("No page matches.", err=True)
    for hit in hits:
        click.echo(f"{hit.score:7.2f}  {hit.type or 'page':<7}  {hit.title}  {hit.link}")
        if hit.snippet:
            click.echo(f"         {hit.snippet}")


@cli.command(name="mcp")
@click.option("--http", "use_http", is_flag=True, help="Serve streamable HTTP instead of stdio.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="With --http: the address to listen on; a non-loopback one requires --token.",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True)
@click.option(
    "--token",
    envvar="WIKI_MCP_TOKEN",
    default=None,
    help="With --http: the bearer token every request must carry (or WIKI_MCP_TOKEN).",
)
@click.option(
    "--allow-write",
    is_flag=True,
    help="Also serve the write tools: ingest_text, add_note, resolve_contradiction, save_answer.",
)
@click.option(
    "--vault",
    "vault_path",
    type=click.Path(file_okay=False),
    default=None,
    help="The vault to serve (like `wiki --vault`; a leading ~ is expanded, since agent "
    "configurations pass it unexpanded).",
)
@click.pass_obj
def mcp_cmd(
    state: _State,
    use_http: bool,
    host: str,
    port: int,
    token: str | None,
    allow_write: bool,
    vault_path: str | None,
) -> None:
    """Serve the wiki to agents over MCP (stdio by default; --http for streamable HTTP).

    Read tools: search, read_page, list_pages, neighbors, recent_changes, contradictions,
    lint, ask. Write tools with --allow-write. Resources: wiki://index, wiki://log,
    wiki://page/{title}.
    """
    try:
        from llmwiki import mcp_server
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in ("mcp", "uvicorn", "starlette"):
            raise
        _fail(
            "`wiki mcp` needs the MCP SDK: pip install 'llm-wiki[mcp]' "
            "(or: pip install mcp) in the environment `wiki` runs from"
        )
    from llmwiki.engines import open_answerer

    if vault_path:
        state = _State(os.path.expanduser(vault_path))
    vault = state.vault()
    if use_http:
        try:
            mcp_server.check_http_host(host, token)
        except ServerSetupError as exc:
            _fail(str(exc))
    config = state.config(vault)
    try:
        answerer = open_answerer(config, vault.prompts)
    except EngineError as exc:
        _fail(str(exc))
    engine: Engine | None = None
    options: Options | None = None
    if allow_write:
        engine, options = _engine_and_options(state, vault, None, None, None)
        options = replace(options, commit=True, lock_wait=LOCK_WAIT)
    wiki = mcp_server.WikiServer(
        vault, answerer, engine, options, today=_today, allow_write=allow_write
    )
    server = mcp_server.build_server(wiki)
    if use_http:
        click.echo(f"Serving MCP at http://{host}:{port}/mcp (Ctrl-C to stop).", err=True)
        mcp_server.serve_http(server, host, port, token)
    else:
        server.run()


def _clock() -> str:
    return datetime.now().strftime("%H:%M:%S")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def main() -> None:
    cli(prog_name="wiki")
