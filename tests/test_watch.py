"""`wiki watch`: the Watcher driven in a thread with short timings, and the real command in a
subprocess for what only a process shows (signals, exit codes, output).

Timings: files settle after SETTLE seconds; the watcher looks every 0.02 s. Waits poll for the
expected state with a generous deadline, so a slow machine makes a test slower, not flaky.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import SAMPLES, TODAY, KeywordEngine
from test_sources import BAD_INPUTS, HTML, HTML_JUNK, LIMIT, make_docx, make_epub, make_pdf

from llmwiki import watch
from llmwiki.engines import Engine, Extraction, SourceDoc
from llmwiki.errors import EngineError, LockedError
from llmwiki.ingest import Options, SourceResult
from llmwiki.pages import read
from llmwiki.vault import Vault, init_vault
from llmwiki.watch import Watcher, WatchReport, WatchStatus

SETTLE = 0.3
ENTITIES = {"Priya Raman": "person", "Tomas Berg": "person", "KV-Lite": "concept"}


class Recorder(KeywordEngine):
    """Records the text of every source it is asked to extract; fails on sources saying
    `fail_on`, like an LLM server that is down."""

    def __init__(self, fail_on: str = "") -> None:
        super().__init__(ENTITIES)
        self.fail_on = fail_on
        self.seen: list[tuple[str, str]] = []

    def extract(self, doc: SourceDoc, known_titles: Sequence[str]) -> Extraction:
        self.seen.append((doc.name, doc.text))
        if self.fail_on and self.fail_on in doc.text:
            raise EngineError("the model server did not answer")
        return super().extract(doc, known_titles)


class Running:
    """A Watcher on its own thread, with what it reported."""

    def __init__(
        self,
        vault: Vault,
        engine: Engine,
        settle: float = SETTLE,
        stop: threading.Event | None = None,
    ) -> None:
        self.results: list[SourceResult] = []
        self.statuses: list[WatchStatus] = []
        self.stop = stop or threading.Event()
        self.report: WatchReport | None = None
        self.error: BaseException | None = None
        self.watcher = Watcher(
            vault,
            engine,
            Options(today=TODAY, jobs=1, max_bytes=LIMIT),
            settle=settle,
            poll=0.02,
            rescan=0.5,
            lock_retry=0.1,
            on_result=self.results.append,
            on_status=self.statuses.append,
        )
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.report = self.watcher.run(self.stop)
        except BaseException as exc:  # handed to the test's thread by finish()
            self.error = exc

    def done(self, *names: str) -> bool:
        finished = {r.file for r in self.results}
        return all(name in finished for name in names)

    def finish(self, within: float = 2.0) -> WatchReport:
        self.stop.set()
        self.thread.join(within)
        assert not self.thread.is_alive(), f"the watcher did not stop within {within} s"
        if self.error is not None:
            raise self.error
        assert self.report is not None
        return self.report


@contextmanager
def watching(vault: Vault, engine: Engine, settle: float = SETTLE) -> Iterator[Running]:
    running = Running(vault, engine, settle)
    try:
        yield running
    finally:
        running.stop.set()
        running.thread.join(5)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def lock_is_free(vault: Vault) -> bool:
    try:
        with vault.lock():
            return True
    except LockedError:
        return False


def source_pages(vault: Vault) -> list[str]:
    return sorted(p.stem for p in (vault.wiki / "sources").glob("*.md"))


def write_slowly(path: Path, pieces: list[bytes], pause: float) -> None:
    with open(path, "wb") as handle:
        for piece in pieces:
            handle.write(piece)
            handle.flush()
            time.sleep(pause)


# --- the watcher, in a thread -----------------------------------------------------------------


def test_files_already_there_then_each_arrival(vault: Vault) -> None:
    for sample in reversed(SAMPLES):  # created in reverse: taken in name order all the same
        shutil.copy(sample, vault.inbox)
        os.utime(vault.inbox / sample.name, (time.time() - 60, time.time() - 60))
    engine = Recorder()
    with watching(vault, engine) as running:
        wait_for(lambda: running.done(*(s.name for s in SAMPLES)), "the files already there")
        shutil.copy(SAMPLES[0], vault.inbox / "copied later.md")  # same bytes: a duplicate
        (vault.inbox / "new.md").write_text("# New\n\nPriya Raman wrote this.\n")
        wait_for(lambda: "New" in source_pages(vault), "the new file's source page", 5)
        wait_for(lambda: running.done("copied later.md"), "the copied file")
        report = running.finish()
    assert [(r.file, r.status) for r in report.results] == [
        *((s.name, "ingested") for s in SAMPLES),
        ("copied later.md", "skipped"),
        ("new.md", "ingested"),
    ]
    assert [p.name for p in vault.inbox.iterdir()] == []
    assert sorted(p.name for p in vault.raw.iterdir()) == sorted(
        [s.name for s in SAMPLES] + ["copied later.md", "new.md"]
    )
    assert [s.state for s in running.statuses][-1] == "stopped"
    assert "ingesting" in [s.state for s in running.statuses]


def test_a_file_written_slowly_is_ingested_once_complete(vault: Vault) -> None:
    # Pauses longer than the watcher's poll (it sees an unchanged file several times) but
    # shorter than the settle time: the file must not be taken before its last piece.
    pieces = [f"Paragraph {i}: Priya Raman measured KV-Lite again.\n\n".encode() for i in range(6)]
    engine = Recorder()
    with watching(vault, engine) as running:
        path = vault.inbox / "slow.md"
        write_slowly(path, pieces, pause=SETTLE / 2.5)
        assert running.results == [], "ingested before it was complete"
        wait_for(lambda: running.done("slow.md"), "the slow file")
        time.sleep(SETTLE)
        report = running.finish()
    assert len(report.results) == 1 and report.results[0].status == "ingested"
    assert engine.seen == [("slow.md", b"".join(pieces).decode().strip())]
    assert (vault.raw / "slow.md").read_bytes() == b"".join(pieces)


def test_a_rewrite_of_the_same_size_restarts_the_wait(vault: Vault) -> None:
    # An editor saving in place, again and again: the size stays, only the mtime moves on.
    # Judged by its size alone, the file would be taken (and then recreated) mid-way.
    engine = Recorder()
    with watching(vault, engine, settle=0.4) as running:
        path = vault.inbox / "draft.md"
        for version in "ABC":
            path.write_text(f"Draft {version} by Priya Raman.\n")
            time.sleep(0.25)
        wait_for(lambda: running.done("draft.md"), "the draft")
        time.sleep(0.4)
        running.finish()
    assert engine.seen == [("draft.md", "Draft C by Priya Raman.")]


def test_temporary_names_wait_for_their_rename(vault: Vault) -> None:
    with watching(vault, Recorder()) as running:
        for name in ("article.md.part", "report.pdf.crdownload", "~$notes.docx", ".hidden.md"):
            (vault.inbox / name).write_text("Priya Raman is not ready yet.\n")
        time.sleep(SETTLE * 3)
        assert running.results == []
        (vault.inbox / "article.md.part").rename(vault.inbox / "article.md")
        wait_for(lambda: running.done("article.md"), "the renamed download")
        running.finish()
    left = sorted(p.name for p in vault.inbox.iterdir())
    assert left == [".hidden.md", "report.pdf.crdownload", "~$notes.docx"]


def test_documents_and_bad_inputs_while_watching(vault: Vault) -> None:
    documents = {
        "page.html": HTML.encode(),
        "paper.pdf": make_pdf(["Priya Raman built KV-Lite.", "It halves memory use."]),
        "book.epub": make_epub(),
        "notes.docx": make_docx(),
    }
    engine = Recorder()
    with watching(vault, engine) as running:
        for name, (data, _) in BAD_INPUTS.items():
            (vault.inbox / name).write_bytes(data)
        for name, data in documents.items():
            (vault.inbox / name).write_bytes(data)
        wait_for(lambda: running.done(*BAD_INPUTS, *documents), "every file", 15)
        # still watching after all those failures
        (vault.inbox / "after.md").write_text("Tomas Berg came later.\n")
        wait_for(lambda: running.done("after.md"), "a file after the failures")
        report = running.finish()
    assert report.count("failed") == len(BAD_INPUTS)
    for name, (data, reason) in BAD_INPUTS.items():
        assert (vault.failed / name).read_bytes() == data
        assert reason in (vault.failed / f"{name}.error.txt").read_text()
    texts = dict(engine.seen)
    assert "Priya Raman built KV-Lite, a cache for small models." in texts["page.html"]
    assert not [junk for junk in HTML_JUNK if junk in texts["page.html"]]
    assert texts["paper.pdf"] == "Priya Raman built KV-Lite.\nIt halves memory use."
    assert "Tomas Berg tested it." in texts["book.epub"]
    assert "Tomas Berg reviewed KV-Lite." in texts["notes.docx"]
    for name, data in documents.items():
        assert (vault.raw / name).read_bytes() == data
    assert len(source_pages(vault)) == len(documents) + 1
    # no script or navigation text reached any page
    for page in vault.wiki.rglob("*.md"):
        text = page.read_text()
        assert not [junk for junk in HTML_JUNK if junk in text], page.name


def test_a_failed_engine_call_is_held_until_the_file_changes(vault: Vault) -> None:
    engine = Recorder(fail_on="OFFLINE")
    with watching(vault, engine) as running:
        path = vault.inbox / "note.md"
        path.write_text("Priya Raman said OFFLINE things.\n")
        wait_for(lambda: running.done("note.md"), "the failed attempt")
        time.sleep(0.6)  # settle times and a rescan: no second attempt
        assert [name for name, _ in engine.seen] == ["note.md"]
        assert path.exists() and not vault.failed.exists()
        assert running.statuses[-1].held == 1
        path.write_text("Priya Raman said useful things.\n")
        wait_for(lambda: not path.exists(), "the retry after the change")
        report = running.finish()
    assert [r.status for r in report.results] == ["failed", "ingested"]
    assert "stays in the inbox" in report.results[0].message
    assert len(engine.seen) == 2


class Blocking(KeywordEngine):
    """An engine whose extraction waits for the test, like a slow LLM call."""

    def __init__(self) -> None:
        super().__init__(ENTITIES)
        self.entered = threading.Event()
        self.release = threading.Event()
        self.returned = threading.Event()

    def extract(self, doc: SourceDoc, known_titles: Sequence[str]) -> Extraction:
        self.entered.set()
        self.release.wait(10)
        try:
            return super().extract(doc, known_titles)
        finally:
            self.returned.set()


def test_stop_during_an_engine_call_abandons_the_file_at_once(vault: Vault) -> None:
    engine = Blocking()
    with watching(vault, engine) as running:
        (vault.inbox / "slow.md").write_text("Priya Raman built KV-Lite.\n")
        assert engine.entered.wait(5)
        started = time.monotonic()
        report = running.finish(within=1.0)
        assert time.monotonic() - started < 0.5
    assert report.abandoned == "slow.md" and report.results == ()
    engine.release.set()  # the call returns after the stop: its result must not be written
    assert engine.returned.wait(5)
    wait_for(lambda: lock_is_free(vault), "the abandoned ingest to let go of the vault")
    assert (vault.inbox / "slow.md").exists()
    assert list(vault.raw.iterdir()) == [] and source_pages(vault) == []
    assert not (vault.wiki / "people" / "Priya Raman.md").exists()


def test_stop_between_engine_calls_abandons_the_file(vault: Vault) -> None:
    stop = threading.Event()

    class StopsAfterExtracting(Recorder):
        def extract(self, doc: SourceDoc, known_titles: Sequence[str]) -> Extraction:
            extraction = super().extract(doc, known_titles)
            stop.set()  # as if Ctrl-C came as the extraction returned, before the merges
            return extraction

    running = Running(vault, StopsAfterExtracting(), stop=stop)
    (vault.inbox / "note.md").write_text("Priya Raman built KV-Lite.\n")
    assert stop.wait(5)
    report = running.finish()
    assert report.abandoned == "note.md" and report.results == ()
    assert (vault.inbox / "note.md").exists() and source_pages(vault) == []


def test_stop_while_writing_lets_the_file_finish(vault: Vault) -> None:
    stop = threading.Event()

    class StopsWhileWriting(Vault):
        def write_text(self, path: Path, text: str) -> bool:
            stop.set()  # as if Ctrl-C came during the first page write
            time.sleep(0.05)
            return super().write_text(path, text)

    running = Running(StopsWhileWriting(vault.root), Recorder(), stop=stop)
    (vault.inbox / "note.md").write_text("Priya Raman built KV-Lite.\n")
    assert stop.wait(5)
    report = running.finish(within=5.0)
    assert report.abandoned == "" and [r.status for r in report.results] == ["ingested"]
    assert not (vault.inbox / "note.md").exists() and (vault.raw / "note.md").exists()
    for page in vault.wiki.rglob("*.md"):
        read(page)


def test_stop_when_idle_is_prompt(vault: Vault) -> None:
    running = Running(vault, Recorder())
    wait_for(lambda: bool(running.statuses), "the first status")
    started = time.monotonic()
    report = running.finish(within=1.0)
    assert time.monotonic() - started < 0.5 and report.results == ()


def test_a_locked_vault_is_retried(vault: Vault) -> None:
    with watching(vault, Recorder()) as running:
        with vault.lock():  # another wiki process, as far as the watcher can tell
            (vault.inbox / "note.md").write_text("# Note\n\nPriya Raman built KV-Lite.\n")
            wait_for(lambda: any(s.state == "locked" for s in running.statuses), "locked")
            time.sleep(0.3)
            assert running.results == []
        wait_for(lambda: running.done("note.md"), "the retry once the lock is free")
        running.finish()
    assert source_pages(vault) == ["Note"]


def test_without_notifications_the_rescan_finds_files(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    class NoObserver:
        def schedule(self, *args: object, **kwargs: object) -> None:
            raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(watch, "Observer", NoObserver)
    with watching(vault, Recorder()) as running:
        (vault.inbox / "note.md").write_text("Priya Raman built KV-Lite.\n")
        wait_for(lambda: running.done("note.md"), "the file, found by the rescan", 5)
        running.finish()


# --- the real command, in a subprocess ------------------------------------------------------

ENV = {
    **os.environ,
    "WIKI_MODEL": "",
    "OPENAI_BASE_URL": "",
    "OPENAI_API_KEY": "",
    "WIKI_VAULT": "",
    "SOURCE_DATE_EPOCH": "1768435200",
    "PYTHONUNBUFFERED": "1",  # lines arrive as they are printed
}
# `wiki` with a scripted engine that takes its time, so a signal lands in the middle of things
SLOW_WIKI = """
import sys, time
sys.path.insert(0, {tests!r})
from conftest import KeywordEngine
import llmwiki.cli
import llmwiki.engines

class Slow(KeywordEngine):
    def extract(self, doc, known):
        time.sleep({delay})
        return super().extract(doc, known)

    def merge(self, title, known, new, source):
        time.sleep({delay} / 5)
        return super().merge(title, known, new, source)

llmwiki.engines.open_engine = lambda config, prompts=None, state=None: Slow({entities!r})
sys.argv[0] = "wiki"
llmwiki.cli.main()
"""


class Process:
    """A `wiki watch` process whose output lines are collected as they come."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def count(self, text: str) -> int:
        return sum(1 for line in self.lines if text in line)

    def stop(self, sig: int, within: float = 5.0) -> int:
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(within)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"no exit within {within} s of {sig}:\n{self.output}") from None
        self._reader.join(2)
        return code

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


def wiki_command() -> list[str]:
    script = Path(sys.executable).with_name("wiki")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from llmwiki.cli import main; main()"]


@contextmanager
def running_wiki(command: list[str], env: dict[str, str]) -> Iterator[Process]:
    process = Process(command, env)
    try:
        wait_for(lambda: process.count("Watching") > 0, "wiki watch to start", 20)
        yield process
    finally:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait()


def test_wiki_watch_command(tmp_path: Path) -> None:
    vault = init_vault(tmp_path / "kb")[0]
    env = {**ENV, "WIKI_ENGINE": "extractive"}
    command = [*wiki_command(), "--vault", str(vault.root), "watch", "--settle", "0.3"]
    with running_wiki(command, env) as wiki:
        shutil.copy(SAMPLES[0], vault.inbox)
        wait_for(lambda: len(source_pages(vault)) == 1, "the copied file's source page", 10)
        text = SAMPLES[1].read_bytes()
        pieces = [text[i : i + 200] for i in range(0, len(text), 200)]
        write_slowly(vault.inbox / "slow.md", pieces, pause=0.1)
        wait_for(lambda: len(source_pages(vault)) == 2, "the slow file's source page", 10)
        wait_for(lambda: wiki.count("watching: 2 ingested") > 0, "the status line")
        code = wiki.stop(signal.SIGTERM)
    assert code == 0, wiki.output
    assert (vault.raw / "slow.md").read_bytes() == text
    assert wiki.count("slow.md: ingested") == 1 and wiki.count("Stopped: 2 ingested") == 1
    assert list(vault.inbox.iterdir()) == []


@pytest.mark.parametrize(
    ("engine", "cue", "after"),
    [
        ("slow", "ingesting", 0.05),  # in the first extraction: abandoned
        ("slow", "ingesting", 0.35),  # in the first file's merges and writes, or the next
        ("extractive", "ingested as", 0.0),  # the real engine, somewhere in the later files
    ],
    ids=["in-an-extract", "later", "extractive"],
)
def test_sigint_leaves_every_file_whole(
    tmp_path: Path, engine: str, cue: str, after: float
) -> None:
    vault = init_vault(tmp_path / "kb")[0]
    command, env = start_command(tmp_path, vault, engine)
    names = drop_copies(vault, 0)  # there at the start
    wiki = Process(command, env)
    try:
        wait_for(lambda: wiki.count(cue) > 0, f"{cue!r} in the output", 20)
        names += drop_copies(vault, 1) + drop_copies(vault, 2)  # arriving while it works
        time.sleep(after)
        started = time.monotonic()
        code = wiki.stop(signal.SIGINT)
        assert time.monotonic() - started < 2.0, "the stop was not prompt"
    finally:
        if wiki.proc.poll() is None:
            wiki.proc.kill()
    assert code == 0, wiki.output
    assert wiki.count("Stopped:") == 1 and "Traceback" not in wiki.output
    for page in vault.wiki.rglob("*.md"):
        read(page)  # parses: frontmatter and body whole
    archived = {str(read(p).meta.get("archive")) for p in (vault.wiki / "sources").glob("*.md")}
    for name in names:
        in_inbox = (vault.inbox / name).exists()
        done = (vault.raw / name).exists() and f"raw/{name}" in archived
        assert in_inbox != done, f"{name}: in the inbox: {in_inbox}, ingested: {done}"


def drop_copies(vault: Vault, n: int) -> list[str]:
    """The samples under new names, each with a line of its own (the same content twice
    would be skipped as a duplicate)."""
    names = []
    for sample in SAMPLES:
        name = f"{n}-{sample.name}"
        text = sample.read_text() + f"\nCopy {n} of this note, by Priya Raman.\n"
        (vault.inbox / name).write_text(text)
        names.append(name)
    return names


def start_command(tmp_path: Path, vault: Vault, engine: str) -> tuple[list[str], dict[str, str]]:
    args = ["--vault", str(vault.root), "watch", "--settle", "0.2"]
    if engine == "extractive":
        return [*wiki_command(), *args], {**ENV, "WIKI_ENGINE": "extractive"}
    launcher = tmp_path / "slow_wiki.py"
    tests = str(Path(__file__).parent)
    launcher.write_text(SLOW_WIKI.format(tests=tests, delay=0.2, entities=ENTITIES))
    return [sys.executable, str(launcher), *args], ENV
