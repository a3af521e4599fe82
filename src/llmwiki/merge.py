"""`wiki merge KEEP OTHER`: fold a duplicate page into the page that stays.

OTHER's text moves into KEEP section by section (its lead after KEEP's lead, each `## Section`
under KEEP's section of that name, lines KEEP already has not repeated), its sources, title and
aliases join KEEP's frontmatter, and every link to OTHER in the wiki is pointed at KEEP showing
what it showed before. OTHER's file is removed last, once KEEP is written and holds every line
of it, so an interruption can leave a duplicate behind but never lose a sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from llmwiki.catalog import render_index
from llmwiki.graph import WikiGraph, build_graph, relink, replace_links, rewrite_links
from llmwiki.pages import (
    Page,
    PageError,
    append_to_section,
    as_list,
    normalize_key,
    read,
    render,
    render_link,
)
from llmwiki.vault import GENERATED_PAGES, Vault

# Keys whose values merge rather than being taken from one page or the other.
_MERGED_KEYS = ("title", "type", "aliases", "summary", "sources", "tags", "created", "updated")
_SECTION_RE = re.compile(r"^##\s+(.*?)\s*#*\s*$")
_CALLOUT_RE = re.compile(r"^> \[!warning\] Contradiction", re.MULTILINE)


class MergeError(Exception):
    """The merge was refused (missing, identical, source or locked pages); nothing changed."""


@dataclass(frozen=True)
class MergeReport:
    keep: str  # path under wiki/ of the page that stays
    removed: str  # path under wiki/ of the page merged into it
    lines_moved: int  # lines of OTHER added to KEEP (lines KEEP already had are not counted)
    sources_added: tuple[str, ...]
    aliases_added: tuple[str, ...]
    relinked: tuple[str, ...]  # pages (paths under wiki/) whose links to OTHER now name KEEP
    links_rewritten: int


def merge_pages(vault: Vault, keep: str, other: str, today: date | None = None) -> MergeReport:
    """Merge page `other` into page `keep` (each a title, alias or file name)."""
    day = (today or date.today()).isoformat()
    with vault.lock():
        wg = build_graph(vault)
        keep_stem, other_stem = _find(wg, keep), _find(wg, other)
        if keep_stem == other_stem:
            raise MergeError(f'"{keep}" and "{other}" are the same page: nothing to merge')
        kept, merged = _read(vault, wg, keep_stem), _read(vault, wg, other_stem)
        for page in (kept, merged):
            if page.type == "source":
                raise MergeError(
                    f"{page.stem} is a source page: sources record documents, and two documents "
                    "stay two pages even when they say the same"
                )
            if page.meta.get("locked") is True:
                raise MergeError(f"{page.stem} is locked: remove `locked: true` to merge it")

        counter = _LinkCounter(wg, other_stem, keep_stem, merged.title)
        moved_body = replace_links(merged.body, counter)
        body, lines_moved = _merge_bodies(replace_links(kept.body, counter), moved_body)
        missing = _lines(moved_body) - _lines(body)
        if missing:
            # cannot happen by construction; refusing here is what makes "no sentence lost" true
            raise MergeError(f"merging would lose {sorted(missing)[0]!r}; nothing was changed")
        meta, sources_added, aliases_added = _merge_meta(kept, merged, wg, counter, day)
        callouts = len(_CALLOUT_RE.findall(body))
        if callouts:
            meta["contradictions"] = callouts
        vault.write_text(kept.path, render(meta, body))

        relinked: list[str] = []
        for path in _linking_files(vault, wg, other_stem, keep_stem):
            before = counter.count
            try:
                new_text = rewrite_links(path.read_text(encoding="utf-8"), counter)
            except UnicodeDecodeError:
                continue  # not text: it holds no link Obsidian could follow
            if counter.count > before:
                vault.write_text(path, new_text)
                relinked.append(path.relative_to(vault.wiki).as_posix())
        merged.path.unlink()

        vault.write_text(vault.wiki / "index.md", render_index(build_graph(vault).catalog()))
        _log(vault, day, merged.title, kept, merged, relinked)
    return MergeReport(
        keep=kept.path.relative_to(vault.wiki).as_posix(),
        removed=merged.path.relative_to(vault.wiki).as_posix(),
        lines_moved=lines_moved,
        sources_added=tuple(sources_added),
        aliases_added=tuple(aliases_added),
        relinked=tuple(relinked),
        links_rewritten=counter.count,
    )


def _find(wg: WikiGraph, name: str) -> str:
    stem = wg.find(name)
    if stem is not None:
        return stem
    raise MergeError(
        f'no page named "{name}" (or it is ambiguous): give its title or file name, as in index.md'
    )


def _read(vault: Vault, wg: WikiGraph, stem: str) -> Page:
    path = vault.wiki / wg.pages[stem].rel
    try:
        return read(path)
    except PageError as exc:
        raise MergeError(f"{exc}; fix it first (`wiki lint` shows what is wrong)") from None
    except UnicodeDecodeError:
        raise MergeError(f"{path} is not UTF-8 text; fix it first") from None


class _LinkCounter:
    """Points links to OTHER at KEEP, counting them."""

    def __init__(self, wg: WikiGraph, other: str, keep: str, other_title: str) -> None:
        self.wg, self.other, self.keep, self.title = wg, other, keep, other_title
        self.count = 0

    def __call__(self, match: re.Match[str]) -> str | None:
        if self.wg.resolve(match.group(1)) != self.other:
            return None
        self.count += 1
        return relink(match, self.keep, self.title)


# --- bodies -------------------------------------------------------------------------------


def _split(body: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """A body's lead lines and its `## sections` (heading, content lines), in order."""
    lead: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    for line in body.split("\n"):
        match = _SECTION_RE.match(line)
        if match:
            sections.append((match.group(1), []))
        elif sections:
            sections[-1][1].append(line)
        else:
            lead.append(line)
    return lead, sections


def _trim(lines: list[str]) -> list[str]:
    """Without blank lines at either end or twice in a row."""
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1].strip()):
            out.append(line)
    while out and not out[-1].strip():
        out.pop()
    return out


def _merge_bodies(keep: str, other: str) -> tuple[str, int]:
    """KEEP's body with OTHER's lead and sections appended where they belong."""
    other_lead, other_sections = _split(other)
    body = keep
    moved = 0
    keep_lead, _ = _split(keep)
    lead = _trim([ln for ln in other_lead if not ln.strip() or ln not in keep_lead])
    if any(ln.strip() for ln in lead):
        body = _append_lead(body, len(keep_lead), lead)
        moved += sum(1 for ln in lead if ln.strip())
    for heading, lines in other_sections:
        existing = set(_section(body, heading))
        new = _trim([ln for ln in lines if not ln.strip() or ln not in existing])
        if any(ln.strip() for ln in new):
            body = append_to_section(body, heading, new)
            moved += sum(1 for ln in new if ln.strip())
    return body, moved


def _section(body: str, heading: str) -> list[str]:
    _, sections = _split(body)
    return [ln for h, lines in sections if h.casefold() == heading.casefold() for ln in lines]


def _append_lead(body: str, lead_length: int, lines: list[str]) -> str:
    """Add `lines` as a paragraph at the end of the lead (before the first `##` heading)."""
    all_lines = body.split("\n")
    head = _trim(all_lines[:lead_length])
    rest = all_lines[lead_length:]
    block = [*head, "", *lines] if head else lines
    return "\n".join([*block, "", *rest] if rest else block).strip("\n") + "\n"


def _lines(text: str) -> set[str]:
    """The lines that carry text: not blank, not a section heading."""
    return {ln for ln in text.split("\n") if ln.strip() and not _SECTION_RE.match(ln)}


# --- frontmatter --------------------------------------------------------------------------


def _merge_meta(
    kept: Page, merged: Page, wg: WikiGraph, counter: _LinkCounter, day: str
) -> tuple[dict[str, Any], list[str], list[str]]:
    meta: dict[str, Any] = dict(kept.meta)
    sources = as_list(kept.meta.get("sources"))
    seen = {_source_key(wg, s) for s in sources}
    added_sources = []
    for source in as_list(merged.meta.get("sources")):
        source = replace_links(source, counter)
        if _source_key(wg, source) not in seen:
            seen.add(_source_key(wg, source))
            added_sources.append(source)
    meta["sources"] = sources + added_sources

    aliases = as_list(kept.meta.get("aliases"))
    taken = {normalize_key(n) for n in (kept.title, kept.stem, *aliases)}
    added_aliases = []
    for name in (merged.title, *merged.aliases):
        if normalize_key(name) and normalize_key(name) not in taken:
            taken.add(normalize_key(name))
            added_aliases.append(name)
    meta["aliases"] = aliases + added_aliases

    tags = as_list(kept.meta.get("tags"))
    meta["tags"] = tags + [t for t in as_list(merged.meta.get("tags")) if t not in tags]
    if not meta.get("summary") and merged.meta.get("summary"):
        meta["summary"] = merged.meta["summary"]
    created = [str(p.meta["created"]) for p in (kept, merged) if p.meta.get("created")]
    if created:
        meta["created"] = min(created)
    meta["updated"] = day
    for key, value in merged.meta.items():
        # the user's own keys on OTHER survive; KEEP's value wins where both have one
        if key not in _MERGED_KEYS and key != "contradictions":
            meta.setdefault(key, value)
    return meta, added_sources, added_aliases


def _source_key(wg: WikiGraph, source: str) -> str:
    match = re.search(r"\[\[([^\[\]|#\n]*)", source)
    target = match.group(1) if match else source
    return wg.resolve(target) or normalize_key(target)


# --- the rest of the wiki -----------------------------------------------------------------


def _linking_files(vault: Vault, wg: WikiGraph, other: str, keep: str) -> list[Path]:
    """Files that may link to OTHER: its backlinks, pages the graph could not read, and the
    generated root pages (index.md is regenerated afterwards anyway)."""
    stems = set(wg.graph.predecessors(other)) - {keep, other}
    paths = [vault.wiki / wg.pages[s].rel for s in sorted(stems)]
    paths += [vault.wiki / i.rel for i in (*wg.unparsed, *wg.shadowed)]
    paths += [vault.wiki / name for name in GENERATED_PAGES if name != "index.md"]
    return [p for p in dict.fromkeys(paths) if p.is_file()]


def _log(
    vault: Vault, day: str, other_title: str, kept: Page, merged: Page, relinked: list[str]
) -> None:
    lines = [
        f"## [{day}] merge | {other_title} -> {kept.title}",
        "",
        f"- kept: {render_link(kept.stem, kept.title)}",
        f"- removed: {merged.path.relative_to(vault.wiki).as_posix()}",
    ]
    if relinked:
        lines.append(f"- relinked: {len(relinked)} page(s)")
    vault.append_log(lines)
