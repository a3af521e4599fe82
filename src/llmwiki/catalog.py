"""The catalog: every page's title, type, aliases and summary, read from frontmatter.

It answers the questions ingest asks about the wiki without sending the wiki anywhere: which
page is this name (exact title or alias), which pages might it be (a bounded candidate list),
which existing titles does this source mention, and which file name is free. It also renders
the rows of `index.md` (index_pages.py writes it), which is code-generated from frontmatter.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import threading
import zlib
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmwiki import catalog_store as store
from llmwiki import identity
from llmwiki.identity import different_people, fold_name, initials, normalize_key, similarity
from llmwiki.overview import edited_by_hand
from llmwiki.pages import (
    MAX_NAME_BYTES,
    as_list,
    inert_text,
    parse_links,
    render_link,
    safe_name,
    section_lines,
)
from llmwiki.scan import WikiFiles, gc_paused, walk
from llmwiki.vault import GENERATED_PAGES, INDEX_PARTS, Vault

MAX_NAME_WORDS = 6  # longest page name, in words, that mentioned_in recognises in a text
RELATED_LIMIT = 8  # pages a page's `## Related` lists
_TEXT_WORD = re.compile(r"\w[\w'’.\-]*\w|\w")
_POSSESSIVE = re.compile(r"['’]s$")
NOT_APPLIED_HEADING = "Not applied"  # on a source page: locked pages it had facts for
RESERVED_STEMS = frozenset(g.removesuffix(".md") for g in GENERATED_PAGES)
TYPE_ORDER = ("source", "person", "concept", "answer")
ENTITY_TYPES = ("person", "concept")  # the pages a mention can be (not sources or answers)
TYPE_HEADINGS = {
    "source": "Sources",
    "person": "People",
    "concept": "Concepts",
    "answer": "Answers",
}
# the names of the index parts (index_pages.py), folded: "index - concepts - sp"
_PART_NAME = re.compile(
    re.escape(fold_name(INDEX_PARTS.split("/")[1]))
    + f"(?:{'|'.join([*TYPE_HEADINGS.values(), 'Other']).casefold()}) - [\\w-]{{1,40}}"
)


@dataclass(frozen=True)
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


class Catalog:
    """The pages' frontmatter, queried from a catalog database (catalog_store): the vault's
    own through `load`, or one in memory for a catalog built from entries. Safe to share
    between the threads of one ingest."""

    def __init__(self, entries: Iterable[Entry] = (), db: sqlite3.Connection | None = None) -> None:
        self._db = db if db is not None else store.memory()
        store.add_overlay(self._db)
        self._lock = threading.RLock()
        self._cited_total: int | None = None  # source pages anything cites, for `related`
        # the tables queries read: the files' own until something is put, then the views
        # that lay the pages put over them (reading the views costs a check per row)
        self._tables = {t: f"main.{t}" for t in ("pages", "names", "words", "cites")}
        self.unreadable: dict[str, str] = {}  # folded stem -> path of a page that won't parse
        # by file name, the last entry of a name winning, as put would have it
        batch = {e.stem: (_values(e), store.index_terms(e.names)) for e in entries}
        if batch:
            with store.transaction(self._db):
                store.insert_pages(self._db, batch.values())

    @classmethod
    def load(cls, vault: Vault, save_cache: bool = True) -> Catalog:
        """The vault's catalog through its database in .wiki/ (left as it was with
        `save_cache=False`, for commands that must write nothing)."""
        return cls.scan(vault.wiki, vault.state / store.STORE_FILE, save_cache)

    @classmethod
    def scan(
        cls,
        wiki_dir: Path,
        cache: Path | None = None,
        save_cache: bool = True,
        files: WikiFiles | None = None,
    ) -> Catalog:
        """Read every page's frontmatter. Unparseable pages are skipped (lint reports them).

        With a `cache` database, only pages whose size or mtime changed since the last scan
        are parsed again, so a scan of a large wiki costs a stat per page. `files`: the walk
        of wiki/ to use, else a new one.
        """
        found = files if files is not None else walk(wiki_dir)
        with gc_paused():
            if cache is not None and save_cache:
                db = None
                try:
                    db = store.open_store(cache)
                    unreadable = store.sync(db, wiki_dir, found, _row)
                    return cls._made(db, unreadable)
                except sqlite3.Error:
                    if db is not None:
                        db.close()
                    # locked past the timeout, a read-only folder, a full disk: the same
                    # catalog, worked out in memory
            db = store.copy_to_memory(cache) if cache is not None else store.memory()
            return cls._made(db, store.sync(db, wiki_dir, found, _row))

    @classmethod
    def _made(cls, db: sqlite3.Connection, unreadable: dict[str, str]) -> Catalog:
        catalog = cls(db=db)
        catalog.unreadable = unreadable
        return catalog

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        """Run `sql`, whose tables are named "{pages}", "{names}", "{words}", "{cites}"."""
        with self._lock:
            return list(self._db.execute(sql.format(**self._tables), args))

    def _query_in(self, sql: str, values: Iterable[str]) -> list[Any]:
        """Run `sql` + " (?, ...)" over `values` (see _query)."""
        with self._lock:
            return list(store.select_in(self._db, sql.format(**self._tables), values))

    def _entries(self, stems: Iterable[str]) -> dict[str, Entry]:
        rows = self._query_in(f"SELECT {store.PAGE_COLUMNS} FROM {{pages}} WHERE stem IN", stems)
        return {row[0]: _entry(row) for row in rows}

    def __iter__(self) -> Iterator[Entry]:
        return iter(
            [
                _entry(r)
                for r in self._query(f"SELECT {store.PAGE_COLUMNS} FROM {{pages}} ORDER BY rel")
            ]
        )

    def __len__(self) -> int:
        return int(self._query("SELECT count(*) FROM {pages}")[0][0])

    def counts(self) -> dict[str, int]:
        """How many pages of each type."""
        return dict(self._query("SELECT type, count(*) FROM {pages} GROUP BY type"))

    def edited_overviews(self) -> list[str]:
        """The pages whose overview a person rewrote, by file name."""
        return [s for (s,) in self._query("SELECT stem FROM {pages} WHERE edited ORDER BY stem")]

    def with_contradictions(self) -> list[Entry]:
        """The pages whose frontmatter counts contradictions (even none still open), by file
        name."""
        sql = f"SELECT {store.PAGE_COLUMNS} FROM {{pages}} WHERE contradictions IS NOT NULL"
        return sorted((_entry(r) for r in self._query(sql)), key=lambda e: e.stem)

    def not_applied(self) -> dict[str, list[str]]:
        """Locked page -> the source pages whose facts about it were not applied."""
        found: dict[str, list[str]] = {}
        rows = self._query(
            "SELECT stem, not_applied FROM {pages} WHERE not_applied != '[]' ORDER BY rel"
        )
        for stem, targets in rows:
            for target in json.loads(targets):
                found.setdefault(target, []).append(stem)
        return found

    def related(self, stem: str, limit: int = RELATED_LIMIT) -> list[Entry]:
        """People and concepts that share the most specific sources with page `stem`, best
        first: what its `## Related` lists and `wiki graph PAGE` shows. A shared source counts
        less the more pages it names, and a page that nearly every source cites (GitHub,
        Python) counts little: sharing it says nothing (#13.8). A source page is its own
        source: the pages related to it are those citing it."""
        entry = self.get(stem)
        if entry is None:
            return []
        if self._cited_total is None:
            # every source page cited, as read or as put (read from both tables, not the
            # view: its check per row costs ten times the count)
            put = f"SELECT source FROM {store.PUT}cites"
            sql = f"SELECT count(*) FROM (SELECT source FROM main.cites UNION {put})"
            self._cited_total = int(self._query(sql)[0][0])
        total = self._cited_total + 1
        shared: dict[str, float] = {}
        own = entry.sources or ((stem,) if entry.type == "source" else ())
        for source in dict.fromkeys(own):
            cited = [
                s for (s,) in self._query("SELECT stem FROM {cites} WHERE source = ?", (source,))
            ]
            weight = 1.0 / math.log2(2 + len(cited))
            for other in cited:
                if other != stem:
                    shared[other] = shared.get(other, 0.0) + weight
        entries = self._entries(shared)
        ranked = sorted(
            (
                -n * math.log(1 + total / len(entries[s].sources or [s])),
                entries[s].title.casefold(),
                s,
            )
            for s, n in shared.items()
            if entries[s].type in ENTITY_TYPES
        )
        return [entries[s] for _, _, s in ranked[:limit]]

    def index_rows(self, kind: str, initial: str | None = None) -> list[tuple[str, str, str]]:
        """The index's rows of the pages of type `kind` ("other": of no known type), of those
        whose title starts with `initial` (see index_letters) when given, sorted: (sort key,
        file name, line)."""
        where = "grp = ?" if initial is None else "grp = ? AND initial = ?"
        args = (kind,) if initial is None else (kind, initial)
        sql = f"SELECT sortkey, stem, line FROM {{pages}} WHERE {where} ORDER BY sortkey, stem"
        return [tuple(r) for r in self._query(sql, args)]

    def index_groups(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(type, initial) -> (how many pages, a checksum of their rows in the index): what
        tells the index's writer which parts changed."""
        # counted over the files' rows, then corrected for the few put over them: the view's
        # check per row would cost ten times the count
        sql = "SELECT grp, initial, count(*), sum(crc) FROM {} GROUP BY grp, initial"
        replaced = f"main.pages WHERE stem IN (SELECT stem FROM {store.PUT}pages)"
        groups: dict[tuple[str, str], tuple[int, int]] = {}
        for table, sign in (("main.pages", 1), (replaced, -1), (f"{store.PUT}pages", 1)):
            for grp, initial, n, crc in self._query(sql.format(table)):
                count, total = groups.get((grp, initial), (0, 0))
                groups[(grp, initial)] = (count + sign * n, total + sign * crc)
        return {key: value for key, value in groups.items() if value[0] > 0}
        return {(g, i): (n, crc) for g, i, n, crc in self._query(sql)}

    def index_state(self) -> dict[Any, Any]:
        """What the index's writer recorded of the files it last wrote (index_pages.py)."""
        with self._lock:
            return store.load_state(self._db, "index")

    def save_index_state(self, state: dict[Any, Any]) -> None:
        with self._lock:
            store.save_state(self._db, "index", state)

    def without(self, stem: str) -> Catalog:
        """A copy of this catalog in memory, without page `stem` (and without the pages put:
        they are this command's plans)."""
        db = store.memory()
        with self._lock:
            self._db.backup(db)
        with store.transaction(db):
            store.delete_pages(db, [stem])
        return Catalog(db=db)

    def get(self, stem: str) -> Entry | None:
        return self._entries([stem]).get(stem)

    def put(self, entry: Entry, terms: tuple[list[str], list[str]] | None = None) -> None:
        """Add or replace a page. `terms` are its `store.index_terms`, when already known."""
        values = _values(entry)
        terms = terms or store.index_terms(entry.names)
        with self._lock:
            if self._cited_total is not None:  # a source cited for the first time counts
                new = set(entry.sources)
                for table in ("main.cites", f"{store.PUT}cites"):
                    sql = f"SELECT source FROM {table} WHERE source IN"
                    new -= {s for (s,) in self._query_in(sql, entry.sources)}
                self._cited_total += len(new)
            with store.transaction(self._db, shared=False):
                store.insert_pages(self._db, [(values, terms)], store.PUT)
            self._tables = {t: f"v_{t}" for t in self._tables}

    def _stems_named(self, keys: Iterable[str], table: str = "names") -> list[tuple[str, str]]:
        column = "key" if table == "names" else "word"
        return self._query_in(
            f"SELECT {column}, stem FROM {{{table}}} WHERE {column} IN", set(keys)
        )

    def lookup(self, name: str, types: Collection[str] = ()) -> Entry | None:
        """The page whose title, file name or alias is `name` (case and punctuation ignored),
        among the pages of `types` when given.

        A name shared by several pages (two people with the alias "Dean") is ambiguous: None.
        A title or file-name match wins over an alias match.
        """
        key = normalize_key(name)
        entries = self._entries(s for _, s in self._stems_named([key]))
        stems = sorted(s for s, e in entries.items() if not types or e.type in types)
        if not stems:
            return None
        by_title = [s for s in stems if key in (normalize_key(entries[s].title), normalize_key(s))]
        chosen = by_title or stems
        return entries[chosen[0]] if len(chosen) == 1 else None

    def candidates(self, name: str, kind: str, limit: int = 5) -> list[Entry]:
        """Pages that might be `name` without being an exact match, best first, at most `limit`.

        Only pages sharing a word or an acronym with `name`, or named as its plural or
        singular ("LLMs"), are scored, so the cost does not grow with the wiki. Two full
        personal names with different first names never match (see llmwiki.identity).
        """
        key = normalize_key(name)
        plural = {key + "s", key[:-1]} if key.endswith("s") else {key + "s"}
        pool = {s for _, s in self._stems_named({*identity.words(name), *plural}, "words")}
        acronyms = {*initials(name), *(a + "s" for a in initials(name)), *plural}
        pool.update(s for _, s in self._stems_named(acronyms))
        scored: list[tuple[float, str]] = []
        entries = self._entries(pool)
        for stem in sorted(entries):
            entry = entries[stem]
            if entry.type not in (kind, ""):
                continue
            if kind == "person" and different_people(name, entry.title):
                continue
            score = max(similarity(name, n) for n in entry.names)
            if score >= 0.6:
                scored.append((-score, stem))
        return [entries[stem] for _, stem in sorted(scored)[:limit]]

    def mentioned_in(self, text: str, limit: int) -> list[str]:
        """Titles of pages whose title or an alias occurs in `text`, at most `limit`, most
        often mentioned first. Runs of up to MAX_NAME_WORDS words of the text are looked up
        as names, so the work grows with the text, not with the wiki."""
        keys = [normalize_key(_POSSESSIVE.sub("", w)) for w in _TEXT_WORD.findall(text)]
        runs: dict[str, int] = {}
        for i in range(len(keys)):
            joined = ""
            for key in keys[i : i + MAX_NAME_WORDS]:
                joined += key
                if len(joined) >= 3:
                    runs[joined] = runs.get(joined, 0) + 1
        counts: dict[str, int] = {}
        for key, stem in self._stems_named(runs):
            counts[stem] = counts.get(stem, 0) + runs[key]
        ranked = [s for _, s in sorted((-n, s) for s, n in counts.items())[:limit]]
        entries = self._entries(ranked)
        return [entries[s].title for s in ranked]

    def free_stem(self, title: str, kind: str, taken: Collection[str] = ()) -> str:
        """A file name for a new page: the title's safe name, or a qualified one if taken.

        Names must be unique across the whole wiki, compared as macOS and Windows compare
        them (`fold_name`: case and Unicode normalisation ignored), because Obsidian resolves
        a link by file name alone. `taken` holds more folded names that are spoken for: the
        pages a source is about to create.
        """

        def free(name: str) -> bool:
            key = fold_name(name)
            reserved = key in RESERVED_STEMS or _PART_NAME.fullmatch(key) is not None
            used = key in self.unreadable or bool(
                self._query("SELECT 1 FROM {pages} WHERE folded = ? LIMIT 1", (key,))
            )
            return not used and key not in taken and not reserved

        base = safe_name(title)
        if free(base):
            return base
        for n in range(1, 1000):
            suffix = f" ({kind})" if n == 1 else f" ({kind} {n})"
            # cut in bytes, so the suffix always fits and is never cut off again
            room = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
            head = base[:100].encode("utf-8")[:room].decode("utf-8", errors="ignore")
            candidate = safe_name(head.rstrip(" .") + suffix)
            if free(candidate):
                return candidate
        raise ValueError(f"no free file name for {title!r}")


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


def _row(
    wiki_dir: Path, path: Path, meta: dict[str, object], body: str
) -> tuple[tuple[Any, ...], tuple[list[str], list[str]]]:
    """A page file's row in the catalog database, and what it is found by."""
    entry = entry_for(path, wiki_dir, meta, body)
    return _values(entry), store.index_terms(entry.names)


def _values(entry: Entry) -> tuple[Any, ...]:
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


def _entry(row: Sequence[Any]) -> Entry:
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
