"""DOCX -> text with python-docx: headings become markdown headings, a table one block of rows."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from lxml import etree  # type: ignore[import-untyped]

from llmwiki.errors import SourceError
from llmwiki.readers.common import Parsed, person_names, tidy_text
from llmwiki.readers.limits import DAMAGE, check_zip, reason


def read(path: Path, data: bytes) -> Parsed:
    check_zip(path, data, "Word document")
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
    except (PackageNotFoundError, zipfile.BadZipFile, etree.LxmlError, *DAMAGE) as exc:
        raise SourceError(
            f"{path.name} is not a readable Word document ({reason(exc)}); open it in "
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
