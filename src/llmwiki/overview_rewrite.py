"""The LLM engine's overview of a page: one call, checked in code, repaired once (#14).

Separate from `render`, which compiles the embedded engine's overview, because this one costs a
call and can fail: the draft is checked (`overview_check`) and, when it fails, sent back once
with its problems. A draft that still fails is not written. The page then keeps the overview
the engine wrote before (its fingerprint still matches), or gets the compiled one when it never
had an engine's overview, and the caller reports why. A hand-edited overview costs no call.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmwiki import overview, overview_check, render
from llmwiki.catalog import Catalog
from llmwiki.content import known_facts
from llmwiki.engines import OverviewWriter, Usage
from llmwiki.errors import EngineError
from llmwiki.pages import render_link, section_lines

_CONTRADICTION_CHARS = 4000  # of the page's Contradictions section shown to the model


@dataclass(frozen=True)
class Rewrite:
    meta: dict[str, object]
    body: str
    usage: Usage
    warning: str = ""  # why the engine's draft was not written


def rewrite(
    writer: OverviewWriter,
    meta: dict[str, object],
    body: str,
    catalog: Catalog,
    stem: str,
    force: bool = False,
) -> Rewrite:
    """The page with the overview `writer` wrote, when it passes the checks (see the module
    docstring for what happens otherwise). `force` (`wiki refresh`) rewrites an overview a
    person edited too."""
    if not force and overview.edited_by_hand(meta, body):
        return Rewrite(meta, body, Usage())
    previous, rest = overview.split(body)
    facts = overview_check.select_facts([f for f in known_facts(rest, catalog) if f.source])
    if not facts:
        new_meta, new_body, _ = render.refresh_overview(meta, body, catalog, stem)
        return Rewrite(new_meta, new_body, Usage())
    contradictions = "\n".join(section_lines(rest, render.CONTRADICTIONS_HEADING))
    title = str(meta.get("title") or stem)

    def exists(target: str) -> bool:
        return (catalog.get(target) or catalog.lookup(target)) is not None

    usage = Usage()
    problems: list[str] = []
    for _attempt in range(2):
        try:
            draft = writer.write_overview(
                title, previous, facts, contradictions[:_CONTRADICTION_CHARS], problems
            )
        except EngineError as exc:
            problems = [str(exc)]
            break
        usage += draft.usage
        problems = overview_check.check(draft.sentences, facts, exists)
        if not problems:
            text = overview_check.render(draft.sentences, lambda t: _source_link(catalog, t))
            new_meta = {**meta, overview.FINGERPRINT_KEY: overview.fingerprint(text)}
            new_body = f"{text}\n\n{rest.lstrip(chr(10))}" if rest.strip() else f"{text}\n"
            return Rewrite(new_meta, new_body, usage)
    warning = f"overview of [[{stem}]] not rewritten: {'; '.join(problems)}"
    if meta.get(overview.FINGERPRINT_KEY):  # the engine's earlier overview stays
        return Rewrite(meta, body, usage, warning)
    new_meta, new_body, _ = render.refresh_overview(meta, body, catalog, stem)
    return Rewrite(new_meta, new_body, usage, warning)


def _source_link(catalog: Catalog, title: str) -> str:
    entry = catalog.lookup(title)
    return render_link(entry.stem) if entry is not None else render_link(title)
