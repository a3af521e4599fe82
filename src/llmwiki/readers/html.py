"""HTML -> text with paragraph breaks, a title and metadata.

An HTML file's main content is found by trafilatura and read with BeautifulSoup on the
standard library's html.parser (lenient with broken markup, no compiled parser to install);
`extract_page` also serves `wiki add URL`. Every document is bounded (`readers.limits`) before
it is parsed.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup, Tag
from bs4.dammit import EncodingDetector
from bs4.element import CData, NavigableString, PageElement
from lxml import etree  # type: ignore[import-untyped]

from llmwiki.errors import SourceError
from llmwiki.readers.common import Parsed, decode_text, iso_date, person_names, tidy_text
from llmwiki.readers.limits import Budget, reason

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
            f"{name or url} is HTML that cannot be parsed ({reason(exc)}); "
            "re-save it from a browser"
        ) from None
    author = str(found.author or "") if found is not None else ""
    return Extracted(
        text=html_text(parse_markup(text, name or url))
        if as_html and text
        else tidy_text(text or ""),
        title=" ".join(str(found.title or "").split()) if found is not None else "",
        author=person_names([a.strip() for a in author.split(";")]) if author else "",
        # htmldate repairs an impossible date (2025-02-30 -> 2025-02-01) and guesses from the
        # text; a date that orders contradictions must be one the page states
        published=date if (date := iso_date(found.date if found else "")) in markup else "",
        site=" ".join(str(found.sitename or "").split()) if found is not None else "",
    )


def decode_html(data: bytes, name: str, charset: str = "") -> str:
    """HTML bytes -> str: the charset the server named, else as `decode_markup`."""
    if charset:
        try:
            return data.decode(codecs.lookup(charset).name, errors="replace")
        except LookupError:
            pass  # a charset Python does not know: read the page's own declaration
    return decode_markup(data, name)


def read(path: Path, data: bytes) -> Parsed:
    """trafilatura's main text, which leaks far less page furniture than the heuristics of
    `html_text` (bench/html_extractors.py: 3.8% of boilerplate sentences kept against 60%,
    the same article recall); those heuristics remain the fallback for a page too short or
    too plain for trafilatura to find an article in."""
    markup = decode_markup(data, path.name)
    page = extract_page(markup, name=path.name, as_html=True)
    soup = parse_markup(markup, path.name)
    meta = _html_meta(soup)
    meta.update({k: v for k, v in (("author", page.author), ("published", page.published)) if v})
    text = page.text if page.text.strip() else html_text(soup)
    return text, page.title or _html_title(soup), meta


def parse_markup(markup: str | bytes, name: str) -> BeautifulSoup:
    try:
        return BeautifulSoup(markup, "html.parser")
    except (RecursionError, AssertionError, ValueError) as exc:  # html.parser on odd input
        raise SourceError(
            f"{name} is HTML that cannot be parsed ({reason(exc)}); re-save it from a browser"
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


def decode_markup(data: bytes, name: str) -> str:
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
