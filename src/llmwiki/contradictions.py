"""Contradictions: callouts on the pages where they are, and the register that lists them.

The callouts on pages are the truth. An open one is a `> [!warning] Contradiction ID (kind)`
callout naming both claims, both sources and their dates; resolving it turns its header into
`> [!success] Resolved contradiction ID (kind) DATE: note` and keeps the claims, so history is
kept and the same contradiction, found again, is recognised by its ID and not raised again.
`wiki/contradictions.md` is regenerated from the callouts of the pages that carry any (their
frontmatter has a `contradictions:` count), so building it does not read the whole wiki.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from llmwiki.catalog import Catalog
from llmwiki.engines import Contradiction
from llmwiki.errors import ContradictionError
from llmwiki.identity import fact_key
from llmwiki.pages import inert_line, read, render, render_link
from llmwiki.vault import Vault

OPEN_PREFIX = "> [!warning] Contradiction "
RESOLVED_PREFIX = "> [!success] Resolved contradiction "
# A callout header in every form Obsidian accepts: the type in any case, folded (`-`) or
# unfolded (`+`), indented up to three spaces, with or without a space after `>`. A user
# who folds a callout must not make the contradiction vanish.
_CALLOUT = r"^ {0,3}> ?\[!(?P<state>warning|success)\](?P<fold>[+-]?)[ \t]+"
_HEADER = re.compile(
    _CALLOUT + r"(?:Resolved contradiction|Contradiction) (?P<id>c[0-9a-f]{8}) "
    r"\((?P<kind>[^)]*)\)(?: (?P<date>\d{4}-\d{2}-\d{2}): (?P<note>.*))?$",
    re.IGNORECASE,
)
# an open one, as counted in frontmatter and by lint (MULTILINE, to count them in a body)
OPEN_RE = re.compile(r"^ {0,3}> ?\[!warning\][+-]?[ \t]+Contradiction ", re.I | re.M)


@dataclass(frozen=True)
class Callout:
    """A contradiction as its callout on a page records it, open or resolved."""

    id: str
    page: str  # stem of the page that carries the callout
    kind: str
    claims: tuple[str, ...]  # the callout's claim lines, each naming its source and date
    resolved: str = ""  # date resolved, "" while open
    note: str = ""

    @property
    def open(self) -> bool:
        return not self.resolved


def contradiction_id(
    existing_text: str, existing_source: str, new_text: str, new_source: str
) -> str:
    """Stable across runs, so a contradiction found again is recognised, not duplicated."""
    basis = "\n".join((fact_key(existing_text), existing_source, fact_key(new_text), new_source))
    return "c" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:8]


def render_callout(
    contradiction: Contradiction, *, cid: str, old_claim: str, new_claim: str
) -> list[str]:
    """An Obsidian warning callout naming both claims, both sources and their dates."""
    kind = " ".join(contradiction.kind.replace("_", " ").replace(")", " ").split())
    # every value on one line: a line break would end the callout and put the rest of the
    # text on the page as markdown of its own
    lines = [
        f"{OPEN_PREFIX}{cid} ({kind})",
        f"> {' '.join(old_claim.split())}",
        f"> {' '.join(new_claim.split())}",
    ]
    if contradiction.reasoning:
        lines.append(f"> {inert_line(' '.join(contradiction.reasoning.split()))}")
    return lines


def parse(body: str, stem: str) -> list[Callout]:
    """The contradiction callouts in a page body, open and resolved."""
    found = []
    lines = body.split("\n")
    for i, line in enumerate(lines):
        match = _HEADER.match(line)
        if not match:
            continue
        claims = []
        for follow in lines[i + 1 :]:
            if not follow.startswith(">"):
                break
            claims.append(follow[1:].strip())
        found.append(
            Callout(
                id=match["id"].lower(),
                page=stem,
                kind=match["kind"],
                claims=tuple(claims),
                resolved=(match["date"] or "") if match["state"].lower() == "success" else "",
                note=match["note"] or "",
            )
        )
    return found


def open_count(body: str) -> int:
    return len(OPEN_RE.findall(body))


def scan(vault: Vault, catalog: Catalog | None = None) -> list[Callout]:
    """Every contradiction in the wiki, from the pages whose frontmatter says they carry one."""
    catalog = catalog or Catalog.load(vault)
    found: list[Callout] = []
    for entry in catalog.with_contradictions():
        page = read(vault.wiki / entry.rel)
        found.extend(parse(page.body, entry.stem))
    return found


def pages_by_id(items: list[Callout]) -> dict[str, list[str]]:
    """Contradiction ID -> the pages that show it, in scan order."""
    pages: dict[str, list[str]] = {}
    for item in items:
        pages.setdefault(item.id, []).append(item.page)
    return pages


def unique_by_id(items: list[Callout]) -> list[Callout]:
    """One item per contradiction ID, the first found."""
    first: dict[str, Callout] = {}
    for item in items:
        first.setdefault(item.id, item)
    return list(first.values())


def render_register(items: list[Callout]) -> str:
    """The register: one entry per contradiction, naming every page that shows it (a claim
    about two entities is flagged on both pages, with the same ID)."""
    pages = pages_by_id(items)
    unique = unique_by_id(items)
    open_items = [c for c in unique if c.open]
    resolved = [c for c in unique if not c.open]
    lines = [
        "# Contradictions",
        "",
        "Where sources disagree. Generated from the callouts on the pages; edits here are "
        "overwritten. Resolve one with `wiki contradictions resolve ID --note TEXT`.",
    ]
    for heading, group in (("Open", open_items), ("Resolved", resolved)):
        lines += ["", f"## {heading} ({len(group)})", ""]
        for item in group:
            where = ", ".join(render_link(p) for p in pages[item.id])
            state = f", resolved {item.resolved}: {item.note}" if item.resolved else ""
            lines.append(f"- **{item.id}** ({item.kind}) on {where}{state}")
            lines.extend(f"  - {claim}" for claim in item.claims)
        if not group:
            lines.append("None.")
    return "\n".join(lines) + "\n"


def write_register(vault: Vault, catalog: Catalog | None = None) -> list[Callout]:
    items = scan(vault, catalog)
    path = vault.wiki / "contradictions.md"
    if items or path.exists():
        vault.write_text(path, render_register(items))
    return items


def resolve(vault: Vault, cid: str, note: str, today: str) -> Callout:
    """Mark contradiction `cid` resolved on every page that shows it, and in the register."""
    clean_note = " ".join(note.split())
    with vault.lock():
        catalog = Catalog.load(vault)
        matches = [item for item in scan(vault, catalog) if item.id == cid]
        if not matches:
            raise ContradictionError(
                f"no contradiction {cid}; `wiki contradictions --all` lists them with their IDs"
            )
        if not any(item.open for item in matches):
            # a run stopped between the pages and the register: running it again completes it
            write_register(vault, catalog)
            raise ContradictionError(f"{cid} was already resolved on {matches[0].resolved}")
        for item in matches:
            entry = catalog.get(item.page)
            if entry is None or not item.open:
                continue
            path: Path = vault.wiki / entry.rel
            page = read(path)
            body = "\n".join(
                _resolved(line, item, today, clean_note) for line in page.body.split("\n")
            )
            meta = {**page.meta, "contradictions": open_count(body), "updated": today}
            vault.write_text(path, render(meta, body))
        write_register(vault, Catalog.load(vault))
    item = matches[0]
    return Callout(item.id, item.page, item.kind, item.claims, today, clean_note)


def _resolved(line: str, item: Callout, today: str, note: str) -> str:
    """`line`, turned into the resolved header when it is `item`'s open one."""
    match = _HEADER.match(line)
    if match is None or match["id"].lower() != item.id or match["state"].lower() != "warning":
        return line
    # the user's folding is kept
    header = f"> [!success]{match['fold']} Resolved contradiction {item.id} ({item.kind})"
    return f"{header} {today}: {note}"
