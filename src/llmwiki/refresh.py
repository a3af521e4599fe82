"""`wiki refresh PAGE`: rewrite a page's overview on request, even one a person edited.

Ingest leaves an overview a person wrote alone (see `llmwiki.overview`); this is how the
user hands it back to the engine. The text it replaces is not lost: an overview written by
hand moves into the page's `## Notes`, dated, where the engine never writes over it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from llmwiki import overview, overview_rewrite, render
from llmwiki.catalog import Catalog
from llmwiki.engines import OverviewWriter
from llmwiki.entries import ENTITY_TYPES, entry_for
from llmwiki.errors import UsageError
from llmwiki.pages import append_to_section, read, render_link
from llmwiki.pages import render as render_page
from llmwiki.vault import Vault

NOTES_HEADING = "Notes"


@dataclass(frozen=True)
class RefreshReport:
    page: str  # the page's file name, without .md
    overview: str  # the overview it has now
    changed: bool
    kept: bool  # the hand-written overview it replaced was moved into ## Notes
    warning: str = ""  # why the LLM's overview was not written (the old one stays)


def refresh(
    vault: Vault, name: str, today: date | None = None, writer: OverviewWriter | None = None
) -> RefreshReport:
    """Rewrite the overview of the page `name` (a title, alias or file name): with the LLM
    engine's `writer` when one is given (checked, as ingest does), else compiled."""
    day = (today or date.today()).isoformat()
    with vault.lock():
        catalog = Catalog.load(vault)
        entry = catalog.get(name) or catalog.lookup(name)
        if entry is None:
            raise UsageError(f'no page named "{name}": give its title, an alias or its file name')
        if entry.type not in ENTITY_TYPES:
            raise UsageError(
                f"{entry.stem} is a {entry.type or 'page'} page: only person and concept pages "
                "have an overview the engine compiles"
            )
        path = vault.wiki / entry.rel
        page = read(path)
        if page.meta.get("locked") is True:
            raise UsageError(f"{entry.stem} is locked: remove `locked: true` to refresh it")
        old, _ = overview.split(page.body)
        hand_written = overview.edited_by_hand(page.meta, page.body)
        warning = ""
        if writer is not None:
            done = overview_rewrite.rewrite(
                writer, page.meta, page.body, catalog, entry.stem, force=True
            )
            meta, body, warning = done.meta, done.body, done.warning
        else:
            meta, body, _ = render.refresh_overview(
                page.meta, page.body, catalog, entry.stem, force=True
            )
        text, _ = overview.split(body)
        kept = hand_written and bool(old.strip()) and old.strip() != text.strip()
        if kept:
            note = [f"Overview written by hand, replaced by `wiki refresh` on {day}:", "", old]
            body = append_to_section(body, NOTES_HEADING, ["", *note])
        changed = (meta, body) != (page.meta, page.body)
        if changed:
            meta["updated"] = day
            vault.write_text(path, render_page(meta, body))
            catalog.put(entry_for(path, vault.wiki, meta, body))
            moved = "; the hand-written one moved into Notes" if kept else ""
            vault.append_log(
                [
                    f"## [{day}] refresh | {entry.title}",
                    "",
                    f"- overview rewritten: {render_link(entry.stem, entry.title)}{moved}",
                ]
            )
        return RefreshReport(entry.stem, text, changed, kept, warning)
