"""The catalog: every page's title, type, aliases and summary, read from frontmatter.

It answers the questions ingest asks about the wiki without sending the wiki anywhere: which
page is this name (exact title or alias), which pages might it be (a bounded candidate list),
which existing titles does this source mention, and which file name is free. It also gives
the rows of `index.md` (index_pages.py writes it), which is code-generated from frontmatter.
Each answer is a query on the catalog database (catalog_store.py), so a command reads the rows
it needs, not the whole wiki.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import suppress
from functools import lru_cache
from pathlib import Path
from typing import Any

from llmwiki import catalog_store as store
from llmwiki import identity
from llmwiki.entries import ENTITY_TYPES, Entry, from_row, names_from_row, page_row, row_of
from llmwiki.identity import different_people, fold_name, initials, normalize_key, similarity
from llmwiki.pages import MAX_NAME_BYTES, safe_name
from llmwiki.scan import WikiFiles, gc_paused, walk
from llmwiki.vault import GENERATED_PAGES, INDEX_PARTS, Vault

MAX_NAME_WORDS = 6  # longest page name, in words, that mentioned_in recognises in a text
RELATED_LIMIT = 8  # pages a page's `## Related` lists
_TEXT_WORD = re.compile(r"\w[\w'’.\-]*\w|\w")
_POSSESSIVE = re.compile(r"['’]s$")
RESERVED_STEMS = frozenset(g.removesuffix(".md") for g in GENERATED_PAGES)
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


NameRuns = dict[str, int]  # the key of a run of words of a text -> how often it occurs


def name_runs(text: str) -> NameRuns:
    """Each run of up to MAX_NAME_WORDS words of `text` as a name's key, with its count."""
    keys = [_word_key(w) for w in _TEXT_WORD.findall(text)]
    runs: NameRuns = {}
    for i in range(len(keys)):
        joined = ""
        for key in keys[i : i + MAX_NAME_WORDS]:
            joined += key
            if len(joined) >= 3:
                runs[joined] = runs.get(joined, 0) + 1
    return runs


@lru_cache(maxsize=65536)
def _word_key(word: str) -> str:
    # a text repeats its words, and every source repeats the language's
    return normalize_key(_POSSESSIVE.sub("", word))


class Catalog:
    """The pages' frontmatter, queried from a catalog database (catalog_store): the vault's
    own through `load`, or one in memory for a catalog built from entries. Safe to share
    between the threads of one ingest."""

    def __init__(self, entries: Iterable[Entry] = (), db: sqlite3.Connection | None = None) -> None:
        self._db = db if db is not None else store.memory()
        store.add_overlay(self._db)
        self._lock = threading.RLock()
        self._cited_total: int | None = None  # source pages anything cites, for `related`
        # the pages queries read: the files' own until something is put, then the view that
        # lays the pages put over them (reading it costs a check per row)
        self._pages = "main.pages"
        self.unreadable: dict[str, str] = {}  # folded stem -> path of a page that won't parse
        self._known: dict[str, Entry | None] = {}  # the entries read so far, by file name
        self._put: set[str] = set()  # the file names of the pages put
        self._cited: set[str] = set()  # source pages known to be cited (see related)
        # every name's key, when with_name_keys loaded them (mentioned_in looks up a source's
        # every run of words: probing a set first spares the database all but the few that
        # match)
        self._name_keys: set[str] | None = None
        self._files_groups: list[Any] | None = None  # index_groups of the files' rows
        # by file name, the last entry of a name winning, as put would have it
        batch = {e.stem: (row_of(e), store.index_terms(e.names)) for e in entries}
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
                    unreadable = store.sync(db, wiki_dir, found, page_row)
                    return cls._made(db, unreadable)
                except sqlite3.Error:
                    if db is not None:
                        db.close()
                    # locked past the timeout, a read-only folder, a full disk: the same
                    # catalog, worked out in memory
            if cache is not None and not save_cache:
                as_it_is = store.read_only(cache, found)
                if as_it_is is not None:
                    return cls._made(as_it_is, {})
            db = store.copy_to_memory(cache) if cache is not None else store.memory()
            return cls._made(db, store.sync(db, wiki_dir, found, page_row))

    @classmethod
    def _made(cls, db: sqlite3.Connection, unreadable: dict[str, str]) -> Catalog:
        catalog = cls(db=db)
        catalog.unreadable = unreadable
        return catalog

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        """Run `sql`, in which "{pages}" names the pages (see _pages)."""
        with self._lock:
            return list(self._db.execute(sql.replace("{pages}", self._pages), args))

    def _query_in(self, sql: str, values: Iterable[str]) -> list[Any]:
        """Run `sql` + " (?, ...)" over `values`."""
        with self._lock:
            return list(store.select_in(self._db, sql, values))

    def _entries(self, stems: Iterable[str]) -> dict[str, Entry]:
        # Entries read once are kept: the same pages are asked for again and again while a
        # source is merged (dozens of queries a source saved), and only `put` changes them.
        wanted = set(stems)
        with self._lock:
            missing = wanted - self._known.keys()
            if missing:  # not put (put keeps its entry here): the files' rows say
                sql = f"SELECT {store.PAGE_COLUMNS} FROM main.pages WHERE stem IN"
                self._known.update(dict.fromkeys(missing))  # no such page, until one is put
                self._known.update((row[0], from_row(row)) for row in self._query_in(sql, missing))
            found = ((s, self._known[s]) for s in wanted)
            return {s: entry for s, entry in found if entry is not None}

    def __iter__(self) -> Iterator[Entry]:
        return iter(
            [
                from_row(r)
                for r in self._query(f"SELECT {store.PAGE_COLUMNS} FROM {{pages}} ORDER BY rel")
            ]
        )

    def names_only(self) -> list[tuple[Entry, int]]:
        """Every page as an entry with only its names and type (the rest left empty), with
        how many sources it cites: what lint's checks over the whole wiki ask, in a fifth of
        the memory of whole entries (150 MB at 100,000 pages)."""
        sql = "SELECT stem, title, type, aliases, sources FROM {pages} ORDER BY rel"
        with self._lock:
            rows = self._db.execute(sql.replace("{pages}", self._pages))
            return [names_from_row(row) for row in rows]

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
        return sorted((from_row(r) for r in self._query(sql)), key=lambda e: e.stem)

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
        citing: dict[str, list[str]] = {source: [] for source in own}
        for source, other in self._stems_named(citing, "cites"):  # one query for them all
            citing[source].append(other)
        self._cited.update(s for s, cited in citing.items() if cited)
        for cited in citing.values():
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
        if self._files_groups is None:  # the files' rows change only in a scan
            self._files_groups = self._query(sql.format("main.pages"))
        replaced = f"main.pages WHERE stem IN (SELECT stem FROM {store.PUT}pages)"
        groups: dict[tuple[str, str], tuple[int, int]] = {}
        counted = [(self._files_groups, 1)]
        for table, sign in ((replaced, -1), (f"{store.PUT}pages", 1)):
            counted.append((self._query(sql.format(table)), sign))
        for rows, sign in counted:
            for grp, initial, n, crc in rows:
                count, total = groups.get((grp, initial), (0, 0))
                groups[(grp, initial)] = (count + sign * n, total + sign * crc)
        return {key: value for key, value in groups.items() if value[0] > 0}

    def state(self, key: str) -> dict[Any, Any]:
        """What a command recorded beside the catalog under `key`: "index", the index's writer
        (the files it last wrote); "duplicates", lint (the likely duplicates it found)."""
        with self._lock:
            return store.load_state(self._db, key)

    def save_state(self, key: str, value: dict[Any, Any]) -> None:
        with self._lock, suppress(sqlite3.Error):
            # derived state: unrecorded (a read-only database), the next run works it out
            store.save_state(self._db, key, value)

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
        if entry.stem in self._put and self._known.get(entry.stem) == entry:
            return  # put again unchanged (ingest puts a page before and after its overview)
        values = row_of(entry)
        terms = terms or store.index_terms(entry.names)
        with self._lock:
            new = set(entry.sources) - self._cited
            if self._cited_total is not None and new:  # a source cited for the first time
                for table in ("main.cites", f"{store.PUT}cites"):
                    sql = f"SELECT source FROM {table} WHERE source IN"
                    new -= {s for (s,) in self._query_in(sql, new)}
                self._cited_total += len(new)
            self._cited.update(entry.sources)
            with store.transaction(self._db, shared=False):
                # a page put for the first time has no rows of its own to replace
                fresh = entry.stem not in self._put
                store.insert_pages(self._db, [(values, terms)], store.PUT, fresh=fresh)
            self._known[entry.stem] = entry
            self._put.add(entry.stem)
            if self._name_keys is not None:
                self._name_keys.update(terms[0])
            self._pages = store.PAGES_VIEW

    def with_name_keys(self) -> Catalog:
        """This catalog with every name's key loaded, which mentioned_in then probes before
        the database: for a command that will look for names in many texts (87 ms at 100,000
        pages, repaid after a few sources)."""
        with self._lock:
            if self._name_keys is None:
                sql = f"SELECT key FROM main.names UNION SELECT key FROM {store.PUT}names"
                self._name_keys = {k for (k,) in self._db.execute(sql)}
        return self

    def _stems_named(self, keys: Iterable[str], table: str = "names") -> list[tuple[str, str]]:
        """(key, stem) for each of `keys` found in `table` (names, words or cites)."""
        column = {"names": "key", "words": "word", "cites": "source"}[table]
        keys = set(keys)
        # the files' rows and the pages put, each through its own index: the view would
        # check every row against the pages put, doubling the cost of the commonest query
        sql = "SELECT {0}, stem FROM {1} WHERE {0} IN"
        found = self._query_in(sql.format(column, f"main.{table}"), keys)
        if self._put:
            found = [row for row in found if row[1] not in self._put]
            found += self._query_in(sql.format(column, f"{store.PUT}{table}"), keys)
        return found

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

    def mentioned_in(self, text: str | NameRuns, limit: int) -> list[str]:
        """Titles of pages whose title or an alias occurs in `text`, at most `limit`, most
        often mentioned first. Runs of up to MAX_NAME_WORDS words of the text are looked up
        as names (`name_runs`, which a caller asking several catalogs makes once), so the
        work grows with the text, not with the wiki."""
        runs = name_runs(text) if isinstance(text, str) else text
        known = self._name_keys  # (see with_name_keys) else every run is asked of the database
        counts: dict[str, int] = {}
        for key, stem in self._stems_named(
            runs if known is None else (k for k in runs if k in known)
        ):
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
