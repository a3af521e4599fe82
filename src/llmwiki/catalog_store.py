"""Where the catalog lives: one SQLite database, `.wiki/catalog.sqlite`, kept in step with
the pages by what changed.

Each page's frontmatter (title, type, aliases, summary, sources, ...) is one row of `pages`,
with the names it answers to in `names`, the words of those names in `words` and the source
pages it cites in `cites`, so a lookup reads the rows it needs instead of the whole wiki. A
sync compares each file's mtime and size with those recorded when it was last read (one stat
per page, as every command walks wiki/ anyway) and parses, inserts and deletes only the pages
that changed: a warm command over 100,000 pages loads one blob of stats and writes nothing.
The files stay the truth: a missing, damaged or older-version database is rebuilt from them,
and a command that must write nothing reads it as it is when it is in step with them, else
works on a copy in memory.

A command's own changes (`Catalog.put`: the pages an ingest plans, then writes) go to tables
of its connection alone (see add_overlay), never to the shared ones.
"""

from __future__ import annotations

import json
import marshal
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from llmwiki import identity
from llmwiki.errors import PageError
from llmwiki.identity import fold_name, initials, normalize_key
from llmwiki.pages import read
from llmwiki.scan import WikiFiles, walk

STORE_FILE = "catalog.sqlite"
_OLD_CACHE = "catalog.json"  # what versions before this one kept (35 MB at 100,000 pages)
# the layout below, and the rules of `index_terms` (llmwiki.identity's words and initials):
# rows kept under other rules would leave a page unfound by a name it now answers to, so a
# database of another version is rebuilt
SCHEMA_VERSION = 1
_SCHEMA = (
    # "files": the walk's view of every page file when it was last read, {rel: (mtime_ns,
    # size)} in one marshal blob: a warm command loads and compares it whole in milliseconds,
    # where 100,000 rows would take a quarter of a second
    "CREATE TABLE state (key TEXT PRIMARY KEY, value BLOB NOT NULL)",
    # one row per file name; `grp`, `sortkey`, `initial` and `line` are the page's place in
    # the index (index_pages.py), `crc` a checksum of them that tells which part changed
    """CREATE TABLE pages (
        stem TEXT PRIMARY KEY, rel TEXT NOT NULL, folded TEXT NOT NULL, title TEXT NOT NULL,
        type TEXT NOT NULL, aliases TEXT NOT NULL, summary TEXT NOT NULL, date TEXT NOT NULL,
        contradictions INTEGER, sources TEXT NOT NULL, edited INTEGER NOT NULL,
        not_applied TEXT NOT NULL, grp TEXT NOT NULL, sortkey TEXT NOT NULL, line TEXT NOT NULL,
        initial TEXT NOT NULL, crc INTEGER NOT NULL
    )""",
    "CREATE INDEX pages_rel ON pages (rel)",
    "CREATE INDEX pages_folded ON pages (folded)",
    "CREATE INDEX pages_order ON pages (grp, sortkey, stem)",
    "CREATE INDEX pages_group ON pages (grp, initial, crc)",
    # what `wiki status` counts, each read from an index instead of the rows
    "CREATE INDEX pages_type ON pages (type)",
    "CREATE INDEX pages_edited ON pages (stem) WHERE edited",
    "CREATE INDEX pages_not_applied ON pages (rel) WHERE not_applied != '[]'",
    "CREATE INDEX pages_contradictions ON pages (stem) WHERE contradictions IS NOT NULL",
    "CREATE TABLE names (key TEXT NOT NULL, stem TEXT NOT NULL)",
    "CREATE INDEX names_key ON names (key)",
    "CREATE INDEX names_stem ON names (stem)",
    "CREATE TABLE words (word TEXT NOT NULL, stem TEXT NOT NULL)",
    "CREATE INDEX words_word ON words (word)",
    "CREATE INDEX words_stem ON words (stem)",
    "CREATE TABLE cites (source TEXT NOT NULL, stem TEXT NOT NULL)",
    "CREATE INDEX cites_source ON cites (source)",
    "CREATE INDEX cites_stem ON cites (stem)",
)
_TABLES = ("state", "pages", "names", "words", "cites")
# a page's row in `pages` (PAGE_COLUMNS), and what it is found by (see index_terms)
Item = tuple[tuple[Any, ...], tuple[list[str], list[str]]]
PAGE_COLUMNS = (
    "stem, rel, folded, title, type, aliases, summary, date, contradictions, sources, edited, "
    "not_applied, grp, sortkey, line, initial, crc"
)


def index_terms(names: Iterable[str]) -> tuple[list[str], list[str]]:
    """What a page is found by: its normalized names, and each word of its names plus their
    acronyms ("GRPO"). Sorted, so lookups are deterministic."""
    names = tuple(names)
    keys = {normalize_key(n) for n in names} - {""}
    terms = {w for n in names for w in identity.words(n)}
    terms.update(a for n in names for a in initials(n))
    return sorted(keys), sorted(terms)


def memory() -> sqlite3.Connection:
    """An empty catalog database in memory (a catalog built from entries, or a read-only
    one)."""
    db = _connect(":memory:")
    _create(db)
    return db


def open_store(path: Path) -> sqlite3.Connection:
    """The catalog database at `path`, created or rebuilt empty when missing, damaged or of
    another version. Raises sqlite3.Error when it cannot be used at all (a read-only folder,
    a lock held past the timeout): the caller then works in memory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / _OLD_CACHE).unlink(missing_ok=True)  # this database replaces it
    for attempt in range(2):
        db = _connect(str(path))
        try:
            (version,) = db.execute("PRAGMA user_version").fetchone()
            if version != SCHEMA_VERSION:
                with transaction(db):
                    (version,) = db.execute("PRAGMA user_version").fetchone()
                    if version != SCHEMA_VERSION:  # another process may have built it meanwhile
                        for table in _TABLES:
                            db.execute(f"DROP TABLE IF EXISTS {table}")
                        _create(db)
            return db
        except sqlite3.OperationalError:
            db.close()
            raise
        except sqlite3.DatabaseError:
            # not a database any more (a torn copy, a disk error): derived state, so start
            # again from the files rather than fail
            db.close()
            if attempt:
                raise
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    raise AssertionError("unreachable")


def read_only(path: Path, files: WikiFiles) -> sqlite3.Connection | None:
    """The database at `path` opened read-only, if it is in step with `files` (the walk of
    wiki/): a command that must write nothing then needs no copy. None otherwise."""
    db = _open_read_only(path)
    try:
        if db is not None and _files(db) == files.pages:
            return db
    except sqlite3.Error:
        pass
    if db is not None:
        db.close()
    return None


def copy_to_memory(path: Path) -> sqlite3.Connection:
    """A copy in memory of the database at `path` (for a command that must write nothing),
    or an empty one when it is missing or unusable."""
    db = memory()
    source = _open_read_only(path)
    if source is None:
        return db
    try:
        source.backup(db)
    except sqlite3.Error:
        db.close()
        return memory()
    finally:
        source.close()
    return db


def _open_read_only(path: Path) -> sqlite3.Connection | None:
    """The database at `path` opened read-only, if it exists and is of this version."""
    if not path.exists():
        return None
    try:
        db = sqlite3.connect(
            f"file:{path}?mode=ro",
            uri=True,
            timeout=30,
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.Error:
        return None
    try:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if version == SCHEMA_VERSION:
            return db
    except sqlite3.Error:
        pass
    db.close()
    return None


def _connect(target: str) -> sqlite3.Connection:
    db = sqlite3.connect(target, timeout=30, isolation_level=None, check_same_thread=False)
    # derived state: after a power cut it is checked (user_version, integrity errors) and
    # rebuilt, so durability is not worth an fsync per change
    db.execute("PRAGMA synchronous = OFF")
    if target != ":memory:":
        db.execute("PRAGMA journal_mode = WAL")
    return db


def _create(db: sqlite3.Connection) -> None:
    for statement in _SCHEMA:
        db.execute(statement)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@contextmanager
def transaction(db: sqlite3.Connection, shared: bool = True) -> Iterator[None]:
    """One write transaction. Writing the `shared` tables, the lock is taken at its start,
    so that what it reads is what it writes over even with another process syncing beside
    it; a connection's own tables (PUT) need no lock."""
    db.execute("BEGIN IMMEDIATE" if shared else "BEGIN")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def sync(
    db: sqlite3.Connection, wiki_dir: Path, files: WikiFiles | None, row: Any
) -> dict[str, str]:
    """Bring `db` in step with the pages under `wiki_dir` (`files`: the walk to use, else a
    new one); `row(wiki_dir, path, meta, body)` makes a page's row and terms (Catalog's
    rules). Returns the pages that would not parse: folded file name -> path (they stay out
    of the catalog, and are tried again next time)."""
    on_disk = dict((files if files is not None else walk(wiki_dir)).pages)
    (seen,) = db.execute("PRAGMA data_version").fetchone()
    known = _files(db)
    if known == on_disk:
        return {}
    unreadable: dict[str, str] = {}
    with transaction(db):
        # what the last writer recorded, now that no other one can write: read again only
        # if another connection wrote since (0.06 s at 100,000 pages)
        if db.execute("PRAGMA data_version").fetchone()[0] != seen:
            known = _files(db)
        changed = sorted(rel for rel, stat in on_disk.items() if known.get(rel) != stat)
        gone = {*changed, *(known.keys() - on_disk.keys())}
        stems = [s for (s,) in select_in(db, "SELECT stem FROM pages WHERE rel IN", gone)]
        delete_pages(db, stems)
        # a first build has nothing to look up or replace: a query per page saved
        empty = db.execute("SELECT 1 FROM pages LIMIT 1").fetchone() is None
        inserted: set[str] = set()
        batch: dict[str, Item] = {}  # inserted by the thousand: a statement per page is slow
        # A file name two folders share: the later path is the page (as in a scan in path
        # order). The other file stays recorded as read, so it is read again when the page
        # of its name goes.
        for rel in sorted({*changed, *_rivals(on_disk.keys(), stems, gone)}):
            path = wiki_dir / rel
            try:
                page = read(path)
            except (PageError, UnicodeDecodeError):
                unreadable[fold_name(path.stem)] = rel
                continue
            values, terms = row(wiki_dir, path, page.meta, page.body)
            held = None
            if not empty:
                held = db.execute("SELECT rel FROM pages WHERE stem = ?", (values[0],)).fetchone()
            if held is None or held[0] in gone or held[0] < rel:
                batch[values[0]] = (values, terms)
            if len(batch) >= 1000:
                insert_pages(db, batch.values(), fresh=empty and not inserted & batch.keys())
                inserted.update(batch)
                batch.clear()
        insert_pages(db, batch.values(), fresh=empty and not inserted & batch.keys())
        # an unreadable page is left unrecorded, to be tried again next time
        for rel in unreadable.values():
            del on_disk[rel]
        db.execute("INSERT OR REPLACE INTO state VALUES ('files', ?)", (marshal.dumps(on_disk),))
    return unreadable


def _files(db: sqlite3.Connection) -> dict[str, tuple[int, int]]:
    """The stats of the page files when they were last read: {rel: (mtime_ns, size)}."""
    return load_state(db, "files")


def load_state(db: sqlite3.Connection, key: str) -> dict[Any, Any]:
    """The dict kept under `key` in the state table; empty when there is none."""
    found = db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
    try:
        value = marshal.loads(found[0]) if found else {}
    except (EOFError, ValueError, TypeError):
        value = {}  # written by another Python: worked out again
    return value if isinstance(value, dict) else {}


def save_state(db: sqlite3.Connection, key: str, value: dict[Any, Any]) -> None:
    with transaction(db):
        db.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (key, marshal.dumps(value)))


def _rivals(on_disk: Iterable[str], stems: list[str], gone: set[str]) -> list[str]:
    """Unchanged files named like a page that was removed or changed: one of them may be the
    page of that name now."""
    if not stems:
        return []
    # one test in C per file: splitting every path took 0.09 s at 100,000 pages
    in_folders = tuple(f"/{stem}.md" for stem in stems)
    at_root = {f"{stem}.md" for stem in stems}
    return [
        rel for rel in on_disk if (rel.endswith(in_folders) or rel in at_root) and rel not in gone
    ]


def delete_pages(db: sqlite3.Connection, stems: Iterable[str], prefix: str = "") -> None:
    rows = [(s,) for s in stems]
    for table in ("pages", "names", "words", "cites"):
        db.executemany(f"DELETE FROM {prefix}{table} WHERE stem = ?", rows)


def insert_pages(
    db: sqlite3.Connection, items: Iterable[Item], prefix: str = "", fresh: bool = False
) -> None:
    """Add pages' rows (replacing those of the same file names, unless `fresh`: none is
    there) and what they are found by, to the tables of the files or (`prefix` PUT) to this
    connection's own. `items`: (row, terms) of pages of distinct file names."""
    items = list(items)
    if not items:
        return
    if not fresh:
        delete_pages(db, (values[0] for values, _ in items), prefix)
    marks = ", ".join("?" * len(items[0][0]))
    sql = f"INSERT INTO {prefix}pages ({PAGE_COLUMNS}) VALUES ({marks})"
    db.executemany(sql, (values for values, _ in items))
    for table, rows in (
        ("names", ((k, v[0]) for v, (keys, _) in items for k in keys)),
        ("words", ((w, v[0]) for v, (_, words) in items for w in words)),
        ("cites", ((s, v[0]) for v, _ in items for s in dict.fromkeys(json.loads(v[9])))),
    ):
        db.executemany(f"INSERT INTO {prefix}{table} VALUES (?, ?)", rows)


PUT = "put_"  # the tables of the pages a command put (planned or written since its scan)
PAGES_VIEW = "v_pages"


def add_overlay(db: sqlite3.Connection) -> None:
    """Give this connection tables of its own for the pages its command puts, and a view
    (PAGES_VIEW) of the pages put laid over the files' rows (the names, words and cites of
    the pages put are read from their own tables beside the files'). A command plans pages
    before it writes them; kept apart, its plans never reach another process or survive a
    crash, and the shared tables only ever say what the files say."""
    new = "CREATE TEMP TABLE IF NOT EXISTS"
    db.execute(f"{new} {PUT}pages AS SELECT {PAGE_COLUMNS} FROM main.pages WHERE 0")
    db.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS temp.{PUT}pages_stem ON {PUT}pages (stem)")
    for table, column in (("names", "key"), ("words", "word"), ("cites", "source")):
        db.execute(f"{new} {PUT}{table} ({column} TEXT NOT NULL, stem TEXT NOT NULL)")
        for indexed in (column, "stem"):
            db.execute(
                f"CREATE INDEX IF NOT EXISTS temp.{PUT}{table}_{indexed} "
                f"ON {PUT}{table} ({indexed})"
            )
    db.execute(
        f"CREATE TEMP VIEW IF NOT EXISTS {PAGES_VIEW} AS SELECT * FROM main.pages "
        f"WHERE stem NOT IN (SELECT stem FROM {PUT}pages) UNION ALL SELECT * FROM {PUT}pages"
    )


def select_in(db: sqlite3.Connection, query: str, values: Iterable[str]) -> Iterator[Any]:
    """`query` + " (?, ?, ...)" over `values`, in chunks SQLite accepts."""
    items = list(values)
    for start in range(0, len(items), 500):
        chunk = items[start : start + 500]
        yield from db.execute(f"{query} ({', '.join('?' * len(chunk))})", chunk)
