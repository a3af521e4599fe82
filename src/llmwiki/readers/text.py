"""Plain text: decoded, with the title taken from the text itself (`normalize.choose_title`)."""

from __future__ import annotations

from pathlib import Path

from llmwiki.readers.common import Parsed, decode_text


def read(path: Path, data: bytes) -> Parsed:
    return decode_text(data, path.name), "", {}
