"""The link graph: pages are nodes, `[[links]]` are edges, resolved the way Obsidian does.

A link names a file: `[[Andrej Karpathy|Karpathy]]` and `[[andrej karpathy#Career]]` both point
at `Andrej Karpathy.md` (file names match case-insensitively; `#heading` and `|display` are
ignored). A link to no file is recorded as broken, not as a node. The generated root pages
(index.md, log.md, contradictions.md) are not nodes: a link from the index proves nothing.

The graph is built from each page's PageInfo (page_info.py), which is cached, so a rebuild after
one ingest re-reads only the files that changed.
"""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from llmwiki.catalog import RELATED_LIMIT, Catalog
from llmwiki.catalog_store import STORE_FILE
from llmwiki.errors import UsageError
from llmwiki.identity import fold_name
from llmwiki.page_info import PageInfo, Scan, scan_pages
from llmwiki.scan import WikiFiles, walk
from llmwiki.vault import Vault

if TYPE_CHECKING:
    import networkx as nx

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
    attachments: frozenset[str]  # folded names of the non-page files

    def resolve(self, target: str) -> str | None:
        """The stem of the page `target` opens, or None. A path ("people/Ada Lovelace")
        opens the page of its last part's name: file names are unique among the nodes (a
        second file of the same name is `shadowed`), so no index of paths is needed."""
        name = target.strip()
        if name.casefold().endswith(".md"):
            name = name[:-3]
        return self.by_name.get(_fold(name.rsplit("/", 1)[-1]))

    def is_attachment(self, target: str) -> bool:
        name = target.strip().rsplit("/", 1)[-1]
        return bool(_ATTACHMENT_RE.search(name)) and _fold(name) in self.attachments


Ints = npt.NDArray[np.int32]  # node numbers: half the memory of int64 at a million links


@dataclass(frozen=True)
class WikiGraph:
    """Pages and the links between them. A link is an edge `src[k] -> dst[k]` between node
    numbers (node i is the page `nodes[i]`), once per pair of pages, in order of `src`: at
    100,000 pages and a million links, integer arrays take a tenth of the memory and time of a
    graph object, and PageRank and components are a few array operations over them."""

    nodes: tuple[str, ...]  # file stems
    number: Mapping[str, int]  # file stem -> its node number
    src: Ints
    dst: Ints
    pages: Mapping[str, PageInfo]  # stem -> info, for the pages that are nodes
    names: Names
    broken: tuple[BrokenLink, ...]
    shadowed: tuple[PageInfo, ...]  # pages whose file name an earlier page already has
    scan: Scan
    vault: Vault
    files: WikiFiles  # the walk of wiki/ it was built from

    @property
    def links(self) -> int:
        return len(self.src)

    def successors(self, stem: str) -> list[str]:
        """The pages `stem` links to (in the order of their numbers)."""
        i = self.number[stem]
        lo, hi = np.searchsorted(self.src, [i, i + 1])
        return [self.nodes[j] for j in self.dst[lo:hi]]

    def predecessors(self, stem: str) -> list[str]:
        """The pages that link to `stem` (its backlinks)."""
        return [self.nodes[j] for j in self.src[self.dst == self.number[stem]]]

    def in_degrees(self) -> npt.NDArray[np.int64]:
        return np.bincount(self.dst, minlength=len(self.nodes))

    @cached_property
    def graph(self) -> nx.DiGraph:
        """The graph as a networkx DiGraph (node attributes title, type, path), for export:
        built on demand, as it costs ten times the arrays."""
        import networkx as nx  # slow to load, and only export needs it

        graph = nx.DiGraph()
        graph.add_nodes_from(
            (stem, {"title": info.title, "type": info.type, "path": info.rel})
            for stem, info in self.pages.items()
        )
        nodes = self.nodes
        graph.add_edges_from(
            (nodes[a], nodes[b]) for a, b in zip(self.src.tolist(), self.dst.tolist(), strict=True)
        )
        return graph

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
    pages: dict[str, PageInfo] = {}
    shadowed: list[PageInfo] = []
    for info in found.pages:
        stem = info.stem
        key = _fold(stem)
        if key in by_name:
            shadowed.append(info)
            continue
        by_name[key] = stem
        pages[stem] = info
    names = Names(by_name, found.attachments)
    nodes = tuple(pages)
    number = {stem: i for i, stem in enumerate(nodes)}
    src, dst, broken = _links(pages, number, names)
    return WikiGraph(
        nodes,
        number,
        src,
        dst,
        pages,
        names,
        tuple(broken),
        tuple(shadowed),
        found,
        vault,
        files,
    )


def _links(
    pages: Mapping[str, PageInfo], number: Mapping[str, int], names: Names
) -> tuple[Ints, Ints, list[BrokenLink]]:
    """The edges between `pages` (numbered by `number`, in their order), once per pair in
    order of their source, and the links that reach no file. A million links are one pass in
    array operations: the loop per link in Python took seconds."""
    flat = list(chain.from_iterable(info.links for info in pages.values()))
    ends_of: dict[str, int] = {}  # each target once: -1 for none
    for target in set(flat):
        if target in number and not target.casefold().endswith(".md"):
            ends_of[target] = number[target]  # a file name as it is: by far the most links
        else:
            resolved = names.resolve(target)
            ends_of[target] = -1 if resolved is None else number[resolved]
    counts = np.fromiter((len(info.links) for info in pages.values()), np.int64, len(pages))
    src = np.repeat(np.arange(len(pages), dtype=np.int32), counts)
    dst = np.fromiter(map(ends_of.__getitem__, flat), np.int32, len(flat))
    stems = tuple(number)
    broken = [
        BrokenLink(stems[src[k]], flat[k])
        for k in np.flatnonzero(dst < 0).tolist()
        if not names.is_attachment(flat[k])
    ]
    keep = (dst >= 0) & (dst != src)  # a page's link to itself is no edge
    # "[[A]]" and "[[a]]" are one edge: unique pairs, sorted by source then target
    pairs = src[keep].astype(np.int64) * len(pages) + dst[keep]
    pairs.sort()  # np.unique hashes: five times slower
    pairs = pairs[np.diff(pairs, prepend=-1) != 0]
    return (pairs // len(pages)).astype(np.int32), (pairs % len(pages)).astype(np.int32), broken


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
    return sorted(wg.nodes[i] for i in np.flatnonzero(wg.in_degrees() == 0))


def pagerank(wg: WikiGraph, alpha: float = 0.85, tol: float = 1.0e-6) -> dict[str, float]:
    """PageRank by power iteration (networkx's own needs scipy, which we do not depend on)."""
    n = len(wg.nodes)
    if n == 0:
        return {}
    out = np.bincount(wg.src, minlength=n)
    dangling = out == 0
    share = alpha / out[wg.src]  # what each link passes on, per unit of its page's rank
    rank = np.full(n, 1.0 / n)
    for _ in range(100):
        base = (1.0 - alpha + alpha * rank[dangling].sum()) / n
        new = base + np.bincount(wg.dst, weights=rank[wg.src] * share, minlength=n)
        err = np.abs(new - rank).sum()
        rank = new
        if err < n * tol:
            break
    return dict(zip(wg.nodes, rank.tolist(), strict=True))


def component_sizes(wg: WikiGraph) -> list[int]:
    """The size of each weakly connected component: every node takes the smallest number
    among its neighbours' labels, and labels follow each other (pointer jumping) until
    every link joins two nodes of one label."""
    label = np.arange(len(wg.nodes))
    while True:
        low = np.minimum(label[wg.src], label[wg.dst])
        new = label.copy()
        np.minimum.at(new, wg.src, low)
        np.minimum.at(new, wg.dst, low)
        new = new[new]  # a label is always a node of the component with a number <= its own
        if np.array_equal(new, label):
            break
        label = new
    sizes: list[int] = np.unique(label, return_counts=True)[1].tolist()
    return sizes


def stats(wg: WikiGraph, top: int = 10) -> GraphStats:
    components = component_sizes(wg)
    ranks = pagerank(wg)
    best = heapq.nsmallest(top, ranks, key=lambda s: (-ranks[s], s))
    inbound = wg.in_degrees()
    return GraphStats(
        pages=len(wg.nodes),
        links=wg.links,
        broken=len(wg.broken),
        components=len(components),
        largest_component=max(components, default=0),
        hubs=tuple(Hub(s, wg.pages[s].title, ranks[s], int(inbound[wg.number[s]])) for s in best),
        orphans=tuple(orphans(wg)),
    )


@dataclass(frozen=True)
class Neighbours:
    outgoing: tuple[str, ...]  # pages this page links to
    incoming: tuple[str, ...]  # pages linking here (backlinks)


def neighbours(wg: WikiGraph, stem: str) -> Neighbours:
    if stem not in wg.pages:
        raise KeyError(stem)
    return Neighbours(tuple(sorted(wg.successors(stem))), tuple(sorted(wg.predecessors(stem))))


def related(wg: WikiGraph, stem: str, limit: int = RELATED_LIMIT) -> list[str]:
    """The pages `stem`'s `## Related` lists, best first: ranked by `Catalog.related`, the one
    rule for both (people and concepts sharing its most specific sources)."""
    if stem not in wg.pages:
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
        import networkx as nx

        data = nx.node_link_data(wg.graph, edges="edges")
        text = json.dumps(data, ensure_ascii=False, indent=1)
        target.write_text(text, encoding="utf-8", newline="\n")  # "\n" on Windows too

    import networkx as nx  # slow to load, and only export needs it

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
