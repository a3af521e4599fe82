"""`wiki lint`, `wiki merge` and `wiki contradictions`: the commands that check the wiki and
repair it where a person decides."""

from __future__ import annotations

import dataclasses
import json
import sys

import click

from llmwiki.cli.common import State, today


@click.command(name="lint")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option(
    "--fix",
    is_flag=True,
    help="First repair what is mechanical: regenerate index.md, point links at file names, "
    "normalize frontmatter.",
)
@click.pass_obj
def lint_cmd(state: State, as_json: bool, fix: bool) -> None:
    """Check the wiki: broken links, orphans, duplicates, stale index, contradictions.

    Exits with 1 when there are errors (broken links, invalid frontmatter).
    """
    from llmwiki.lint import lint

    report = lint(state.vault(), fix=fix)
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


@click.command(name="merge")
@click.argument("keep")
@click.argument("other")
@click.pass_obj
def merge_cmd(state: State, keep: str, other: str) -> None:
    """Merge page OTHER into page KEEP (titles or file names) and relink the wiki.

    OTHER's text, sources and names move to KEEP, every link to OTHER is pointed at KEEP, and
    OTHER's file is removed.
    """
    from llmwiki.merge_pages import merge_pages

    report = merge_pages(state.vault(), keep, other, today())
    click.echo(f"Merged {report.removed} into {report.keep}: {report.lines_moved} line(s) moved.")
    if report.sources_added:
        click.echo("  sources added: " + ", ".join(report.sources_added))
    if report.aliases_added:
        click.echo("  aliases added: " + ", ".join(report.aliases_added))
    click.echo(
        f"  {report.links_rewritten} link(s) rewritten on {len(report.relinked)} other page(s); "
        f"{report.removed} removed."
    )


@click.group(invoke_without_command=True)
@click.option("--all", "show_all", is_flag=True, help="Include resolved contradictions.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def contradictions(ctx: click.Context, show_all: bool, as_json: bool) -> None:
    """List the contradictions between sources (open ones; --all for resolved too)."""
    if ctx.invoked_subcommand is not None:
        return
    from llmwiki import contradictions

    found = contradictions.scan(ctx.obj.vault())
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
def resolve(state: State, cid: str, note: str) -> None:
    """Mark contradiction ID resolved; it stays in the register and is not raised again."""
    from llmwiki import contradictions

    item = contradictions.resolve(state.vault(), cid, note, today().isoformat())
    click.echo(f"Resolved {item.id} on [[{item.page}]].")


@click.command(name="refresh")
@click.argument("page")
@click.pass_obj
def refresh_cmd(state: State, page: str) -> None:
    """Rewrite PAGE's overview, even one edited by hand (it moves into the page's Notes)."""
    from llmwiki import engines
    from llmwiki.refresh import refresh

    vault = state.vault()
    engine = engines.open_engine(state.config(vault), vault.prompts, vault.state)
    writer = engine if isinstance(engine, engines.OverviewWriter) else None
    report = refresh(vault, page, today(), writer)
    if report.warning:
        click.echo(f"warning: {report.warning}", err=True)
    if not report.changed:
        click.echo(f"[[{report.page}]]: the overview is already current.")
        return
    click.echo(f"[[{report.page}]]: overview rewritten.")
    if report.kept:
        click.echo("  The overview written by hand was moved into the page's Notes.")
