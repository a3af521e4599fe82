"""Benchmark of `wiki ask` retrieval over a large generated wiki.

Generates N synthetic pages (default 10,000: people, concepts and sources, linked to each other
the way ingest links them) in a temporary vault, then measures:

- the time to build the search index from nothing, and to re-sync it when nothing changed and
  after one page changed;
- retrieval latency (search only, and the whole `ask` with the extractive answerer) over ~50
  questions: median and p95; the goal is under 200 ms once the index is built;
- peak memory of the process (resource.getrusage: SQLite's own allocations included).

    .venv/bin/python bench/ask_bench.py [--pages 10000] [--queries 50] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path

from llmwiki.ask import ask
from llmwiki.engines.extractive.answerer import ExtractiveAnswerer
from llmwiki.pages import render, render_link
from llmwiki.search import SearchIndex
from llmwiki.vault import Vault, init_vault


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "Ada Alan Amara Bruno Chen Dara Elena Farid Grace Hugo Ines Jonas Kira Lars Maya Nadia "
    "Omar Priya Quinn Rosa Sami Tara Umar Vera Wen Xavier Yara Zoltan"
)
LAST = _words(
    "Abbott Berg Cruz Dalton Eriksen Fischer Garcia Haddad Ivanova Jensen Kowalski Lambert "
    "Moreau Nakamura Okafor Petrov Quintero Raman Schulz Tanaka Urban Varga Weber Xu Young Zhang"
)
SYLLABLES = _words("ka lo mi ne ru sa te vo zu ba de fi go hu ja ke li mo nu pe qi ra si to")
WORDS = _words(
    "model training inference memory cache attention benchmark evaluation agent retrieval "
    "dataset tokenizer scaling compute latency throughput alignment reasoning vision speech "
    "compression distillation sparsity quantization pretraining finetuning reward policy "
    "gradient optimizer kernel cluster serving context window embedding index search graph "
    "paper release open source license budget hardware accelerator pipeline schedule"
)


def _concept(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def _sentence(rng: random.Random, subject: str, links: list[str]) -> str:
    words = rng.sample(WORDS, 8)
    other = rng.choice(links)
    return (
        f"{subject} {words[0]}s the {words[1]} {words[2]} with {render_link(other)} "
        f"to improve {words[3]} {words[4]} and {words[5]} by {rng.randint(2, 90)} percent "
        f"on {words[6]} {words[7]}."
    )


def generate(vault: Vault, n_pages: int, seed: int = 7) -> list[str]:
    """Write `n_pages` pages: ~40% people, ~40% concepts, ~20% sources. Returns their titles."""
    rng = random.Random(seed)
    people: list[str] = []
    while len(people) < n_pages * 2 // 5:
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        people.append(name if name not in people else f"{name} {_concept(rng)}")
        people = list(dict.fromkeys(people))
    concepts = list(dict.fromkeys(_concept(rng) + "-" + rng.choice(WORDS) for _ in range(n_pages)))
    concepts = concepts[: n_pages * 2 // 5]
    n_sources = n_pages - len(people) - len(concepts)
    sources = [f"Weekly Notes {i:05d} on {rng.choice(WORDS)}" for i in range(n_sources)]
    everything = people + concepts
    folders = [("person", "people", people), ("concept", "concepts", concepts)]
    for kind, folder, titles in folders:
        for title in titles:
            cited = rng.sample(sources, 2)
            links = rng.sample(everything, 4)
            facts = [
                f"- {_sentence(rng, title, links)} — {render_link(rng.choice(cited))}"
                for _ in range(rng.randint(3, 8))
            ]
            meta = {
                "title": title,
                "type": kind,
                "aliases": [title.split()[-1]] if kind == "person" else [],
                "summary": f"A {kind} working on {' and '.join(rng.sample(WORDS, 2))}.",
                "sources": [render_link(s) for s in cited],
                "tags": [kind],
                "created": "2026-01-15",
                "updated": "2026-01-15",
            }
            body = f"**{title}** is a {kind} mentioned in {render_link(cited[0])}.\n\n## Facts\n\n"
            (vault.wiki / folder / f"{title}.md").write_text(
                render(meta, body + "\n".join(facts)), encoding="utf-8"
            )
    for title in sources:
        named = rng.sample(everything, 6)
        claims = [f"- {_sentence(rng, rng.choice(named), named)}" for _ in range(5)]
        meta = {
            "title": title,
            "type": "source",
            "summary": f"Notes on {' and '.join(rng.sample(WORDS, 3))}.",
            "tags": ["source"],
            "created": "2026-01-15",
        }
        body = "## Key claims\n\n" + "\n".join(claims) + "\n\n## Mentioned\n\n"
        body += "\n".join(f"- {render_link(n)}" for n in named)
        (vault.wiki / "sources" / f"{title}.md").write_text(render(meta, body), encoding="utf-8")
    return people + concepts + sources


def questions(titles: list[str], n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    shapes = [
        "Who is {}?",
        "What is {}?",
        "What did {} say about {w}?",
        "How does {} relate to {w} {w2}?",
        "{w} {w2}",
    ]
    out = []
    for i in range(n):
        shape = shapes[i % len(shapes)]
        out.append(shape.format(rng.choice(titles), w=rng.choice(WORDS), w2=rng.choice(WORDS)))
    out[-1] = "What is the capital of Mongolia?"  # nothing covers it
    return out


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def summary(label: str, millis: list[float], what: str = "questions") -> str:
    ordered = sorted(millis)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (
        f"{label}: median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, "
        f"max {ordered[-1]:.1f} ms over {len(ordered)} {what}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--keep", type=Path, help="build the vault here and keep it")
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="ask-bench-"))
    try:
        vault = init_vault(root / "kb")[0]
        start = time.perf_counter()
        titles = generate(vault, args.pages)
        print(f"generated {len(titles)} pages in {time.perf_counter() - start:.1f} s")

        with SearchIndex(vault) as index:
            start = time.perf_counter()
            stats = index.sync()
            print(f"index build: {time.perf_counter() - start:.2f} s ({stats.added} pages)")
            print(f"re-sync, nothing changed: {_timed(index.sync):.1f} ms")
            page = next((vault.wiki / "people").glob("*.md"))
            page.write_text(page.read_text(encoding="utf-8") + "\n- One more fact.\n")
            print(f"re-sync, one page changed: {_timed(index.sync):.1f} ms")
            size = index.path.stat().st_size / 1e6
            print(f"index size: {size:.1f} MB")

            asked = questions(titles, args.queries)
            search_ms = [_timed(partial(index.search, q, 8)) for q in asked]
            print(summary("search (sync + FTS5 + ranking)", search_ms))
            query_ms = [_timed(partial(index.search, q, 8, sync=False)) for q in asked]
            print(summary("search without the sync (FTS5 + ranking only)", query_ms))

        answerer = ExtractiveAnswerer()
        today = date(2026, 1, 15)
        covered = 0

        def one(question: str) -> None:
            nonlocal covered
            covered += ask(vault, answerer, question, today=today).covered

        ask_ms = [_timed(partial(one, q)) for q in asked]
        print(summary("ask, extractive (retrieval + packing + answer)", ask_ms))
        print(f"questions answered with citations: {covered}/{len(asked)}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
        print(f"peak memory (max RSS): {peak * scale / 1e6:.0f} MB")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
