"""A page's entry in the catalog: what its frontmatter says (title, type, aliases, summary,
the sources it cites), and the row that holds it in the catalog database (catalog_store)."""

from __future__ import annotations

import json
import re
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmwiki.catalog_store import index_terms
from llmwiki.identity import fold_name
from llmwiki.overview import edited_by_hand
from llmwiki.pages import as_list, inert_text, parse_links, render_link, section_lines

NOT_APPLIED_HEADING = "Not applied"  # on a source page: locked pages it had facts for
TYPE_ORDER = ("source", "person", "concept", "answer")
ENTITY_TYPES = ("person", "concept")  # the pages a mention can be (not sources or answers)


@dataclass(frozen=True, slots=True)
class Entry:
    stem: str  # file name without .md: the link target
    rel: str  # path relative to wiki/, with forward slashes
    title: str
    type: str
    aliases: tuple[str, ...] = ()
    summary: str = ""
    date: str = ""  # a source's publication date, else the day it was ingested
    contradictions: int | None = None  # open ones; None when the page never had any
    sources: tuple[str, ...] = ()  # file names of the source pages its frontmatter cites
    overview_edited: bool = False  # a person rewrote the engine's overview (`wiki status`)
    # a source page's "Not applied" section: the locked pages it had facts for (`wiki status`)
    not_applied: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.title, self.stem, *self.aliases)


def entry_for(path: Path, wiki_dir: Path, meta: dict[str, object], body: str = "") -> Entry:
    """The catalog's entry for a page; with its `body`, whether its overview was edited."""
    kind = str(meta.get("type") or "")
    return Entry(
        stem=path.stem,
        rel=path.relative_to(wiki_dir).as_posix(),
        title=str(meta.get("title") or path.stem),
        type=kind,
        aliases=tuple(as_list(meta.get("aliases"))),
        summary=str(meta.get("summary") or ""),
        date=str(meta.get("published") or meta.get("created") or ""),
        contradictions=_int_or_none(meta.get("contradictions")),
        sources=tuple(link.target for s in as_list(meta.get("sources")) for link in parse_links(s)),
        overview_edited=bool(body)
        and kind in ENTITY_TYPES
        and not meta.get("locked")
        and edited_by_hand(meta, body),
        not_applied=tuple(
            link.target
            for line in (section_lines(body, NOT_APPLIED_HEADING) if kind == "source" else ())
            for link in parse_links(line)
        ),
    )


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def page_row(
    wiki_dir: Path, path: Path, meta: dict[str, object], body: str
) -> tuple[tuple[Any, ...], tuple[list[str], list[str]]]:
    """A page file's row in the catalog database, and what it is found by."""
    entry = entry_for(path, wiki_dir, meta, body)
    return row_of(entry), index_terms(entry.names)


def row_of(entry: Entry) -> tuple[Any, ...]:
    """The entry's row in the `pages` table, in catalog_store.PAGE_COLUMNS' order: its
    fields (lists as JSON), its folded file name, and its place in the index with a checksum
    of it (the index's writer compares their sums to find the parts that changed)."""
    line = _line(entry)
    return (
        entry.stem,
        entry.rel,
        fold_name(entry.stem),
        entry.title,
        entry.type,
        json.dumps(entry.aliases, ensure_ascii=False),
        entry.summary,
        entry.date,
        entry.contradictions,
        json.dumps(entry.sources, ensure_ascii=False),
        int(entry.overview_edited),
        json.dumps(entry.not_applied, ensure_ascii=False),
        _group(entry),
        entry.title.casefold(),
        line,
        index_letters(entry.title.casefold(), 1),
        zlib.crc32(f"{entry.title.casefold()}\0{entry.stem}\0{line}".encode()),
    )


def _list(text: str) -> tuple[str, ...]:
    return () if text == "[]" else tuple(json.loads(text))  # most lists are empty


def from_row(row: Sequence[Any]) -> Entry:
    """The entry a `pages` row holds (see row_of)."""
    stem, rel, _, title, kind, aliases, summary, date, contradictions, sources, edited = row[:11]
    return Entry(
        stem,
        rel,
        title,
        kind,
        _list(aliases),
        summary,
        date,
        contradictions,
        _list(sources),
        bool(edited),
        _list(row[11]),
    )


def names_from_row(row: Sequence[Any]) -> tuple[Entry, int]:
    """The entry of a (stem, title, type, aliases, sources) row with only its names and type,
    and how many sources it cites."""
    stem, title, kind, aliases, sources = row
    # one string per type, not one per row: a list of every page holds 100,000 of them
    return Entry(stem, "", title, sys.intern(kind), _list(aliases)), len(_list(sources))


_NOT_SHOWN = re.compile(r"[\W_]")  # what the name of an index part shows as "-"


def index_letters(key: str, n: int) -> str:
    """The first `n` characters of a title's sort key, as the name of an index part shows
    them (index_pages.py)."""
    head = key[:n]
    if not head.isalnum():
        head = _NOT_SHOWN.sub("-", head) or "-"
    return head[:1].upper() + head[1:]


def _group(entry: Entry) -> str:
    return entry.type if entry.type in TYPE_ORDER else "other"


def _line(entry: Entry) -> str:
    """A page's line in index.md."""
    summary = inert_text(" ".join(entry.summary.split()))
    link = f"- {render_link(entry.stem, entry.title)}"
    return f"{link} — {summary}" if summary else link
