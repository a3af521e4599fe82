"""The overview: what an entity page says its subject is and what the wiki knows of it (#14).

An entity page opens with its overview, the text above its first `##` section, which the engine
rewrites after every source that touches the page; `## Facts` below it is the timeline of
evidence, appended to and never rewritten. The overview the embedded engine compiles is built
from the page itself, so its cost does not grow with the wiki:

- the lead: the best defining sentence among the page's facts ("KV-Lite is a cache
  compression method…", "Priya Raman, a researcher at…"), else the lead the page already has;
- the span of its sources: "Mentioned in 3 sources, 2025-03-02 to 2025-06-10.";
- the pages most often cited alongside it, and the contradictions still open.

User edits win. The page records a fingerprint of the overview the engine wrote (`overview`
in the frontmatter); an overview that no longer matches it was edited by a person and is left
alone (the page still gains facts), until `wiki refresh PAGE` asks for a new one. A page from
before overviews has no fingerprint: its lead counts as the engine's when it is the lead the
engine wrote then (the page's summary, linked), and as the user's otherwise.

The LLM engine writes its own overview instead, in one checked call per touched page
(`overview_rewrite`, `overview_check`); the fingerprint protects a person's edit the same way.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from llmwiki.pages import unlink

FINGERPRINT_KEY = "overview"  # frontmatter: the fingerprint of the overview the engine wrote
_HEADING = re.compile(r"^#{1,6}\s", re.MULTILINE)
_TEMPLATE = re.compile(r"^\*\*.+\*\* is an? (?:person|concept) mentioned in \[\[.+\]\]\.$")


@dataclass(frozen=True)
class Overview:
    text: str
    edited: bool  # the overview on the page was written by a person: it was kept


def split(body: str) -> tuple[str, str]:
    """The overview (the text above the first heading) and the rest of the body."""
    match = _HEADING.search(body)
    cut = match.start() if match else len(body)
    return body[:cut].strip("\n"), body[cut:]


def fingerprint(text: str) -> str:
    """A short hash of an overview; blank lines and trailing spaces do not count."""
    canonical = "\n".join(line.rstrip() for line in text.strip().split("\n") if line.strip())
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def edited_by_hand(meta: dict[str, object], body: str) -> bool:
    """The page's overview is not the one the engine last wrote."""
    overview, _ = split(body)
    recorded = meta.get(FINGERPRINT_KEY)
    if recorded:
        return fingerprint(overview) != str(recorded)
    return not _legacy_lead(overview, str(meta.get("summary") or ""))


def is_placeholder(lead: str) -> bool:
    """The lead a page gets when its source said nothing of what its subject is: "**X** is a
    concept mentioned in [[Source]]." """
    return _TEMPLATE.match(lead.strip()) is not None


def _legacy_lead(overview: str, summary: str) -> bool:
    """The lead the engine wrote before overviews: the summary (linked), or the template."""
    text = overview.strip()
    if not text or is_placeholder(text):
        return True
    return _plain(text) == _plain(summary)


def _plain(text: str) -> str:
    return " ".join(unlink(text).replace("\\", "").split())
