"""A vault on disk: its folders, how to find it, its lock, and the only way pages get written.

Every write goes through `Vault.write_text`, which refuses paths outside the vault and writes
atomically (temp file + fsync + rename), so a crash leaves a file either as it was or whole.
A write that fails (disk full, read-only folder, a file another program holds open) raises
WriteError, which names the path and says what to do; it leaves no temp file and no half file.

Portability (Linux, macOS, Windows): the lock is `filelock`'s (flock on POSIX, msvcrt locking on
Windows; the OS drops either when the process dies). Files are written in binary mode, so text
has "\n" line endings on every platform. Where the platforms differ, the code says how.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from llmwiki.errors import LockedError, VaultError, WriteError

CONFIG_FILE = "wiki.toml"
PAGE_FOLDERS = {"person": "people", "concept": "concepts", "source": "sources", "answer": "answers"}
GENERATED_PAGES = ("index.md", "log.md", "contradictions.md")
# the parts of a large index (index_pages.py): generated too, never pages
INDEX_PARTS = "index/Index - "
LOG_HEADER = "# Log\n\nWhat the wiki did, newest last. Append-only.\n"
WRITING = "writing"  # in .wiki/ while a command holds the lock: left behind, it died
TEMP_PREFIX, TEMP_SUFFIX = ".tmp-", ".part"  # atomic_write's temp files: hidden, never a page
# Windows refuses to replace a file another program (Obsidian, a sync client, a virus scanner)
# holds open, until it lets go, usually within a second. POSIX renames over open files, so a
# PermissionError there is final and waiting would only delay the error.
ON_WINDOWS = os.name == "nt"
REPLACE_PATIENCE = 2.0 if ON_WINDOWS else 0.0
# Without O_BINARY, Windows' C runtime writes "\n" as "\r\n"; POSIX has no such flag (0).
_BINARY = getattr(os, "O_BINARY", 0)

DEFAULT_CONFIG = """\
# wiki configuration. Environment variables override these values
# (WIKI_MODEL, OPENAI_BASE_URL, OPENAI_API_KEY, WIKI_ENGINE, WIKI_JOBS).
# Leave `model` empty to use the embedded extractive engine (no LLM, offline).
[wiki]
# engine = "auto"            # auto | llm | extractive
# model = "gpt-4o-mini"      # or e.g. "llama3.1" on Ollama
# base_url = "http://localhost:11434/v1"   # Ollama; llama.cpp server: http://localhost:8080/v1
# jobs = 4                   # parallel LLM calls within one source
# max_source_tokens = 6000   # documents larger than this are split
# max_file_mb = 50
"""


@dataclass(frozen=True)
class Vault:
    root: Path

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def failed(self) -> Path:
        return self.inbox / "failed"

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def wiki(self) -> Path:
        return self.root / "wiki"

    @property
    def prompts(self) -> Path:
        return self.root / "prompts"

    @property
    def state(self) -> Path:
        return self.root / ".wiki"

    def folder(self, page_type: str) -> Path:
        return self.wiki / PAGE_FOLDERS[page_type]

    def check_inside(self, path: Path, area: Path | None = None) -> Path:
        """Return `path` resolved, or raise if it lies outside `area` (default: the vault)."""
        area = (area or self.root).resolve()
        resolved = path.resolve()
        if not resolved.is_relative_to(area):
            raise VaultError(f"refusing to write {path}: it is outside {area}")
        return resolved

    def write_text(self, path: Path, text: str) -> bool:
        """Write `text` atomically if it differs from the file; return whether it changed."""
        target = self.check_inside(path)
        try:
            if target.read_text(encoding="utf-8") == text:
                return False
        except FileNotFoundError:
            pass
        atomic_write(target, text.encode("utf-8"))
        return True

    @property
    def log(self) -> Path:
        return self.wiki / "log.md"

    def append_log(self, lines: list[str], unless: str = "") -> bool:
        """Append an entry to wiki/log.md (created if missing); skip it when the log already
        holds the line `unless`. A plain append cannot tear earlier entries. Returns whether
        the entry was written."""
        if not self.log.exists():
            self.write_text(self.log, LOG_HEADER)
        elif unless and unless + "\n" in self.log.read_text(encoding="utf-8"):
            return False
        target = self.check_inside(self.log)
        data = ("\n" + "\n".join(lines) + "\n").encode("utf-8")
        try:
            fd = os.open(target, os.O_WRONLY | os.O_APPEND | _BINARY)
        except OSError as exc:
            raise WriteError(target, exc, explain_os_error(exc, False)) from exc
        try:
            size = os.fstat(fd).st_size
            try:
                _write_all(fd, data)
                os.fsync(fd)
            except OSError as exc:
                # a full disk can take part of the entry: cut the log back to where it was
                with suppress(OSError):
                    os.ftruncate(fd, size)
                raise WriteError(target, exc, explain_os_error(exc, False)) from exc
        finally:
            os.close(fd)
        return True

    def remove_stale_temp_files(self, wiki: bool = True) -> int:
        """Delete temp files that a killed process left behind (they are never a page: a
        write only becomes a page by its final rename); in wiki/ only with `wiki`. Call with
        the lock held."""
        removed = 0
        for folder in (self.wiki, self.raw, self.state, self.failed)[0 if wiki else 1 :]:
            # os.walk, not Path.rglob: a third of the time over 100,000 pages
            for parent, _, names in os.walk(folder):
                for name in names:
                    if name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX):
                        Path(parent, name).unlink(missing_ok=True)
                        removed += 1
        return removed

    def pending(self) -> list[Path]:
        """Files waiting in the inbox, in name order: predictable on every machine (a clone's
        mtimes are arbitrary), and users can date-prefix names to set the order."""
        if not self.inbox.is_dir():
            return []
        return sorted(
            p for p in self.inbox.iterdir() if p.is_file() and not is_ignored_name(p.name)
        )

    @contextmanager
    def lock(self, wait: float = 0.0, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        """Hold the vault's writer lock. If another process has it, wait up to `wait` seconds
        (calling `on_wait` once), then raise LockedError."""
        # imported here: filelock takes ~50 ms to load, and commands that only read never lock
        from filelock import FileLock, Timeout

        self.state.mkdir(parents=True, exist_ok=True)
        # A new lock object each time: two holders in one process (the watcher's worker thread
        # and a command) exclude each other just as two processes do. The lock file itself
        # stays; a process that dies loses its hold with it, so a crash never locks a vault.
        held = FileLock(self.state / "lock", timeout=0)
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                held.acquire(timeout=0)
                break
            except Timeout:
                pass
            if time.monotonic() >= deadline:
                raise LockedError(
                    f"another wiki process is writing to {self.root}; "
                    "wait for it to finish and run the command again"
                )
            if on_wait is not None and not told:
                on_wait()
                told = True
            time.sleep(0.1)
        writing = self.state / WRITING
        try:
            # A writer killed mid-write (kill -9, power loss) leaves its temp file, and the
            # mark that it held the lock: whichever command writes next, not only ingest,
            # clears the temp files away. wiki/ is looked through only after such a death:
            # at 100,000 pages that walk is a tenth of an ingest.
            self.remove_stale_temp_files(wiki=writing.exists())
            with suppress(OSError):  # a read-only vault: nothing will be written anyway
                writing.touch()
            yield
        finally:
            with suppress(OSError):
                writing.unlink(missing_ok=True)
            held.release()


def is_ignored_name(name: str) -> bool:
    """Dotfiles, editor/download temporaries and our own error notes are not sources."""
    lowered = name.lower()
    return name.startswith((".", "~$")) or lowered.endswith(
        (".part", ".crdownload", ".tmp", ".download", ".error.txt")
    )


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that it is either as it was or whole, whatever happens: the
    bytes go to a temp file beside it, are flushed to disk, and the temp file is renamed over
    `path`. Any failure removes the temp file and raises WriteError.

    Permissions: a new file gets what the umask gives (0666 masked, as an editor's files do:
    a sync tool or a web server running as another user can read them). A file being replaced
    keeps its own mode: a chmod is the user's choice, and rewriting a page must not undo it.
    (Windows has no mode bits, only a read-only flag, which makes the rename fail instead.)
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temp(path)
    except OSError as exc:
        raise WriteError(path, exc, explain_os_error(exc, False)) from exc
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        _keep_mode(path, tmp)
        _replace(tmp, path)
    except WriteError:
        _discard(tmp)
        raise
    except OSError as exc:
        _discard(tmp)
        raise WriteError(path, exc, explain_os_error(exc, False)) from exc
    except BaseException:
        _discard(tmp)
        raise


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new, empty temp file beside `path`. Unlike mkstemp (always 0600), it is created with
    mode 0666, which the OS masks with the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY
    for _ in range(100):
        tmp = path.with_name(f"{TEMP_PREFIX}{os.urandom(8).hex()}{TEMP_SUFFIX}")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temp file name", str(path.parent))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _keep_mode(target: Path, tmp: Path) -> None:
    if ON_WINDOWS:
        return  # no mode bits to keep (see atomic_write)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return
    os.chmod(tmp, mode)


def _replace(tmp: Path, target: Path) -> None:
    """Rename `tmp` over `target`; on Windows, wait a little for a program holding it open."""
    deadline = time.monotonic() + REPLACE_PATIENCE
    delay = 0.02
    while True:
        try:
            os.replace(tmp, target)
            return
        except PermissionError as exc:
            if time.monotonic() >= deadline:
                raise WriteError(target, exc, explain_os_error(exc, False)) from exc
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


def _discard(tmp: Path) -> None:
    # Never hide the write's own error behind a failed clean-up; a temp file that cannot be
    # removed now is removed by the next run (`Vault.remove_stale_temp_files`).
    with suppress(OSError):
        tmp.unlink(missing_ok=True)


def explain_os_error(exc: OSError, with_path: bool = True) -> str:
    """An OS error as a sentence a user can act on: what happened, to which path, what next."""
    where = f"{exc.filename}: " if with_path and exc.filename else ""
    code = exc.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        what = "the disk is full (or over quota); free some space and run the command again"
    elif code == errno.EROFS:
        what = "the file system is read-only; make it writable, or use a vault on another disk"
    elif isinstance(exc, PermissionError) and ON_WINDOWS:
        what = (
            "access denied; another program (Obsidian, a sync client, a virus scanner) may "
            "hold the file open, or it is read-only: close it or wait, and run the command again"
        )
    elif isinstance(exc, PermissionError):
        what = "permission denied; make the folder and file writable by you and run it again"
    elif code in (errno.EEXIST, errno.ENOTDIR):
        what = "a file is in the way where a folder is needed; move it aside and run it again"
    else:
        what = exc.strerror or str(exc)
    return where + what


def find_vault(start: Path) -> Vault | None:
    """The vault containing `start`: the nearest folder at or above it holding wiki.toml."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return Vault(folder)
    return None


def init_vault(path: Path) -> tuple[Vault, list[Path]]:
    """Create a vault at `path` (or complete one); return it and the files created.

    Existing files are never overwritten, so `init` is safe to run on a vault in use.
    """
    vault = Vault(path.resolve())
    created: list[Path] = []
    for folder in (
        vault.inbox,
        vault.raw,
        vault.prompts,
        vault.state,
        *(vault.folder(t) for t in PAGE_FOLDERS),
    ):
        folder.mkdir(parents=True, exist_ok=True)
    defaults = {
        vault.root / CONFIG_FILE: DEFAULT_CONFIG,
        # derived state is rebuilt from the files; keep it out of the vault's history
        vault.root / ".gitignore": ".wiki/\n",
    }
    from llmwiki import prompts as prompt_files  # importlib.resources: only `wiki init` needs it

    for name in prompt_files.default_names():
        defaults[vault.prompts / name] = prompt_files.read_default(name)
    for file, text in defaults.items():
        if not file.exists():
            atomic_write(file, text.encode("utf-8"))
            created.append(file)
    return vault, created
