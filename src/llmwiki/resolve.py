"""Resolution: which page each mention of a source is, and what each page should gain.

A mention is an existing page when its name or an alias matches a page's title or alias
exactly (case and punctuation ignored); otherwise close candidates from the catalog are put to
the engine to confirm; otherwise it becomes a new page. Two people with different first names
are never one, even through a shared alias ("Dean"), and never offered as candidates: what is
"the same" is llmwiki.identity's to say. Engine calls that do not depend on each other run in
parallel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from llmwiki.catalog import Catalog
from llmwiki.content import Grounder, clean, known_facts, one_line
from llmwiki.engines import Candidate, Engine, Extraction, Fact, Mention, Merge, Usage
from llmwiki.entries import ENTITY_TYPES, Entry
from llmwiki.identity import fact_key, fold_name, normalize_key, same_entity
from llmwiki.pages import Page, safe_name
from llmwiki.pages import read as read_page

MAX_CANDIDATES_CONFIRMED = 3  # candidates an engine is asked about per mention
MAX_NAME = 150

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class PagePlan:
    """A page this source touches: as it is on disk (or None, when new) and what it gains."""

    stem: str
    kind: str
    title: str
    rel: str
    existing: Page | None
    aliases: list[str] = field(default_factory=list)
    description: str = ""
    facts: list[Fact] = field(default_factory=list)

    @property
    def locked(self) -> bool:
        return self.existing is not None and self.existing.meta.get("locked") is True


@dataclass
class Resolution:
    plans: list[PagePlan]
    planned: Catalog  # the new pages, as the catalog will hold them
    usage: Usage


class Resolver:
    def __init__(self, wiki_dir: Path, engine: Engine, catalog: Catalog, jobs: int) -> None:
        self.wiki_dir = wiki_dir
        self.engine = engine
        self.catalog = catalog
        self.jobs = jobs

    def map(self, work: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """`work` over `items`, in parallel when allowed; results in the items' order."""
        items = list(items)
        if self.jobs <= 1 or len(items) <= 1:
            return [work(i) for i in items]
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            return list(pool.map(work, items))

    def resolve(
        self, extraction: Extraction, grounder: Grounder, source_title: str, source_stem: str = ""
    ) -> Resolution:
        """Map each mention to an existing page, a page planned earlier in this source, or a
        new page. Plans come in mention order, so the output is deterministic. The source
        page's file name `source_stem` is spoken for: no new page may take it."""
        # a headline ("Attention Is All You Need") is the source page's own name; a short
        # title ("Deno KV", "Whisky sour") names the entity the note is about, which gets
        # its own page, as it would from any other source that mentions it
        headline = normalize_key(source_title) if len(source_title.split()) > 4 else ""
        mentions = []
        for mention in extraction.mentions:
            name = clean(mention.name)[:MAX_NAME]
            if normalize_key(name) in ("", headline):
                continue
            aliases = [
                a for a in (clean(a)[:MAX_NAME] for a in mention.aliases) if normalize_key(a)
            ]
            mentions.append((mention, name, aliases))
        verdicts, usage = self._confirm_all(
            [(m, n) for m, n, a in mentions if self._find(m.kind, n, a, None) is None]
        )
        plans: dict[str, PagePlan] = {}
        planned = Catalog()  # new pages of this source, so later mentions can find them
        taken = {fold_name(source_stem)} if source_stem else set()  # names chosen so far
        for mention, name, aliases in mentions:
            entry = self._find(mention.kind, name, aliases, planned) or verdicts.get(
                normalize_key(name)
            )
            if entry is None:
                self._check_readable(name)
                stem = self.catalog.free_stem(name, mention.kind, taken)
                taken.add(fold_name(stem))
                folder = "people" if mention.kind == "person" else "concepts"
                entry = Entry(stem, f"{folder}/{stem}.md", name, mention.kind, tuple(aliases))
                planned.put(entry)
            plan = plans.get(entry.stem)
            if plan is None:
                plan = plans[entry.stem] = self._plan(entry, mention.kind)
            for alias in [name, *aliases]:
                self._add_alias(plan, alias, planned)
            if not plan.description and mention.description:
                plan.description = one_line(clean(mention.description))
            plan.facts.extend(grounder.ground(f) for f in mention.facts)
        for entry in list(planned):
            plan = plans[entry.stem]
            planned.put(Entry(entry.stem, entry.rel, plan.title, plan.kind, tuple(plan.aliases)))
        return Resolution(list(plans.values()), planned, usage)

    def _check_readable(self, name: str) -> None:
        """A page of this name that cannot be parsed may well be this entity: raise its
        PageError rather than create a second page beside it (the source stays in the inbox
        until the page is fixed)."""
        rel = self.catalog.unreadable.get(fold_name(safe_name(name)))
        if rel is not None:
            read_page(self.wiki_dir / rel)

    def _find(
        self, kind: str, name: str, aliases: list[str], planned: Catalog | None
    ) -> Entry | None:
        """The page one of the mention's names names, unless `same_entity` says it is
        another entity (a "Dean" alias of James Dean is not Jeff Dean's "Dean")."""
        catalogs = (self.catalog,) if planned is None else (planned, self.catalog)
        names = (name, *aliases)
        for candidate in names:
            for catalog in catalogs:
                # a source page named like the entity ("Deno KV", a note about it) is not it
                entry = catalog.lookup(candidate, ENTITY_TYPES)
                if entry is None:
                    continue
                if same_entity(kind, names, entry.type, entry.names) is not None:
                    return entry
        return None

    def _confirm_all(self, mentions: list[tuple[Mention, str]]) -> tuple[dict[str, Entry], Usage]:
        """Ask the engine about each unmatched mention's close candidates, all in parallel."""
        unique = {normalize_key(name): (m, name) for m, name in mentions}

        def confirm(item: tuple[Mention, str]) -> tuple[Entry | None, Usage]:
            mention, name = item
            usage = Usage()
            for entry in self.catalog.candidates(name, mention.kind)[:MAX_CANDIDATES_CONFIRMED]:
                verdict = self.engine.same_entity(
                    mention, Candidate(entry.title, entry.type, entry.aliases, entry.summary)
                )
                usage += verdict.usage
                if verdict.same:
                    return entry, usage
            return None, usage

        results = self.map(confirm, unique.values())
        total = Usage()
        found: dict[str, Entry] = {}
        for key, (entry, usage) in zip(unique, results, strict=True):
            total += usage
            if entry is not None:
                found[key] = entry
        return found, total

    def _plan(self, entry: Entry, kind: str) -> PagePlan:
        path = self.wiki_dir / entry.rel
        existing = read_page(path) if path.exists() else None  # always the page as on disk
        plan = PagePlan(entry.stem, entry.type or kind, entry.title, entry.rel, existing)
        plan.aliases = list(existing.aliases) if existing else []
        return plan

    def _add_alias(self, plan: PagePlan, alias: str, planned: Catalog) -> None:
        key = normalize_key(alias)
        if key in {normalize_key(plan.title), normalize_key(plan.stem)}:
            return
        if key in {normalize_key(a) for a in plan.aliases}:
            return
        # never take a name that is another page's title: that would hijack its links
        for catalog in (self.catalog, planned):
            other = catalog.lookup(alias)
            if other is not None and other.stem != plan.stem:
                return
        plan.aliases.append(alias)

    def merge_all(self, plans: list[PagePlan], source_title: str) -> list[Merge | None]:
        """Ask the engine, page by page and in parallel, what each page lacks. None: locked."""

        def merge(plan: PagePlan) -> Merge | None:
            if plan.locked:
                return None
            known = known_facts(plan.existing.body, self.catalog) if plan.existing else []
            seen = {fact_key(k.text) for k in known}
            fresh: list[Fact] = []
            for fact in plan.facts:
                key = fact_key(fact.statement)
                if key and key not in seen:
                    seen.add(key)
                    fresh.append(fact)
            if not fresh:
                return Merge(())
            return self.engine.merge(plan.title, known, fresh, source_title)

        return self.map(merge, plans)


def link_names(plans: list[PagePlan]) -> dict[str, str]:
    """Every name of every page this source touches -> that page's file name."""
    names: dict[str, str] = {}
    for plan in plans:
        for name in (plan.title, plan.stem, *plan.aliases):
            names.setdefault(name, plan.stem)
    return names
