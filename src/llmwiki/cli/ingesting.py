"""`wiki ingest`, `wiki add` and `wiki watch`: the commands that turn sources into pages, and
the lines they print for each source and for the run."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from llmwiki.cli.common import (
    LOCK_WAIT,
    State,
    clock,
    count,
    engine_and_options,
    engine_log,
    engine_options,
    print_error,
    say_waiting,
    today,
)
from llmwiki.errors import ClipError, VaultError

if TYPE_CHECKING:
    from llmwiki.ingest import IngestReport, Progress, SourceResult


@click.command(name="ingest")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--dry-run", is_flag=True, help="Estimate the cost of the pending files; write nothing."
)
@engine_options
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
    state: State,
    files: tuple[str, ...],
    dry_run: bool,
    engine: str | None,
    model: str | None,
    jobs: int | None,
    no_commit: bool,
    verbose: bool,
) -> None:
    """Ingest FILES (default: everything in inbox/) into the wiki."""
    from llmwiki.ingest import ingest

    vault = state.vault()
    with engine_log(verbose):
        wiki_engine, options = engine_and_options(state, vault, engine, model, jobs)
        options = replace(options, dry_run=dry_run, commit=not no_commit, lock_wait=LOCK_WAIT)
        paths = [Path(f) for f in files] if files else None
        report = ingest(
            vault, wiki_engine, options, paths, _progress_printer(), on_wait=say_waiting
        )
    _print_report(report)
    sys.exit(0 if report.ok else 1)


@click.command(name="add")
@click.argument("items", nargs=-1, required=True, metavar="URL|FILE|-...")
@click.option("--title", default="", help="Title of the text read from standard input (-).")
@click.option("--no-ingest", is_flag=True, help="Only put the clips and files into inbox/.")
@click.option("--no-images", is_flag=True, help="Do not download a page's images.")
@click.option(
    "--timeout", type=float, default=30.0, show_default=True, help="Seconds to wait for a server."
)
@engine_options
@click.option("--no-commit", is_flag=True, help="Do not commit each ingested source (git).")
@click.pass_obj
def add_cmd(
    state: State,
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
    from llmwiki.ingest import ingest

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
                    done = clip.add_url(vault, item, limits, today(), http)
                elif item == "-":
                    text = sys.stdin.read()
                    done = clip.add_text(vault, text, title, today())
                else:
                    done = clip.add_file(vault, Path(item))
            except (ClipError, VaultError) as exc:
                # one item that cannot be added does not stop the others: reported, counted
                print_error(str(exc))
                failed += 1
                continue
            if done.inbox is None:
                click.echo(f"{item}: already clipped ({done.already}); nothing added.")
                continue
            where = done.inbox.relative_to(vault.root).as_posix()
            images = f", {count(len(done.images), 'image')} in wiki/{clip.ASSETS}/"
            missed = f" ({done.skipped_images} not downloaded)" if done.skipped_images else ""
            shown = images + missed if clip.is_url(item) else ""
            click.echo(f'{item}: added "{done.title}" as {where}{shown}')
            added.append(done.inbox)
    if added and not no_ingest:
        with engine_log(False):
            wiki_engine, options = engine_and_options(state, vault, engine, model, jobs)
            options = replace(options, commit=not no_commit, lock_wait=LOCK_WAIT)
            report = ingest(vault, wiki_engine, options, added, on_wait=say_waiting)
        _print_report(report)
        failed += report.count("failed")
    sys.exit(1 if failed else 0)


@click.command()
@engine_options
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
    state: State,
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
        wiki_engine, options = engine_and_options(state, vault, engine, model, jobs)
        options = replace(options, commit=not no_commit)
        printed = [(0, 0, 0, 0)]  # the counts last shown

        def show_status(status: WatchStatus) -> None:
            counts = (status.ingested, status.skipped, status.failed, status.held)
            if status.state == "locked":
                click.echo("Another wiki process is writing to this vault; waiting...", err=True)
            elif status.state == "ingesting":
                click.echo(f"{clock()} ingesting {status.file}...")
            elif status.state == "watching" and counts != printed[-1]:
                held = f", {status.held} held (their LLM call failed: edit or touch to retry)"
                click.echo(
                    f"{clock()} watching: {status.ingested} ingested, {status.skipped} "
                    f"skipped, {status.failed} failed{held if status.held else ''} so far"
                )
                printed.append(counts)

        def show_result(result: SourceResult) -> None:
            failed = result.status == "failed"
            click.secho(f"{clock()} {_describe(result)}", fg="red" if failed else None)

        stop = threading.Event()
        watcher = Watcher(
            vault,
            wiki_engine,
            options,
            settle=settle,
            on_result=show_result,
            on_status=show_status,
            today=today,
        )
        click.echo(f"Watching {vault.inbox} for new files (Ctrl-C to stop).")
        # SIGINT too is turned into the stop event: a KeyboardInterrupt raised in the middle
        # of the watcher would leave the file being written to the worker thread unattended
        with stop_on_signals(stop):
            report = watcher.run(stop)
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
        f"{count(report.count('ingested'), 'source page')} written, "
        f"{count(report.created, 'other page')} created, {report.updated} updated; "
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
