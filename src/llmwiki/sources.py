"""Inbox files -> SourceDoc: text, title, hash and what the file says about itself.

Readers are chosen by file extension. A file we cannot turn into text raises SourceError with a
reason a user can act on; the pipeline moves it to inbox/failed/ with that reason beside it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import frontmatter
import yaml
from charset_normalizer import from_bytes

from llmwiki.engine import SourceDoc

# Web clippers (Obsidian Web Clipper, MarkDownload) put these in frontmatter.
_META_KEYS = {
    "source": "url",
    "url": "url",
    "link": "url",
    "author": "author",
    "authors": "author",
    "published": "published",
    "date": "published",
    "created": "published",
}


class SourceError(Exception):
    """The file cannot be ingested; the message says why and what to do."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_text(data: bytes, name: str) -> str:
    """Bytes -> str: UTF-8 (with or without BOM), UTF-16 with a BOM, else a detected encoding."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:4096]:
        raise SourceError(
            f"{name} looks binary (it contains NUL bytes); save it as text, markdown, "
            "HTML, PDF, EPUB or DOCX"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        raise SourceError(
            f"{name} is not UTF-8 text and its encoding could not be detected; re-save it as UTF-8"
        )
    return str(best)


def _first_line_title(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        heading = re.match(r"^#{1,6}\s+(.+?)\s*#*$", line)
        if heading:
            return heading.group(1).strip()
        if line:
            return line[:200]
    return ""


def _plain_text(path: Path, data: bytes) -> tuple[str, str, dict[str, str]]:
    text = decode_text(data, path.name)
    return text, _first_line_title(text), {}


def _markdown(path: Path, data: bytes) -> tuple[str, str, dict[str, str]]:
    text = decode_text(data, path.name)
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError:
        # A broken header is still readable text; ingest it as it is rather than reject it.
        return text, _first_line_title(text), {}
    meta: dict[str, str] = {}
    for key, value in post.metadata.items():
        target = _META_KEYS.get(str(key).lower())
        if target and target not in meta and value not in (None, ""):
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            meta[target] = str(value)[:10] if target == "published" else str(value)
    title = str(post.metadata.get("title") or "") or _first_line_title(post.content)
    return post.content, title, meta


Reader = Callable[[Path, bytes], tuple[str, str, dict[str, str]]]
READERS: dict[str, Reader] = {
    ".md": _markdown,
    ".markdown": _markdown,
    ".txt": _plain_text,
    ".text": _plain_text,
}


def read_source(path: Path, max_bytes: int | None = None) -> SourceDoc:
    """Read an inbox file into a SourceDoc, or raise SourceError saying why not."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        known = ", ".join(sorted(READERS))
        raise SourceError(
            f"{path.name}: files of type '{path.suffix or '(none)'}' are not "
            f"supported; convert it to one of {known}"
        )
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise SourceError(
            f"{path.name} is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB "
            "limit; split it, or raise max_file_mb in wiki.toml"
        )
    data = path.read_bytes()
    text, title, meta = reader(path, data)
    if not text.strip():
        raise SourceError(f"{path.name} has no text to ingest (it is empty)")
    return SourceDoc(
        name=path.name,
        text=text,
        sha256=sha256_bytes(data),
        title=(title or path.stem).strip(),
        meta=meta,
        path=path,
    )
