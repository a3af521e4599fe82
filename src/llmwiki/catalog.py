"""The catalog: every page's title, type, aliases and summary, read from frontmatter.

It answers the questions ingest asks about the wiki without sending the wiki anywhere: which
page is this name (exact title or alias), which pages might it be (a bounded candidate list),
which existing titles does this source mention, and which file name is free. It also renders
the rows of `index.md` (index_pages.py writes it), which is code-generated from frontmatter.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmwiki import identity
from llmwiki.errors import PageError
from llmwiki.identity import different_people, fold_name, initials, normalize_key, similarity
from llmwiki.overview import edited_by_hand
from llmwiki.pages import (
    MAX_NAME_BYTES,
    as_list,
    inert_text,
    parse_links,
    read,
    render_link,
    safe_name,
    section_lines,
)
from llmwiki.scan import WikiFiles, gc_paused, walk
from llmwiki.vault import GENERATED_PAGES, INDEX_PARTS, Vault, atomic_write

MAX_NAME_WORDS = 6  # longest page name, in words, that mentioned_in recognises in a text
RELATED_LIMIT = 8  # pages a page's `## Related` lists
_TEXT_WORD = re.compile(r"\w[\w'’.\-]*\w|\w")
_POSSESSIVE = re.compile(r"['’]s$")
CACHE_FILE = "catalog.json"
CACHE_FIELDS = 11  # Entry's fields; a cache row of another length is from an older version
# the rules of _index_terms (llmwiki.identity's words and initials): a row cached under other
# rules would leave a page unfound by a name it now answers to, so it is read again
TERMS_VERSION = 3
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


def _load_cache(cache: Path | None) -> dict[str, list[Any]]:
    if cache is None:
        return {}
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return {}  # derived state: a missing or damaged cache only costs a full scan
    return data if isinstance(data, dict) else {}


def _index_terms(entry: Entry) -> tuple[list[str], list[str]]:
    """What a page is found by: its normalized names, and each word of its names plus their
    acronyms ("GRPO"). Sorted, so the cache and the lookup order are deterministic."""
    keys = {normalize_key(n) for n in entry.names} - {""}
    terms = {w for n in entry.names for w in identity.words(n)}
    terms.update(a for n in entry.names for a in initials(n))
    return sorted(keys), sorted(terms)


class Catalog:
    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._entries: dict[str, Entry] = {}
        # The name indexes are built on first use, from each entry's terms: a command that
        # only lists pages (`wiki status`) never pays for them.
        # stem -> its _index_terms, when known (else worked out when the indexes are built)
        self._terms: dict[str, tuple[list[str], list[str]] | None] = {}
        self._indexed = False
        self._keys: dict[str, list[str]] = {}  # normalized title/alias/stem -> stems
        self._tokens: dict[str, list[str]] = {}  # each word of a name -> stems
        self._taken: set[str] = set()  # folded stems (see fold_name), for free_stem
        # index.md's rows by type, sorted once when first asked for (a sort of 100,000 rows
        # costs less than inserting them one by one) and then kept sorted, so rendering
        # after one change is a join; a row's line is cached with the entry
        self._rows: dict[str, list[tuple[str, str, str]]] | None = None
        self._lines: dict[str, str] = {}  # stem -> its line in the index, when known
        self._cited_by: dict[str, list[str]] = {}  # source page -> pages citing it
        self.unreadable: dict[str, str] = {}  # folded stem -> path of a page that won't parse
        for entry in entries:
            self.put(entry)

    @classmethod
    def load(cls, vault: Vault, save_cache: bool = True) -> Catalog:
        """The vault's catalog through its cache in .wiki/ (kept read-only with
        `save_cache=False`, for commands that must write nothing)."""
        return cls.scan(vault.wiki, vault.state / CACHE_FILE, save_cache)

    @classmethod
    def scan(
        cls,
        wiki_dir: Path,
        cache: Path | None = None,
        save_cache: bool = True,
        files: WikiFiles | None = None,
    ) -> Catalog:
        """Read every page's frontmatter. Unparseable pages are skipped (lint reports them).

        With a `cache` file, only pages whose size or mtime changed since the last scan are
        parsed again, so a scan of a large wiki costs a stat per page. `files`: the walk of
        wiki/ to use, else a new one.
        """
        with gc_paused():
            return cls._scan(wiki_dir, cache, save_cache, files)

    @classmethod
    def _scan(
        cls, wiki_dir: Path, cache: Path | None, save_cache: bool, files: WikiFiles | None
    ) -> Catalog:
        known = _load_cache(cache)
        seen: dict[str, list[Any]] = {}
        catalog = cls()
        found = files if files is not None else walk(wiki_dir)
        for rel in sorted(found.pages):
            mtime_ns, size = found.pages[rel]
            hit = known.get(rel)
            if (
                hit
                and hit[0] == mtime_ns
                and hit[1] == size
                and len(hit[2]) == CACHE_FIELDS
                and hit[5:6] == [TERMS_VERSION]
                and len(hit) == 7
            ):
                fields, keys, words, line = hit[2], hit[3], hit[4], hit[6]
                (
                    stem,
                    rel_,
                    title,
                    kind,
                    aliases,
                    summary,
                    date,
                    contradictions,
                    cited,
                    edited,
                    not_applied,
                ) = fields
                entry = Entry(
                    stem,
                    rel_,
                    title,
                    kind,
                    tuple(aliases),
                    summary,
                    date,
                    contradictions,
                    tuple(cited),
                    bool(edited),
                    tuple(not_applied),
                )
                catalog._lines[stem] = line
                catalog.put(entry, (keys, words))
                seen[rel] = hit  # the same row: comparing it with `known` costs nothing
                continue
            path = wiki_dir / rel
            try:
                page = read(path)
            except (PageError, UnicodeDecodeError):
                # not in the catalog (lint reports it), but its name stays taken: a new
                # page of that name would make its links ambiguous
                catalog.unreadable[fold_name(path.stem)] = rel
                continue
            entry = entry_for(path, wiki_dir, page.meta, page.body)
            keys, words = _index_terms(entry)
            line = catalog._line(entry)
            catalog.put(entry, (keys, words))
            fields = [
                entry.stem,
                entry.rel,
                entry.title,
                entry.type,
                list(entry.aliases),
                entry.summary,
                entry.date,
                entry.contradictions,
                list(entry.sources),
                entry.overview_edited,
                list(entry.not_applied),
            ]
            seen[rel] = [mtime_ns, size, fields, keys, words, TERMS_VERSION, line]
        if cache is not None and save_cache and seen != known:
            cache.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(cache, json.dumps(seen, ensure_ascii=False).encode("utf-8"))
        return catalog

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def related(self, stem: str, limit: int = RELATED_LIMIT) -> list[Entry]:
        """People and concepts that share the most specific sources with page `stem`, best
        first: what its `## Related` lists and `wiki graph PAGE` shows. A shared source counts
        less the more pages it names, and a page that nearly every source cites (GitHub,
        Python) counts little: sharing it says nothing (#13.8). A source page is its own
        source: the pages related to it are those citing it."""
        entry = self._entries.get(stem)
        if entry is None:
            return []
        self._names()
        total = len(self._cited_by) + 1
        shared: dict[str, float] = {}
        own = entry.sources or ((stem,) if entry.type == "source" else ())
        for source in own:
            cited = self._cited_by.get(source, ())
            weight = 1.0 / math.log2(2 + len(cited))
            for other in cited:
                if other != stem:
                    shared[other] = shared.get(other, 0.0) + weight
        ranked = sorted(
            (
                -n * math.log(1 + total / len(self._entries[s].sources or [s])),
                self._entries[s].title.casefold(),
                s,
            )
            for s, n in shared.items()
            if self._entries[s].type in ENTITY_TYPES
        )
        return [self._entries[s] for _, _, s in ranked[:limit]]

    def index_rows(self, kind: str) -> list[tuple[str, str, str]]:
        if self._rows is None:
            self._rows = {}
            for entry in self._entries.values():
                self._rows.setdefault(_group(entry), []).append(self._row(entry))
            for rows in self._rows.values():
                rows.sort()
        return self._rows.get(kind, [])

    def _line(self, entry: Entry) -> str:
        line = self._lines.get(entry.stem)
        if line is None:
            line = self._lines[entry.stem] = _line(entry)
        return line

    def _row(self, entry: Entry) -> tuple[str, str, str]:
        """A page's sort key and line in index.md."""
        return (entry.title.casefold(), entry.stem, self._line(entry))

    def get(self, stem: str) -> Entry | None:
        return self._entries.get(stem)

    def put(self, entry: Entry, terms: tuple[list[str], list[str]] | None = None) -> None:
        """Add or replace a page. `terms` are its `_index_terms`, when already known."""
        old = self._entries.pop(entry.stem, None)
        if old is not None:
            self._unindex(old)
            if old != entry:
                self._lines.pop(entry.stem, None)
        self._entries[entry.stem] = entry
        self._terms[entry.stem] = terms
        if self._rows is not None:
            bisect.insort(self._rows.setdefault(_group(entry), []), self._row(entry))
        if self._indexed:
            self._index(entry, terms)

    def _terms_of(self, entry: Entry) -> tuple[list[str], list[str]]:
        terms = self._terms.get(entry.stem)
        if terms is None:
            terms = self._terms[entry.stem] = _index_terms(entry)
        return terms

    def _index(self, entry: Entry, terms: tuple[list[str], list[str]] | None) -> None:
        self._taken.add(fold_name(entry.stem))
        for source in entry.sources:
            self._cited_by.setdefault(source, []).append(entry.stem)
        keys, words = terms or self._terms_of(entry)
        for key in keys:
            self._keys.setdefault(key, []).append(entry.stem)
        for word in words:
            self._tokens.setdefault(word, []).append(entry.stem)

    def with_indexes(self) -> Catalog:
        """This catalog with its name indexes and index rows built now: for a command that
        will use them, so the cost falls before its first source rather than inside it."""
        self._names()
        self.index_rows("source")
        return self

    def _names(self) -> None:
        """Build the name indexes, once."""
        if not self._indexed:
            self._indexed = True
            for stem, entry in self._entries.items():
                self._index(entry, self._terms[stem])

    def _unindex(self, entry: Entry) -> None:
        if self._rows is not None:
            rows = self._rows[_group(entry)]
            del rows[bisect.bisect_left(rows, self._row(entry))]
        if not self._indexed:
            return
        for source in entry.sources:
            self._cited_by[source].remove(entry.stem)
        keys, words = self._terms_of(entry)
        for index, terms in ((self._keys, keys), (self._tokens, words)):
            for term in terms:
                stems = index.get(term, [])
                if entry.stem in stems:
                    stems.remove(entry.stem)

    def lookup(self, name: str, types: Collection[str] = ()) -> Entry | None:
        """The page whose title, file name or alias is `name` (case and punctuation ignored),
        among the pages of `types` when given.

        A name shared by several pages (two people with the alias "Dean") is ambiguous: None.
        A title or file-name match wins over an alias match.
        """
        self._names()
        key = normalize_key(name)
        stems = self._keys.get(key, [])
        if types:
            stems = [s for s in stems if self._entries[s].type in types]
        if not stems:
            return None
        by_title = [
            s for s in stems if key in (normalize_key(self._entries[s].title), normalize_key(s))
        ]
        chosen = by_title or stems
        return self._entries[chosen[0]] if len(chosen) == 1 else None

    def candidates(self, name: str, kind: str, limit: int = 5) -> list[Entry]:
        """Pages that might be `name` without being an exact match, best first, at most `limit`.

        Only pages sharing a word or an acronym with `name`, or named as its plural or
        singular ("LLMs"), are scored, so the cost does not grow with the wiki. Two full
        personal names with different first names never match (see llmwiki.identity).
        """
        self._names()
        key = normalize_key(name)
        plural = {key + "s", key[:-1]} if key.endswith("s") else {key + "s"}
        pool: set[str] = set()
        for term in {*identity.words(name), *plural}:
            pool.update(self._tokens.get(term, ()))
        for term in {*initials(name), *(a + "s" for a in initials(name)), *plural}:
            pool.update(self._keys.get(term, ()))
        scored: list[tuple[float, str]] = []
        for stem in sorted(pool):
            entry = self._entries[stem]
            if entry.type not in (kind, ""):
                continue
            if kind == "person" and different_people(name, entry.title):
                continue
            score = max(similarity(name, n) for n in entry.names)
            if score >= 0.6:
                scored.append((-score, stem))
        return [self._entries[stem] for _, stem in sorted(scored)[:limit]]

    def mentioned_in(self, text: str, limit: int) -> list[str]:
        """Titles of pages whose title or an alias occurs in `text`, at most `limit`, most
        often mentioned first. Runs of up to MAX_NAME_WORDS words of the text are looked up
        as names, so the work grows with the text, not with the wiki."""
        self._names()
        keys = [normalize_key(_POSSESSIVE.sub("", w)) for w in _TEXT_WORD.findall(text)]
        counts: dict[str, int] = {}
        for i in range(len(keys)):
            joined = ""
            for key in keys[i : i + MAX_NAME_WORDS]:
                joined += key
                if len(joined) < 3:
                    continue
                for stem in self._keys.get(joined, ()):
                    counts[stem] = counts.get(stem, 0) + 1
        ranked = sorted((-n, s) for s, n in counts.items())
        return [self._entries[s].title for _, s in ranked[:limit]]

    def free_stem(self, title: str, kind: str, taken: Collection[str] = ()) -> str:
        """A file name for a new page: the title's safe name, or a qualified one if taken.

        Names must be unique across the whole wiki, compared as macOS and Windows compare
        them (`fold_name`: case and Unicode normalisation ignored), because Obsidian resolves
        a link by file name alone. `taken` holds more folded names that are spoken for: the
        pages a source is about to create.
        """

        self._names()

        def free(name: str) -> bool:
            key = fold_name(name)
            reserved = key in RESERVED_STEMS or _PART_NAME.fullmatch(key) is not None
            used = key in self._taken or key in self.unreadable
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


def _group(entry: Entry) -> str:
    return entry.type if entry.type in TYPE_ORDER else "other"


def _line(entry: Entry) -> str:
    """A page's line in index.md."""
    summary = inert_text(" ".join(entry.summary.split()))
    link = f"- {render_link(entry.stem, entry.title)}"
    return f"{link} — {summary}" if summary else link
