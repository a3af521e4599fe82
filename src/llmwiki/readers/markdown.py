"""Markdown, with the frontmatter that web clippers and static-site generators write."""

from __future__ import annotations

import re
from pathlib import Path

import frontmatter
import yaml

from llmwiki.errors import SourceError
from llmwiki.pages import obsidian_tag
from llmwiki.readers.common import Parsed, decode_text, iso_date, person_names
from llmwiki.yaml_header import FAST_YAML

# Web clippers (Obsidian Web Clipper, MarkDownload) put these in frontmatter. For each field,
# the first key present wins: a clip's `created` is the day it was clipped, so it only stands
# in for the publication date when the page gave none.
_META_KEYS = {
    "url": ("source", "url", "link"),
    "author": ("author", "authors", "creator"),
    "published": ("published", "date", "created"),
    "description": ("excerpt", "description", "summary", "subtitle"),
}
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s\[\]|]+$")
_ASSET = re.compile(r"assets/[A-Za-z0-9_-]{1,100}\.[a-z]{3,4}")


def read(path: Path, data: bytes) -> Parsed:
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
