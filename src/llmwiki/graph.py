"""The link graph: pages are nodes, `[[links]]` are edges, resolved the way Obsidian does.

A link names a file: `[[Andrej Karpathy|Karpathy]]` and `[[andrej karpathy#Career]]` both point
at `Andrej Karpathy.md` (file names match case-insensitively; `#heading` and `|display` are
ignored). A link to no file is recorded as broken, not as a node. The generated root pages
(index.md, log.md, contradictions.md) are not nodes: a link from the index proves nothing.

The graph is built from each page's PageInfo (page_info.py), which is cached, so a rebuild after
one ingest re-reads only the files that changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from llmwiki.catalog import RELATED_LIMIT, Catalog
from llmwiki.catalog_store import STORE_FILE
from llmwiki.errors import UsageError
from llmwiki.identity import fold_name
from llmwiki.page_info import PageInfo, Scan, scan_pages
from llmwiki.scan import WikiFiles, walk
from llmwiki.vault import Vault

EXPORT_FORMATS = (".graphml", ".json", ".gexf")

_ATTACHMENT_RE = re.compile(r"\.[A-Za-z0-9]{1,8}$")  # up to ".markdown"


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
    vault: Vault
    files: WikiFiles  # the walk of wiki/ it was built from

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
        """The vault's catalog, brought in step with the files this graph was built from."""
        return Catalog.scan(self.vault.wiki, self.vault.state / STORE_FILE, files=self.files)


def build_graph(vault: Vault, terms: bool = False, files: WikiFiles | None = None) -> WikiGraph:
    """The link graph of `vault`'s wiki, from the files (through the cache; `files`: the walk
    of wiki/ to use, else a new one); with `terms`, its pages carry the names they mention
    (see `scan_pages`)."""
    files = files if files is not None else walk(vault.wiki)
    found = scan_pages(vault, terms, files)
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
    return WikiGraph(graph, pages, names, tuple(broken), tuple(shadowed), found, vault, files)


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


def related(wg: WikiGraph, stem: str, limit: int = RELATED_LIMIT) -> list[str]:
    """The pages `stem`'s `## Related` lists, best first: ranked by `Catalog.related`, the one
    rule for both (people and concepts sharing its most specific sources)."""
    if stem not in wg.graph:
        raise KeyError(stem)
    return [entry.stem for entry in wg.catalog().related(stem, limit)]


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
            raise UsageError(f'no page named "{page}": give its title or file name')
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
        raise UsageError(
            f"cannot export to {path.name}: name the file with one of " + ", ".join(EXPORT_FORMATS)
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    writer(path)
