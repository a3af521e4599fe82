"""Inbox files -> SourceDoc: text, title, hash and what the file says about itself.

Readers are chosen by file extension (READERS). Text and markdown are read here; HTML, PDF,
EPUB and DOCX live in `llmwiki.formats`, imported on first use because their libraries take a
third of a second to import and most commands never read such a file.

A file we cannot turn into text raises SourceError with a reason a user can act on; the
pipeline moves it to inbox/failed/ with that reason beside it.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path

import frontmatter
import yaml
from charset_normalizer import from_bytes

from llmwiki.engine import SourceDoc
from llmwiki.normalize import choose_title, normalize_markdown
from llmwiki.pages import FAST_YAML, obsidian_tag

# Web clippers (Obsidian Web Clipper, MarkDownload) put these in frontmatter. For each field,
# the first key present wins: a clip's `created` is the day it was clipped, so it only stands
# in for the publication date when the page gave none.
_META_KEYS = {
    "url": ("source", "url", "link"),
    "author": ("author", "authors", "creator"),
    "published": ("published", "date", "created"),
    "description": ("excerpt", "description", "summary", "subtitle"),
}
_WIKILINK = re.compile(r"\[\[([^\[\]|]*)(?:\|[^\[\]]*)?\]\]")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s\[\]|]+$")
_ASSET = re.compile(r"assets/[A-Za-z0-9_-]{1,100}\.[a-z]{3,4}")
_ISO_DATE = re.compile(r"^\s*(\d{4})[-/](\d{2})[-/](\d{2})")
# Short Western European texts are ambiguous between the single-byte code pages; charset-
# normalizer may pick cp1257 for French. cp1252 is by far the most common of them, so it wins
# a near tie.
_PREFERRED_ENCODINGS = ("cp1252",)
_NEAR_TIE = 0.03
# UTF-32 first: its little-endian BOM starts with UTF-16's
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

Reader = Callable[[Path, bytes], tuple[str, str, dict[str, str]]]


class SourceError(Exception):
    """The file cannot be ingested; the message says why and what to do."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_text(data: bytes, name: str) -> str:
    """Bytes -> str: UTF-8 (with or without BOM), UTF-16/32 with a BOM or UTF-16 without one,
    else a detected encoding. Binary data raises SourceError."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                break
    if b"\x00" in data[:4096]:
        text = _utf16_without_bom(data)
        if text is None:
            raise SourceError(
                f"{name} looks binary, not text (it contains NUL bytes); save it as text, "
                "markdown, HTML, PDF, EPUB or DOCX"
            )
        return text
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise SourceError(
            f"{name} is not UTF-8 text and its encoding could not be detected (is it really "
            "a text file?); re-save it as UTF-8"
        )
    for match in matches:
        if match.encoding in _PREFERRED_ENCODINGS and match.chaos <= best.chaos + _NEAR_TIE:
            return str(match)
    return str(best)


def _utf16_without_bom(data: bytes) -> str | None:
    """Text saved as UTF-16 without a BOM (some Windows tools do): mostly characters below
    U+0100, so one byte of each pair is NUL, always the same one. Binary data has NULs
    anywhere."""
    sample = data[:4096]
    nul_even, nul_odd = sample[0::2].count(0), sample[1::2].count(0)
    if len(sample) < 32 or (nul_even and nul_odd):
        return None
    try:
        text = data.decode("utf-16-be" if nul_even else "utf-16-le")
    except UnicodeDecodeError:
        return None
    readable = sum(1 for c in text if c.isprintable() or c.isspace())
    return text if readable >= 0.98 * len(text) else None


def iso_date(value: object) -> str:
    """A YYYY-MM-DD date from a date, a datetime or an ISO-like string, else "" (a date we
    cannot read is left out rather than stored wrong: it orders contradictions)."""
    if isinstance(value, date):  # datetime is a date too
        return value.isoformat()[:10]
    match = _ISO_DATE.match(str(value or ""))
    if match is None:
        return ""
    # "2025-02-30" has the shape of a date but is none; written to a page, YAML would read it
    # back as a date and fail on every later read of that page
    try:
        return date(*(int(part) for part in match.groups())).isoformat()
    except ValueError:
        return ""


def person_names(values: Iterable[object]) -> str:
    """Authors as a comma-separated string; clippers write them as "[[Name]]" links."""
    names = []
    for value in values:
        name = _WIKILINK.sub(lambda m: m.group(1), str(value)).strip()
        if name and name not in names:
            names.append(name)
    return ", ".join(names)


def tidy_text(text: str) -> str:
    """Trailing spaces off, at most one blank line between paragraphs, no blank edges."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def _plain_text(path: Path, data: bytes) -> tuple[str, str, dict[str, str]]:
    text = decode_text(data, path.name)
    return text, "", {}  # the title comes from the text (`normalize.choose_title`)


def _markdown(path: Path, data: bytes) -> tuple[str, str, dict[str, str]]:
    text = decode_text(data, path.name)
    try:
        post = frontmatter.loads(text, handler=FAST_YAML)
    except (yaml.YAMLError, TypeError):
        # A broken header is still readable text; ingest it as it is rather than reject it.
        # (TypeError: a key that is not a string, such as a date, which python-frontmatter
        # cannot take.)
        return text, "", {}
    except (ValueError, OverflowError) as exc:
        # YAML's timestamps: `published: 2025-02-30` is valid syntax but no date. Ingested as
        # plain text, the date would be lost without a word, so the user is asked to fix it.
        raise SourceError(
            f"{path.name}: its frontmatter holds an impossible date or time ({exc})"
            f"{_bad_value_line(text)}; correct it, or quote it to keep it as text, and move "
            "the file back into inbox/"
        ) from None
    found = {str(k).lower(): v for k, v in post.metadata.items() if v not in (None, "", [])}
    meta: dict[str, str] = {}
    for field, keys in _META_KEYS.items():
        value = next((found[k] for k in keys if k in found), None)
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        if field == "author":
            meta[field] = person_names(values)
        elif field == "published":
            meta[field] = iso_date(values[0])
        elif field != "url" or _URL.match(str(values[0]).strip()):
            # a `source:` that is no URL (a wikilink, an embed, prose) is not where the clip
            # came from, and on the source page it would become a link Obsidian follows
            meta[field] = str(values[0]).strip()
    site = found.get("site")
    if isinstance(site, str) and "[" not in site:
        meta["site"] = " ".join(site.split())[:200]
    # `wiki add` downloads a clip's images into wiki/assets/ and lists them here; only names
    # of that folder are taken, so a dropped file cannot embed anything else
    listed = found.get("images")
    images = (
        [str(i) for i in listed if _ASSET.fullmatch(str(i))] if isinstance(listed, list) else []
    )
    meta["images"] = "\n".join(images)
    meta["tags"] = "\n".join(_document_tags(found.get("tags", found.get("tag"))))
    title = str(found.get("title") or "").strip()
    return post.content, title, {k: v for k, v in meta.items() if v}


def _document_tags(value: object) -> list[str]:
    """The document's own tags as Obsidian tags, in order, once each: a list (clippers,
    YAML) or a string of names split on commas, else on spaces (Jekyll's `tags: a b`)."""
    if isinstance(value, str):
        items: list[object] = list(value.split(",") if "," in value else value.split())
    elif isinstance(value, list):
        items = list(value)
    else:
        return []
    tags: list[str] = []
    for item in items:
        if isinstance(item, (str, int)) and not isinstance(item, bool):
            tag = obsidian_tag(str(item))
            if tag and tag.casefold() not in {t.casefold() for t in tags}:
                tags.append(tag)
    return tags[:50]


def _bad_value_line(text: str) -> str:
    """Where the header's bad value is, as ': line N, `key: value`' (the first line whose
    value YAML cannot construct); "" when no single line is to blame."""
    header = text.split("\n---", 1)[0].split("\n")[1:]
    for number, line in enumerate(header, 2):
        key, colon, value = line.partition(":")
        if not colon or not value.strip() or key.strip().startswith("#"):
            continue
        try:
            yaml.safe_load(value)
        except (ValueError, OverflowError):
            return f": line {number}, `{line.strip()[:120]}`"
        except yaml.YAMLError:
            continue  # a fragment of a multi-line value, not the culprit
    return ""


# The readers of rich formats import their libraries on first use (see the module docstring).
def _html(path: Path, data: bytes) -> tuple[str, str, dict[str, str]]:
    from llmwiki import formats

    return formats.read_html(path, data)


def _pdf(path: Path, data: bytes) -> tuple[str, str, dict[str, str]]:
    from llmwiki import formats

    return formats.read_pdf(path, data)


def _epub(path: Path, data: bytes) -> tuple[str, str, dict[str, str]]:
    from llmwiki import formats

    return formats.read_epub(path, data)


def _docx(path: Path, data: bytes) -> tuple[str, str, dict[str, str]]:
    from llmwiki import formats

    return formats.read_docx(path, data)


READERS: dict[str, Reader] = {
    ".md": _markdown,
    ".markdown": _markdown,
    ".txt": _plain_text,
    ".text": _plain_text,
    ".html": _html,
    ".htm": _html,
    ".xhtml": _html,
    ".pdf": _pdf,
    ".epub": _epub,
    ".docx": _docx,
}


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
    if path.suffix.lower() in (".md", ".markdown"):
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
