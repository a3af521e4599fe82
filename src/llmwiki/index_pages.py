"""index.md, and the parts a large index is split into: generated from the catalog, never
written by an engine.

A small wiki keeps the whole index in index.md: one line per page, grouped by type, sorted by
title. A type with more than MAX_INLINE pages moves to parts in `wiki/index/`, one per
initial letter ("Index - Concepts - S"), and a part with more than MAX_PART lines splits by one
more letter ("... - Sp"), so no generated file grows past about 1 MB at any size. A part's
letters come from the titles, not from positions in a list, so a new page changes only its
own part and index.md's counts; `write` rewrites the files whose text changed and removes
the parts no longer needed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from llmwiki.catalog import TYPE_HEADINGS, TYPE_ORDER, Catalog
from llmwiki.vault import INDEX_PARTS, Vault

INDEX = "index.md"
PARTS_DIR, PART_PREFIX = INDEX_PARTS.split("/")  # no page takes such a name (Catalog.free_stem)
MAX_INLINE = 500  # lines of one type that index.md holds itself
MAX_PART = 1000  # lines in one part: at most about 0.4 MB (a summary is cut at 240 characters)
# past this many letters, lines sharing them all stay in one part (titles alike to the 40th
# character, by the thousand: not a wiki anyone keeps)
_MAX_LETTERS = 40
_HEADER = "Generated from the pages' frontmatter on every change; edits here are overwritten."

Row = tuple[str, str, str]  # (sort key, file name, line), as Catalog.index_rows gives them


class IndexFiles:
    """Renders and writes the index files for one run of a command, remembering what it
    rendered and wrote: after a change to one page, only the rows of its type and initial
    letter are rendered again and only the files whose text changed are written, so the
    cost per source stays small however large the wiki is."""

    def __init__(self, vault: Vault | None) -> None:
        self.vault = vault  # None: render only
        # (type, initial letter) -> (its rows, its parts as (letters, line count, text))
        self._groups: dict[tuple[str, str], tuple[list[Row], list[tuple[str, int, str]]]] = {}
        self._written: dict[str, str] = {}  # path under wiki/ -> the text known to be there

    def render(self, catalog: Catalog) -> dict[str, str]:
        """Every generated index file: its path under wiki/ -> its text; index.md first."""
        lines = ["# Index", "", _HEADER]
        parts: dict[str, str] = {}
        for kind in (*TYPE_ORDER, "other"):
            rows = catalog.index_rows(kind)
            if not rows:
                continue
            heading = TYPE_HEADINGS.get(kind, "Other")
            lines += ["", f"## {heading} ({len(rows)})", ""]
            if len(rows) <= MAX_INLINE:
                lines.extend(row[2] for row in rows)
                continue
            by_initial: dict[str, list[Row]] = {}
            for row in rows:  # rows keep their order inside a group
                by_initial.setdefault(_letters(row[0], 1), []).append(row)
            for initial in sorted(by_initial):
                for letters, count, text in self._parts(kind, heading, by_initial[initial]):
                    name = f"{PART_PREFIX}{heading} - {letters}"
                    # by name, as Obsidian's "shortest" links are: no page takes a part's name
                    lines.append(f"- [[{name}|{letters}]] ({count})")
                    parts[f"{PARTS_DIR}/{name}.md"] = text
        return {INDEX: "\n".join(lines) + "\n", **parts}

    def _parts(self, kind: str, heading: str, group: list[Row]) -> list[tuple[str, int, str]]:
        key = (kind, _letters(group[0][0], 1))
        known = self._groups.get(key)
        # unchanged rows are the very same tuples, so this comparison is cheap
        if known is not None and known[0] == group:
            return known[1]
        parts = []
        for letters, rows in _split(group, 1):
            body = [f"# {heading}: {letters}", "", _HEADER, "", *(row[2] for row in rows)]
            parts.append((letters, len(rows), "\n".join(body) + "\n"))
        self._groups[key] = (group, parts)
        return parts

    def write(self, catalog: Catalog) -> list[Path]:
        """Write the index files whose text changed and remove parts no longer generated;
        the paths written or removed."""
        vault = self.vault
        if vault is None:
            raise ValueError("an IndexFiles made without a vault only renders")
        wanted = self.render(catalog)
        changed: list[Path] = []
        for rel, text in wanted.items():
            if self._written.get(rel) != text and vault.write_text(vault.wiki / rel, text):
                changed.append(vault.wiki / rel)
        gone = [rel for rel in self._written if rel not in wanted]
        if not self._written:  # the first write of this run: look at what is on disk
            gone = [f"{PARTS_DIR}/{p.name}" for p in existing_parts(vault)]
        for rel in gone:
            if rel not in wanted:
                (vault.wiki / rel).unlink(missing_ok=True)
                changed.append(vault.wiki / rel)
        self._written = wanted
        return changed


def render(catalog: Catalog) -> dict[str, str]:
    """Every generated index file: its path under wiki/ -> its text; index.md first."""
    return IndexFiles(None).render(catalog)


_NOT_SHOWN = re.compile(r"[\W_]")  # what a part's name shows as "-"


def _letters(key: str, n: int) -> str:
    """The first `n` characters of a title's sort key, as a part's name shows them."""
    head = key[:n]
    if not head.isalnum():
        head = _NOT_SHOWN.sub("-", head) or "-"
    return head[:1].upper() + head[1:]


def _split(rows: list[Row], n: int) -> Iterator[tuple[str, list[Row]]]:
    """`rows` grouped by their first `n` letters, a large group split by one more."""
    groups: dict[str, list[Row]] = {}
    for row in rows:  # rows keep their order inside a group
        groups.setdefault(_letters(row[0], n), []).append(row)
    for letters in sorted(groups):
        group = groups[letters]
        longer = any(len(row[0]) > n for row in group)
        if len(group) > MAX_PART and n < _MAX_LETTERS and longer:
            yield from _split(group, n + 1)
        else:
            yield letters, group


def write(vault: Vault, catalog: Catalog) -> list[Path]:
    """Write the index files whose text changed and remove parts no longer generated."""
    return IndexFiles(vault).write(catalog)


def existing_parts(vault: Vault) -> list[Path]:
    folder = vault.wiki / PARTS_DIR
    return sorted(folder.glob(f"{PART_PREFIX}*.md")) if folder.is_dir() else []


def stale(vault: Vault, catalog: Catalog) -> list[tuple[str, str]]:
    """The index files that differ from what `render` gives, as (path under wiki/, why):
    "missing", "changed" (edited by hand, or a page changed since) or "left over"."""
    wanted = render(catalog)
    found: list[tuple[str, str]] = []
    for rel, text in wanted.items():
        try:
            if (vault.wiki / rel).read_text(encoding="utf-8") != text:
                found.append((rel, "changed"))
        except FileNotFoundError:
            found.append((rel, "missing"))
        except UnicodeDecodeError:
            found.append((rel, "changed"))
    leftover = (f"{PARTS_DIR}/{p.name}" for p in existing_parts(vault))
    return found + [(rel, "left over") for rel in leftover if rel not in wanted]
