"""Ingest benchmark: cost and speed per source at wiki sizes of 10, 1,000 and 10,000 pages.

The LLM is a loopback fake OpenAI-compatible server (tests/fake_openai.py) that adds a set
latency per call and counts tokens, so the figures measure this program, not a model. Each
figure is printed beside its goal.

    python bench/run.py                  # all sizes (a few minutes)
    python bench/run.py --sizes 10,1000  # quicker
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from fake_openai import FakeOpenAI  # noqa: E402

from llmwiki import index_pages  # noqa: E402
from llmwiki.catalog import Catalog  # noqa: E402
from llmwiki.config import Config  # noqa: E402
from llmwiki.engines.llm.engine import LLMEngine  # noqa: E402
from llmwiki.ingest import Options, Progress, ingest  # noqa: E402
from llmwiki.pages import render  # noqa: E402
from llmwiki.prompts import Prompts  # noqa: E402
from llmwiki.tokens import count_tokens  # noqa: E402
from llmwiki.vault import Vault, init_vault  # noqa: E402

FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Barbara",
    "Donald",
    "Edsger",
    "Frances",
    "Ken",
    "Margaret",
    "Niklaus",
    "Radia",
    "Tim",
    "Whitfield",
    "Shafi",
    "Yann",
    "Fei",
    "Andrew",
    "Daphne",
    "Judea",
]
LAST = [
    "Abbott",
    "Baker",
    "Carter",
    "Dalton",
    "Ellison",
    "Fischer",
    "Garner",
    "Hughes",
    "Irwin",
    "Jensen",
    "Keller",
    "Larsen",
    "Moreau",
    "Novak",
    "Olsen",
    "Porter",
    "Quinn",
    "Rivera",
    "Santos",
    "Turner",
    "Ulrich",
    "Vance",
    "Walsh",
    "Young",
]
TODAY = date(2026, 1, 15)


def person(i: int) -> str:
    return f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}{'' if i < 480 else i}"


def make_wiki(root: Path, pages: int) -> Vault:
    """A vault of `pages` synthetic pages: people with facts citing sources, linking each other."""
    vault, _ = init_vault(root)
    n_sources = max(1, pages // 20)
    if pages - n_sources < 18:
        raise ValueError("the smallest wiki needs 18 people: the benchmark sources name them")
    for s in range(n_sources):
        title = f"Synthetic source {s}"
        meta = {
            "title": title,
            "type": "source",
            "aliases": [],
            "summary": f"Source {s}.",
            "sources": [],
            "tags": ["source"],
            "created": "2025-01-01",
            "updated": "2025-01-01",
            "sha256": f"{s:064x}",
        }
        (vault.wiki / "sources" / f"{title}.md").write_text(render(meta, f"Summary {s}."))
    for i in range(pages - n_sources):
        name = person(i)
        src = f"Synthetic source {i % n_sources}"
        links = " ".join(f"[[{person((i * 7 + k) % (pages - n_sources))}]]" for k in (1, 2, 3))
        facts = "\n".join(
            f"- {name} published result {k} on topic {i % 37} with {k * 11} percent gains. "
            f"— [[{src}]]"
            for k in range(5)
        )
        meta = {
            "title": name,
            "type": "person",
            "aliases": [name.split()[-1]],
            "summary": f"Researcher {i}.",
            "sources": [f"[[{src}]]"],
            "tags": ["person"],
            "created": "2025-01-01",
            "updated": "2025-01-01",
        }
        body = f"{name} works with {links}.\n\n## Facts\n\n{facts}\n"
        (vault.wiki / "people" / f"{name}.md").write_text(render(meta, body))
    return vault


def make_sources(count: int) -> list[tuple[str, str]]:
    """Documents of ~1,500 tokens, each naming twelve people that every wiki size has (the
    pages it will update) and four new ones (pages it will create)."""
    docs = []
    for d in range(count):
        known = [person((d * 3 + k) % 9) for k in range(9)] + [person(9 + d % 3)]
        known += [person(12 + d), person(15 + d)]
        new = [f"Newcomer{d} Person{k}" for k in range(4)]
        everyone = known + new
        paragraphs = [f"# Field report {d}", ""]
        for p in range(32):
            who = everyone[p % len(everyone)]
            paragraphs.append(
                f"In session {p}, {who} presented work on efficient inference and evaluation. "
                f"The results improved throughput by {p + d} percent over the baseline, and the "
                f"audience asked how the method handles long documents and noisy data."
            )
        docs.append((f"report-{d}.md", "\n\n".join(paragraphs) + "\n"))
    return docs


@dataclass
class Run:
    startup: float  # seconds from the call to the first source: reading the wiki's catalog
    wall: list[float]
    overhead: list[float]  # per source: wall time not spent waiting on an LLM call
    prompt: list[int]
    completion: list[int]
    calls: list[int]
    budget: list[int]  # 3 x (source tokens + tokens of the pages it touched)


class TimedEngine:
    """Wraps an engine and records when each call was in flight, so local overhead can be
    told apart from time spent waiting on the (fake) LLM."""

    def __init__(self, inner: LLMEngine) -> None:
        self.inner = inner
        self.name = inner.name
        self.spans: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    def _timed(self, method: str, *args: object) -> Any:
        start = time.perf_counter()
        try:
            return getattr(self.inner, method)(*args)
        finally:
            with self._lock:
                self.spans.append((start, time.perf_counter()))

    def extract(self, *args: object) -> Any:
        return self._timed("extract", *args)

    def same_entity(self, *args: object) -> Any:
        return self._timed("same_entity", *args)

    def merge(self, *args: object) -> Any:
        return self._timed("merge", *args)

    def estimate(self, *args: object) -> Any:
        return self.inner.estimate(*args)  # type: ignore[arg-type]

    def busy(self, start: float, end: float) -> float:
        """Seconds within [start, end] during which at least one call was in flight."""
        spans = sorted((max(a, start), min(b, end)) for a, b in self.spans if b > start and a < end)
        total, reach = 0.0, start
        for a, b in spans:
            if b > reach:
                total += b - max(a, reach)
                reach = b
        return total


def _serve(latency: float, conn: Connection) -> None:
    with FakeOpenAI(latency=latency) as fake:
        conn.send(fake.base_url)
        conn.recv()  # until the benchmark says stop


@contextmanager
def fake_server(latency: float) -> Iterator[str]:
    """The fake LLM in a child process, so its work does not share this process's GIL and
    is not counted as local overhead."""
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.Process(target=_serve, args=(latency, theirs), daemon=True)
    child.start()
    try:
        yield str(ours.recv())
    finally:
        ours.send("stop")
        child.join(timeout=10)


def run_ingest(vault: Vault, docs: list[tuple[str, str]], latency: float, jobs: int) -> Run:
    """Ingest `docs` in one run, as `wiki ingest` would, timing each source. Tokens and calls
    are the engine's own per-source accounting (with --jobs > 1 the next source's extraction
    overlaps this one, so server-side counters would blur sources)."""
    for name, text in docs:
        (vault.inbox / name).write_text(text)
    marks: dict[int, list[float]] = {}
    with fake_server(latency) as base_url:
        config = Config(model="bench", base_url=base_url, jobs=jobs, max_retries=0)
        engine = TimedEngine(LLMEngine(config, Prompts(None)))

        def progress(event: Progress) -> None:
            marks.setdefault(event.index, []).append(time.perf_counter())

        began = time.perf_counter()
        options = Options(today=TODAY, jobs=jobs)
        report = ingest(vault, engine, options, on_progress=progress)  # type: ignore[arg-type]
    result = Run(marks[1][0] - began, [], [], [], [], [], [])
    for index, source in enumerate(report.results, 1):
        assert source.status == "ingested", source
        t0, t1 = marks[index]
        result.wall.append(t1 - t0)
        result.overhead.append(t1 - t0 - engine.busy(t0, t1))
        result.prompt.append(source.usage.prompt_tokens)
        result.completion.append(source.usage.completion_tokens)
        result.calls.append(source.usage.calls)
        text = docs[index - 1][1]
        touched = sum(
            count_tokens((vault.wiki / "people" / f"{s}.md").read_text()) for s in source.updated
        )
        result.budget.append(3 * (count_tokens(text) + touched))
    return result


def peak_rss_mb(args: list[str], env: dict[str, str]) -> float:
    """Peak resident memory of a `wiki` command run in a child process."""
    code = (
        "import resource, sys; from llmwiki.cli import main; sys.argv = ['wiki'] + "
        f"{args!r}\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    return int(done.stderr.strip().splitlines()[-1]) / 1024


def mean(values: list[float] | list[int]) -> float:
    return statistics.fmean(values) if values else 0.0


def line(label: str, value: str, goal: str, ok: bool | None) -> None:
    verdict = "" if ok is None else ("  ok" if ok else "  MISSED")
    print(f"  {label:<44} {value:>14}   goal: {goal}{verdict}")


def bench_size(
    size: int, docs: list[tuple[str, str]], latency: float, work: Path
) -> dict[str, float]:
    print(f"\n== wiki of {size:,} pages ==")
    base = work / f"base-{size}"
    count_tokens("load the encoding now")  # a one-off ~0.3 s per process, not per source
    t0 = time.perf_counter()
    vault = make_wiki(base, size)
    # a wiki in use has its catalog database, and a record of the index it last wrote; the
    # first run on a new wiki pays for building them
    t1 = time.perf_counter()
    index_pages.write(vault, Catalog.load(vault))
    print(f"  (catalog database built in {time.perf_counter() - t1:.1f} s, once per wiki)")
    print(f"  (generated in {time.perf_counter() - t0:.1f} s)")
    runs: dict[str, Run] = {}
    for label, lat, jobs in (("warm", 0.0, 4), ("jobs1", latency, 1), ("jobs4", latency, 4)):
        target = work / f"{label}-{size}"
        shutil.copytree(base, target)
        runs[label] = run_ingest(Vault(target), docs, lat, jobs)
    one, four = runs["jobs1"], runs["jobs4"]
    tokens = mean([p + c for p, c in zip(four.prompt, four.completion, strict=True)])
    line("prompt tokens per source", f"{mean(four.prompt):,.0f}", "flat across sizes", None)
    line("completion tokens per source", f"{mean(four.completion):,.0f}", "flat", None)
    ratios = [
        (p + c) / (b / 3) for p, c, b in zip(four.prompt, four.completion, four.budget, strict=True)
    ]
    line(
        "tokens / (source + touched pages), worst",
        f"{max(ratios):.2f}x",
        "at most 3x",
        max(ratios) <= 3,
    )
    line("LLM calls per source", f"{mean(four.calls):.1f}", "bounded", None)
    overhead_ms = mean(four.overhead) * 1000
    line(
        "local overhead per source (ms)",
        f"{overhead_ms:.1f}",
        "< 50 ms at 10,000 pages",
        overhead_ms < 50 if size >= 10_000 else None,
    )
    line("once per run: reading the catalog (ms)", f"{four.startup * 1000:.0f}", "", None)
    line(
        f"wall per source, --jobs 1 ({latency * 1000:.0f} ms/call)",
        f"{mean(one.wall):.2f} s",
        "",
        None,
    )
    line("wall per source, --jobs 4", f"{mean(four.wall):.2f} s", "", None)
    speedup = mean(one.wall) / mean(four.wall)
    line(
        "speed-up --jobs 4 over --jobs 1",
        f"{speedup:.1f}x",
        ">= 3x when latency dominates",
        speedup >= 3,
    )
    env = {**os.environ, "WIKI_ENGINE": "extractive", "WIKI_VAULT": str(work / f"warm-{size}")}
    (work / f"warm-{size}" / "inbox" / "extra.md").write_text(docs[0][1].replace("report", "memo"))
    rss = peak_rss_mb(["ingest", "--no-commit"], env)
    line("peak memory, wiki ingest (MB)", f"{rss:.0f}", "< 300 MB", rss < 300)
    figures = {
        "size": size,
        "tokens": tokens,
        "overhead_ms": overhead_ms,
        "speedup": speedup,
        "rss_ingest": rss,
    }
    try:
        from llmwiki import search  # noqa: F401  (present once `wiki ask` exists)
    except ImportError:
        print("  (ask retrieval: llmwiki.search not present)")
    else:
        rss_ask = peak_rss_mb(["ask", "Who presented work on efficient inference?", "--json"], env)
        line("peak memory, wiki ask (MB)", f"{rss_ask:.0f}", "< 300 MB", rss_ask < 300)
        figures["rss_ask"] = rss_ask
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="20,1000,10000")
    parser.add_argument("--sources", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per fake LLM call")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    docs = make_sources(args.sources)
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
        f"{args.sources} sources of ~{mean([count_tokens(t) for _, t in docs]):,.0f} tokens"
    )
    with tempfile.TemporaryDirectory() as tmp:
        results = [bench_size(size, docs, args.latency, Path(tmp)) for size in sizes]
    if len(results) > 1:
        low, high = results[0]["tokens"], results[-1]["tokens"]
        drift = abs(high - low) / low
        print()
        line(
            f"tokens per source, {sizes[0]:,} -> {sizes[-1]:,} pages",
            f"{drift:+.0%}",
            "flat within 20%",
            drift <= 0.2,
        )
    print("\n" + json.dumps(results))


if __name__ == "__main__":
    main()
