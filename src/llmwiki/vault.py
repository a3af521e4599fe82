"""A vault on disk: its folders, how to find it, its lock, and the only way pages get written.

Every write goes through `Vault.write_text`, which refuses paths outside the vault and writes
atomically (temp file + fsync + rename), so a crash leaves a file either as it was or whole.
"""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from llmwiki import prompts as prompt_files

CONFIG_FILE = "wiki.toml"
PAGE_FOLDERS = {"person": "people", "concept": "concepts", "source": "sources", "answer": "answers"}
GENERATED_PAGES = ("index.md", "log.md", "contradictions.md")
LOG_HEADER = "# Log\n\nWhat the wiki did, newest last. Append-only.\n"
TEMP_PREFIX, TEMP_SUFFIX = ".tmp-", ".part"  # atomic_write's temp files: hidden, never a page

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


class VaultError(Exception):
    """No vault where one was expected, or a path that would leave the vault."""


class LockedError(VaultError):
    """Another wiki process is writing to this vault."""


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
        with open(self.check_inside(self.log), "a", encoding="utf-8") as handle:
            handle.write("\n" + "\n".join(lines) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return True

    def remove_stale_temp_files(self) -> int:
        """Delete temp files that a killed process left behind (they are never a page: a
        write only becomes a page by its final rename). Call with the lock held."""
        removed = 0
        for folder in (self.wiki, self.raw, self.state, self.failed):
            if folder.is_dir():
                for stale in folder.rglob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
                    stale.unlink(missing_ok=True)
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
        self.state.mkdir(parents=True, exist_ok=True)
        with open(self.state / "lock", "a+") as handle:
            deadline = time.monotonic() + wait
            told = False
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                if time.monotonic() >= deadline:
                    raise LockedError(
                        f"another wiki process is writing to {self.root}; "
                        "wait for it to finish and run the command again"
                    ) from None
                if on_wait is not None and not told:
                    on_wait()
                    told = True
                time.sleep(0.1)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def is_ignored_name(name: str) -> bool:
    """Dotfiles, editor/download temporaries and our own error notes are not sources."""
    lowered = name.lower()
    return name.startswith((".", "~$")) or lowered.endswith(
        (".part", ".crdownload", ".tmp", ".download", ".error.txt")
    )


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    for name in prompt_files.default_names():
        defaults[vault.prompts / name] = prompt_files.read_default(name)
    for file, text in defaults.items():
        if not file.exists():
            atomic_write(file, text.encode("utf-8"))
            created.append(file)
    return vault, created
