"""`wiki init`, `wiki status` and `wiki undo`: the vault as a whole, made, described, and its
last ingest reverted."""

from __future__ import annotations

from pathlib import Path

import click

from llmwiki.cli.common import State


@click.command()
@click.argument("path", type=click.Path(file_okay=False), default=".")
def init(path: str) -> None:
    """Create a vault at PATH (default: here): inbox/ raw/ wiki/ prompts/ wiki.toml."""
    from llmwiki.obsidian import apply_settings
    from llmwiki.vault import init_vault

    vault, created = init_vault(Path(path))
    settings = apply_settings(vault.wiki)
    click.echo(f"Vault ready at {vault.root} ({len(created)} files created).")
    for added in settings.added:
        click.echo(f"Obsidian setting added: wiki/.obsidian/{added}")
    for skipped in settings.skipped:
        click.echo(f"Obsidian settings left alone: wiki/.obsidian/{skipped}", err=True)
    click.echo(f"Next: copy documents into {vault.inbox} and run `wiki ingest`.")


@click.command()
@click.pass_obj
def status(state: State) -> None:
    """What the vault holds: pages by type, sources, pending and failed files, engine."""
    from llmwiki.manifest import Manifest
    from llmwiki.status import save_rebuilt, vault_status

    vault = state.vault()
    config = state.config(vault)
    manifest = Manifest.load(vault)
    if manifest.rebuilt:
        save_rebuilt(vault, manifest)
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
    for page in report.overview_edited:
        click.echo(f"Overview edited by hand: [[{page}]] (kept; `wiki refresh` rewrites it)")


@click.command()
@click.pass_obj
def undo(state: State) -> None:
    """Revert the last ingest (the vault must be a git repository)."""
    from llmwiki import history

    report = history.undo(state.vault())
    click.echo(f"Reverted {report.reverted[:10]}: {report.subject}")
