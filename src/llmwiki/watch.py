"""Watch the inbox: ingest each file that arrives, once it is complete, one file at a time.

A watchdog observer reports files created in or moved into `inbox/` (not its subfolders, so
`inbox/failed/` is left alone); a rescan of the folder every few seconds catches what a
notification missed, and stands in for the observer where it cannot start. A file is complete
when its size and mtime have not changed for `settle` seconds: a copy, a download or an editor
still writing it keeps changing them. Temporary names (`.part`, `.crdownload`, `~$x`,
dotfiles: `vault.is_ignored_name`) wait for their rename. Complete files are ingested in the
order they arrived (what was already there: in name order, as `wiki ingest` does); a file still
being written does not hold up those behind it. Each goes through
`ingest(vault, engine, options, [path])`, which takes the vault lock per file.

What becomes of a file is decided by `ingest`: ingested or skipped files leave the inbox,
unreadable ones go to `inbox/failed/`. A file whose engine call failed stays in the inbox; it
is held, not retried, until it changes. A vault locked by another wiki process is retried a
little later.

Stopping (`stop.set()`, by Ctrl-C or SIGTERM through `stop_on_signals`) is prompt and never
leaves a file half-ingested. Between files the watcher simply returns. During a file, ingest
runs in a worker thread behind `_StopGuard`, which makes every engine call fail once a stop is
asked for; `ingest` calls the engine only while planning, before it writes anything, so a file whose
engine call is in flight when the stop comes can write nothing and is abandoned at once (it
stays in the inbox), while a file past its engine calls is only writing, and is waited for.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Literal, TypeVar

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from llmwiki.engines import (
    Candidate,
    Engine,
    Extraction,
    Fact,
    KnownFact,
    Mention,
    Merge,
    SourceDoc,
    Usage,
    Verdict,
)
from llmwiki.errors import EngineError, LockedError
from llmwiki.ingest import IngestReport, Options, SourceResult, ingest
from llmwiki.vault import Vault, is_ignored_name

T = TypeVar("T")
Signature = tuple[int, int]  # (size, mtime_ns): what changes while a file is being written
# locked: another wiki process holds the vault, the watcher tries again shortly
State = Literal["watching", "ingesting", "locked", "stopped"]

STOPPED = "stopped before this file was done"


@dataclass(frozen=True)
class WatchStatus:
    """What the watcher is doing, sent whenever that changes."""

    state: State
    file: str = ""  # the file being ingested, or waiting for the lock
    arriving: int = 0  # files seen that are not complete yet
    held: int = 0  # files whose engine call failed, left in the inbox until they change
    ingested: int = 0
    skipped: int = 0
    failed: int = 0


@dataclass(frozen=True)
class WatchReport:
    results: tuple[SourceResult, ...] = ()
    abandoned: str = ""  # a file whose ingest the stop cut short; it is still in the inbox

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)


@dataclass
class _Arrival:
    order: int
    signature: Signature
    since: float  # monotonic time the signature was first seen
    not_before: float = 0.0  # retry time after the vault was locked


class Watcher:
    """Ingest the files arriving in a vault's inbox until `run`'s stop event is set.

    `settle`: seconds a file's size and mtime must stay the same before it is ingested.
    `poll`: seconds between checks of the arriving files and of the stop event.
    `rescan`: seconds between full listings of the inbox, in case a notification was missed.
    `lock_retry`: seconds to wait before trying again a vault another process has locked.
    `today`: the date of each ingest (a watch runs for days); default: `options.today`.
    `options.lock_wait` should stay 0: the watcher waits for a lock itself, stoppably.
    """

    def __init__(
        self,
        vault: Vault,
        engine: Engine,
        options: Options,
        *,
        settle: float = 1.0,
        poll: float = 0.2,
        rescan: float = 5.0,
        lock_retry: float = 2.0,
        on_result: Callable[[SourceResult], None] | None = None,
        on_status: Callable[[WatchStatus], None] | None = None,
        today: Callable[[], date] | None = None,
    ) -> None:
        self.vault = vault
        self.engine = engine
        self.options = options
        self.settle = settle
        self.poll = poll
        self.rescan = rescan
        self.lock_retry = lock_retry
        self.on_result = on_result
        self.on_status = on_status
        self.today = today
        self._arrivals: dict[Path, _Arrival] = {}
        self._held: dict[Path, Signature] = {}
        self._order = 0
        self._results: list[SourceResult] = []
        self._last_status: WatchStatus | None = None
        self._inbox = vault.inbox.resolve()
        self._events = _Events()

    def run(self, stop: threading.Event) -> WatchReport:
        """Watch until `stop` is set; return what was done. Errors of the vault itself (not of
        a file), such as an unreadable manifest, end the watch and are raised."""
        self.vault.inbox.mkdir(parents=True, exist_ok=True)
        observer = self._start_observer()
        rescan = self.rescan if observer is not None else self.poll
        abandoned = ""
        try:
            self._scan()
            next_scan = time.monotonic() + rescan
            while not stop.is_set():
                self._take_events()
                if time.monotonic() >= next_scan:
                    self._scan()
                    next_scan = time.monotonic() + rescan
                path = self._next_complete()
                if path is None:
                    now = time.monotonic()
                    locked = [p.name for p, a in self._arrivals.items() if a.not_before > now]
                    if locked:
                        self._status("locked", locked[0])
                    else:
                        self._status("watching")
                    stop.wait(self.poll)
                    continue
                if not self._ingest(path, stop):
                    abandoned = path.name
                    break
        finally:
            if observer is not None:
                observer.stop()
                observer.join(timeout=2)
        self._status("stopped")
        return WatchReport(tuple(self._results), abandoned)

    # --- finding complete files ------------------------------------------------------------

    def _start_observer(self) -> BaseObserver | None:
        observer = Observer()
        try:
            observer.schedule(self._events, str(self._inbox), recursive=False)
            observer.start()
        except OSError:
            # e.g. the inotify watch limit is reached: the rescan, run as often as the poll,
            # still finds every file, only less promptly
            return None
        return observer

    def _scan(self) -> None:
        """Notice every file in the inbox (new ones in name order), forget vanished ones."""
        # paths are the inbox's (resolved once) plus the name: a symlink stays a symlink
        present = {self._inbox / p.name for p in self.vault.pending()}
        for path in sorted(present):
            self._notice(path)
        self._held = {p: s for p, s in self._held.items() if p in present}

    def _take_events(self) -> None:
        for path in self._events.take():
            if path.parent == self._inbox and not is_ignored_name(path.name):
                self._notice(self._inbox / path.name)

    def _notice(self, path: Path) -> None:
        if path in self._arrivals:
            return
        signature = _signature(path)
        if signature is None:
            return
        if path in self._held:
            if self._held[path] == signature:
                return  # unchanged since its engine call failed
            del self._held[path]
        self._order += 1
        self._arrivals[path] = _Arrival(self._order, signature, time.monotonic())

    def _next_complete(self) -> Path | None:
        """The earliest-arrived file that has stopped changing, if any. A file still being
        written does not hold up the ones that arrived after it."""
        now = time.monotonic()
        ready = None
        for path, arrival in sorted(self._arrivals.items(), key=lambda item: item[1].order):
            signature = _signature(path)
            if signature is None:
                del self._arrivals[path]  # moved away or deleted before it was complete
            elif signature != arrival.signature:
                arrival.signature, arrival.since = signature, now
            elif ready is None and now >= arrival.not_before and self._settled(arrival, now):
                ready = path
        return ready

    def _settled(self, arrival: _Arrival, now: float) -> bool:
        # Seen unchanged across at least one poll (an mtime can be coarse), and either watched
        # unchanged for the settle time or last modified longer ago than that: a file moved in
        # whole, or there before the watch began, need not wait again.
        if now - arrival.since < min(self.poll, self.settle):
            return False
        age = time.time() - arrival.signature[1] / 1e9
        return now - arrival.since >= self.settle or age >= self.settle

    # --- ingesting -------------------------------------------------------------------------

    def _ingest(self, path: Path, stop: threading.Event) -> bool:
        """Ingest one file; False if the stop abandoned it (it is still in the inbox)."""
        arrival = self._arrivals[path]
        if not arrival.not_before:  # a retry after a lock says nothing new
            self._status("ingesting", path.name)
        guard = _StopGuard(self.engine, stop)
        options = self.options if self.today is None else replace(self.options, today=self.today())
        job = _Job(lambda: ingest(self.vault, guard, options, [path]))
        while not job.done.wait(min(self.poll, 0.05)):
            if stop.is_set() and guard.in_flight():
                return False
        if isinstance(job.error, LockedError):
            arrival.not_before = time.monotonic() + self.lock_retry
            self._status("locked", path.name)
            return True
        if job.error is not None:
            raise job.error
        assert job.report is not None  # the job ended without an error
        del self._arrivals[path]
        if guard.stopped:
            return False  # the stop came between two engine calls: nothing was written
        if path.exists():
            # Its engine call failed (or it could not be read): retry only once it changes.
            # The signature is the one it was ingested with, so a change made meanwhile counts.
            self._held[path] = arrival.signature
        for result in job.report.results:
            self._results.append(result)
            if self.on_result is not None:
                self.on_result(result)
        return True

    def _status(self, state: State, file: str = "") -> None:
        status = WatchStatus(
            state,
            file,
            arriving=len(self._arrivals),
            held=len(self._held),
            ingested=sum(1 for r in self._results if r.status == "ingested"),
            skipped=sum(1 for r in self._results if r.status == "skipped"),
            failed=sum(1 for r in self._results if r.status == "failed"),
        )
        if status != self._last_status and self.on_status is not None:
            self.on_status(status)
        self._last_status = status


def stop_signals() -> list[signal.Signals]:
    """The signals that ask a watch to stop, on this platform.

    POSIX: SIGINT (Ctrl-C) and SIGTERM (`kill`, systemd, `docker stop`).
    Windows: SIGINT (Ctrl-C) and SIGBREAK (Ctrl-Break), the two console events Python turns
    into signals. No other process can deliver SIGTERM there: `taskkill /F`, the Task Manager
    and `Popen.terminate` end the process at once (TerminateProcess), and no handler runs.
    That is `kill -9` on POSIX, which the writes survive (atomic files, resumable ingest);
    SIGTERM is still handled on Windows, where only the process itself can raise it.
    """
    found = [signal.SIGINT, signal.SIGTERM]
    brk = getattr(signal, "SIGBREAK", None)  # Windows only
    if brk is not None:
        found.append(brk)
    return found


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """While the block runs, the signals of `stop_signals` set `stop` instead of killing the
    process or raising KeyboardInterrupt in the middle of a write; the previous handlers are
    restored after. Call from the main thread (Python runs handlers only there). Python runs
    a handler between bytecodes of the main thread, and a wait in it can outlast the signal
    (on Windows a timed wait is not interrupted), so the watcher waits in short polls."""
    previous = {sig: signal.signal(sig, lambda signum, frame: stop.set()) for sig in stop_signals()}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _signature(path: Path) -> Signature | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    if not path.is_file():
        return None
    return stat.st_size, stat.st_mtime_ns


class _Events(FileSystemEventHandler):
    """Paths the observer reported, collected on its thread for the watcher's loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paths: list[Path] = []

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type not in ("created", "modified", "moved", "closed"):
            return
        # a move into the inbox (a download renamed from .part) counts by its new name
        raw = event.dest_path if event.event_type == "moved" else event.src_path
        path = Path(os.fsdecode(raw))
        with self._lock:
            self._paths.append(path)

    def take(self) -> list[Path]:
        with self._lock:
            paths, self._paths = self._paths, []
        return paths


@dataclass
class _Job:
    """One ingest call on a daemon thread, so that a stop can leave it behind: a daemon thread
    does not keep the process alive, and the stop guard makes sure it writes nothing."""

    work: Callable[[], IngestReport]
    done: threading.Event = field(default_factory=threading.Event)
    report: IngestReport | None = None
    error: BaseException | None = None

    def __post_init__(self) -> None:
        threading.Thread(target=self._run, name="wiki-watch-ingest", daemon=True).start()

    def _run(self) -> None:
        try:
            self.report = self.work()
        except BaseException as exc:  # handed over to the watcher's thread, which raises it
            self.error = exc
        finally:
            self.done.set()


class _StopGuard:
    """The engine, except that once a stop is asked for, every call fails with EngineError:
    those not yet started at once, those in flight as they return."""

    def __init__(self, engine: Engine, stop: threading.Event) -> None:
        self.engine = engine
        self.name = engine.name
        self.stopped = False  # a call failed because of the stop
        self._stop = stop
        self._lock = threading.Lock()
        self._calls = 0

    def in_flight(self) -> bool:
        """Whether a call is under way. Asked after the stop was set, True means that call
        will fail, so the file can no longer be written."""
        with self._lock:
            return self._calls > 0

    def _call(self, call: Callable[[], T]) -> T:
        with self._lock:
            if self._stop.is_set():
                self.stopped = True
                raise EngineError(STOPPED)
            self._calls += 1
        try:
            result = call()
        finally:
            with self._lock:
                self._calls -= 1
                stopped = self._stop.is_set()
        if stopped:
            self.stopped = True
            raise EngineError(STOPPED)
        return result

    def extract(self, doc: SourceDoc, known_titles: Sequence[str]) -> Extraction:
        return self._call(lambda: self.engine.extract(doc, known_titles))

    def same_entity(self, mention: Mention, candidate: Candidate) -> Verdict:
        return self._call(lambda: self.engine.same_entity(mention, candidate))

    def merge(
        self, title: str, known: Sequence[KnownFact], new: Sequence[Fact], source: str
    ) -> Merge:
        return self._call(lambda: self.engine.merge(title, known, new, source))

    def estimate(self, doc: SourceDoc) -> Usage:
        return self.engine.estimate(doc)
