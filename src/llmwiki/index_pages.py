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

from collections.abc import Iterator
from pathlib import Path

from llmwiki.catalog import TYPE_HEADINGS, TYPE_ORDER, Catalog
from llmwiki.vault import INDEX_PARTS, Vault

INDEX = "index.md"
PARTS_DIR, PART_PREFIX = INDEX_PARTS.split("/")  # no page takes such a name (Catalog.free_stem)
MAX_INLINE = 500  # lines of one type that index.md holds itself
MAX_PART = 1000  # lines in one part: at most about 0.4 MB (a summary is cut at 240 characters)
_MAX_LETTERS = 6  # past this, lines sharing their first letters stay in one part
_HEADER = "Generated from the pages' frontmatter on every change; edits here are overwritten."

Row = tuple[str, str, str]  # (sort key, file name, line), as Catalog.index_rows gives them


def render(catalog: Catalog) -> dict[str, str]:
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
        for letters, group in _split(rows, 1):
            name = f"{PART_PREFIX}{heading} - {letters}"
            lines.append(f"- [[{PARTS_DIR}/{name}|{letters}]] ({len(group)})")
            title = f"# {heading}: {letters}"
            body = [title, "", _HEADER, "", *(row[2] for row in group)]
            parts[f"{PARTS_DIR}/{name}.md"] = "\n".join(body) + "\n"
    return {INDEX: "\n".join(lines) + "\n", **parts}


def _letters(key: str, n: int) -> str:
    """The first `n` characters of a title's sort key, as a part's name shows them."""
    shown = "".join(c if c.isalnum() else "-" for c in key[:n]) or "-"
    return shown[:1].upper() + shown[1:]


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
    """Write the index files whose text changed and remove parts no longer generated; the
    paths written or removed."""
    wanted = render(catalog)
    changed = [
        vault.wiki / rel for rel, text in wanted.items() if vault.write_text(vault.wiki / rel, text)
    ]
    for path in existing_parts(vault):
        if f"{PARTS_DIR}/{path.name}" not in wanted:
            path.unlink(missing_ok=True)
            changed.append(path)
    return changed


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
