"""Which files under wiki/ are pages: one walk, shared by everything that reads the wiki.

The catalog, the link graph and the search index each keep derived state about the pages and
refresh it by comparing each file's mtime and size with what they recorded. They must agree on
what a page is, so the rule lives here alone: a `.md` file outside dot-folders that is not one
of the generated root pages (index.md, log.md, contradictions.md) nor a part of a large index
(`index/Index - ...`). Each takes a `WikiFiles` (and walks only when given none), so a command
that needs several of them walks once.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from llmwiki.vault import GENERATED_PAGES, INDEX_PARTS


@dataclass(frozen=True)
class WikiFiles:
    """What one walk of wiki/ found. The stats were taken before any file is read, so a
    write made after the walk leaves a newer mtime than the one recorded, and is seen next
    time."""

    # path relative to wiki/ with "/" -> (mtime_ns, size), in no particular order: a reader
    # that needs one sorts (sorting here would cost the others for nothing)
    pages: Mapping[str, tuple[int, int]]
    others: tuple[str, ...]  # the names of every other file: attachments a link may name


def walk(wiki_dir: Path) -> WikiFiles:
    """Every page under `wiki_dir` with its stat, and the names of the other files. Files and
    folders whose name starts with "." are hidden; links to folders are not followed (a loop
    must not hang us), as os.walk does. Plain strings, not Paths: at 10,000 pages pathlib's
    overhead would be most of a scan."""
    pages: dict[str, tuple[int, int]] = {}
    others: list[str] = []
    stack: list[tuple[str, str]] = [(str(wiki_dir), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            listing = os.scandir(folder)
        except OSError:
            continue  # gone, or unreadable: skipped, as os.walk skips it
        # one entry at a time: a list of a folder's entries with their stats is 60 MB held
        # at once at 100,000 pages, which the allocator keeps after it is freed
        # only the root and the index's folder hold generated pages: the others need no test
        generated = INDEX_PARTS.startswith(prefix) or prefix.startswith(INDEX_PARTS)
        with listing:
            for entry in listing:
                name = entry.name
                if name.startswith("."):
                    continue
                try:
                    if entry.is_dir():
                        if not entry.is_symlink():
                            stack.append((entry.path, f"{prefix}{name}/"))
                        continue
                    if not name.endswith(".md"):
                        others.append(name)
                        continue
                    rel = prefix + name
                    if generated and (rel in GENERATED_PAGES or rel.startswith(INDEX_PARTS)):
                        continue
                    stat = entry.stat()
                except OSError:  # removed while we walked, or a link to nothing
                    continue
                pages[rel] = (stat.st_mtime_ns, stat.st_size)
    return WikiFiles(pages, tuple(others))


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while state for every page is loaded. Loading
    makes hundreds of thousands of lists and tuples that all live on, and the collector,
    triggered by the count of new objects, walks them again and again for nothing: at 100,000
    pages it was a quarter of `wiki status`. Nothing loaded makes a cycle to collect."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
