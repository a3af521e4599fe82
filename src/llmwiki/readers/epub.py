"""EPUB -> text: ebooklib reads the container and spine; chapters go through the HTML reader."""

from __future__ import annotations

import io
from pathlib import Path

import ebooklib  # type: ignore[import-untyped]
from ebooklib import epub
from lxml import etree  # type: ignore[import-untyped]

from llmwiki.errors import SourceError
from llmwiki.readers.common import Parsed, iso_date, person_names
from llmwiki.readers.html import decode_markup, html_text, parse_markup
from llmwiki.readers.limits import DAMAGE, Budget, check_zip, reason


def read(path: Path, data: bytes) -> Parsed:
    check_zip(path, data, "EPUB")
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
    except (epub.EpubException, etree.LxmlError, *DAMAGE) as exc:
        raise SourceError(
            f"{path.name} is not a readable EPUB ({reason(exc)}); re-export or re-download it"
        ) from None
    texts = []
    for chapter in chapters:
        markup = decode_markup(chapter, path.name)
        budget.markup(markup)
        texts.append(html_text(parse_markup(markup, path.name)))
    text = "\n\n".join(t for t in texts if t)
    if not text.strip():
        raise SourceError(f"{path.name} has no text in its chapters (is it all images?)")
    meta = {"author": person_names(authors), "published": published}
    return text, title, {k: v for k, v in meta.items() if v}


def _dc(book: object, name: str) -> str:
    values = book.get_metadata("DC", name)  # type: ignore[attr-defined]
    return " ".join(str(values[0][0]).split()) if values else ""
