"""A copy of each ingested original inside wiki/, so one click on a source page opens it.

raw/ is the archive and stays outside the folder Obsidian opens (see docs/format.md): there,
Obsidian's link updates cannot rewrite it and its markdown files do not become notes. Obsidian
can only follow a link to a file inside the vault, so ingest also puts a copy in
`wiki/assets/originals/`, named after the source page, and the page links it from its
`original` property. The copy is a copy, not a hard link: a viewer or editor that writes the
file in place must not change the archive. A markdown original is named `.markdown`, so
Obsidian opens it as the file it is (in the system's app) instead of taking it for a second
note with the same name as its source page.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from llmwiki.errors import PageError
from llmwiki.inbox import fit_name
from llmwiki.links import frontmatter_block, split_frontmatter
from llmwiki.page_info import PageInfo
from llmwiki.pages import parse
from llmwiki.readers import sha256_bytes
from llmwiki.vault import Vault, atomic_write

FOLDER = "assets/originals"  # under wiki/, in the attachments folder `wiki init` sets up


def place(vault: Vault, stem: str, raw_path: Path, sha256: str) -> Path:
    """Where the original archived at `raw_path` is copied: `stem` (the source page's file
    name, unique and safe in a link) with the original's extension. A file already there
    with other bytes keeps its place; this one takes a name tagged with its hash."""
    suffix = raw_path.suffix.lower()
    name = stem + (".markdown" if suffix == ".md" else suffix)
    target = vault.wiki / FOLDER / name
    if target.exists() and sha256_bytes(target.read_bytes()) != sha256:
        target = target.with_name(fit_name(name, f"-{sha256[:8]}"))
    return target


def link(vault: Vault, target: Path) -> str:
    """The `original` property's value: a link by path from wiki/, as Obsidian takes it."""
    return f"[[{target.relative_to(vault.wiki).as_posix()}]]"


def write(target: Path, raw_path: Path) -> None:
    """Copy the archived original to `target`, whole or not at all; a copy already there
    (a run resumed after a crash) is kept."""
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, raw_path.read_bytes())  # sources are capped (max_bytes): it fits


def restore(vault: Vault, pages: Iterable[PageInfo]) -> list[tuple[str, str]]:
    """For `wiki lint --fix`: copy each source page's original again from raw/ where the copy
    is gone, and give a page written before copies existed its `original`. Returns (page,
    what was done) per page changed. A page whose archive is not in raw/ is left alone."""
    raw_root = vault.raw.resolve()
    done: list[tuple[str, str]] = []
    for info in pages:
        if info.error or info.type != "source":
            continue
        path = vault.wiki / info.rel
        try:
            text = path.read_text(encoding="utf-8")
            meta = parse(text, path).meta
        except (OSError, UnicodeDecodeError, PageError):
            continue  # changed since the scan: the next lint reports it
        archive = meta.get("archive") or meta.get("file")
        if not isinstance(archive, str):
            continue
        raw_path = (vault.root / archive).resolve()
        if not raw_path.is_relative_to(raw_root) or not raw_path.is_file():
            continue
        linked = meta.get("original")
        if (
            isinstance(linked, str)
            and linked.startswith(f"[[{FOLDER}/")
            and linked.endswith("]]")
            and "|" not in linked
        ):
            target = vault.wiki / linked[2:-2]
            if not target.is_file() and target.parent == vault.wiki / FOLDER:
                write(target, raw_path)
                done.append((info.rel, f"copied {archive} to {linked[2:-2]} again"))
            continue
        if linked is not None:
            continue  # the user's own value: theirs to keep
        sha256 = sha256_bytes(raw_path.read_bytes())
        target = place(vault, info.stem, raw_path, sha256)
        head, rest = split_frontmatter(text)
        if not head:
            continue
        new_meta: dict[str, object] = {}
        for key, value in meta.items():
            new_meta[key] = value
            if key in ("archive", "file"):
                new_meta["original"] = link(vault, target)
        write(target, raw_path)
        vault.write_text(path, frontmatter_block(new_meta) + rest)
        done.append((info.rel, f"original: linked a copy of {archive}"))
    return done
