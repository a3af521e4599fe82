"""Benchmark of `wiki search` over a generated 10,000-page wiki (issue 15: under 200 ms).

Uses ask_bench's generator, then measures, over ~50 queries:
- `search_pages` in-process (a walk of wiki/ to re-sync the index, FTS5, ranking, type filter);
- the same as the MCP server calls it: it stays up and watches wiki/ (live_files.py), so it
  walks and re-syncs only after a change;
- the whole `wiki search --json` command as a fresh process (Python start-up and imports
  included): what a script or an agent shelling out pays.

    .venv/bin/python bench/search_bench.py [--pages 10000] [--queries 50] [--processes 10]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ask_bench import generate, questions, summary

from llmwiki.live_files import LiveFiles
from llmwiki.search import SearchIndex
from llmwiki.search_report import search_pages
from llmwiki.vault import init_vault


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--processes", type=int, default=10)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="search-bench-"))
    try:
        vault = init_vault(root / "kb")[0]
        titles = generate(vault, args.pages)
        start = time.perf_counter()
        with SearchIndex(vault) as index:
            index.sync()
        print(f"{len(titles)} pages; index built in {time.perf_counter() - start:.1f} s")
        asked = questions(titles, args.queries)
        for kind in (None, "person"):
            millis = []
            for query in asked:
                start = time.perf_counter()
                search_pages(vault, query, page_type=kind, limit=10)
                millis.append((time.perf_counter() - start) * 1000)
            print(summary(f"search_pages, type={kind or 'any'}", millis, "queries"))
        with LiveFiles(vault.wiki) as live:
            millis = []
            for query in asked:
                start = time.perf_counter()
                search_pages(vault, query, limit=10, files=live.get())
                millis.append((time.perf_counter() - start) * 1000)
            print(summary("search_pages, watched (the MCP server)", millis, "queries"))
        wiki = Path(sys.executable).with_name("wiki")
        millis = []
        for query in asked[: args.processes]:
            start = time.perf_counter()
            subprocess.run(
                [str(wiki), "--vault", str(vault.root), "search", query, "--json"],
                check=True,
                capture_output=True,
            )
            millis.append((time.perf_counter() - start) * 1000)
        print(summary("`wiki search --json` as a new process", millis, "queries"))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
