"""`wiki merge KEEP OTHER`: fold a duplicate page into the page that stays.

OTHER's text moves into KEEP section by section (its lead after KEEP's lead, each `## Section`
under KEEP's section of that name, lines KEEP already has not repeated), its sources, title and
aliases join KEEP's frontmatter, and every link to OTHER in the wiki is pointed at KEEP showing
what it showed before. A fact both pages state (the same words, whatever their links) is kept
once.

The order makes a merge resumable: KEEP is written first, holding every line of OTHER; then
the links, the index (already without OTHER) and the log; OTHER's file is removed last. An
interruption at any point leaves a duplicate behind but never loses a sentence, and running
the same merge again finishes it: the lines KEEP has are not repeated, the links already moved
are not counted, and the log entry already written is not written twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from llmwiki import contradictions, index_pages
from llmwiki.catalog import Catalog
from llmwiki.content import FACTS_HEADING, RELATED_HEADING
from llmwiki.errors import MergeError, PageError
from llmwiki.graph import WikiGraph, build_graph
from llmwiki.identity import fact_key, normalize_key
from llmwiki.links import relink, replace_links, rewrite_links
from llmwiki.pages import (
    LINK_RE,
    Page,
    append_to_section,
    as_list,
    read,
    render,
    render_link,
    section_heading,
)
from llmwiki.vault import GENERATED_PAGES, Vault

# Keys whose values merge rather than being taken from one page or the other.
_MERGED_KEYS = ("title", "type", "aliases", "summary", "sources", "tags", "created", "updated")


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
        # a Related entry that would point at KEEP itself is dropped (Related is regenerated)
        moved_body = _without_self_links(replace_links(merged.body, counter), keep_stem)
        kept_body = _without_self_links(replace_links(kept.body, counter), keep_stem)
        body, lines_moved = _merge_bodies(kept_body, moved_body)
        missing = _keys(moved_body) - _keys(body)
        if missing:
            # cannot happen by construction; refusing here is what makes "no sentence lost" true
            raise MergeError(f"merging would lose {sorted(missing)[0]!r}; nothing was changed")
        meta, sources_added, aliases_added = _merge_meta(kept, merged, wg, counter, day)
        # KEEP already holding all of OTHER means an earlier run of this merge was interrupted
        resumed = not (lines_moved or sources_added or aliases_added)
        callouts = contradictions.open_count(body)
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
        after = Catalog.load(vault).without(other_stem)
        index_pages.write(vault, after)
        _log(vault, day, merged.title, kept, merged, resumed)
        merged.path.unlink()
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
        heading = section_heading(line)
        if heading is not None:
            sections.append((heading, []))
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


def _shown(line: str) -> str:
    """A line as a reader sees it: each link as the text it shows."""
    return LINK_RE.sub(lambda m: (m.group(3) or m.group(1)).strip(), line).strip()


def _key(line: str, heading: str = "") -> str:
    """What makes two lines the same line: the words shown, and for a fact its wording alone
    (links, case and punctuation aside), as everywhere facts are de-duplicated."""
    if heading.casefold() == FACTS_HEADING.casefold() and line.startswith("- "):
        return "fact:" + fact_key(line)
    return _shown(line)


def _merge_bodies(keep: str, other: str) -> tuple[str, int]:
    """KEEP's body with OTHER's lead and sections appended where they belong."""
    other_lead, other_sections = _split(other)
    body = keep
    moved = 0
    keep_lead, _ = _split(keep)
    lead_keys = {_key(ln) for ln in keep_lead}
    lead = _trim([ln for ln in other_lead if not ln.strip() or _key(ln) not in lead_keys])
    if any(ln.strip() for ln in lead):
        body = _append_lead(body, len(keep_lead), lead)
        moved += sum(1 for ln in lead if ln.strip())
    for heading, lines in other_sections:
        existing = {_key(ln, heading) for ln in _section(body, heading)}
        new = []
        for ln in lines:
            if ln.strip() and _key(ln, heading) in existing:
                continue
            existing.add(_key(ln, heading))
            new.append(ln)
        new = _trim(new)
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


def _keys(text: str) -> set[str]:
    """The lines that carry text (not blank, not a section heading), as `_key` names them."""
    keys: set[str] = set()
    heading = ""
    for line in text.split("\n"):
        if (found := section_heading(line)) is not None:
            heading = found
        elif line.strip():
            keys.add(_key(line, heading))
    return keys


def _without_self_links(body: str, stem: str) -> str:
    """The body without Related entries that now point at the page itself."""
    out, heading = [], ""
    for line in body.split("\n"):
        if (found := section_heading(line)) is not None:
            heading = found
        elif heading.casefold() == RELATED_HEADING.casefold():
            links = [m.group(1).strip() for m in LINK_RE.finditer(line)]
            if links and all(link == stem for link in links):
                continue
        out.append(line)
    return "\n".join(out)


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
    stems = set(wg.predecessors(other)) - {keep, other}
    paths = [vault.wiki / wg.pages[s].rel for s in sorted(stems)]
    paths += [vault.wiki / i.rel for i in (*wg.unparsed, *wg.shadowed)]
    paths += [vault.wiki / name for name in GENERATED_PAGES if name != "index.md"]
    return [p for p in dict.fromkeys(paths) if p.is_file()]


def _log(vault: Vault, day: str, other_title: str, kept: Page, merged: Page, resumed: bool) -> None:
    removed = merged.path.relative_to(vault.wiki).as_posix()
    lines = [
        f"## [{day}] merge | {other_title} -> {kept.title}",
        "",
        f"- kept: {render_link(kept.stem, kept.title)}",
        f"- removed: {removed}",
    ]
    # an interrupted run of this merge may have logged it already: once is enough (the log
    # is read only then, as it grows with the wiki's history)
    vault.append_log(lines, unless=lines[3] if resumed else "")
