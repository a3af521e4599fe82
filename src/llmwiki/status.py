"""`wiki status`: what a vault holds, computed from its files and manifest."""

from __future__ import annotations

from dataclasses import dataclass, field

from llmwiki.catalog import TYPE_HEADINGS, Catalog
from llmwiki.errors import LockedError, WriteError
from llmwiki.manifest import Manifest
from llmwiki.readers import READERS
from llmwiki.vault import Vault, is_ignored_name


@dataclass(frozen=True)
class StatusReport:
    pages: dict[str, int]  # heading ("People", ...) -> count
    sources: int
    tokens: int
    pending: tuple[str, ...]
    failed: tuple[str, ...]
    # inbox files that look like sources but are never ingested: hidden (".notes.md") or
    # unfinished downloads ("paper.pdf.part" is not listed: its name no longer looks like one)
    ignored: tuple[str, ...] = ()
    # locked page -> source pages whose facts about it were not applied
    not_applied: dict[str, list[str]] = field(default_factory=dict)
    # pages whose overview a person rewrote: the engine leaves it alone (`wiki refresh PAGE`)
    overview_edited: tuple[str, ...] = ()


def vault_status(vault: Vault, manifest: Manifest) -> StatusReport:
    catalog = Catalog.load(vault)  # counted in its database: no page is read or loaded
    counts: dict[str, int] = {}
    for kind, n in catalog.counts().items():
        heading = TYPE_HEADINGS.get(kind, "other").lower()
        counts[heading] = counts.get(heading, 0) + n
    failed: tuple[str, ...] = ()
    if vault.failed.is_dir():
        failed = tuple(
            sorted(
                p.name
                for p in vault.failed.iterdir()
                if p.is_file() and not is_ignored_name(p.name)
            )
        )
    return StatusReport(
        pages=dict(sorted(counts.items())),
        sources=len(manifest.sources),
        tokens=sum(r.prompt_tokens + r.completion_tokens for r in manifest.sources.values()),
        pending=tuple(p.name for p in vault.pending()),
        failed=failed,
        ignored=ignored_files(vault),
        not_applied=catalog.not_applied(),
        overview_edited=tuple(catalog.edited_overviews()),
    )


def ignored_files(vault: Vault) -> tuple[str, ...]:
    """Names in the inbox with a readable extension that `pending` leaves out (dot-files,
    temporaries), so that a file a user dropped is never silently skipped."""
    if not vault.inbox.is_dir():
        return ()
    kinds = tuple(READERS)
    return tuple(
        sorted(
            p.name
            for p in vault.inbox.iterdir()
            if is_ignored_name(p.name)
            and p.name.lower().endswith(kinds)
            and not p.name.lower().endswith(".error.txt")  # our note, moved back with its file
            and p.is_file()
        )
    )


def save_rebuilt(vault: Vault, manifest: Manifest) -> None:
    """Keep a manifest that had to be rebuilt from the source pages, so the next command
    does not read them all again. Only while no other wiki process holds the vault: an
    ingest under way appends to the manifest, and a whole new one must not replace it."""
    try:
        with vault.lock():
            if not manifest.path.exists():
                manifest.save()
    except (LockedError, WriteError, OSError):
        pass  # derived state: the next command rebuilds it again
