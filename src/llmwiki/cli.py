"""The `wiki` command: parses arguments, calls one library function, prints its report.

This is the only module that prints or exits.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from llmwiki import contradictions as conflicts
from llmwiki import history
from llmwiki.config import Config, ConfigError, load_config
from llmwiki.engine import EngineError, open_engine
from llmwiki.ingest import IngestReport, Options, Progress, SourceResult, ingest
from llmwiki.manifest import Manifest
from llmwiki.status import vault_status
from llmwiki.vault import Vault, VaultError, find_vault, init_vault

LOCK_WAIT = 600.0  # seconds a command waits for another wiki process before giving up


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


@click.group()
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
    click.echo(f"Vault ready at {vault.root} ({len(created)} files created).")
    click.echo(f"Next: copy documents into {vault.inbox} and run `wiki ingest`.")


@cli.command(name="ingest")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--dry-run", is_flag=True, help="Estimate the cost of the pending files; write nothing."
)
@click.option(
    "--engine",
    type=click.Choice(["auto", "llm", "extractive"]),
    default=None,
    help="auto (default): the LLM when a model is configured, else extractive.",
)
@click.option("--model", default=None, help="LLM model name (overrides WIKI_MODEL).")
@click.option("--jobs", type=int, default=None, help="Parallel LLM calls within a source.")
@click.option(
    "--no-commit",
    is_flag=True,
    help="In a vault that is a git repository, do not commit each ingested source.",
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
) -> None:
    """Ingest FILES (default: everything in inbox/) into the wiki."""
    vault = state.vault()
    config = state.config(vault, engine=engine, model=model, jobs=jobs)
    try:
        wiki_engine = open_engine(config, vault.prompts)
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
        dry_run=dry_run,
        jobs=config.jobs,
        max_bytes=int(config.max_file_mb * 1_000_000),
        max_candidates=config.max_candidates,
        commit=not no_commit,
        lock_wait=LOCK_WAIT,
    )
    paths = [Path(f) for f in files] if files else None
    try:
        report = ingest(
            vault, wiki_engine, options, paths, _progress_printer(), on_wait=_say_waiting
        )
    except (VaultError, ValueError) as exc:
        _fail(str(exc))
    _print_report(report)
    sys.exit(0 if report.ok else 1)


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
        extra = f", {result.conflicts} contradiction(s)" if result.conflicts else ""
        return (
            f"{result.file}: ingested as [[{result.page}]] "
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
    return f"{result.file}: FAILED: {result.message}"


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
        f"{report.created} pages created, {report.updated} updated; "
        f"{usage.total_tokens} tokens in {usage.calls} LLM calls."
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
    click.echo(f"Inbox: {len(report.pending)} pending, {len(report.failed)} failed")
    for name in report.failed:
        click.echo(f"  failed: {name} (see inbox/failed/{name}.error.txt)")


@cli.group(invoke_without_command=True)
@click.option("--all", "show_all", is_flag=True, help="Include resolved contradictions.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def contradictions(ctx: click.Context, show_all: bool, as_json: bool) -> None:
    """List the contradictions between sources (open ones; --all for resolved too)."""
    if ctx.invoked_subcommand is not None:
        return
    vault = ctx.obj.vault()
    items = [c for c in conflicts.scan(vault) if show_all or c.open]
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(c) for c in items], indent=2))
        return
    if not items:
        click.echo("No open contradictions." if not show_all else "No contradictions.")
        return
    for item in items:
        state = "open" if item.open else f"resolved {item.resolved}: {item.note}"
        click.echo(f"{item.id} [[{item.page}]] ({item.kind}, {state})")
        for claim in item.claims:
            click.echo(f"    {claim}")


@contradictions.command()
@click.argument("cid", metavar="ID")
@click.option("--note", required=True, help="Why it is resolved (kept in the register).")
@click.pass_obj
def resolve(state: _State, cid: str, note: str) -> None:
    """Mark contradiction ID resolved; it stays in the register and is not raised again."""
    vault = state.vault()
    try:
        item = conflicts.resolve(vault, cid, note, _today().isoformat())
    except (conflicts.ContradictionError, VaultError) as exc:
        _fail(str(exc))
    click.echo(f"Resolved {item.id} on [[{item.page}]].")


@cli.command()
@click.pass_obj
def undo(state: _State) -> None:
    """Revert the last ingest (the vault must be a git repository)."""
    vault = state.vault()
    try:
        report = history.undo(vault)
    except (history.HistoryError, VaultError) as exc:
        _fail(str(exc))
    click.echo(f"Reverted {report.reverted[:10]}: {report.subject}")


def main() -> None:
    cli(prog_name="wiki")
