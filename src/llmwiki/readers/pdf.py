"""PDF -> text, with pypdf (pure Python). A PDF records lines, not paragraphs."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

from llmwiki.errors import SourceError
from llmwiki.readers.common import Parsed, person_names, tidy_text
from llmwiki.readers.limits import DAMAGE, Budget, reason


def read(path: Path, data: bytes) -> Parsed:
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
            f"{path.name} is encrypted in a way that cannot be read here ({reason(exc)}); "
            "save an unprotected copy and drop that"
        ) from None
    except (PyPdfError, zlib.error, *DAMAGE) as exc:
        raise SourceError(
            f"{path.name} is not a readable PDF ({reason(exc)}); re-export or re-download it"
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
