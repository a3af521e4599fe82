"""What the graph and `wiki lint` know about each page file, cached between runs.

A page's links, title and type, open contradiction callouts, what lint finds wrong with its
frontmatter and the names it mentions without a link are kept in `.wiki/pages.marshal`, keyed
by path and content hash, so a rebuild after one ingest re-reads only the files whose size or
mtime changed (the walk in scan.py says which), and re-parses only those whose SHA-256 changed.

The cache is one `marshal` blob of columns (a list per field), each link target stored once
however many pages name it: at 100,000 pages it decodes in 0.2 s where a JSON document of
records took 2 s. It keeps no page's whole frontmatter (that was half its size and memory):
what needs more than the title and type reads the page.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import re
import sys
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmwiki.contradictions import OPEN_RE
from llmwiki.entries import ENTITY_TYPES
from llmwiki.errors import PageError
from llmwiki.identity import fold_name, normalize_key
from llmwiki.links import CODE_RE, link_targets
from llmwiki.pages import LINK_RE, META_ORDER, as_list, parse, unlink
from llmwiki.scan import WikiFiles, gc_paused, walk
from llmwiki.vault import PAGE_FOLDERS, Vault, atomic_write

CACHE_NAME = "pages.marshal"
_OLD_CACHE = "graph.json"  # the JSON cache of earlier versions, removed when found
# Bump when what is extracted from a file changes (lint's messages about a page included), so
# old caches are re-parsed, not trusted.
# 2: contradiction callouts in every form; 3: marshal columns; 4: problems; 5: title and type
# in place of the whole frontmatter
CACHE_VERSION = 5
LIST_KEYS = ("aliases", "sources", "tags")  # frontmatter keys that hold lists

Problem = tuple[str, str, str]  # severity, lint's code, message


# --- what is known about one file ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageInfo:
    """Everything the graph and lint need from one page file, derived from its content."""

    rel: str  # path relative to wiki/, forward slashes
    given_title: str = ""  # the frontmatter's title; "" when it has none or it is the stem
    type: str = ""  # the frontmatter's type
    links: tuple[str, ...] = ()  # link targets as written, once each, in order
    sources: tuple[str, ...] = ()  # link targets named in the frontmatter's `sources`
    callouts: int = 0  # open contradiction callouts
    # (term, context digest) for names mentioned without a link; None until lint asks for them
    terms: tuple[tuple[str, str], ...] | None = None
    error: str = ""  # why the file could not be parsed; "" when it could
    problems: tuple[Problem, ...] = ()  # what `wiki lint` reports of this page by itself
    tidy: bool = True  # frontmatter lists and key order as written here (see normalized_meta)

    @property
    def stem(self) -> str:
        return _stem(self.rel)

    @property
    def title(self) -> str:
        return self.given_title or self.stem


def _stem(rel: str) -> str:
    return rel.rsplit("/", 1)[-1].removesuffix(".md")


def _strings(value: Any) -> Iterator[str]:
    """Every text inside a frontmatter value, however nested."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | dict):
        for item in value.values() if isinstance(value, dict) else value:
            if isinstance(item, str):
                yield item  # the common case, without a nested generator
            else:
                yield from _strings(item)


def _json_safe(value: Any) -> Any:
    """`value` with YAML's other types (dates) as text, as the checks of a page expect."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value  # aliases, sources, tags: by far the most common
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    return str(value)


_NO_PATH = Path("page.md")


def parse_info(rel: str, text: str, terms: bool = True) -> PageInfo:
    try:
        page = parse(text, _NO_PATH)  # the path only names the file in errors, which we trim
    except PageError as exc:
        return PageInfo(rel, error=str(exc).split(": ", 1)[-1])
    body = page.body
    meta: dict[str, Any] = _json_safe(page.meta)
    title = str(meta.get("title") or "")
    targets = link_targets(body)
    for value in _strings(meta):
        if "[[" in value:
            targets += link_targets(value, skip_code=False)
    sources = [t for v in _strings(meta.get("sources")) for t in link_targets(v, skip_code=False)]
    return PageInfo(
        rel=rel,
        given_title="" if title == _stem(rel) else title,
        # one string per type, which the cache then stores once
        type=sys.intern(str(meta.get("type") or "")),
        links=tuple(dict.fromkeys(t for t in targets if t)),
        sources=tuple(dict.fromkeys(t for t in sources if t)),
        callouts=len(OPEN_RE.findall(body)) if "[!" in body else 0,
        terms=tuple(mentioned_terms(body, {page.title, *page.aliases})) if terms else None,
        problems=tuple(page_problems(meta)),
        tidy=list(normalized_meta(page.meta).items()) == list(page.meta.items()),
    )


def normalized_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    """`meta` with aliases/sources/tags as lists and keys in pages.render's order (what
    `wiki lint --fix` writes)."""
    new = dict(meta)
    for key in LIST_KEYS:
        value = new.get(key)
        if key in new and (value is None or isinstance(value, str | int | float)):
            new[key] = as_list(value)
    ordered = {k: new[k] for k in META_ORDER if k in new}
    ordered.update({k: v for k, v in new.items() if k not in ordered})
    return ordered


def page_problems(meta: Mapping[str, Any]) -> Iterator[Problem]:
    """What is wrong with a page's frontmatter, and an entity page that cites no source."""
    types = ", ".join(PAGE_FOLDERS)

    def bad(problem: str) -> Problem:
        return ("error", "invalid-frontmatter", problem)

    if not meta:
        yield bad(f"no frontmatter: start the file with `---`, `title:`, `type:` ({types})")
        return
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        yield bad("`title:` is missing or not text: set it to the page's name")
    kind = meta.get("type")
    if kind not in PAGE_FOLDERS:
        what = "missing" if kind in (None, "") else f"{kind!r}, which is not a page type"
        yield bad(f"`type:` is {what}: set it to one of {types}")
    for key in LIST_KEYS:
        value = meta.get(key)
        if value is None or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            continue
        severity = "warning" if key == "tags" else "error"
        hint = (
            "run `wiki lint --fix` to make it one"
            if isinstance(value, str | int | float)
            else "make it a list of text items"
        )
        yield (severity, "invalid-frontmatter", f"`{key}:` is not a list: {hint}")
    if kind in ENTITY_TYPES and not as_list(meta.get("sources")):
        yield (
            "warning",
            "no-sources",
            "cites no source: add the source pages it comes from to `sources:`, "
            "or delete the page if nothing supports it",
        )


# --- names mentioned without a link ---------------------------------------------------------

# A capitalised run of two or more words ("Northwind Lab", "University of Oxford") on one
# line, or one mixed-case word ("OpenAI"). Lone capitalised words are most matches otherwise.
_TERM_RE = re.compile(
    r"(?<![\w'’-])(?:[A-Z][\w'’-]*(?:(?:[ \t]+(?:of|de|van|von|der|den|da|du|la|le))?"
    r"[ \t]+[A-Z][\w'’-]*)+|[A-Z]*[a-z][a-z0-9]*[A-Z][\w'’-]*)"
)
# Sentence openers and other capitalised words that start a run without being part of a name.
_LEADING_WORDS = """a about after all also although an and another any as at because before
    both but by during each even every for from he her here his how however i if in into it its
    last many meanwhile most my next no not now of on once one or our over she since so some
    still such than that the their then there these they this those though through to today
    under unlike until we what when where whether which while who why with within without yes
    yet you your mr mrs ms dr prof sir monday tuesday wednesday thursday friday saturday sunday
    january february march april may june july august september october november december"""
_LEADING = frozenset(_LEADING_WORDS.split())
_POSSESSIVE = re.compile(r"['’]s$")
_MIXED_RE = re.compile(r"[a-z][^\W_]*[A-Z]")


def _is_mixed_case(word: str) -> bool:
    """'OpenAI', 'PyTorch', 'iPhone': a capital after a lowercase letter. 'LLMs', 'KV-Lite'
    and 'GRPO-trained' are not names of that kind."""
    return bool(_MIXED_RE.search(word))


def mentioned_terms(body: str, skip: Collection[str] = ()) -> list[tuple[str, str]]:
    """Names in `body` that are not links: capitalised runs of two or more words and single
    mixed-case words, each with a digest of the words around it (read with links as the text
    they show). The same sentence copied onto several pages has one context, so it is not
    taken for a name mentioned in many places. Names in `skip` (the page's own) are skipped."""
    found: list[tuple[str, str]] = []
    text = CODE_RE.sub(" ", body) if "`" in body or "~~~" in body else body
    masked = LINK_RE.sub(" \x00 ", text)  # a link ends a run: linked names are known names
    lines: list[str] = []
    for match in _TERM_RE.finditer(masked):
        run = match.group()
        if run in skip:
            continue
        words = [_POSSESSIVE.sub("", w) if "'" in w or "’" in w else w for w in run.split()]
        while words and words[0].casefold() in _LEADING:
            words.pop(0)
        while words and words[-1].casefold() in _LEADING:
            words.pop()
        if len(words) < 2 and not (words and _is_mixed_case(words[0])):
            continue
        line_start = masked.rfind("\n", 0, match.start()) + 1
        if masked.startswith("#", line_start):
            continue  # headings are the page's structure, not mentions
        # links never span lines, so line numbers in `masked` are line numbers in `text`
        lines = lines or text.split("\n")
        plain = unlink(lines[masked.count("\n", 0, line_start)])
        term = " ".join(words)
        at = plain.find(term)
        if at < 0:
            continue
        before = plain[:at].split()[-4:]
        after = plain[at + len(term) :].split()[:4]
        context = normalize_key(" ".join([*before, term, *after]))
        found.append((term, hashlib.sha256(context.encode()).hexdigest()[:12]))
    return list(dict.fromkeys(found))


# --- the cache ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Cached:
    mtime_ns: int
    size: int
    sha256: bytes  # the digest itself: half the memory of its hex text
    info: PageInfo


def _load_cache(path: Path) -> dict[str, _Cached]:
    """The cached records, or none when the cache is missing, corrupt or from another version
    (it is derived state: starting over only costs one full parse)."""
    try:
        data = marshal.loads(path.read_bytes())
        version, rels, mtimes, sizes, hashes, *fields = data
        if version != CACHE_VERSION:
            return {}
        return {
            rel: _Cached(m, size, h, PageInfo(rel, *info))
            for rel, m, size, h, *info in zip(rels, mtimes, sizes, hashes, *fields, strict=True)
        }
    except (OSError, ValueError, EOFError, TypeError):
        return {}


def _save_cache(path: Path, records: Mapping[str, _Cached]) -> None:
    shared: dict[str, str] = {}  # one object per target text: marshal stores it once

    def once(targets: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(shared.setdefault(t, t) for t in targets)

    rels = sorted(records)
    cached = [records[r] for r in rels]
    infos = [c.info for c in cached]
    data = (
        CACHE_VERSION,
        rels,
        [c.mtime_ns for c in cached],
        [c.size for c in cached],
        [c.sha256 for c in cached],
        [i.given_title for i in infos],
        [sys.intern(i.type) for i in infos],
        [once(i.links) for i in infos],
        [once(i.sources) for i in infos],
        [i.callouts for i in infos],
        [i.terms for i in infos],
        [i.error for i in infos],
        [i.problems for i in infos],
        [i.tidy for i in infos],
    )
    try:
        atomic_write(path, marshal.dumps(data))
    except OSError:
        # a read-only vault can still be linted; the next writable run caches it
        return
    old = path.with_name(_OLD_CACHE)
    if old.exists():
        old.unlink(missing_ok=True)


@dataclass(frozen=True)
class Scan:
    pages: tuple[PageInfo, ...]  # in path order
    attachments: frozenset[str]  # casefolded names of the non-page files in wiki/
    parsed: int  # files parsed in this scan (the rest came from the cache)
    hashed: int  # files read and hashed because their size or mtime changed


def scan_pages(vault: Vault, terms: bool = False, files: WikiFiles | None = None) -> Scan:
    """Every page's PageInfo, re-parsing only files whose content changed since the last scan
    (`files`: the walk of wiki/ to use, else a new one).

    With `terms`, each page also carries the names it mentions without a link (lint needs
    them, the graph does not, so only lint pays for them, once per content).
    """
    with gc_paused():
        return _scan_pages(vault, terms, files)


def _scan_pages(vault: Vault, terms: bool, files: WikiFiles | None) -> Scan:
    cache_path = vault.state / CACHE_NAME
    cached = _load_cache(cache_path)
    found = files if files is not None else walk(vault.wiki)
    records: dict[str, _Cached] = {}
    stale: list[tuple[str, tuple[int, int], _Cached | None]] = []
    root = str(vault.wiki)
    rels = sorted(found.pages, key=lambda rel: tuple(rel.split("/")))  # folder by folder
    for rel in rels:
        stat = found.pages[rel]
        old = cached.get(rel)
        if old is not None and (old.mtime_ns, old.size) == stat and _complete(old, terms):
            records[rel] = old
        else:
            stale.append((rel, stat, old))
    parsed = 0
    for rel, stat, old in stale:
        refreshed = _refresh(os.path.join(root, rel), rel, stat, old, terms)
        if refreshed is not None:
            records[rel], was_parsed = refreshed
            parsed += was_parsed
    if stale or set(records) != set(cached):
        _save_cache(cache_path, records)
    return Scan(
        pages=tuple(records[r].info for r in rels if r in records),
        attachments=frozenset(fold_name(n) for n in found.others),
        parsed=parsed,
        hashed=len(stale),
    )


def _complete(record: _Cached, terms: bool) -> bool:
    return not terms or record.info.terms is not None or bool(record.info.error)


def _refresh(
    path: str, rel: str, stat: tuple[int, int], old: _Cached | None, terms: bool
) -> tuple[_Cached, bool] | None:
    """Read and hash one file, and parse it unless the cache already has what its content
    gives; the record, and whether it was parsed. None if the file is gone.

    `stat` was taken before the read, so a write in between leaves a newer mtime than the one
    recorded, and the next scan reads the file again.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    digest = hashlib.sha256(data).digest()
    if old is not None and old.sha256 == digest and _complete(old, terms):
        return _Cached(*stat, digest, old.info), False
    try:
        info = parse_info(rel, data.decode("utf-8"), terms)
    except UnicodeDecodeError:
        info = PageInfo(rel, error="the file is not UTF-8 text")
    return _Cached(*stat, digest, info), True
