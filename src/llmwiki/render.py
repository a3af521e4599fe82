"""What pages look like after a merge: an entity page gains bullets and callouts, a source
page (frontmatter and body) is written whole. Everything already on an entity page stays as it
is."""

from __future__ import annotations

import re
from collections.abc import Sequence

from llmwiki import contradictions, overview
from llmwiki.catalog import Catalog
from llmwiki.content import (
    FACTS_HEADING,
    Grounder,
    Linker,
    clean,
    one_line,
    render_fact,
    unique,
)
from llmwiki.engines import Extraction, Merge, SourceDoc
from llmwiki.entries import NOT_APPLIED_HEADING
from llmwiki.identity import DEFINING, fact_key, normalize_key, without_citation
from llmwiki.pages import (
    append_to_section,
    as_list,
    inert_line,
    inert_text,
    parse_links,
    render_link,
    section_lines,
    unlink,
)
from llmwiki.resolve import PagePlan

CONTRADICTIONS_HEADING = "Contradictions"
MAX_ALONGSIDE = 3  # pages an overview names as most often cited with its subject
_QUOTED = re.compile(r'^"(.*)"$')
# the sentences compile_overview writes after the lead
_COMPILED = re.compile(
    r" (?:Mentioned in \d+ sources?\b|Most often cited with |\d+ contradictions? (?:is|are) open)"
)


def entity_page(
    plan: PagePlan,
    merge: Merge,
    *,
    catalog: Catalog,
    source_stem: str,
    source_date: str,
    linker: Linker,
    today: str,
    engine: str,
) -> tuple[dict[str, object], str, list[str]]:
    """The page's frontmatter and body after this source, and the IDs of the contradictions
    it newly shows."""
    bullets = [render_fact(f, source_stem, linker, plan.stem) for f in merge.new_facts]
    if plan.existing is not None:
        meta: dict[str, object] = dict(plan.existing.meta)
        body = plan.existing.body
    else:
        meta = {
            "title": plan.title,
            "type": plan.kind,
            "aliases": plan.aliases,
            # no filler: a page without a description has an index line without one (#13.7)
            "summary": plan.description,
            "sources": [],
            "tags": [plan.kind],
            "created": today,
            "updated": today,
            "engine": engine,
        }
        body = lead(plan, source_stem, linker)
    before = (dict(meta), body)
    body = append_to_section(body, FACTS_HEADING, bullets)
    added: list[str] = []
    for contradiction in merge.contradictions:
        cited = contradiction.existing.source
        old = catalog.lookup(cited) if cited else None
        cid = contradictions.contradiction_id(
            contradiction.existing.text,
            old.stem if old else "",
            contradiction.new.statement,
            source_stem,
        )
        if cid in body:  # found before: open, or resolved and not to be raised again
            continue
        when = f" ({contradiction.existing.date})" if contradiction.existing.date else ""
        cite = render_link(old.stem) if old else "An earlier source"
        new_text = linker.linkify(
            inert_text(clean(contradiction.new.statement)), skip_stem=plan.stem
        )
        callout = contradictions.render_callout(
            contradiction,
            cid=cid,
            old_claim=f"{cite}{when}: {inert_text(clean(contradiction.existing.text))}",
            new_claim=f"{render_link(source_stem)} ({source_date}): {new_text}",
        )
        body = append_to_section(body, CONTRADICTIONS_HEADING, [*callout, ""])
        added.append(cid)
    meta["aliases"] = plan.aliases
    meta["sources"] = unique([*as_list(meta.get("sources")), render_link(source_stem)])
    if not meta.get("summary") and plan.description:
        meta["summary"] = plan.description
    open_now = contradictions.open_count(body)
    if open_now or "contradictions" in meta:
        meta["contradictions"] = open_now
    if plan.existing is not None and (meta, body) != before:
        meta["updated"] = today
    return meta, body, added


def lead(plan: PagePlan, source_stem: str, linker: Linker) -> str:
    if plan.description:
        return linker.linkify(inert_line(plan.description), skip_stem=plan.stem)
    kind = "person" if plan.kind == "person" else "concept"
    return f"**{inert_text(plan.title)}** is a {kind} mentioned in {render_link(source_stem)}."


def source_meta(
    doc: SourceDoc,
    *,
    title: str,
    stem: str,
    summary: str,
    today: str,
    archive: str,
    original: str,
    engine: str,
    tokens: int,
) -> dict[str, object]:
    """A source page's frontmatter: `stem` is its file name, `archive` the path of the raw/
    copy in the vault, `original` the link to its copy in wiki/ (see originals.py),
    `tokens` what ingesting it cost."""
    # the real title stays findable in Obsidian's link picker when the file name differs
    aliases = [title] if stem != title else []
    doc_tags = [t for t in doc.meta.get("tags", "").split("\n") if t and t.casefold() != "source"]
    return {
        "title": title,
        "type": "source",
        "aliases": aliases,
        "summary": one_line(clean(summary)),
        "sources": [],
        "tags": ["source", *doc_tags],
        "created": today,
        "updated": today,
        **{k: doc.meta[k] for k in ("url", "author", "published", "site") if doc.meta.get(k)},
        # not `file`: Dataview reserves it for its implicit fields
        "archive": archive,
        "original": original,
        "sha256": doc.sha256,
        "engine": engine,
        "tokens": tokens,
    }


def source_body(
    extraction: Extraction,
    grounder: Grounder,
    plans: list[PagePlan],
    linker: Linker,
    locked: list[str],
) -> str:
    parts = [linker.linkify(inert_line(clean(extraction.summary))) or "(no summary)"]
    claim_lines = []
    for claim in (grounder.ground(c) for c in extraction.claims):
        whole_quote = bool(claim.quote) and fact_key(claim.quote) == fact_key(claim.statement)
        escaped = inert_text(claim.statement) if whole_quote else inert_line(claim.statement)
        text = linker.linkify(escaped)
        if whole_quote:
            claim_lines.append(f'- "{text}"')
        elif claim.quote:
            claim_lines.append(f'- {text} ("{inert_text(claim.quote)}")')
        elif text:
            claim_lines.append(f"- {text}")
    if claim_lines:
        parts.append("## Key claims\n\n" + "\n".join(unique(claim_lines)))
    for kind, heading in (("person", "People"), ("concept", "Concepts")):
        links = [render_link(p.stem, p.title) for p in plans if p.kind == kind]
        if links:
            parts.append(f"## {heading}\n\n" + "\n".join(f"- {link}" for link in links))
    if locked:
        parts.append(
            f"## {NOT_APPLIED_HEADING}\n\nThese pages are locked, so this source's facts about "
            "them were not written:\n\n" + "\n".join(f"- {render_link(s)}" for s in locked)
        )
    return "\n\n".join(parts)


# --- the overview (see llmwiki.overview) --------------------------------------------------


def defining_fact(names: Sequence[str], facts: Sequence[str]) -> str | None:
    """The first fact that says what the subject is, as written on the page (links kept)."""
    keys = [n for n in dict.fromkeys(names) if normalize_key(n)]
    if not keys:
        return None
    alternatives = "|".join(re.escape(n) for n in sorted(keys, key=len, reverse=True))
    pattern = re.compile(rf"^(?:The\s+)?(?:{alternatives})", re.IGNORECASE)
    for fact in facts:
        text = _QUOTED.sub(r"\1", fact.strip())
        plain = unlink(text)
        named = pattern.match(plain)
        if named and DEFINING.match(plain[named.end() :]):
            return text
    return None


def facts_of(body: str) -> list[str]:
    """The statements of the page's `## Facts`, without their citations."""
    return [
        without_citation(line[2:]).strip()
        for line in section_lines(body, FACTS_HEADING)
        if line.startswith(("- ", "* "))
    ]


def compile_overview(meta: dict[str, object], body: str, catalog: Catalog, stem: str) -> str:
    """The embedded engine's overview of the page `stem` (see the module docstring)."""
    overview_text, rest = overview.split(body)
    title = str(meta.get("title") or stem)
    names = [title, stem, *as_list(meta.get("aliases"))]
    first = _first_paragraph(overview_text)
    if overview.is_placeholder(first) and meta.get("summary"):
        # the first source said nothing of what it is; a later one did, in the summary
        first = inert_line(str(meta["summary"]))
    lead = defining_fact(names, facts_of(rest)) or first
    if not lead:
        kind = str(meta.get("type") or "concept")
        lead = f"**{title}** is a {kind if kind == 'person' else 'concept'}."
    sentences = [lead.rstrip()]
    dates = sorted(
        entry.date
        for link in as_list(meta.get("sources"))
        for target in parse_links(link)
        if (entry := catalog.get(target.target)) is not None and entry.date
    )
    count = len(as_list(meta.get("sources")))
    if count:
        span = ""
        if dates:
            span = f", {dates[0]}" if dates[0] == dates[-1] else f", {dates[0]} to {dates[-1]}"
        sentences.append(f"Mentioned in {count} source{'s' if count != 1 else ''}{span}.")
    alongside = [render_link(e.stem, e.title) for e in catalog.related(stem, MAX_ALONGSIDE)]
    if alongside:
        sentences.append(f"Most often cited with {_and(alongside)}.")
    still_open = contradictions.open_count(rest)
    if still_open:
        which = "contradiction is" if still_open == 1 else "contradictions are"
        sentences.append(f"{still_open} {which} open (see Contradictions).")
    return " ".join(sentences)


def _first_paragraph(overview: str) -> str:
    """The lead of an overview: its first paragraph without the sentences `compile_overview`
    adds after the lead, so that compiling again never repeats them."""
    paragraph = overview.strip().split("\n\n", 1)[0].strip()
    compiled = _COMPILED.search(paragraph)
    return paragraph[: compiled.start()] if compiled else paragraph


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def refresh_overview(
    meta: dict[str, object], body: str, catalog: Catalog, stem: str, force: bool = False
) -> tuple[dict[str, object], str, overview.Overview]:
    """The page with its overview rewritten, unless a person wrote the one it has (and
    `force` is off): then the page is returned as it is."""
    overview_text, rest = overview.split(body)
    if not force and overview.edited_by_hand(meta, body):
        return meta, body, overview.Overview(overview_text, edited=True)
    text = compile_overview(meta, body, catalog, stem)
    new_meta = {**meta, overview.FINGERPRINT_KEY: overview.fingerprint(text)}
    new_body = f"{text}\n\n{rest.lstrip(chr(10))}" if rest.strip() else f"{text}\n"
    return new_meta, new_body, overview.Overview(text, edited=False)
