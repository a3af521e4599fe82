"""Graph and lint benchmark: a synthetic wiki of 10,000 pages (realistic frontmatter, 5-10
links each) in a temporary folder.

Prints the full graph build (no cache), the rebuild after one page changed (the cache
re-parses only that file), the stats (PageRank, components) and a full `wiki lint`, each beside
its goal.

    python bench/graph_bench.py                 # 10,000 pages
    python bench/graph_bench.py --pages 2000
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import yaml

from llmwiki import index_pages
from llmwiki.catalog import Catalog
from llmwiki.entries import entry_for
from llmwiki.graph import build_graph, stats
from llmwiki.lint import lint
from llmwiki.overview import fingerprint
from llmwiki.vault import Vault, init_vault

T = TypeVar("T")


_FIRST = """Ada Alan Andrej Ana Bea Carlos Chen Dana Elif Emre Farah Gita Hana Ines Ivan Jin Kofi
Lars Lena Maya Mei Nadia Omar Pavel Priya Quinn Rosa Sami Tara Tomas Uma Vera Wei Yara Zoe Alex
Bruno Clara Diego Eva Felix Greta Hugo Iris Jonas Kira Leo Mina Nils Olga"""
_LAST = """Abe Bauer Berg Costa Dahl Eze Fischer Garcia Haas Ito Jensen Kaur Kim Lopez Moreau Novak
Okafor Park Quist Raman Rossi Sato Silva Tan Ueda Varga Wang Weber Xu Yilmaz Zhou Adler Bianchi
Cruz Duval Engel Flores Gross Horvat Iqbal Jung Keller Lind Mendes Nagy Ortiz Petrov Reyes Stein
Torres Unger Vogel Wolf Young Zeller Achebe Brandt Castro Dietz Esposito Falk Gomez Hoffmann
Ilic Janssen Koch Lang Marsh Nunez Olsen Pereira Roth Schulz Toth Urban Voss Weiss Yadav Ziegler
Arnold Bishop Carver Drake Ellis Fuller Grant Hale Irwin Jacobs Knox Lowe Mercer Nash Oakes"""
_ADJ = """sparse dense recurrent causal latent contrastive federated quantized distilled modular
adaptive robust neural symbolic probabilistic generative retrieval hierarchical multimodal
streaming incremental bayesian convolutional graph diffusion"""
_NOUN = """attention memory cache tokenizer decoder encoder routing sampling alignment pruning
evaluation benchmark embedding planner verifier optimizer scheduler adapter retriever reranker
compiler runtime kernel agent"""
_AREA = """inference training search reasoning compression serving safety vision speech
robotics"""


FIRST, LAST, ADJ, NOUN, AREA = (w.split() for w in (_FIRST, _LAST, _ADJ, _NOUN, _AREA))


_SYLLABLES = "ka lo mi ra ve ne do su ta ri en or al is um ba ce fi go hu jo ku ly mo na pe"
_SYLLABLES += " qu sa ti vo wa xe yo ze dra ste pli kro"


def _word(rng: random.Random) -> str:
    syllables = _SYLLABLES.split()
    return "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))).capitalize()


def _pick(rng: random.Random, pool: list[str], n: int, kind: str) -> list[str]:
    """`n` names from `pool`, and past it made-up ones ("Kalomi Vedra"): varied names, as a
    real wiki has, not one template with a number."""
    if n <= len(pool):
        return rng.sample(pool, n)
    made: set[str] = set(pool)
    while len(made) < n:
        made.add(f"{_word(rng)} {_word(rng)}" if kind == "Person" else f"{_word(rng)}")
    return pool + sorted(made - set(pool))


def names(
    rng: random.Random, n_people: int, n_concepts: int, n_sources: int
) -> list[tuple[str, str, str]]:
    people = _pick(rng, [f"{f} {last}" for f in FIRST for last in LAST], n_people, "Person")
    combos = [f"{a.capitalize()} {b} {c}" for a in ADJ for b in NOUN for c in AREA]
    concepts = _pick(rng, combos, n_concepts, "Concept")
    sources = [f"Weekly Notes {i:05d}" for i in range(n_sources)]
    return (
        [("person", "people", t) for t in people]
        + [("concept", "concepts", t) for t in concepts]
        + [("source", "sources", t) for t in sources]
    )


def generate(vault: Vault, n_pages: int, seed: int = 7) -> list[Path]:
    rng = random.Random(seed)
    n_sources = n_pages // 10
    n_people = n_pages * 3 // 10
    plan = names(rng, n_people, n_pages - n_sources - n_people, n_sources)
    titles = [t for _, _, t in plan]
    sources = [t for kind, _, t in plan if kind == "source"]
    paths = []
    entries = []
    for kind, folder, title in plan:
        cited = rng.sample(sources, 2)
        links = rng.sample(titles, rng.randint(5, 10))
        facts = [
            f"- {title} worked with [[{other}]] on a result reported in 2025. "
            f"— [[{rng.choice(cited)}]]"
            for other in links
        ]
        meta: dict[str, object] = {
            "title": title,
            "type": kind,
            "aliases": [title.split()[-1]] if kind == "person" else [],
            "summary": f"{kind.capitalize()} generated for the benchmark.",
            "sources": [] if kind == "source" else [f"[[{s}]]" for s in cited],
            "tags": [kind],
            "created": "2026-01-15",
            "updated": "2026-01-15",
        }
        lead = f"**{title}** is a {kind} of the synthetic wiki."
        if kind != "source":  # the engine's own overview, not one edited by hand
            meta["overview"] = fingerprint(lead)
        body = f"{lead}\n\n## Facts\n\n" + "\n".join(facts)
        path = vault.wiki / folder / f"{title}.md"
        path.write_text(_render(meta, body), encoding="utf-8")
        entries.append(entry_for(path, vault.wiki, meta))
        paths.append(path)
    index_pages.write(vault, Catalog(entries))
    return paths


def _render(meta: dict[str, object], body: str) -> str:
    """pages.render's layout, through libyaml's emitter: generating 10,000 pages is faster."""
    head = yaml.dump(
        meta,
        Dumper=yaml.CSafeDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1000,
    )
    return f"---\n{head}---\n\n{body.strip()}\n"


def timed(label: str, goal: str, fn: Callable[[], T]) -> T:
    """Run `fn`, print its wall-clock and CPU time (CPU time is what a busy machine distorts
    least) beside its goal."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<46} {wall:6.2f} s wall {cpu:6.2f} s CPU   (goal: {goal})")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=10_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="wiki-graph-bench-"))
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    try:
        vault = init_vault(folder / "kb")[0]
        paths = timed(f"generate {args.pages} pages", "-", lambda: generate(vault, args.pages))
        wg = timed("full graph build (no cache)", "< 2 s", lambda: build_graph(vault))
        print(
            f"  {len(wg.nodes)} pages, {wg.links} links, "
            f"{len(wg.broken)} broken, {wg.scan.parsed} files parsed"
        )
        wg = timed("rebuild, nothing changed", "fast", lambda: build_graph(vault))
        changed = paths[len(paths) // 2]
        changed.write_text(changed.read_text() + "\n- One more fact. — [[Weekly Notes 00001]]\n")
        wg = timed(
            "incremental rebuild after one page changed", "<< full", lambda: build_graph(vault)
        )
        print(f"  {wg.scan.parsed} file parsed, {wg.scan.hashed} hashed")
        s = timed("stats (components, PageRank)", "-", lambda: stats(wg))
        print(f"  {s.components} component(s), top hub [[{s.hubs[0].stem}]]")
        # the first lint also reads each page's unlinked names, which the graph does not need
        timed("wiki lint, first run (reads mentioned names)", "-", lambda: lint(vault))
        changed.write_text(changed.read_text() + "\n- And another. — [[Weekly Notes 00002]]\n")
        report = timed("wiki lint after one page changed", "-", lambda: lint(vault))
        by_code: dict[str, int] = {}
        for finding in report.findings:
            by_code[finding.code] = by_code.get(finding.code, 0) + 1
        print(f"  {len(report.errors)} errors, {len(report.warnings)} warnings: {by_code}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
