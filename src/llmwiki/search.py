"""Page retrieval: a SQLite FTS5 full-text index of the wiki's pages, ranked with BM25.

Only pages are indexed (never raw/): the wiki is what answers are built from and cited. The
index lives in `.wiki/search.sqlite` and is derived state: delete it and the next search builds
it again. Every search first brings it up to date with the files, reading again only the pages
whose modification time or size changed and dropping the deleted ones, so after an ingest a
search costs one directory walk plus the pages that ingest touched.

Titles weigh more than aliases, and aliases more than the body; links in the body are indexed as
the text Obsidian shows for them. Questions are reduced to their content words, each quoted for
FTS5 (search_query.py), so no question can be read as query syntax.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmwiki.errors import PageError, SearchError
from llmwiki.identity import normalize_key
from llmwiki.pages import as_list, read, unlink
from llmwiki.scan import WikiFiles, walk
from llmwiki.search_query import STOP_WORDS, Query, fold_word, parse_query, quote
from llmwiki.vault import Vault

__all__ = [
    "STOP_WORDS",
    "Hit",
    "Query",
    "SearchError",
    "SearchIndex",
    "SyncStats",
    "parse_query",
    "search",
]

INDEX_FILE = "search.sqlite"
# Bump when the tables or what goes into them change: an older index is then rebuilt.
SCHEMA_VERSION = 2
# BM25 column weights: a word in the title says far more about a page than one in its body.
TITLE_WEIGHT, ALIASES_WEIGHT, BODY_WEIGHT = 10.0, 5.0, 1.0
SNIPPET_TOKENS = 16
# BM25's best pages re-ranked by how much of the question they hold
CANDIDATES_PER_HIT = 3
COMMON_TERM_PAGES = 10_000  # see _common
MAX_NAME_WORDS = 6  # longest page name, in words, recognised in a question
MIN_NAME_CHARS = 3  # "AI", "Go": too short to say a question is about that page
# A one-word name is evidence only when the word is rare in the wiki: a question that says
# "found" is not about a page titled "Found" (the pages holding it: at most this share, or
# COMMON_WORD_MIN pages in a small wiki)
COMMON_WORD_SHARE, COMMON_WORD_MIN = 0.01, 5
NAMED_BONUS = 1.5

# Words as names are written: "KV-Lite", "GPT-3.5", "tinyformer's" (the possessive is dropped)
_NAME_WORD_RE = re.compile(r"\w[\w'’.\-]*\w|\w")
_POSSESSIVE_RE = re.compile(r"['’]s$")


@dataclass(frozen=True)
class Hit:
    """A page that matches a question, best first. `score` is BM25 (higher is better);
    `matched` is how many of the question's `terms` the page contains, and `coverage` the
    share of the question's weight they carry (a term weighs its rarity in the wiki, so
    "the page holds `tinyformer`" counts for more than "the page holds `lines`"). `named`:
    the question names the page by its title, file name or an alias."""

    stem: str
    title: str
    type: str
    rel: str  # path under wiki/, with forward slashes
    score: float
    snippet: str
    matched: int
    terms: int
    coverage: float = 0.0
    named: bool = False


@dataclass(frozen=True)
class SyncStats:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> int:
        return self.added + self.updated + self.removed


# --- the index ---------------------------------------------------------------------------------

_SCHEMA = (
    """CREATE TABLE docs (
        id INTEGER PRIMARY KEY,
        rel TEXT NOT NULL UNIQUE,
        stem TEXT NOT NULL,
        mtime_ns INTEGER NOT NULL,
        size INTEGER NOT NULL
    )""",
    "CREATE INDEX docs_stem ON docs (stem)",
    # every name a page goes by (title, file name, aliases) as `normalize_key` compares names
    "CREATE TABLE names (key TEXT NOT NULL, doc INTEGER NOT NULL)",
    "CREATE INDEX names_key ON names (key)",
    "CREATE INDEX names_doc ON names (doc)",
    """CREATE VIRTUAL TABLE pages USING fts5 (
        title, aliases, body, stem UNINDEXED, type UNINDEXED, rel UNINDEXED,
        tokenize = 'porter unicode61 remove_diacritics 2'
    )""",
    # a persistent rank function lets FTS5 serve `ORDER BY rank LIMIT n` without a full sort
    "INSERT INTO pages (pages, rank) VALUES "
    f"('rank', 'bm25({TITLE_WEIGHT}, {ALIASES_WEIGHT}, {BODY_WEIGHT})')",
)


# a hit's columns, with a snippet around the words matched
_SELECT_HITS = (
    f"SELECT rowid, stem, title, type, rel, rank, snippet(pages, -1, '', '', '…', {SNIPPET_TOKENS})"
    " FROM pages WHERE pages MATCH ?"
)


def _common(query: Query, frequencies: Sequence[int], pages: int) -> set[str]:
    """The words of `query` found on more than COMMON_TERM_PAGES pages and a tenth of them.
    BM25 ranks every page a query's words match: at 100,000 pages a word on 65,000 of them
    made a search cost a second, for a word that weighs almost nothing (its rarity is what
    weighs; FTS5 floors it at 1e-6 on more than half the pages)."""
    limit = max(COMMON_TERM_PAGES, pages / 10)
    return {t for t, df in zip(query.terms, frequencies, strict=True) if df > limit}


def _without(query: Query, common: set[str]) -> Query:
    """`query` without the words of `common`, and the phrases made only of them. The pages
    found are still scored by every word they hold (`coverage`)."""
    terms = tuple(t for t in query.terms if t not in common)
    phrases = tuple(p for p in query.phrases if not set(p.split()) <= common)
    return Query(terms, phrases)


# index file -> the walk of wiki/ it was last brought in step with, by this process
_IN_STEP: dict[Path, WikiFiles | None] = {}


class SearchIndex:
    """The FTS5 index of one vault's pages. Not thread-safe: one per thread.

    Use as a context manager, or call close().
    """

    def __init__(self, vault: Vault, path: Path | None = None) -> None:
        self.vault = vault
        self.path = path or vault.state / INDEX_FILE
        self._db = self._open()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- opening -------------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(2):
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                self._ensure_schema(db)
                return db
            except sqlite3.OperationalError as exc:
                db.close()
                if "fts5" in str(exc):
                    raise SearchError(
                        "this Python's SQLite has no FTS5 full-text search; install a Python "
                        "built with a standard SQLite (python.org, Homebrew and most Linux "
                        "distributions are)"
                    ) from None
                raise SearchError(f"cannot use the search index {self.path}: {exc}") from None
            except sqlite3.DatabaseError:
                # Not a database any more (a torn copy, a disk error): it is derived state, so
                # rebuild it from the pages instead of failing.
                db.close()
                if attempt:
                    raise
                self.path.unlink(missing_ok=True)
        raise AssertionError("unreachable")

    @staticmethod
    def _ensure_schema(db: sqlite3.Connection) -> None:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if version == SCHEMA_VERSION:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            (version,) = db.execute("PRAGMA user_version").fetchone()
            if version != SCHEMA_VERSION:  # another process may have built it meanwhile
                db.execute("DROP TABLE IF EXISTS pages")
                db.execute("DROP TABLE IF EXISTS docs")
                db.execute("DROP TABLE IF EXISTS names")
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # -- keeping it current ----------------------------------------------------------------------

    def sync(self, files: WikiFiles | None = None) -> SyncStats:
        """Bring the index up to date with the pages on disk (`files`: the walk of wiki/ to
        use, else a new one)."""
        if files is not None and _IN_STEP.get(self.path) is files:
            # this process brought the index in step with this very walk, and a process that
            # stays up (live_files.py) gives the same walk only while nothing changed: reading
            # 100,000 rows to compare them would cost ten times the search
            (count,) = self._db.execute("SELECT count(*) FROM docs").fetchone()
            if count == len(files.pages):  # not rebuilt meanwhile (a new schema, a damaged file)
                return SyncStats(unchanged=count)
        stats = self._sync(files if files is not None else walk(self.vault.wiki))
        _IN_STEP[self.path] = files
        return stats

    def _sync(self, files: WikiFiles) -> SyncStats:
        on_disk = files.pages
        known = {
            rel: (doc_id, mtime, size)
            for doc_id, rel, mtime, size in self._db.execute(
                "SELECT id, rel, mtime_ns, size FROM docs"
            )
        }
        removed = [known[rel][0] for rel in known.keys() - on_disk.keys()]
        changed = [
            rel for rel, stat in on_disk.items() if rel not in known or known[rel][1:] != stat
        ]
        if not removed and not changed:
            return SyncStats(unchanged=len(on_disk))
        added = updated = 0
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for doc_id in removed:
                    self._drop(doc_id)
                for rel in changed:
                    if rel in known:
                        self._drop(known[rel][0])
                        updated += 1
                    else:
                        added += 1
                    self._add(rel, on_disk[rel])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:  # e.g. locked for longer than the timeout
            raise SearchError(f"cannot update the search index {self.path}: {exc}") from None
        return SyncStats(added, updated, len(removed), len(on_disk) - len(changed))

    def _drop(self, doc_id: int) -> None:
        self._db.execute("DELETE FROM pages WHERE rowid = ?", (doc_id,))
        self._db.execute("DELETE FROM docs WHERE id = ?", (doc_id,))
        self._db.execute("DELETE FROM names WHERE doc = ?", (doc_id,))

    def _add(self, rel: str, stat: tuple[int, int]) -> None:
        path = self.vault.wiki / rel
        stem = Path(rel).stem
        try:
            page = read(path)
        except FileNotFoundError:
            return  # deleted since the scan: the next sync will not see it either
        except (PageError, UnicodeDecodeError, OSError):
            # Recorded without text, so a broken page is not re-read on every search until it
            # changes (`wiki lint` is where it gets reported).
            page = None
        cursor = self._db.execute(
            "INSERT INTO docs (rel, stem, mtime_ns, size) VALUES (?, ?, ?, ?)",
            (rel, stem, *stat),
        )
        if page is None:
            return
        # A link names the file, so the file name is searchable too when it is not the title.
        names = as_list(page.meta.get("aliases")) + ([stem] if stem != page.title else [])
        keys = {normalize_key(name) for name in [page.title, *names]}
        self._db.executemany(
            "INSERT INTO names (key, doc) VALUES (?, ?)",
            [(key, cursor.lastrowid) for key in sorted(keys) if len(key) >= MIN_NAME_CHARS],
        )
        summary = str(page.meta.get("summary") or "")
        self._db.execute(
            "INSERT INTO pages (rowid, title, aliases, body, stem, type, rel)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                cursor.lastrowid,
                page.title,
                " ; ".join(names),
                unlink(f"{summary}\n\n{page.body}" if summary else page.body),
                stem,
                page.type,
                rel,
            ),
        )

    # -- querying --------------------------------------------------------------------------------

    def search(
        self, question: str, limit: int = 10, *, sync: bool = True, page_type: str | None = None
    ) -> list[Hit]:
        """The pages best matching `question`, best first, at most `limit`.

        Pages holding more of the question's weight come first (an OR query alone lets one
        rare word outrank a page naming them all); a page the question names comes first
        among equals; BM25 orders the rest. With `page_type`, only pages of that type.
        """
        if sync:
            self.sync()
        query = parse_query(question)
        if not query.terms or limit < 1:
            return []
        try:
            pages, frequencies = self._frequencies(query.terms)
            everywhere = _common(query, frequencies, pages)
            if everywhere and everywhere.issuperset(query.terms):
                # Every word is on most pages, so BM25 would order 65,000 matches by noise,
                # in 240 ms at 100,000 pages. What such words can single out is the pages
                # they name: their titles and aliases; the bodies only if those are too few.
                # (Their scores there, on far fewer pages, outweigh any on the bodies.)
                wanted = f"{{title aliases}}: ({query.expression})"
                rows = self._ranked(wanted, page_type, limit * CANDIDATES_PER_HIT)
                if len(rows) < limit:
                    wanted, seen = query.expression, {row[0] for row in rows}
                    more = self._ranked(wanted, page_type, limit * CANDIDATES_PER_HIT)
                    rows += [row for row in more if row[0] not in seen]
            else:
                wanted = _without(query, everywhere).expression
                rows = self._ranked(wanted, page_type, limit * CANDIDATES_PER_HIT)
            names = self._named(question, page_type)
            missing = sorted(names.keys() - {row[0] for row in rows})
            if missing:  # named pages BM25 ranked too low to fetch: they are relevant anyway
                marks = ",".join("?" * len(missing))
                rows += self._db.execute(
                    f"{_SELECT_HITS} AND rowid IN ({marks})", (wanted, *missing)
                ).fetchall()
            # a page named only by common words (FTS5 ranks every match before it filters
            # `rowid IN`, but looks up `rowid = ?`)
            for rowid in sorted(set(missing) - {row[0] for row in rows}):
                rows += self._db.execute(
                    f"{_SELECT_HITS} AND rowid = ?", (query.expression, rowid)
                ).fetchall()
            matched = self._matched(query.terms, [row[0] for row in rows])
        except sqlite3.OperationalError as exc:
            raise SearchError(f"search failed ({exc}); delete {self.path} to rebuild it") from None
        weights = [math.log(1 + (pages - df + 0.5) / (df + 0.5)) for df in frequencies]
        total = sum(weights) or 1.0
        common = max(COMMON_WORD_MIN, COMMON_WORD_SHARE * pages)
        position = {term: i for i, term in enumerate(query.terms)}

        def named(rowid: int) -> bool:
            for words in names.get(rowid, ()):
                if len(words) > 1:
                    return True
                i = position.get(fold_word(words[0]))
                if i is not None and frequencies[i] <= common:
                    return True
            return False

        hits = [
            Hit(
                stem=stem,
                title=title,
                type=kind,
                rel=rel,
                score=-rank,
                snippet=" ".join(snippet.split()),
                matched=len(matched[rowid]),
                terms=len(query.terms),
                coverage=sum(weights[i] for i in matched[rowid]) / total,
                named=named(rowid),
            )
            for rowid, stem, title, kind, rel, rank, snippet in rows
        ]
        # BM25 alone lets a page repeating one word outrank the page the question is about;
        # weighting it by the share of the question a page holds (squared, so that share
        # counts most) fixes that, and a page the question names is preferred.
        hits.sort(
            key=lambda h: (-(h.coverage**2) * h.score * (NAMED_BONUS if h.named else 1), h.stem)
        )
        return hits[:limit]

    def _ranked(self, expression: str, page_type: str | None, limit: int) -> list[Any]:
        """The best `limit` pages matching `expression` (of `page_type`, if given)."""
        return self._db.execute(
            f"{_SELECT_HITS} AND (? IS NULL OR type = ?) ORDER BY rank LIMIT ?",
            (expression, page_type, page_type, limit),
        ).fetchall()

    def _named(
        self, question: str, page_type: str | None = None
    ) -> dict[int, list[tuple[str, ...]]]:
        """The pages `question` names (of `page_type`, if given), each with the runs of words
        naming it: runs of the question's words (possessives dropped, plurals tried singular)
        that are a page's title, file name or alias as `normalize_key` compares names."""
        words = [_POSSESSIVE_RE.sub("", w) for w in _NAME_WORD_RE.findall(question)]
        keys = [normalize_key(w) for w in words]
        wanted: dict[str, tuple[str, ...]] = {}
        for i in range(len(keys)):
            joined = ""
            for j in range(i, min(i + MAX_NAME_WORDS, len(keys))):
                joined += keys[j]
                if len(joined) < MIN_NAME_CHARS or (i == j and words[i].casefold() in STOP_WORDS):
                    continue
                run = tuple(words[i : j + 1])
                wanted.setdefault(joined, run)
                if joined.endswith("s") and len(joined) > MIN_NAME_CHARS:
                    wanted.setdefault(joined[:-1], run)  # "Encoders" names "Encoder"
                    if joined.endswith("es"):
                        wanted.setdefault(joined[:-2], run)
        found: dict[int, list[tuple[str, ...]]] = {}
        chunk = sorted(wanted)
        typed = page_type is not None
        join = " JOIN pages ON pages.rowid = doc AND pages.type = ?" if typed else ""
        for start in range(0, len(chunk), 500):  # SQLite caps the number of parameters
            part = chunk[start : start + 500]
            marks = ",".join("?" * len(part))
            for key, doc in self._db.execute(
                f"SELECT key, doc FROM names{join} WHERE key IN ({marks})",
                [page_type, *part] if typed else part,
            ):
                found.setdefault(doc, []).append(wanted[key])
        return found

    def _frequencies(self, terms: Sequence[str]) -> tuple[int, list[int]]:
        """The number of pages, and how many of them hold each of `terms`."""
        (pages,) = self._db.execute("SELECT count(*) FROM docs").fetchone()
        counts = []
        for term in terms:
            (df,) = self._db.execute(
                "SELECT count(*) FROM pages WHERE pages MATCH ?", (quote(term),)
            ).fetchone()
            counts.append(int(df))
        return int(pages), counts

    def _matched(self, terms: Sequence[str], rowids: Sequence[int]) -> dict[int, set[int]]:
        """Which of `terms` (by position) each of the `rowids` pages contains (one lookup per
        term)."""
        found: dict[int, set[int]] = {rowid: set() for rowid in rowids}
        if not rowids:
            return found
        marks = ",".join("?" * len(rowids))
        for position, term in enumerate(terms):
            for (rowid,) in self._db.execute(
                f"SELECT rowid FROM pages WHERE pages MATCH ? AND rowid IN ({marks})",
                (quote(term), *rowids),
            ):
                found[rowid].add(position)
        return found

    def stems(self) -> dict[str, str]:
        """Every indexed page: stem -> path under wiki/ (as of the last sync)."""
        return {stem: rel for stem, rel in self._db.execute("SELECT stem, rel FROM docs")}

    def paths(self, stems: Iterable[str]) -> dict[str, str]:
        """Path under wiki/ of each of `stems` that is a page (as of the last sync)."""
        wanted = list(dict.fromkeys(stems))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 500):  # SQLite caps the number of parameters
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for stem, rel in self._db.execute(
                f"SELECT stem, rel FROM docs WHERE stem IN ({marks}) ORDER BY rel", chunk
            ):
                found.setdefault(stem, rel)
        return found

    def __len__(self) -> int:
        (count,) = self._db.execute("SELECT count(*) FROM docs").fetchone()
        return int(count)


def search(vault: Vault, question: str, limit: int = 10) -> list[Hit]:
    """Update the vault's index and return the pages best matching `question`."""
    with SearchIndex(vault) as index:
        return index.search(question, limit)
