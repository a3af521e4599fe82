"""The manifest: which source contents were ingested, into which pages, at what cost.

Keyed by the SHA-256 of the source's bytes, so the same content under another file name is
recognised. It lives in `.wiki/manifest.json` and is derived state: losing it only means the
next ingest re-reads sources whose facts are already on the pages (and adds nothing twice).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from llmwiki.pages import PageError, read
from llmwiki.vault import Vault, atomic_write


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
    path: Path
    sources: dict[str, SourceRecord] = field(default_factory=dict)

    @classmethod
    def load(cls, vault: Vault) -> Manifest:
        path = vault.state / "manifest.json"
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls.rebuild(vault)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"{path} is corrupt ({exc}); delete it and run the command again: "
                "it is rebuilt from the source pages"
            ) from None
        sources = {
            sha: SourceRecord(
                **{
                    **rec,
                    "files": tuple(rec.get("files", ())),
                    "pages": tuple(rec.get("pages", ())),
                }
            )
            for sha, rec in data.get("sources", {}).items()
        }
        return cls(path, sources)

    @classmethod
    def rebuild(cls, vault: Vault) -> Manifest:
        """The manifest as the source pages' frontmatter records it (sha256, file, title)."""
        manifest = cls(vault.state / "manifest.json")
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
            raw = str(meta.get("file") or "")
            manifest.sources[sha] = SourceRecord(
                title=str(meta.get("title") or path.stem),
                page=path.stem,
                files=(Path(raw).name or path.name,),
                raw=raw,
                ingested=str(meta.get("created") or ""),
                engine=str(meta.get("engine") or ""),
                prompt_tokens=int(str(meta.get("tokens") or 0)),
            )
        return manifest

    def save(self) -> None:
        data = {"version": 1, "sources": {sha: asdict(rec) for sha, rec in self.sources.items()}}
        text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        atomic_write(self.path, text.encode("utf-8"))
