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
from dataclasses import dataclass
from pathlib import Path

import docx
import ebooklib  # type: ignore[import-untyped]
from bs4 import BeautifulSoup, Tag
from bs4.dammit import EncodingDetector
from bs4.element import CData, NavigableString, PageElement
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
_BLOCK_SET = frozenset(_BLOCKS)
_ARTICLE = ["article", "main"]
_HEADING = re.compile(r"h[1-6]")
# get_text's choice: text and CDATA, not comments, doctypes or processing instructions
_TEXT_TYPES = (NavigableString, CData)
# Private-use characters mark breaks while whitespace from the markup is collapsed.
_PARA, _LINE = "\ue000", "\ue001"


@dataclass(frozen=True)
class Extracted:
    """A web page's main text as markdown, and what the page says about itself."""

    text: str
    title: str = ""
    author: str = ""
    published: str = ""  # YYYY-MM-DD
    site: str = ""


# trafilatura turns a bare <pre> into a quote, losing its lines; <pre><code> stays a <pre>
_PRE_CODE = re.compile(r"(<pre\b[^>]{0,4096}>)(?!\s*<code)", re.IGNORECASE)


def extract_page(
    markup: str, url: str = "", name: str = "", images: bool = True, as_html: bool = False
) -> Extracted:
    """trafilatura's main text and metadata: markdown (images as `![alt](absolute url)`), or
    with `as_html` the main content's HTML read by `html_text`, so that an HTML file in the
    inbox reads as it did before (headings, lists, tables, paragraphs), minus the furniture.

    The markup is bounded first (size, elements, nesting), as every HTML reader here is:
    trafilatura hands it to lxml, which builds the whole tree before anyone looks at it."""
    import trafilatura  # 0.3 s to import; only clips and HTML files need it

    Budget(name or url or "the page").markup(markup)
    try:
        found = trafilatura.extract_metadata(markup, default_url=url or None)
        text = trafilatura.extract(
            _PRE_CODE.sub(r"\1<code>", markup).replace("</pre>", "</code></pre>")
            if as_html
            else markup,
            url=url or None,
            output_format="html" if as_html else "markdown",
            include_images=images and not as_html,
            include_comments=False,
            include_tables=True,
            include_formatting=True,  # headings and paragraph breaks
            # precision: a comment section or a cookie banner in the wiki is worse than a
            # paragraph lost at the edge of an article
            favor_precision=True,
        )
    except (etree.LxmlError, ValueError, RecursionError) as exc:
        raise SourceError(
            f"{name or url} is HTML that cannot be parsed ({_reason(exc)}); "
            "re-save it from a browser"
        ) from None
    author = str(found.author or "") if found is not None else ""
    return Extracted(
        text=html_text(_soup(text, name or url)) if as_html and text else tidy_text(text or ""),
        title=" ".join(str(found.title or "").split()) if found is not None else "",
        author=person_names([a.strip() for a in author.split(";")]) if author else "",
        # htmldate repairs an impossible date (2025-02-30 -> 2025-02-01) and guesses from the
        # text; a date that orders contradictions must be one the page states
        published=date if (date := iso_date(found.date if found else "")) in markup else "",
        site=" ".join(str(found.sitename or "").split()) if found is not None else "",
    )


def decode_html(data: bytes, name: str, charset: str = "") -> str:
    """HTML bytes -> str: the charset the server named, else as `_decode_html`."""
    if charset:
        try:
            return data.decode(codecs.lookup(charset).name, errors="replace")
        except LookupError:
            pass  # a charset Python does not know: read the page's own declaration
    return _decode_html(data, name)


def read_html(path: Path, data: bytes) -> Parsed:
    """trafilatura's main text, which leaks far less page furniture than the heuristics of
    `html_text` (bench/html_extractors.py: 3.8% of boilerplate sentences kept against 60%,
    the same article recall); those heuristics remain the fallback for a page too short or
    too plain for trafilatura to find an article in."""
    markup = _decode_html(data, path.name)
    page = extract_page(markup, name=path.name, as_html=True)
    soup = _soup(markup, path.name)
    meta = _html_meta(soup)
    meta.update({k: v for k, v in (("author", page.author), ("published", page.published)) if v})
    text = page.text if page.text.strip() else html_text(soup)
    return text, page.title or _html_title(soup), meta


def _soup(markup: str | bytes, name: str) -> BeautifulSoup:
    try:
        return BeautifulSoup(markup, "html.parser")
    except (RecursionError, AssertionError, ValueError) as exc:  # html.parser on odd input
        raise SourceError(
            f"{name} is HTML that cannot be parsed ({_reason(exc)}); re-save it from a browser"
        ) from None


def html_text(soup: BeautifulSoup) -> str:
    """The readable text of a page: its main content without scripts, styles or navigation,
    headings as `#` lines and list items as `- ` lines, paragraphs separated by a blank line.

    One walk over the tree with a stack of its own: editing the tree (decompose, insert_before)
    costs bs4 a scan of the siblings each time, quadratic on a long page, and recursion would
    fail on a deeply nested one."""
    root = _main_content(soup)
    in_article = int(root.name in _ARTICLE or root.find_parent(_ARTICLE) is not None)
    pre = 0
    pieces: list[str] = []
    stack: list[tuple[PageElement, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        if isinstance(node, Tag):
            if closing:
                pre -= node.name == "pre"
                in_article -= node.name in _ARTICLE
                pieces.append(_after(node) if node is not root else "")
                continue
            if _skipped(node, in_article > 0):
                continue
            if node.name == "br":
                pieces.append(_LINE)
                continue
            pieces.append(_before(node) if node is not root else "")
            pre += node.name == "pre"
            in_article += node.name in _ARTICLE
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node.contents))
        elif type(node) in _TEXT_TYPES:
            pieces.append(str(node).replace("\n", _LINE) if pre else str(node))
    text = re.sub(r"\s+", " ", "".join(pieces))
    paragraphs = []
    for block in text.split(_PARA):
        lines = [line.strip(" |") for line in block.split(_LINE)]
        paragraph = "\n".join(line for line in lines if line)
        if re.search(r"\w", paragraph):
            paragraphs.append(paragraph)
    return tidy_text("\n\n".join(paragraphs))


def _before(tag: Tag) -> str:
    if tag.name in ("li", "tr"):  # lines of one paragraph: the list or the table
        return _LINE + ("- " if tag.name == "li" else "")
    if tag.name in _BLOCK_SET:
        return _PARA + ("#" * int(tag.name[1]) + " " if _HEADING.fullmatch(tag.name) else "")
    return ""


def _after(tag: Tag) -> str:
    if tag.name in ("li", "tr"):
        return _LINE
    if tag.name in ("td", "th"):
        return " | "
    return _PARA if tag.name in _BLOCK_SET else ""


def _skipped(tag: Tag, in_article: bool) -> bool:
    """Code and page furniture: never the text of the document. An article's own header and
    footer (its title and byline) are kept; the site's are not."""
    if tag.name in _NOT_TEXT or tag.get("role") in _FURNITURE_ROLES or tag.has_attr("hidden"):
        return True
    if tag.get("aria-hidden") == "true":
        return True
    return tag.name in ("header", "footer") and not in_article


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
        budget = Budget(path.name)
        for page in reader.pages:  # decoding is bounded by pypdf; parsing them is not
            contents = page.get_contents()
            budget.unpacked(len(contents.get_data()) if contents is not None else 0, "content")
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
    budget = Budget(path.name)
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
    texts = []
    for chapter in chapters:
        markup = _decode_html(chapter, path.name)
        budget.markup(markup)
        texts.append(html_text(_soup(markup, path.name)))
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
        # A paragraph's `.style` searches the styles part each time (3 ms): on a long document
        # that was minutes. The names are looked up once; a paragraph names its style by id.
        names = {style.style_id: style.name or "" for style in document.styles}
        # (style name, text) of each paragraph in order; a table is one block of rows
        blocks = [
            ("", "\n".join(_table_rows(block)))
            if isinstance(block, Table)
            else (names.get(block._p.style or "", ""), block.text)
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
            _check_unpacked(path, archive)
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


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()).strip("'\"")
    return text[:160] if text else type(exc).__name__
