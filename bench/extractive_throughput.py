"""Throughput of the extractive engine on the shared corpus.

    .venv/bin/python bench/extractive_throughput.py [--repeat N]

Prints sources/s and MB/s for `ExtractiveEngine.extract`, plus the time for one pass over all
documents (target: well under a second for the four corpus newsletters). The corpus lives
outside the repository, in ../shared/corpus beside the checkout (or give --corpus); without it
there is nothing to measure, so the script says where it looked and exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from llmwiki.engines import SourceDoc
from llmwiki.engines.extractive.engine import ExtractiveEngine


def default_corpus() -> list[Path]:
    """Where ../shared/corpus may be: beside the checkout as the script was called (a checkout
    reached through a link has its ../shared there), beside the checkout it links to, and
    beside the current folder's project."""
    script = Path(os.path.abspath(__file__))  # not resolved: keep the path the user ran
    places = [script.parents[2], Path(__file__).resolve().parents[2], Path.cwd().parent]
    unique = dict.fromkeys(place / "shared" / "corpus" for place in places)
    return list(unique)


def load(folder: Path) -> list[SourceDoc]:
    docs = []
    for path in sorted(folder.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        title = text.splitlines()[0] if text else path.stem
        docs.append(SourceDoc(name=path.name, text=text, sha256="", title=title))
    return docs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="passes over the corpus")
    parser.add_argument(
        "--corpus", type=Path, help="folder of .txt files (default: ../shared/corpus)"
    )
    args = parser.parse_args()
    places = [args.corpus] if args.corpus else default_corpus()
    docs: list[SourceDoc] = []
    for place in places:
        docs = load(place) if place.is_dir() else []
        if docs:
            break
    if not docs:
        looked = ", ".join(str(place) for place in places)
        print(
            f"no corpus: no .txt documents at {looked}. The shared corpus exists only in the "
            "development workspace; give its folder with --corpus",
            file=sys.stderr,
        )
        return 2
    engine = ExtractiveEngine()
    size = sum(len(d.text.encode("utf-8")) for d in docs)
    engine.extract(docs[0], [])  # first call pays for compiling regular expressions
    passes = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        for doc in docs:
            engine.extract(doc, [])
        passes.append(time.perf_counter() - start)
    best, total = min(passes), sum(passes)
    n = len(docs) * args.repeat
    print(f"{len(docs)} documents, {size / 1e3:.1f} kB, {args.repeat} passes")
    print(f"one pass: best {best * 1e3:.1f} ms, mean {total / args.repeat * 1e3:.1f} ms")
    print(f"throughput: {n / total:.1f} sources/s, {size * args.repeat / total / 1e6:.2f} MB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
