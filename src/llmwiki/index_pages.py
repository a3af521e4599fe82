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

from llmwiki.catalog import TYPE_HEADINGS, Catalog
from llmwiki.entries import TYPE_ORDER, index_letters
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


Part = tuple[str, int]  # (letters, line count) of one part
# (type, initial) -> (its index_groups checksum, its parts): what a writer wrote
State = dict[tuple[str, str], tuple[tuple[int, int] | None, list[Part]]]


class IndexFiles:
    """Writes the index files for one run of a command. It renders again only the parts whose
    pages changed, told by the catalog's checksum of each (type, initial letter) group
    against the one recorded when the part was last written, and writes only the files whose
    text changed: the cost per source stays small however large the wiki is. With
    `everything`, the first write renders every part and compares it with the disk (what
    `wiki lint --fix` wants: a part edited by hand is put right)."""

    def __init__(self, vault: Vault | None, everything: bool = False) -> None:
        self.vault = vault  # None: render only
        self.everything = everything
        self._state: State | None = None  # what this run wrote; None before its first write
        self._index_text = ""

    def render(self, catalog: Catalog) -> dict[str, str]:
        """Every generated index file: its path under wiki/ -> its text; index.md first."""
        kinds = _kinds(catalog.index_groups())
        parts: dict[str, str] = {}
        state: State = {}
        for kind, count in kinds.items():
            if count <= MAX_INLINE:
                continue
            by_initial: dict[str, list[Row]] = {}
            for row in catalog.index_rows(kind):  # rows keep their order inside a group
                by_initial.setdefault(index_letters(row[0], 1), []).append(row)
            for initial, rows in by_initial.items():
                rendered = _render_parts(kind, rows)
                parts.update((_part_path(kind, letters), text) for letters, _, text in rendered)
                state[(kind, initial)] = (None, [(letters, n) for letters, n, _ in rendered])
        return {INDEX: _index_text(catalog, kinds, state), **parts}

    def write(self, catalog: Catalog) -> list[Path]:
        """Write the index files whose text changed and remove parts no longer generated;
        the paths written or removed, index.md first."""
        vault = self.vault
        if vault is None:
            raise ValueError("an IndexFiles made without a vault only renders")
        groups = catalog.index_groups()
        kinds = _kinds(groups)
        first = self._state is None
        if self._state is not None:
            known = self._state
        else:
            known = {} if self.everything else catalog.state("index")
        on_disk = {f"{PARTS_DIR}/{p.name}" for p in existing_parts(vault)} if first else set()
        state: State = {}
        changed: list[Path] = []
        for (kind, initial), mark in sorted(groups.items()):
            if kinds[kind] <= MAX_INLINE:
                continue
            was = known.get((kind, initial))
            paths = [_part_path(kind, letters) for letters, _ in was[1]] if was else []
            if was and was[0] == mark and (not first or on_disk.issuperset(paths)):
                state[(kind, initial)] = was
                continue
            rendered = _render_parts(kind, catalog.index_rows(kind, initial))
            for letters, _, text in rendered:
                path = vault.wiki / _part_path(kind, letters)
                if vault.write_text(path, text):
                    changed.append(path)
            state[(kind, initial)] = (mark, [(letters, n) for letters, n, _ in rendered])
        wanted = {_part_path(k, letters) for (k, _), (_, ps) in state.items() for letters, _ in ps}
        before = (
            on_disk
            if first
            else {_part_path(k, letters) for (k, _), (_, ps) in known.items() for letters, _ in ps}
        )
        for rel in sorted(before - wanted):
            (vault.wiki / rel).unlink(missing_ok=True)
            changed.append(vault.wiki / rel)
        text = _index_text(catalog, kinds, state)
        if text != self._index_text and vault.write_text(vault.wiki / INDEX, text):
            changed.insert(0, vault.wiki / INDEX)
        self._index_text = text
        if state != known:
            catalog.save_state("index", state)
        self._state = state
        return changed


def _kinds(groups: dict[tuple[str, str], tuple[int, int]]) -> dict[str, int]:
    """How many pages of each type, in the index's order of types."""
    counts: dict[str, int] = {}
    for (kind, _), (count, _) in groups.items():
        counts[kind] = counts.get(kind, 0) + count
    return {kind: counts[kind] for kind in (*TYPE_ORDER, "other") if counts.get(kind)}


def _heading(kind: str) -> str:
    return TYPE_HEADINGS.get(kind, "Other")


def _part_path(kind: str, letters: str) -> str:
    # by name, as Obsidian's "shortest" links are: no page takes a part's name
    return f"{PARTS_DIR}/{PART_PREFIX}{_heading(kind)} - {letters}.md"


def _render_parts(kind: str, rows: list[Row]) -> list[tuple[str, int, str]]:
    """The parts of the rows of one initial letter: (letters, line count, text) each."""
    parts = []
    for letters, group in _split(rows, 1):
        body = [f"# {_heading(kind)}: {letters}", "", _HEADER, "", *(row[2] for row in group)]
        parts.append((letters, len(group), "\n".join(body) + "\n"))
    return parts


def _index_text(catalog: Catalog, kinds: dict[str, int], state: State) -> str:
    """index.md: the rows of a small type, links to the parts of a large one."""
    lines = ["# Index", "", _HEADER]
    for kind, count in kinds.items():
        lines += ["", f"## {_heading(kind)} ({count})", ""]
        if count <= MAX_INLINE:
            lines.extend(row[2] for row in catalog.index_rows(kind))
            continue
        for (k, _), (_, parts) in sorted(state.items()):
            if k == kind:
                for letters, n in parts:
                    name = _part_path(kind, letters).removeprefix(f"{PARTS_DIR}/")[:-3]
                    lines.append(f"- [[{name}|{letters}]] ({n})")
    return "\n".join(lines) + "\n"


def render(catalog: Catalog) -> dict[str, str]:
    """Every generated index file: its path under wiki/ -> its text; index.md first."""
    return IndexFiles(None).render(catalog)


def _split(rows: list[Row], n: int) -> Iterator[tuple[str, list[Row]]]:
    """`rows` grouped by their first `n` letters, a large group split by one more."""
    if not rows:
        return
    groups: dict[str, list[Row]] = {}
    if rows[0][0][:n] == rows[-1][0][:n]:
        # sorted, so every row starts as the first and last do: one group, found without
        # reading them all (titles alike for many letters would cost a pass per letter)
        groups[index_letters(rows[0][0], n)] = rows
    else:
        for row in rows:  # rows keep their order inside a group
            groups.setdefault(index_letters(row[0], n), []).append(row)
    for letters in sorted(groups):
        group = groups[letters]
        longer = any(len(row[0]) > n for row in group)
        if len(group) > MAX_PART and n < _MAX_LETTERS and longer:
            yield from _split(group, n + 1)
        else:
            yield letters, group


def write(vault: Vault, catalog: Catalog) -> list[Path]:
    """Write every index file whose text differs from a fresh render, and remove the parts
    no longer generated."""
    return IndexFiles(vault, everything=True).write(catalog)


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
