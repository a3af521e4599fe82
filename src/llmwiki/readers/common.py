"""What every reader shares: decoding bytes to text, dates, author names, tidy paragraphs, and
the error a reader raises for a file it cannot turn into text."""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Iterable
from datetime import date

from charset_normalizer import from_bytes

from llmwiki.errors import SourceError

_WIKILINK = re.compile(r"\[\[([^\[\]|]*)(?:\|[^\[\]]*)?\]\]")
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

Parsed = tuple[str, str, dict[str, str]]  # (text, title, meta), what every reader returns


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
