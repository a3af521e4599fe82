"""The manifest: which source contents were ingested, into which pages, at what cost.

Keyed by the SHA-256 of the source's bytes, so the same content under another file name is
recognised. It lives in `.wiki/manifest.jsonl` and is derived state: losing it only means the
next ingest re-reads sources whose facts are already on the pages (and adds nothing twice).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from llmwiki.errors import PageError
from llmwiki.pages import read
from llmwiki.vault import Vault, atomic_write

MANIFEST = "manifest.jsonl"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceRecord:
    title: str
    page: str  # stem of the source page
    files: tuple[str, ...]  # every file name this content arrived under
    raw: str  # path of the archived copy, relative to the vault
    ingested: str  # YYYY-MM-DD
    engine: str
    pages: tuple[str, ...] = ()  # stems of the entity pages created or updated
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0


@dataclass
class Manifest:
    """Append-only: recording a source appends one JSON line, so the cost of a source does not
    grow with the number already ingested. The last line for a hash wins."""

    path: Path
    sources: dict[str, SourceRecord] = field(default_factory=dict)
    rebuilt: bool = False  # read from the source pages: not on disk until saved

    @classmethod
    def load(cls, vault: Vault) -> Manifest:
        path = vault.state / MANIFEST
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return cls.rebuild(vault)
        manifest = cls(path)
        lines = data.splitlines()
        damaged = 0
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                manifest._read_line(line)
            except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
                # The last line may be torn by a crash: the source pages still say what it
                # held. Damage anywhere else means the file cannot be trusted as a whole.
                if number != len(lines):
                    damaged += 1
        if not damaged:
            return manifest
        log.warning(
            "%s is damaged (%d unreadable line(s)); rebuilt it from the source pages",
            path,
            damaged,
        )
        rebuilt = cls.rebuild(vault)
        # the lines that did read carry more (pages touched, tokens) than the pages record
        rebuilt.sources.update((sha, rec) for sha, rec in manifest.sources.items())
        return rebuilt

    def _read_line(self, line: bytes) -> None:
        data = json.loads(line.decode("utf-8"))
        sha = str(data.pop("sha256"))
        self.sources[sha] = SourceRecord(
            **{**data, "files": tuple(data["files"]), "pages": tuple(data["pages"])}
        )

    @classmethod
    def rebuild(cls, vault: Vault) -> Manifest:
        """The manifest as the source pages' frontmatter records it (sha256, file, title)."""
        manifest = cls(vault.state / MANIFEST, rebuilt=True)
        folder = vault.folder("source")
        if not folder.is_dir():
            return manifest
        for path in sorted(folder.glob("*.md")):
            try:
                meta = read(path).meta
            except (PageError, UnicodeDecodeError):
                continue
            sha = str(meta.get("sha256") or "")
            if not sha:
                continue
            # `file` is what pages written before the rename call it
            raw = str(meta.get("archive") or meta.get("file") or "")
            try:
                tokens = int(str(meta.get("tokens") or 0))
            except ValueError:
                raise PageError(
                    f"{path}: tokens must be a whole number, got {meta.get('tokens')!r}; "
                    "correct it or remove the line"
                ) from None
            manifest.sources[sha] = SourceRecord(
                title=str(meta.get("title") or path.stem),
                page=path.stem,
                files=(Path(raw).name or path.name,),
                raw=raw,
                ingested=str(meta.get("created") or ""),
                engine=str(meta.get("engine") or ""),
                prompt_tokens=tokens,
            )
        return manifest

    def add(self, sha: str, record: SourceRecord) -> None:
        """Record a source durably (one appended line)."""
        self.sources[sha] = record
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # newline="\n": the same bytes on Windows, where text mode would write "\r\n"
        with open(self.path, "a", encoding="utf-8", newline="\n") as handle:
            handle.write(_line(sha, record))
            handle.flush()
            os.fsync(handle.fileno())

    def save(self) -> None:
        """Write the whole manifest afresh (after a rebuild or an undo)."""
        text = "".join(_line(sha, rec) for sha, rec in self.sources.items())
        atomic_write(self.path, text.encode("utf-8"))
        self.rebuilt = False


def _line(sha: str, record: SourceRecord) -> str:
    return json.dumps({"sha256": sha, **asdict(record)}, ensure_ascii=False) + "\n"
