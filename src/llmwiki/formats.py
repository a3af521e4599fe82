"""HTML, PDF, EPUB and DOCX files -> plain text with paragraph breaks, a title and metadata.

Each reader returns `(text, title, meta)` like the text readers in `llmwiki.sources`, and turns
the failures its library reports for a damaged file into a SourceError with a reason. Libraries:
BeautifulSoup with the standard library's html.parser (lenient with broken markup, no compiled
parser to install), pypdf (pure Python), ebooklib (the EPUB container and spine; chapters go
through the same HTML extraction) and python-docx.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
import zlib
from pathlib import Path

import docx
import ebooklib  # type: ignore[import-untyped]
from bs4 import BeautifulSoup, Tag
from bs4.dammit import EncodingDetector
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from ebooklib import epub
from lxml import etree  # type: ignore[import-untyped]
from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

from llmwiki.sources import SourceError, decode_text, iso_date, person_names, tidy_text

Parsed = tuple[str, str, dict[str, str]]

# pypdf, ebooklib and python-docx trust a file's structure: on a damaged one, besides their own
# exceptions, they fail with the built-in error of whatever step met the damage. Each of these
# was seen while fuzzing them (tests/test_sources.py keeps doing that). The `try` blocks that
# catch them hold only library calls, so a bug of ours is not mistaken for a damaged file.
_DAMAGE = (KeyError, IndexError, AttributeError, TypeError, ValueError, AssertionError)

# --- HTML -----------------------------------------------------------------------------------

# Page furniture and code, never the text of the document. An article's own <header> (its title
# and byline) is kept; the site's header and footer are not.
_NOT_TEXT = [
    *("script", "style", "noscript", "template", "head", "nav", "aside", "form", "iframe"),
    *("svg", "canvas", "object", "embed", "button", "select", "textarea", "input", "label"),
    *("dialog", "menu"),
]
_FURNITURE_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu"}
_BLOCKS = [
    *("address", "article", "blockquote", "body", "caption", "center", "dd", "details", "div"),
    *("dl", "dt", "fieldset", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6"),
    *("header", "footer", "hr", "li", "main", "ol", "p", "pre", "section", "summary", "table"),
    *("tbody", "thead", "tfoot", "tr", "ul"),
]
# Private-use characters mark breaks while whitespace from the markup is collapsed.
_PARA, _LINE = "\ue000", "\ue001"


def read_html(path: Path, data: bytes) -> Parsed:
    soup = BeautifulSoup(_decode_html(data, path.name), "html.parser")
    title = _html_title(soup)
    meta = _html_meta(soup)
    return html_text(soup), title, meta


def html_text(soup: BeautifulSoup) -> str:
    """The readable text of a page: its main content without scripts, styles or navigation,
    headings as `#` lines and list items as `- ` lines, paragraphs separated by a blank line.
    Takes the soup apart as it goes."""
    for tag in soup.find_all(_NOT_TEXT):
        tag.decompose()
    for tag in soup.find_all(_is_furniture):
        tag.decompose()
    root = _main_content(soup)
    for br in root.find_all("br"):
        br.replace_with(_LINE)
    for pre in root.find_all("pre"):
        for piece in pre.find_all(string=True):
            piece.replace_with(piece.replace("\n", _LINE))
    for cell in root.find_all(["td", "th"]):
        cell.insert_after(" | ")
    for tag in root.find_all(_BLOCKS):
        if tag.name in ("li", "tr"):  # lines of one paragraph: the list or the table
            tag.insert_before(_LINE + ("- " if tag.name == "li" else ""))
            tag.insert_after(_LINE)
            continue
        prefix = "#" * int(tag.name[1]) + " " if re.fullmatch(r"h[1-6]", tag.name) else ""
        tag.insert_before(_PARA + prefix)
        tag.insert_after(_PARA)
    text = re.sub(r"\s+", " ", root.get_text())
    paragraphs = []
    for block in text.split(_PARA):
        lines = [line.strip(" |") for line in block.split(_LINE)]
        paragraph = "\n".join(line for line in lines if line)
        if re.search(r"\w", paragraph):
            paragraphs.append(paragraph)
    return tidy_text("\n\n".join(paragraphs))


def _decode_html(data: bytes, name: str) -> str:
    """UTF-8 if it is, else the charset the page declares, else a detected one."""
    if b"\x00" not in data[:4096]:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
        declared = EncodingDetector.find_declared_encoding(data[:4096], is_html=True)
        if declared:
            try:
                return data.decode(codecs.lookup(declared).name, errors="replace")
            except LookupError:
                pass  # a charset Python does not know: detect it instead
    return decode_text(data, name)


def _is_furniture(tag: Tag) -> bool:
    if tag.get("role") in _FURNITURE_ROLES or tag.has_attr("hidden"):
        return True
    if tag.get("aria-hidden") == "true":
        return True
    # the site's header and footer; an article's own header or footer holds its byline
    return tag.name in ("header", "footer") and tag.find_parent(["article", "main"]) is None


def _main_content(soup: BeautifulSoup) -> Tag:
    main = soup.find("main") or soup.find(None, {"role": "main"})
    if isinstance(main, Tag):
        return main
    articles = soup.find_all("article")
    if len(articles) == 1 and isinstance(articles[0], Tag):
        return articles[0]
    body = soup.find("body")
    return body if isinstance(body, Tag) else soup


def _html_title(soup: BeautifulSoup) -> str:
    """<title>, or the first heading; the page's <h1> when <title> is it plus the site's name
    ("Small Models | The Site")."""
    title = " ".join(soup.title.get_text().split()) if soup.title is not None else ""
    heading = soup.find(["h1", "h2", "h3", "h4", "h5", "h6"])
    first = " ".join(heading.get_text().split()) if heading is not None else ""
    if first and (not title or (heading is not None and heading.name == "h1" and first in title)):
        return first
    return title


def _html_meta(soup: BeautifulSoup) -> dict[str, str]:
    def content(*names: str) -> str:
        for name in names:
            for attr in ("name", "property", "itemprop"):
                tag = soup.find("meta", attrs={attr: name})
                if isinstance(tag, Tag) and str(tag.get("content") or "").strip():
                    return str(tag.get("content")).strip()
        return ""

    meta: dict[str, str] = {}
    canonical = soup.find("link", rel="canonical")
    url = str(canonical.get("href") or "") if isinstance(canonical, Tag) else ""
    url = url or content("og:url")
    if url.startswith(("http://", "https://")):
        meta["url"] = url
    author = content("author", "article:author", "dc.creator", "byl")
    if author and not author.startswith(("http://", "https://")):
        meta["author"] = person_names([author.removeprefix("By ").removeprefix("by ")])
    published = iso_date(
        content("article:published_time", "datePublished", "date", "dc.date", "pubdate")
    )
    if published:
        meta["published"] = published
    return meta


# --- PDF ------------------------------------------------------------------------------------


def read_pdf(path: Path, data: bytes) -> Parsed:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise FileNotDecryptedError("password required")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title = str(info.title or "") if info else ""
        author = str(info.author or "") if info else ""
    except FileNotDecryptedError:
        raise SourceError(
            f"{path.name} is password-protected; save an unprotected copy and drop that"
        ) from None
    except (DependencyError, NotImplementedError) as exc:  # an encryption pypdf cannot undo
        raise SourceError(
            f"{path.name} is encrypted in a way that cannot be read here ({_reason(exc)}); "
            "save an unprotected copy and drop that"
        ) from None
    except (PyPdfError, zlib.error, *_DAMAGE) as exc:
        raise SourceError(
            f"{path.name} is not a readable PDF ({_reason(exc)}); re-export or re-download it"
        ) from None
    # pypdf gives the lines of a page; where a paragraph ends is not recorded in a PDF
    text = tidy_text("\n\n".join(page.strip() for page in pages))
    if not text.strip():
        raise SourceError(
            f"{path.name} has no extractable text (it is probably a scan: pages of images); "
            "run OCR on it first (e.g. `ocrmypdf in.pdf out.pdf`) and drop the result"
        )
    meta = {"author": person_names([author])} if author.strip() else {}
    return text, " ".join(title.split()), meta


# --- EPUB -----------------------------------------------------------------------------------


def read_epub(path: Path, data: bytes) -> Parsed:
    _check_zip(path, data, "EPUB")
    try:
        book = epub.read_epub(io.BytesIO(data), {"ignore_ncx": True})
        items = [book.get_item_with_id(idref) for idref, *_ in book.spine]
        # the navigation document is the table of contents, not text of the book
        chapters = [
            item.get_content()
            for item in items
            if item is not None
            and item.get_type() == ebooklib.ITEM_DOCUMENT
            and not isinstance(item, epub.EpubNav)
        ]
        title = _dc(book, "title")
        authors = [value for value, _attrs in book.get_metadata("DC", "creator")]
        published = iso_date(_dc(book, "date"))
    except (epub.EpubException, etree.LxmlError, *_DAMAGE) as exc:
        raise SourceError(
            f"{path.name} is not a readable EPUB ({_reason(exc)}); re-export or re-download it"
        ) from None
    texts = [html_text(BeautifulSoup(chapter, "html.parser")) for chapter in chapters]
    text = "\n\n".join(t for t in texts if t)
    if not text.strip():
        raise SourceError(f"{path.name} has no text in its chapters (is it all images?)")
    meta = {"author": person_names(authors), "published": published}
    return text, title, {k: v for k, v in meta.items() if v}


def _dc(book: object, name: str) -> str:
    values = book.get_metadata("DC", name)  # type: ignore[attr-defined]
    return " ".join(str(values[0][0]).split()) if values else ""


# --- DOCX -----------------------------------------------------------------------------------


def read_docx(path: Path, data: bytes) -> Parsed:
    _check_zip(path, data, "Word document")
    try:
        document = docx.Document(io.BytesIO(data))
        # (style name, text) of each paragraph in order; a table is one block of rows
        blocks = [
            ("", "\n".join(_table_rows(block)))
            if isinstance(block, Table)
            else (block.style.name if block.style is not None else "", block.text)
            for block in document.iter_inner_content()
        ]
        title, author = document.core_properties.title, document.core_properties.author
    except (PackageNotFoundError, zipfile.BadZipFile, etree.LxmlError, *_DAMAGE) as exc:
        raise SourceError(
            f"{path.name} is not a readable Word document ({_reason(exc)}); open it in "
            "Word or LibreOffice and save it again as .docx"
        ) from None
    paragraphs: list[str] = []
    for style, text in blocks:
        text = text.strip()
        level = re.fullmatch(r"Heading ([1-6])", style or "")
        if text and not title and (style == "Title" or level):
            title = text
        if text:
            paragraphs.append(f"{'#' * int(level.group(1))} {text}" if level else text)
    meta = {"author": person_names([author])} if author and author.strip() else {}
    return tidy_text("\n\n".join(paragraphs)), title or "", meta


def _table_rows(table: Table) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if text and (not cells or cells[-1] != text):  # merged cells repeat their text
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return rows


def _check_zip(path: Path, data: bytes, kind: str) -> None:
    """EPUB and DOCX are zip archives; a damaged archive is found here, in one place, rather
    than as whatever error the library meets first while unpacking it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            bad = archive.testzip()
        if bad is not None:
            bad = f"{bad} fails its checksum"
    # NotImplementedError: a compression method zipfile does not know
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as exc:
        bad = _reason(exc)
    if bad is not None:
        raise SourceError(
            f"{path.name} is not a readable {kind}: the archive is damaged ({bad}); "
            "re-export or re-download it"
        )


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()).strip("'\"")
    return text[:160] if text else type(exc).__name__
