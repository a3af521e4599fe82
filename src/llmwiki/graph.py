"""The link graph: pages are nodes, `[[links]]` are edges, resolved the way Obsidian does.

A link names a file: `[[Andrej Karpathy|Karpathy]]` and `[[andrej karpathy#Career]]` both point
at `Andrej Karpathy.md` (file names match case-insensitively; `#heading` and `|display` are
ignored). A link to no file is recorded as broken, not as a node. The generated root pages
(index.md, log.md, contradictions.md) are not nodes: a link from the index proves nothing.

What the graph and `wiki lint` need from each file (links, frontmatter, callouts, names
mentioned) is kept in `.wiki/graph.json`, keyed by path and content hash, so a rebuild after one
ingest re-reads only the files whose size or mtime changed, and re-parses only those whose
SHA-256 changed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import networkx as nx

from llmwiki.catalog import Catalog, entry_for
from llmwiki.contradictions import OPEN_RE
from llmwiki.pages import (
    LINK_RE,
    PageError,
    display_text,
    fold_name,
    link_target,
    normalize_key,
    parse,
    render,
    unlink,
)
from llmwiki.vault import GENERATED_PAGES, Vault, atomic_write

CACHE_NAME = "graph.json"
# Bump when what is extracted from a file changes, so old caches are re-parsed, not trusted.
CACHE_VERSION = 2  # 2: contradiction callouts in every form Obsidian accepts
EXPORT_FORMATS = (".graphml", ".json", ".gexf")

# Obsidian does not read links inside code, so neither do we.
_CODE_RE = re.compile(r"^(`{3,}|~{3,})[^\n]*\n.*?^\1[ \t]*$|`[^`\n]+`", re.MULTILINE | re.DOTALL)
_FRONTMATTER_RE = re.compile(r"\A---[ \t]*\r?\n(?:.*?\r?\n)?---[ \t]*(?=\r?\n|\Z)", re.DOTALL)
_ATTACHMENT_RE = re.compile(r"\.[A-Za-z0-9]{1,5}$")


# --- what is known about one file ---------------------------------------------------------


@dataclass(frozen=True)
class PageInfo:
    """Everything the graph and lint need from one page file, derived from its content."""

    rel: str  # path relative to wiki/, forward slashes
    meta: Mapping[str, Any] = field(default_factory=dict)  # frontmatter, JSON-safe
    links: tuple[str, ...] = ()  # link targets as written, once each, in order
    sources: tuple[str, ...] = ()  # link targets named in the frontmatter's `sources`
    callouts: int = 0  # open contradiction callouts
    # (term, context digest) for names mentioned without a link; None until lint asks for them
    terms: tuple[tuple[str, str], ...] | None = None
    error: str = ""  # why the file could not be parsed; "" when it could

    @cached_property
    def stem(self) -> str:
        return self.rel.rsplit("/", 1)[-1].removesuffix(".md")

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or self.stem)

    @property
    def type(self) -> str:
        return str(self.meta.get("type") or "")


def link_matches(text: str) -> Iterator[re.Match[str]]:
    """The wikilinks of `text` that Obsidian treats as links (not those inside code)."""
    masked = _CODE_RE.sub(_blank, text) if "`" in text or "~~~" in text else text
    # masking keeps offsets, so each match's span is also its span in `text`
    yield from LINK_RE.finditer(masked)


def _blank(match: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", match.group())


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
    """`value` as JSON holds it (the cache is JSON): YAML's other types become text."""
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
    targets = link_targets(body)
    for value in _strings(meta):
        if "[[" in value:
            targets += link_targets(value, skip_code=False)
    sources = [t for v in _strings(meta.get("sources")) for t in link_targets(v, skip_code=False)]
    return PageInfo(
        rel=rel,
        meta=meta,
        links=tuple(dict.fromkeys(t for t in targets if t)),
        sources=tuple(dict.fromkeys(t for t in sources if t)),
        callouts=len(OPEN_RE.findall(body)) if "[!" in body else 0,
        terms=tuple(mentioned_terms(body, {page.title, *page.aliases})) if terms else None,
    )


def link_targets(text: str, skip_code: bool = True) -> list[str]:
    """The targets of the links in `text`, in order (those in code are skipped, as Obsidian
    does, unless `skip_code` is False: frontmatter values have no code)."""
    if skip_code and ("`" in text or "~~~" in text):
        return [m.group(1).strip() for m in link_matches(text)]
    return [groups[0].strip() for groups in LINK_RE.findall(text)]


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
    text = _CODE_RE.sub(" ", body) if "`" in body or "~~~" in body else body
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


# --- scanning the wiki with the cache -----------------------------------------------------


@dataclass(frozen=True)
class _Cached:
    mtime_ns: int
    size: int
    sha256: str
    info: PageInfo


def _info_to_json(cached: _Cached) -> dict[str, Any]:
    info = cached.info
    return {
        "m": cached.mtime_ns,
        "s": cached.size,
        "h": cached.sha256,
        "meta": info.meta,
        "links": info.links,
        "sources": info.sources,
        "callouts": info.callouts,
        "terms": info.terms,
        "error": info.error,
    }


def _info_from_json(rel: str, data: dict[str, Any]) -> _Cached:
    info = PageInfo(
        rel=rel,
        meta=dict(data["meta"]),
        links=tuple(data["links"]),
        sources=tuple(data["sources"]),
        callouts=int(data["callouts"]),
        terms=None if data["terms"] is None else tuple((str(t), str(c)) for t, c in data["terms"]),
        error=str(data["error"]),
    )
    return _Cached(int(data["m"]), int(data["s"]), str(data["h"]), info)


def _load_cache(path: Path) -> dict[str, _Cached]:
    """The cached records, or none when the cache is missing, corrupt or from another version
    (it is derived state: starting over only costs one full parse)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            return {}
        return {rel: _info_from_json(rel, rec) for rel, rec in data["files"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _save_cache(path: Path, records: Mapping[str, _Cached]) -> None:
    payload = {
        "version": CACHE_VERSION,
        "files": {rel: _info_to_json(rec) for rel, rec in sorted(records.items())},
    }
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    try:
        atomic_write(path, data)
    except OSError:
        # a read-only vault can still be linted; the next writable run caches it
        return


def _walk(wiki_dir: Path) -> tuple[list[str], list[str]]:
    """Page files (relative, sorted as paths sort) and the names of every other file."""
    pages: list[str] = []
    others: list[str] = []
    for folder, dirs, files in os.walk(wiki_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        rel_dir = Path(folder).relative_to(wiki_dir).as_posix()
        for name in files:
            if name.startswith("."):
                continue
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if not name.endswith(".md"):
                others.append(name)
            elif rel not in GENERATED_PAGES:
                pages.append(rel)
    pages.sort(key=lambda r: tuple(r.split("/")))
    return pages, others


@dataclass(frozen=True)
class Scan:
    pages: tuple[PageInfo, ...]  # in path order
    attachments: frozenset[str]  # casefolded names of the non-page files in wiki/
    parsed: int  # files parsed in this scan (the rest came from the cache)
    hashed: int  # files read and hashed because their size or mtime changed


def scan(vault: Vault, terms: bool = False) -> Scan:
    """Every page's PageInfo, re-parsing only files whose content changed since the last scan.

    With `terms`, each page also carries the names it mentions without a link (lint needs
    them, the graph does not, so only lint pays for them, once per content).
    """
    cache_path = vault.state / CACHE_NAME
    cached = _load_cache(cache_path)
    rels, others = _walk(vault.wiki)
    records: dict[str, _Cached] = {}
    stale: list[tuple[str, os.stat_result, _Cached | None]] = []
    root = str(vault.wiki)
    for rel in rels:
        old = cached.get(rel)
        try:
            st = os.stat(os.path.join(root, rel))
        except FileNotFoundError:
            continue  # removed while we walked
        if (
            old is not None
            and (old.mtime_ns, old.size) == (st.st_mtime_ns, st.st_size)
            and _complete(old, terms)
        ):
            records[rel] = old
        else:
            stale.append((rel, st, old))
    parsed = 0
    for rel, st, old in stale:
        refreshed = _refresh(os.path.join(root, rel), rel, st, old, terms)
        if refreshed is not None:
            records[rel], was_parsed = refreshed
            parsed += was_parsed
    if stale or set(records) != set(cached):
        _save_cache(cache_path, records)
    return Scan(
        pages=tuple(records[r].info for r in rels if r in records),
        attachments=frozenset(_fold(n) for n in others),
        parsed=parsed,
        hashed=len(stale),
    )


def _complete(record: _Cached, terms: bool) -> bool:
    return not terms or record.info.terms is not None or bool(record.info.error)


def _refresh(
    path: str, rel: str, st: os.stat_result, old: _Cached | None, terms: bool
) -> tuple[_Cached, bool] | None:
    """Read and hash one file, and parse it unless the cache already has what its content
    gives; the record, and whether it was parsed. None if the file is gone.

    `st` was taken before the read, so a write in between leaves a newer mtime than the one
    recorded, and the next scan reads the file again.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    digest = hashlib.sha256(data).hexdigest()
    if old is not None and old.sha256 == digest and _complete(old, terms):
        return _Cached(st.st_mtime_ns, st.st_size, digest, old.info), False
    try:
        info = parse_info(rel, data.decode("utf-8"), terms)
    except UnicodeDecodeError:
        info = PageInfo(rel, error="the file is not UTF-8 text")
    return _Cached(st.st_mtime_ns, st.st_size, digest, info), True


# --- the graph ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokenLink:
    page: str  # stem of the page holding the link
    target: str  # the link target as written


def _fold(name: str) -> str:
    return fold_name(name)


@dataclass(frozen=True)
class Names:
    """How Obsidian finds a link's file: by name, case-insensitively, or by path."""

    by_name: Mapping[str, str]  # folded file name -> stem
    by_path: Mapping[str, str]  # folded path without .md -> stem
    attachments: frozenset[str]  # folded names of the non-page files

    def resolve(self, target: str) -> str | None:
        """The stem of the page `target` opens, or None."""
        name = target.strip()
        if name.casefold().endswith(".md"):
            name = name[:-3]
        if "/" in name:
            stem = self.by_path.get(_fold(name.lstrip("/")))
            if stem is not None:
                return stem
            name = name.rsplit("/", 1)[1]
        return self.by_name.get(_fold(name))

    def is_attachment(self, target: str) -> bool:
        name = target.strip().rsplit("/", 1)[-1]
        return bool(_ATTACHMENT_RE.search(name)) and _fold(name) in self.attachments


@dataclass(frozen=True)
class WikiGraph:
    graph: nx.DiGraph  # node = file stem; attributes title, type, path
    pages: Mapping[str, PageInfo]  # stem -> info, for the pages that are nodes
    names: Names
    broken: tuple[BrokenLink, ...]
    shadowed: tuple[PageInfo, ...]  # pages whose file name an earlier page already has
    scan: Scan

    def resolve(self, target: str) -> str | None:
        return self.names.resolve(target)

    def find(self, name: str) -> str | None:
        """The page a user means by `name`: its file name, its title or one of its aliases
        (case and punctuation ignored); None when there is none, or several."""
        stem = name if name in self.pages else self.resolve(name)
        if stem is None:
            entry = self.catalog().lookup(name)
            stem = entry.stem if entry is not None else None
        return stem if stem in self.pages else None

    @property
    def unparsed(self) -> tuple[PageInfo, ...]:
        """Pages whose frontmatter could not be read (they are nodes all the same)."""
        return tuple(i for i in self.scan.pages if i.error)

    def catalog(self) -> Catalog:
        """What `Catalog.scan` reads from the files, built from the cache instead."""
        wiki = Path("wiki")
        return Catalog(
            entry_for(wiki / info.rel, wiki, dict(info.meta))
            for info in self.scan.pages
            if not info.error
        )


def build_graph(vault: Vault, terms: bool = False) -> WikiGraph:
    """The link graph of `vault`'s wiki, from the files (through the cache); with `terms`,
    its pages carry the names they mention (see `scan`)."""
    found = scan(vault, terms)
    by_name: dict[str, str] = {}
    by_path: dict[str, str] = {}
    pages: dict[str, PageInfo] = {}
    shadowed: list[PageInfo] = []
    for info in found.pages:
        key = _fold(info.stem)
        if key in by_name:
            shadowed.append(info)
            continue
        by_name[key] = info.stem
        by_path[_fold(info.rel.removesuffix(".md"))] = info.stem
        pages[info.stem] = info
    names = Names(by_name, by_path, found.attachments)
    graph = nx.DiGraph()
    graph.add_nodes_from(
        (stem, {"title": info.title, "type": info.type, "path": info.rel})
        for stem, info in pages.items()
    )
    broken: list[BrokenLink] = []
    edges: list[tuple[str, str]] = []
    memo: dict[str, str | None] = {}  # the same targets recur on many pages
    for stem, info in pages.items():
        for target in info.links:
            if target not in memo:
                memo[target] = names.resolve(target)
            resolved = memo[target]
            if resolved is None:
                if not names.is_attachment(target):
                    broken.append(BrokenLink(stem, target))
            elif resolved != stem:
                edges.append((stem, resolved))
    graph.add_edges_from(edges)
    return WikiGraph(graph, pages, names, tuple(broken), tuple(shadowed), found)


# --- questions asked of the graph ---------------------------------------------------------


@dataclass(frozen=True)
class Hub:
    stem: str
    title: str
    score: float  # PageRank
    inbound: int


@dataclass(frozen=True)
class GraphStats:
    pages: int
    links: int  # edges: pairs of pages linked (several links from A to B count once)
    broken: int
    components: int  # weakly connected
    largest_component: int
    hubs: tuple[Hub, ...]
    orphans: tuple[str, ...]  # stems of pages no other page links to


def orphans(wg: WikiGraph) -> list[str]:
    return sorted(n for n in wg.graph.nodes if wg.graph.in_degree(n) == 0)


def pagerank(wg: WikiGraph, alpha: float = 0.85, tol: float = 1.0e-6) -> dict[str, float]:
    """PageRank by power iteration (networkx's own needs scipy, which we do not depend on)."""
    g = wg.graph
    n = g.number_of_nodes()
    if n == 0:
        return {}
    nodes = list(g.nodes)
    out = {u: list(g.successors(u)) for u in nodes}
    rank = dict.fromkeys(nodes, 1.0 / n)
    for _ in range(100):
        dangling = sum(rank[u] for u in nodes if not out[u])
        base = (1.0 - alpha + alpha * dangling) / n
        new = dict.fromkeys(nodes, base)
        for u in nodes:
            targets = out[u]
            if targets:
                share = alpha * rank[u] / len(targets)
                for v in targets:
                    new[v] += share
        err = sum(abs(new[u] - rank[u]) for u in nodes)
        rank = new
        if err < n * tol:
            break
    return rank


def stats(wg: WikiGraph, top: int = 10) -> GraphStats:
    g = wg.graph
    components = [len(c) for c in nx.weakly_connected_components(g)]
    ranks = pagerank(wg)
    best = sorted(ranks, key=lambda s: (-ranks[s], s))[:top]
    return GraphStats(
        pages=g.number_of_nodes(),
        links=g.number_of_edges(),
        broken=len(wg.broken),
        components=len(components),
        largest_component=max(components, default=0),
        hubs=tuple(Hub(s, wg.pages[s].title, ranks[s], g.in_degree(s)) for s in best),
        orphans=tuple(orphans(wg)),
    )


@dataclass(frozen=True)
class Neighbours:
    outgoing: tuple[str, ...]  # pages this page links to
    incoming: tuple[str, ...]  # pages linking here (backlinks)


def neighbours(wg: WikiGraph, stem: str) -> Neighbours:
    g = wg.graph
    if stem not in g:
        raise KeyError(stem)
    return Neighbours(tuple(sorted(g.successors(stem))), tuple(sorted(g.predecessors(stem))))


def related(wg: WikiGraph, stem: str, limit: int = 10) -> list[str]:
    """Pages that share sources or links with `stem`, most related first.

    Each shared source counts 1; each shared neighbour (a page both link to or are linked
    from) counts less the more pages it links with, so a hub everyone cites adds little.
    """
    g = wg.graph
    if stem not in g:
        raise KeyError(stem)
    scores: dict[str, float] = defaultdict(float)
    mine = {wg.resolve(s) for s in wg.pages[stem].sources} - {None}
    for via in set(g.successors(stem)) | set(g.predecessors(stem)):
        around = set(g.successors(via)) | set(g.predecessors(via))
        weight = 1.0 / math.log(2 + len(around))
        for other in around:
            scores[other] += weight
    if mine:
        for other in _sharing_sources(wg, mine):
            scores[other] += len(mine & {wg.resolve(s) for s in wg.pages[other].sources})
    scores.pop(stem, None)
    ranked = sorted(scores, key=lambda s: (-scores[s], wg.pages[s].title.casefold(), s))
    return ranked[:limit]


def _sharing_sources(wg: WikiGraph, sources: Iterable[str | None]) -> set[str]:
    """Pages citing any of `sources`: they link to it, so they are its predecessors."""
    found: set[str] = set()
    for source in sources:
        if source is not None:
            found.update(wg.graph.predecessors(source))
    return found


@dataclass(frozen=True)
class PageLinks:
    stem: str
    title: str
    outgoing: tuple[str, ...]
    incoming: tuple[str, ...]
    related: tuple[str, ...]


@dataclass(frozen=True)
class GraphReport:
    stats: GraphStats
    page: PageLinks | None = None
    exported: str = ""  # the file the graph was written to


def graph_report(
    vault: Vault, top: int = 10, page: str | None = None, export_to: Path | None = None
) -> GraphReport:
    """What `wiki graph` shows: the stats, one page's links and related pages, an export."""
    wg = build_graph(vault)
    links = None
    if page is not None:
        stem = wg.find(page)
        if stem is None:
            raise ValueError(f'no page named "{page}": give its title or file name')
        near = neighbours(wg, stem)
        links = PageLinks(
            stem, wg.pages[stem].title, near.outgoing, near.incoming, tuple(related(wg, stem))
        )
    if export_to is not None:
        export(wg, export_to)
    return GraphReport(stats(wg, top), links, str(export_to) if export_to else "")


# --- export -------------------------------------------------------------------------------


def export(wg: WikiGraph, path: Path) -> None:
    """Write the graph to `path` in the format its extension names."""
    suffix = path.suffix.lower()

    def write_json(target: Path) -> None:
        data = nx.node_link_data(wg.graph, edges="edges")
        text = json.dumps(data, ensure_ascii=False, indent=1)
        target.write_text(text, encoding="utf-8", newline="\n")  # "\n" on Windows too

    writers: dict[str, Callable[[Path], None]] = {
        ".graphml": lambda p: nx.write_graphml(wg.graph, p),
        ".gexf": lambda p: nx.write_gexf(wg.graph, p),
        ".json": write_json,
    }
    writer = writers.get(suffix)
    if writer is None:
        raise ValueError(
            f"cannot export to {path.name}: name the file with one of " + ", ".join(EXPORT_FORMATS)
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    writer(path)


# --- rewriting links in a file's text -----------------------------------------------------


def replace_links(text: str, replace: Callable[[re.Match[str]], str | None]) -> str:
    """`text` with each link (outside code) for which `replace` returns a new link rewritten,
    and everything else byte for byte as it was."""
    pieces: list[str] = []
    at = 0
    for match in link_matches(text):
        new = replace(match)
        if new is not None and new != match.group():
            pieces += [text[at : match.start()], new]
            at = match.end()
    pieces.append(text[at:])
    return "".join(pieces)


def rewrite_links(text: str, replace: Callable[[re.Match[str]], str | None]) -> str:
    """A whole page file with its links rewritten as `replace_links` does. Links in the
    frontmatter are rewritten in the parsed YAML values, so quoting stays valid, and the
    frontmatter is re-rendered only when one of them changes (it is kept as it is when it
    cannot be parsed)."""
    head, rest = split_frontmatter(text)
    body = replace_links(rest, replace)
    if "[[" in head:
        try:
            meta = parse(text, Path("page.md")).meta
        except PageError:
            return head + body
        new_meta = _map_strings(meta, lambda s: LINK_RE.sub(lambda m: replace(m) or m.group(), s))
        if new_meta != meta:
            head = frontmatter_block(new_meta)
    return head + body


def relink(match: re.Match[str], stem: str, display: str = "") -> str:
    """The link `match` pointed at the file `stem`, keeping its heading and the text it
    showed (its display part, else `display`, else its old target)."""
    embed = "!" if match.group().startswith("!") else ""
    heading = match.group(2) or ""
    shown = (match.group(3) or "").strip() or display or match.group(1).strip()
    target = link_target(stem)
    suffix = "" if shown == target else f"|{display_text(shown)}"
    return f"{embed}[[{target}{heading}{suffix}]]"


def _map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    return value


def frontmatter_block(meta: Mapping[str, Any]) -> str:
    """The `---` ... `---` block pages.render writes for `meta`, without the body."""
    return render(meta, "").rstrip("\n")


def split_frontmatter(text: str) -> tuple[str, str]:
    """(the `---` block, everything after it), so a fix can replace one and keep the other."""
    match = _FRONTMATTER_RE.match(text)
    if match is None:
        return "", text
    return match.group(), text[match.end() :]
