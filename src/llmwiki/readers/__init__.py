"""Inbox files -> SourceDoc: text, title, hash and what the file says about itself.

One module per format (`text`, `markdown`, `html`, `pdf`, `epub`, `docx`), each with a
`read(path, data) -> (text, title, meta)`, chosen by file extension from READERS. A format's
module is imported the first time a file of that format is read: the libraries of the rich
formats take a third of a second to import, and most commands never read such a file.

A file we cannot turn into text raises SourceError with a reason a user can act on; the
pipeline moves it to inbox/failed/ with that reason beside it.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from llmwiki.engines.base import SourceDoc
from llmwiki.errors import SourceError
from llmwiki.normalize import choose_title, link_targets, normalize_markdown
from llmwiki.readers.common import (
    Parsed,
    decode_text,
    iso_date,
    person_names,
    sha256_bytes,
    tidy_text,
)

__all__ = [
    "READERS",
    "Parsed",
    "Reader",
    "decode_text",
    "iso_date",
    "person_names",
    "read_source",
    "sha256_bytes",
    "source_bytes",
    "tidy_text",
]

Reader = Callable[[Path, bytes], Parsed]

# file extension -> the module of llmwiki.readers that reads it
_FORMATS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".pdf": "pdf",
    ".epub": "epub",
    ".docx": "docx",
}


def _lazy(module: str) -> Reader:
    def read(path: Path, data: bytes) -> Parsed:
        reader: Reader = importlib.import_module(f"llmwiki.readers.{module}").read
        return reader(path, data)

    return read


READERS: Mapping[str, Reader] = {suffix: _lazy(module) for suffix, module in _FORMATS.items()}


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n} bytes"


def read_source(path: Path, max_bytes: int | None = None, within: Sequence[Path] = ()) -> SourceDoc:
    """Read an inbox file into a SourceDoc, or raise SourceError saying why not.

    With `within` (folders, such as the vault), a symbolic link is followed only to a file
    inside one of them; a link to anything else is refused without reading its target, so a
    link dropped into the inbox cannot pull an outside file into the vault."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        known = ", ".join(sorted(READERS))
        hint = " (save it as .docx)" if path.suffix.lower() in (".doc", ".odt", ".rtf") else ""
        raise SourceError(
            f"{path.name}: files of type '{path.suffix or '(none)'}' are not "
            f"supported; convert it to one of {known}{hint}"
        )
    target = _link_target(path, within) if within else path
    size = target.stat().st_size
    if size == 0:
        raise SourceError(f"{path.name} is empty (0 bytes); nothing to ingest")
    if max_bytes is not None and size > max_bytes:
        raise SourceError(
            f"{path.name} is {_size(size)}, over the {_size(max_bytes)} limit; "
            "split it, or raise max_file_mb in wiki.toml"
        )
    data = _read_bytes(target, no_link=bool(within))
    text, title, meta = reader(path, data)
    links: tuple[tuple[str, str], ...] = ()
    if path.suffix.lower() in (".md", ".markdown"):
        links = link_targets(text)
        text = normalize_markdown(text)  # both engines read the same clean text (#13)
    title = choose_title(title, text, path.stem)
    if not text.strip():
        raise SourceError(f"{path.name} has no text to ingest (it is blank)")
    return SourceDoc(
        name=path.name,
        text=text,
        sha256=sha256_bytes(data),
        title=(title or path.stem).strip(),
        meta=meta,
        path=path,
        links=links,
    )


def source_bytes(path: Path, sha256: str, within: Sequence[Path] = ()) -> bytes:
    """The bytes of a source read before, read again the same way (a link only into
    `within`), for the archive. Raises SourceError when they are no longer the bytes that were
    read: the file was changed, or a link swapped, while it was being ingested."""
    target = _link_target(path, within) if within else path
    data = _read_bytes(target, no_link=bool(within))
    if sha256_bytes(data) != sha256:
        raise SourceError(
            f"{path.name} changed while it was being ingested; it stays in the inbox: "
            "run ingest again once it is complete"
        )
    return data


def _link_target(path: Path, within: Sequence[Path]) -> Path:
    """`path` itself, or the file a link at `path` leads to when that lies inside `within`."""
    if not path.is_symlink():
        return path
    # realpath, not resolve(): it follows every link of a chain and never raises on a loop
    target = Path(os.path.realpath(path))
    if not any(target.is_relative_to(os.path.realpath(area)) for area in within):
        raise SourceError(
            f"{path.name} is a symbolic link to {target}, which is outside the vault; it was "
            "not read. To ingest that file, copy it into inbox/ (a link may only point "
            "inside the vault)"
        )
    return target


def _read_bytes(path: Path, no_link: bool) -> bytes:
    """The file's bytes; with `no_link`, refusing a link put in its place since the check."""
    # O_BINARY (Windows only): without it the C runtime reads in text mode, turning "\r\n"
    # into "\n" and stopping at a Ctrl-Z byte, which corrupts PDFs and changes hashes
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
    flags |= getattr(os, "O_NOFOLLOW", 0) if no_link else 0
    with os.fdopen(os.open(path, flags), "rb") as handle:
        return handle.read()
