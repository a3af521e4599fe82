"""The walk of wiki/ for a process that stays up (the MCP server), taken again only after the
folder reported a change.

Every reader of the wiki compares the files' stats with its own state to find what changed
(scan.py), and that walk costs a `stat` per page: 0.7 s at 100,000 pages, where the search
itself takes 25 ms. A process that answers many calls can watch wiki/ instead and walk only
when something was created, written, moved or deleted there since its last walk. Reads do not
count (watchdog reports a file opened and closed unwritten too). Where the folder cannot be
watched (the inotify watch limit, a file system without notifications), every call walks, as
a command does.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from watchdog.events import (
    EVENT_TYPE_CLOSED_NO_WRITE,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_OPENED,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from llmwiki.scan import WikiFiles, walk

_READS = (EVENT_TYPE_OPENED, EVENT_TYPE_CLOSED_NO_WRITE)


class _Changes(FileSystemEventHandler):
    def __init__(self, wiki: Path, changed: threading.Event) -> None:
        self._root = os.path.join(str(wiki), "")
        self._changed = changed

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in _READS or (
            event.is_directory and event.event_type == EVENT_TYPE_MODIFIED
        ):
            return  # a folder is "modified" when a file in it comes or goes: reported too
        for path in (event.src_path, event.dest_path):
            if path and not self._hidden(os.fsdecode(path)):
                self._changed.set()

    def _hidden(self, path: str) -> bool:
        """In a dot-folder or a dot-file, which the walk skips: Obsidian rewrites
        .obsidian/workspace.json at every click."""
        rel = path.removeprefix(self._root)
        return any(part.startswith(".") for part in rel.split(os.sep))


class LiveFiles:
    """`get()` is `walk(wiki)`, the same walk again while nothing in wiki/ changed. Call
    `close()` when done (or use it as a context manager)."""

    def __init__(self, wiki: Path) -> None:
        self._wiki = wiki
        self._changed = threading.Event()
        self._lock = threading.Lock()
        self._files: WikiFiles | None = None
        self._observer: BaseObserver | None = None
        observer = Observer()
        try:
            observer.schedule(_Changes(wiki, self._changed), str(wiki), recursive=True)
            observer.start()
        except OSError:
            return  # not watchable: every get() walks
        self._observer = observer

    @property
    def watching(self) -> bool:
        return self._observer is not None and self._observer.is_alive()

    def get(self) -> WikiFiles:
        if not self.watching:
            return walk(self._wiki)
        with self._lock:
            # cleared before the walk: a change made while it runs is walked again next time
            if self._files is None or self._changed.is_set():
                self._changed.clear()
                self._files = walk(self._wiki)
            return self._files

    def changed(self) -> None:
        """Walk again at the next `get()`: this process wrote to wiki/, and the observer's
        report of it may not have arrived yet."""
        self._changed.set()

    def close(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=2)
            self._observer = None

    def __enter__(self) -> LiveFiles:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
