"""Bounds on what one document may unpack to, checked before any library parses it.

The rich-format readers (HTML, PDF, EPUB, DOCX) share them, and turn the failures their
libraries report for a damaged file into a SourceError with a reason (`reason`).
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path

from llmwiki.errors import SourceError

# pypdf, ebooklib and python-docx trust a file's structure: on a damaged one, besides their own
# exceptions, they fail with the built-in error of whatever step met the damage. Each of these
# was seen while fuzzing them (tests/test_sources.py keeps doing that). The `try` blocks that
# catch them hold only library calls, so a bug of ours is not mistaken for a damaged file.
DAMAGE = (KeyError, IndexError, AttributeError, TypeError, ValueError, AssertionError)

# --- bounds ---------------------------------------------------------------------------------

# max_file_mb bounds a file on disk, not what it unpacks to: a 300 KB DOCX can hold 100 MB of
# XML, and markup nested 20,000 deep or repeated a million times costs minutes and gigabytes to
# parse. Past these bounds a document is rejected before it is parsed. Real documents stay far
# below them: a 1,000-page book is some 10 MB of markup and 300,000 elements, nested < 100 deep.
MAX_UNPACKED = 64_000_000  # bytes of markup (or PDF content streams) in one document
MAX_ARCHIVE = 256_000_000  # bytes a DOCX or EPUB unpacks to, images included
MAX_ELEMENTS = 500_000  # elements of markup in one document
MAX_DEPTH = 5_000  # elements nested in one another

# HTML's elements that never hold others, so never nest
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param"}
_VOID |= {"source", "track", "wbr"}
# A tag, roughly as html.parser sees one; an attribute list is bounded so that a "<" with no
# ">" after it costs a bounded look, not a scan to the end of the file.
_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]{0,64})[^>]{0,4096}?(/?)>")
_MARKUP_MEMBER = (".xml", ".rels", ".xhtml", ".html", ".htm", ".opf", ".ncx", ".svg")


class Budget:
    """What one document has used of the bounds; raises SourceError past one, naming it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.size = 0
        self.elements = 0

    def unpacked(self, size: int, what: str) -> None:
        self.size += size
        if self.size > MAX_UNPACKED:
            self._refuse(f"it unpacks to more than {MAX_UNPACKED // 1_000_000} MB of {what}")

    def counted(self, elements: int) -> None:
        self.elements += elements
        if self.elements > MAX_ELEMENTS:
            self._refuse(f"it holds more than {MAX_ELEMENTS:,} elements")

    def markup(self, text: str) -> None:
        """Count the elements of HTML and how deep they nest, as html.parser will build them
        (an unclosed tag holds everything after it), before anything is parsed."""
        self.unpacked(len(text), "markup")
        stack: list[str] = []
        open_names: dict[str, int] = {}
        for match in _TAG.finditer(text):
            closing, name, empty = match.groups()
            name = name.lower()
            if closing:
                if open_names.get(name):  # else a stray end tag, which html.parser ignores
                    while stack:
                        top = stack.pop()
                        open_names[top] -= 1
                        if top == name:
                            break
                continue
            self.counted(1)
            if name in _VOID or empty:
                continue
            stack.append(name)
            open_names[name] = open_names.get(name, 0) + 1
            if len(stack) > MAX_DEPTH:
                self._refuse(f"its elements nest more than {MAX_DEPTH:,} deep")

    def _refuse(self, why: str) -> None:
        raise SourceError(
            f"{self.name} is too large to read safely: {why} (a decompression or nesting "
            "bomb, or a document far larger than any article or book); split it, or convert "
            "it to plain text"
        )


def check_zip(path: Path, data: bytes, kind: str) -> None:
    """EPUB and DOCX are zip archives; a damaged archive is found here, in one place, rather
    than as whatever error the library meets first while unpacking it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_unpacked(path, archive)
            bad = archive.testzip()
        if bad is not None:
            bad = f"{bad} fails its checksum"
    # NotImplementedError: a compression method zipfile does not know
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as exc:
        bad = reason(exc)
    if bad is not None:
        raise SourceError(
            f"{path.name} is not a readable {kind}: the archive is damaged ({bad}); "
            "re-export or re-download it"
        )


def _check_unpacked(path: Path, archive: zipfile.ZipFile) -> None:
    """Bound what the archive unpacks to before anything unpacks it. The sizes in its
    directory may lie low, but zipfile never yields a member past its stated size."""
    budget = Budget(path.name)
    members = archive.infolist()
    if sum(member.file_size for member in members) > MAX_ARCHIVE:
        budget._refuse(f"it unpacks to more than {MAX_ARCHIVE // 1_000_000} MB")
    for member in members:
        if not member.filename.lower().endswith(_MARKUP_MEMBER):
            continue
        budget.unpacked(member.file_size, "markup")
        # every element starts with "<" and most end with "</": count before lxml builds them
        with archive.open(member) as stream:
            while chunk := stream.read(1 << 20):
                budget.counted(chunk.count(b"<") - chunk.count(b"</"))


def reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()).strip("'\"")
    return text[:160] if text else type(exc).__name__
