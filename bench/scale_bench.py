"""Scale benchmark (issue 16): each command as a user runs it, a new process, on generated
wikis of 10,000 and 100,000 pages; wall time and peak memory beside each goal.

The wiki comes from graph_bench's generator (people, concepts and sources with 5-10 links
each). For each size it measures, in this order:
- the first command after `.wiki/` is deleted (`wiki status`, which rebuilds the state);
- `wiki status`, warm;
- `wiki ingest` of one sample source with the extractive engine, warm (after a first ingest,
  untimed, as a wiki in use has had), whole process;
- `wiki search`, warm (after a first search, untimed, that builds its index);
- `wiki lint`, warm (a first lint run is made before, untimed: it reads the names each page
  mentions once, and finds the likely duplicates, which it keeps while no name changes);
- `wiki graph` (the stats: components, PageRank, hubs);
- `wiki lint` again, once the ingest (untimed) of a third sample has brought new names.

    .venv/bin/python bench/scale_bench.py                      # 10,000 and 100,000 pages
    .venv/bin/python bench/scale_bench.py --sizes 1000,10000   # quicker
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from graph_bench import generate

from llmwiki.vault import init_vault

REPO = Path(__file__).resolve().parents[1]
FIRST = REPO / "samples" / "2025-09-why-evaluation-is-hard.txt"
SAMPLE = REPO / "samples" / "2025-06-open-models-meetup.md"
THIRD = REPO / "samples" / "2025-03-small-models-long-memories.md"
ENV = {**os.environ, "WIKI_ENGINE": "extractive", "WIKI_MODEL": "", "OPENAI_BASE_URL": ""}

# (label, goal in seconds or None, goal text); memory goal for all: < 300 MB
GOALS = {
    "cold rebuild of .wiki/ (wiki status)": (60.0, "< 60 s"),
    "wiki status, warm": (1.0, "< 1 s"),
    "wiki ingest, one source, warm": (1.5, "< 1.5 s"),
    "wiki search, warm": (None, "retrieval < 200 ms: bench/search_bench.py"),
    "wiki lint, warm": (10.0, "< 10 s"),
    "wiki lint, after an ingest (new names)": (10.0, "< 10 s"),
    "wiki graph (stats)": (5.0, "< 5 s"),
}
MEMORY_GOAL_MB = 300


def run(root: Path, *args: str) -> tuple[float, float]:
    """Run `wiki --vault root ARGS` as a new process: (wall seconds, peak resident MB)."""
    wiki = Path(sys.executable).with_name("wiki")
    start = time.perf_counter()
    process = subprocess.Popen(
        [str(wiki), "--vault", str(root), *args],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):  # lint exits 1 on findings
        err = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"wiki {' '.join(args)} failed ({process.returncode}): {err}")
    return wall, usage.ru_maxrss / 1024  # Linux reports kilobytes


def line(label: str, wall: float, peak: float) -> None:
    limit, goal = GOALS[label]
    met = "" if limit is None else ("  met" if wall < limit else "  MISSED")
    memory = "met" if peak < MEMORY_GOAL_MB else "MISSED"
    print(
        f"  {label:<38} {wall:7.2f} s (goal {goal}){met}   "
        f"peak {peak:5.0f} MB (< {MEMORY_GOAL_MB} MB: {memory})"
    )


def bench(size: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="wiki-scale-bench-"))
    try:
        vault = init_vault(folder / "kb")[0]
        start = time.perf_counter()
        # in a process of its own: a child forked from a bench that holds the generated wiki
        # would count that memory as its own peak until it runs `wiki`
        child = multiprocessing.get_context("spawn").Process(target=generate, args=(vault, size))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit(f"generating {size:,} pages failed")
        print(f"{size:,} pages (generated in {time.perf_counter() - start:.0f} s)")
        shutil.rmtree(vault.state, ignore_errors=True)
        line("cold rebuild of .wiki/ (wiki status)", *run(vault.root, "status"))
        line("wiki status, warm", *run(vault.root, "status"))
        # a first ingest, untimed, as the wiki's last one: it records what the index holds
        shutil.copy(FIRST, vault.inbox / FIRST.name)
        run(vault.root, "ingest", "--no-commit")
        shutil.copy(SAMPLE, vault.inbox / SAMPLE.name)
        run(vault.root, "status")  # the new inbox file is the only change
        line("wiki ingest, one source, warm", *run(vault.root, "ingest", "--no-commit"))
        run(vault.root, "search", "warm up")  # the first search builds the search index
        line("wiki search, warm", *run(vault.root, "search", "sparse attention inference"))
        run(vault.root, "lint")
        line("wiki lint, warm", *run(vault.root, "lint"))
        line("wiki graph (stats)", *run(vault.root, "graph"))
        # lint keeps the duplicates it found while no name changes: an ingest brings new ones
        shutil.copy(THIRD, vault.inbox / THIRD.name)
        run(vault.root, "ingest", "--no-commit")
        line("wiki lint, after an ingest (new names)", *run(vault.root, "lint"))
        index = vault.wiki / "index.md"
        generated = [index, *sorted((vault.wiki / "index").glob("*.md"))]
        largest = max((p.stat().st_size for p in generated if p.exists()), default=0)
        print(f"  largest generated index page: {largest / 1e6:.2f} MB (goal: <= 1 MB)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    for size in (int(s) for s in args.sizes.split(",")):
        bench(size)


if __name__ == "__main__":
    main()
