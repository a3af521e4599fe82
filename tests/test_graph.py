"""The link graph: Obsidian's link resolution, the incremental cache, stats and exports."""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from click.testing import CliRunner
from conftest import SAMPLE_ENTITIES, SAMPLES, KeywordEngine, run

from llmwiki.catalog import Catalog
from llmwiki.cli import cli
from llmwiki.graph import build_graph, component_sizes, export, neighbours, pagerank, related, stats
from llmwiki.index_pages import render as render_index
from llmwiki.links import relink, rewrite_links
from llmwiki.pages import parse, parse_links, read, render, section_lines
from llmwiki.vault import Vault

ENTITIES = SAMPLE_ENTITIES
ALIASES: dict[str, Sequence[str]] = {
    "Priya Raman": ["Raman"],
    "Retrieval-Augmented Generation": ["RAG"],
}


def write_page(vault: Vault, rel: str, body: str, **meta: Any) -> Path:
    path = vault.wiki / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"title": path.stem, "type": "concept", **meta}
    path.write_text(render(meta, body), encoding="utf-8")
    return path


def small_wiki(vault: Vault) -> None:
    write_page(
        vault,
        "sources/Essay.md",
        "About [[andrej karpathy#Career|AK]] and [[people/Andrej Karpathy]].\n\n"
        "`[[In Code]]` is not a link, nor is this:\n\n```\n[[Fenced]]\n```\n\n"
        "![[diagram.png]] [[Missing Page]] [[Karpathy]]",
        type="source",
    )
    write_page(
        vault,
        "people/Andrej Karpathy.md",
        "Cited in [[Essay]]. Self: [[Andrej Karpathy]].",
        type="person",
        aliases=["Karpathy"],
        sources=["[[Essay]]"],
    )
    write_page(vault, "concepts/Lonely.md", "Links to [[Essay]].", sources=["[[Essay]]"])
    (vault.wiki / "assets").mkdir()
    (vault.wiki / "assets" / "diagram.png").write_bytes(b"\x89PNG")
    (vault.wiki / "index.md").write_text("- [[Lonely]]\n- [[Essay]]\n")
    (vault.wiki / "log.md").write_text("- [[Lonely]]\n")


def test_links_resolve_as_obsidian_resolves_them(vault: Vault) -> None:
    small_wiki(vault)
    wg = build_graph(vault)
    assert sorted(wg.graph.nodes) == ["Andrej Karpathy", "Essay", "Lonely"]
    assert wg.graph.nodes["Andrej Karpathy"] == {
        "title": "Andrej Karpathy",
        "type": "person",
        "path": "people/Andrej Karpathy.md",
    }
    # case, #heading, |display and a folder path all reach the same file; no self-loop
    assert sorted(wg.graph.edges) == [
        ("Andrej Karpathy", "Essay"),
        ("Essay", "Andrej Karpathy"),
        ("Lonely", "Essay"),
    ]
    # an alias is not a file name, links in code are not links, an existing attachment is fine
    assert sorted((b.page, b.target) for b in wg.broken) == [
        ("Essay", "Karpathy"),
        ("Essay", "Missing Page"),
    ]
    # index.md and log.md link to Lonely, but they are not content pages
    assert stats(wg).orphans == ("Lonely",)
    assert neighbours(wg, "Essay").incoming == ("Andrej Karpathy", "Lonely")


def test_rebuild_reparses_only_changed_files(vault: Vault) -> None:
    small_wiki(vault)
    first = build_graph(vault)
    assert first.scan.parsed == 3 and (vault.state / "pages.marshal").is_file()
    again = build_graph(vault)
    assert (again.scan.parsed, again.scan.hashed) == (0, 0)
    assert sorted(again.graph.edges) == sorted(first.graph.edges)

    lonely = vault.wiki / "concepts" / "Lonely.md"
    lonely.write_text(lonely.read_text() + "\nNow about [[Andrej Karpathy]].\n")
    changed = build_graph(vault)
    assert (changed.scan.parsed, changed.scan.hashed) == (1, 1)
    assert ("Lonely", "Andrej Karpathy") in changed.graph.edges

    # a new mtime with the same bytes is hashed, found unchanged, and not parsed again
    stat = lonely.stat()
    os.utime(lonely, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    touched = build_graph(vault)
    assert (touched.scan.parsed, touched.scan.hashed) == (0, 1)

    lonely.unlink()
    assert "Lonely" not in build_graph(vault).graph

    (vault.state / "pages.marshal").write_text("{not json")
    (vault.state / "graph.json").write_text("{}")  # the cache of earlier versions
    assert build_graph(vault).scan.parsed == 2
    assert not (vault.state / "graph.json").exists()


def test_catalog_from_the_cache_is_the_catalog_of_the_files(vault: Vault) -> None:
    for sample in SAMPLES:
        shutil.copy(sample, vault.inbox / sample.name)
    run(vault, KeywordEngine(ENTITIES, ALIASES))
    build_graph(vault)  # fills the cache
    assert render_index(build_graph(vault).catalog()) == render_index(Catalog.scan(vault.wiki))


def test_arrays_agree_with_a_graph_built_from_the_links_written(vault: Vault) -> None:
    rng = random.Random(7)
    names = [f"P{i}" for i in range(80)]
    expected = nx.DiGraph()
    expected.add_nodes_from(names)
    for name in names:
        targets = rng.sample(names, rng.randint(0, 3))
        written = [t.lower() if rng.random() < 0.3 else t for t in targets]  # case ignored
        written += targets[:1]  # the same page linked twice is one edge
        body = " ".join(f"[[{t}]]" for t in written) or "No links."
        write_page(vault, f"concepts/{name}.md", body, sources=["[[S]]"])
        expected.add_edges_from((name, t) for t in targets if t != name)  # no self edge
    wg = build_graph(vault)
    assert sorted(wg.graph.edges) == sorted(expected.edges)
    assert sorted(component_sizes(wg)) == sorted(
        len(c) for c in nx.weakly_connected_components(expected)
    )
    assert stats(wg).orphans == tuple(sorted(n for n, d in expected.in_degree if d == 0))
    for name in names:
        assert sorted(neighbours(wg, name).incoming) == sorted(expected.predecessors(name))
    # PageRank is the fixed point of its own equation, and a distribution
    ranks, alpha, n = pagerank(wg, tol=1e-14), 0.85, len(names)
    dangling = sum(ranks[u] for u in names if expected.out_degree(u) == 0)
    for v in names:
        inflow = sum(ranks[u] / expected.out_degree(u) for u in expected.predecessors(v))
        assert ranks[v] == pytest.approx((1 - alpha + alpha * dangling) / n + alpha * inflow)
    assert sum(ranks.values()) == pytest.approx(1.0)


def test_stats_hubs_and_related_pages(vault: Vault) -> None:
    write_page(vault, "sources/S1.md", "Source one names [[A]] and [[B]].", type="source")
    write_page(vault, "sources/S2.md", "Source two names [[C]].", type="source")
    for name in "ABC":
        source = "S2" if name == "C" else "S1"
        write_page(vault, f"concepts/{name}.md", f"From [[{source}]].", sources=[f"[[{source}]]"])
    write_page(vault, "concepts/Island.md", "Alone.", sources=[])
    wg = build_graph(vault)
    s = stats(wg, top=2)
    assert (s.pages, s.links, s.broken) == (6, 6, 0)
    assert s.components == 3 and s.largest_component == 3
    assert s.orphans == ("Island",)
    assert len(s.hubs) == 2 and s.hubs[0].stem == "S1" and s.hubs[0].inbound == 2
    assert related(wg, "A")[0] == "B"  # both cite S1
    assert "C" not in related(wg, "A")
    with pytest.raises(KeyError):
        related(wg, "Nope")


def test_graph_related_is_what_the_page_lists(vault: Vault) -> None:
    """`wiki graph PAGE` ranks related pages as ingest ranks the page's `## Related`."""
    checked = 0
    for sample in SAMPLES:
        shutil.copy(sample, vault.inbox / sample.name)
        result = run(vault, KeywordEngine(ENTITIES, ALIASES)).results[0]
        wg = build_graph(vault)
        for stem in (*result.created, *result.updated):
            body = read(vault.wiki / wg.pages[stem].rel).body
            lines = section_lines(body, "Related")
            listed = [link.target for line in lines for link in parse_links(line)[:1]]
            assert related(wg, stem) == listed, stem
            checked += 1
    assert checked > len(SAMPLES)


@pytest.mark.parametrize("suffix", [".graphml", ".json", ".gexf"])
def test_export_by_extension(vault: Vault, tmp_path: Path, suffix: str) -> None:
    small_wiki(vault)
    wg = build_graph(vault)
    target = tmp_path / "out" / f"graph{suffix}"
    export(wg, target)
    if suffix == ".graphml":
        loaded = nx.read_graphml(target)
    elif suffix == ".gexf":
        loaded = nx.read_gexf(target)
    else:
        loaded = nx.node_link_graph(json.loads(target.read_text()), edges="edges")
    assert sorted(loaded.nodes) == sorted(wg.graph.nodes)
    assert loaded.number_of_edges() == wg.graph.number_of_edges()
    assert loaded.nodes["Andrej Karpathy"]["type"] == "person"


def test_export_refuses_an_unknown_format(vault: Vault, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="graphml"):
        export(build_graph(vault), tmp_path / "graph.png")


def test_rewrite_links_changes_only_the_links() -> None:
    text = (
        "---\ntitle: X\nsources:\n- '[[O''Brien]]'\n---\n\n"
        "Body with [[O'Brien|him]] and `[[O'Brien]]` in code and [[Other]].\n"
    )

    def point(match: Any) -> str | None:
        return relink(match, "Sean O'Brien") if match.group(1) == "O'Brien" else None

    new = rewrite_links(text, point)
    assert new.endswith("Body with [[Sean O'Brien|him]] and `[[O'Brien]]` in code and [[Other]].\n")
    # rewritten in the YAML values, so the quoting stays valid
    assert parse(new, Path("x.md")).meta["sources"] == ["[[Sean O'Brien|O'Brien]]"]
    assert rewrite_links(text, lambda m: None) == text


def test_graph_command(vault: Vault, tmp_path: Path) -> None:
    small_wiki(vault)
    out_file = tmp_path / "g.json"
    result = CliRunner().invoke(
        cli,
        ["--vault", str(vault.root), "graph", "Andrej Karpathy", "--export", str(out_file)],
        env={"WIKI_VAULT": ""},
    )
    assert result.exit_code == 0, result.output
    assert "Pages: 3, links: 3 (2 broken)" in result.output
    assert "Orphans (1): [[Lonely]]" in result.output
    assert "Linked from: [[Essay]]" in result.output
    assert json.loads(out_file.read_text())["nodes"]
    result = CliRunner().invoke(cli, ["--vault", str(vault.root), "graph", "--export", "x.png"])
    assert result.exit_code == 2 and "graphml" in result.output
