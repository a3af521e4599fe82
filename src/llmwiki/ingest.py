"""Ingest: inbox files become pages, one source at a time, planned first and then written.

For each source: read -> hash (skip content already ingested) -> extract -> ground quotes ->
resolve each mention to a page -> merge new facts into each page as it is on disk -> render ->
write pages, index and log -> archive to raw/ -> record in the manifest -> leave the inbox.

Planning calls the engine and touches no file, so an engine failure leaves the vault as it was
and the file in the inbox. The engine only ever sees the source, the pages it touches and a
bounded list of candidate titles, so the cost of a source does not grow with the wiki.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from llmwiki import content, contradictions, history
from llmwiki.catalog import Catalog, Entry, entry_for, render_index
from llmwiki.content import FACTS_HEADING, Grounder, Linker, clean, fact_key
from llmwiki.engine import (
    Candidate,
    Engine,
    EngineError,
    Extraction,
    Fact,
    Mention,
    Merge,
    SourceDoc,
    Usage,
)
from llmwiki.manifest import Manifest, SourceRecord
from llmwiki.pages import (
    Page,
    PageError,
    append_to_section,
    as_list,
    normalize_key,
    render_link,
    safe_name,
)
from llmwiki.pages import read as read_page
from llmwiki.pages import render as render_page
from llmwiki.sources import SourceError, read_source
from llmwiki.vault import Vault, atomic_write

CONTRADICTIONS_HEADING = "Contradictions"
MAX_CANDIDATES_CONFIRMED = 3  # candidates an engine is asked about per mention


@dataclass(frozen=True)
class SourceResult:
    file: str
    status: str  # ingested | skipped | failed | planned (dry run)
    title: str = ""
    page: str = ""  # stem of the source page
    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    locked: tuple[str, ...] = ()  # pages with `locked: true` that facts were not written to
    conflicts: int = 0
    usage: Usage = field(default_factory=Usage)
    message: str = ""


@dataclass(frozen=True)
class IngestReport:
    engine: str
    dry_run: bool
    results: tuple[SourceResult, ...] = ()

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def usage(self) -> Usage:
        total = Usage()
        for result in self.results:
            total += result.usage
        return total

    @property
    def created(self) -> int:
        return sum(len(r.created) for r in self.results)

    @property
    def updated(self) -> int:
        return len({p for r in self.results for p in r.updated})

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0


@dataclass(frozen=True)
class Progress:
    """Sent before (result None) and after each source, for a CLI to show progress."""

    index: int
    total: int
    file: str
    result: SourceResult | None = None


@dataclass(frozen=True)
class Options:
    today: date
    dry_run: bool = False
    jobs: int = 4
    max_bytes: int | None = None
    max_candidates: int = 30
    commit: bool = False  # one git commit per ingested source, when the vault is a repository
    lock_wait: float = 0.0  # seconds to wait for another wiki process to finish


def ingest(
    vault: Vault,
    engine: Engine,
    options: Options,
    files: Sequence[Path] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_wait: Callable[[], None] | None = None,
) -> IngestReport:
    """Ingest `files` (default: everything pending in the inbox) and report what happened.

    `on_wait` is called if another wiki process holds the vault and this one waits for it."""
    if options.dry_run:
        return _run(vault, engine, options, files, on_progress)
    with vault.lock(options.lock_wait, on_wait):
        return _run(vault, engine, options, files, on_progress)


def _run(
    vault: Vault,
    engine: Engine,
    options: Options,
    files: Sequence[Path] | None,
    on_progress: Callable[[Progress], None] | None,
) -> IngestReport:
    paths = list(files) if files is not None else vault.pending()
    cache = None if options.dry_run else vault.state / "catalog.json"
    run = _Run(vault, engine, options, Manifest.load(vault), Catalog.scan(vault.wiki, cache))
    results = []
    for index, path in enumerate(paths, 1):
        if on_progress:
            on_progress(Progress(index, len(paths), path.name))
        result = run.source(path)
        results.append(result)
        if on_progress:
            on_progress(Progress(index, len(paths), path.name, result))
    return IngestReport(engine.name, options.dry_run, tuple(results))


@dataclass
class _PagePlan:
    stem: str
    kind: str
    title: str
    rel: str
    existing: Page | None
    aliases: list[str] = field(default_factory=list)
    description: str = ""
    facts: list[Fact] = field(default_factory=list)


@dataclass
class _Run:
    vault: Vault
    engine: Engine
    options: Options
    manifest: Manifest
    catalog: Catalog

    # --- one source ---------------------------------------------------------------------

    def source(self, path: Path) -> SourceResult:
        name = path.name
        if not path.exists():  # taken by a wiki process that held the lock before us
            return SourceResult(name, "skipped", message="no longer there (already ingested?)")
        try:
            doc = read_source(path, self.options.max_bytes)
        except SourceError as exc:
            if not self.options.dry_run:
                self._reject(path, str(exc))
            return SourceResult(name, "failed", message=str(exc))
        except OSError as exc:
            return SourceResult(name, "failed", message=f"{name}: cannot read it ({exc.strerror})")
        record = self.manifest.sources.get(doc.sha256)
        if record is not None:
            if not self.options.dry_run:
                self._archive_duplicate(path, doc, record)
            return SourceResult(
                name,
                "skipped",
                title=record.title,
                page=record.page,
                message=f"same content as {record.files[0]}, already ingested",
            )
        if self.options.dry_run:
            return SourceResult(name, "planned", title=doc.title, usage=self.engine.estimate(doc))
        try:
            return self._ingest(path, doc)
        except EngineError as exc:
            return SourceResult(
                name,
                "failed",
                title=doc.title,
                message=f"{name}: {exc} (the file stays in the inbox)",
            )
        except PageError as exc:
            return SourceResult(
                name,
                "failed",
                title=doc.title,
                message=f"{exc}; fix the page (or `wiki lint`) and run ingest again",
            )

    def _ingest(self, path: Path, doc: SourceDoc) -> SourceResult:
        known = self.catalog.mentioned_in(doc.text, self.options.max_candidates)
        extraction = self.engine.extract(doc, known)
        usage = extraction.usage
        title = doc.title or clean(extraction.title) or Path(doc.name).stem
        source_stem = self._source_stem(title, doc)
        source_rel = f"sources/{source_stem}.md"
        grounder = Grounder(doc.text)
        plans, resolve_usage = self._resolve(extraction, grounder, title)
        usage += resolve_usage
        linker = Linker(_link_names(plans))
        merges = self._merge_all(plans, title)
        today = self.options.today.isoformat()
        source_date = doc.meta.get("published", "") or today
        writes: list[tuple[Path, dict[str, object], str]] = []
        created, updated, locked = [], [], []
        conflicts = 0
        for plan, merge in zip(plans, merges, strict=True):
            if merge is None:
                locked.append(plan.stem)
                continue
            usage += merge.usage
            meta, body, n_conflicts = self._render_entity(
                plan, merge, source_stem, source_date, linker
            )
            conflicts += n_conflicts
            if plan.existing is None:
                created.append(plan.stem)
            elif meta == plan.existing.meta and body == plan.existing.body:
                continue
            else:
                updated.append(plan.stem)
            writes.append((self.vault.wiki / plan.rel, meta, body))
        raw_path = self._raw_path(path, doc)
        raw_rel = raw_path.relative_to(self.vault.root).as_posix()
        source_meta: dict[str, object] = {
            "title": title,
            "type": "source",
            "aliases": [],
            "summary": _one_line(clean(extraction.summary)),
            "sources": [],
            "tags": ["source"],
            "created": today,
            "updated": today,
            **{k: doc.meta[k] for k in ("url", "author", "published") if doc.meta.get(k)},
            "file": raw_rel,
            "sha256": doc.sha256,
            "engine": self.engine.name,
            "tokens": usage.total_tokens,
        }
        source_body = _source_body(extraction, grounder, plans, linker, locked)
        writes.append((self.vault.wiki / source_rel, source_meta, source_body))

        # Apply. The archive copy goes first and the inbox file last, so at every moment the
        # source's bytes exist in at least one place.
        if not raw_path.exists():
            atomic_write(raw_path, path.read_bytes())
        for target, meta, body in writes:
            self.vault.write_text(target, render_page(meta, body))
            self.catalog.put(entry_for(target, self.vault.wiki, meta))
        self.vault.write_text(self.vault.wiki / "index.md", render_index(self.catalog))
        if conflicts:
            contradictions.write_register(self.vault, self.catalog)
        self._log(today, title, source_stem, created, updated)
        result = SourceResult(
            path.name,
            "ingested",
            title=title,
            page=source_stem,
            created=tuple(created),
            updated=tuple(updated),
            locked=tuple(locked),
            conflicts=conflicts,
            usage=usage,
        )
        self.manifest.sources[doc.sha256] = SourceRecord(
            title=title,
            page=source_stem,
            files=(path.name,),
            raw=raw_rel,
            ingested=today,
            engine=self.engine.name,
            pages=tuple(created + updated),
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            calls=usage.calls,
        )
        self.manifest.save()
        self._leave_inbox(path)
        if self.options.commit and history.is_repo(self.vault.root):
            try:
                history.commit(self.vault, f"ingest: {title}")
            except history.HistoryError as exc:
                result = replace(result, message=f"ingested, but not committed: {exc}")
        return result

    def _source_stem(self, title: str, doc: SourceDoc) -> str:
        """The source page's file name: its own page again if this very content was written
        before (a run interrupted before its manifest was saved), else a free name."""
        entry = self.catalog.lookup(title)
        for stem in (entry.stem if entry else "", safe_name(title)):
            page = self.vault.wiki / "sources" / f"{stem}.md"
            if stem and page.exists() and read_page(page).meta.get("sha256") == doc.sha256:
                return stem
        return self.catalog.free_stem(title, "source")

    # --- resolution -----------------------------------------------------------------------

    def _resolve(
        self, extraction: Extraction, grounder: Grounder, source_title: str
    ) -> tuple[list[_PagePlan], Usage]:
        """Map each mention to an existing page, a page planned earlier in this source, or a
        new page. Plans are returned in mention order (deterministic output)."""
        plans: dict[str, _PagePlan] = {}
        planned = Catalog()  # new pages of this source, so later mentions can find them
        usage = Usage()
        source_key = normalize_key(source_title)
        for mention in extraction.mentions:
            name = clean(mention.name)[:150]
            if not name or normalize_key(name) in ("", source_key):
                continue
            aliases = [a for a in (clean(a)[:150] for a in mention.aliases) if normalize_key(a)]
            entry = self._find(name, aliases, planned)
            if entry is None:
                entry, spent = self._confirm(mention, name)
                usage += spent
            if entry is None:
                stem = self.catalog.free_stem(name, mention.kind)
                while planned.get(stem) is not None:
                    stem = self.catalog.free_stem(f"{name} {len(planned)}", mention.kind)
                folder = "people" if mention.kind == "person" else "concepts"
                entry = Entry(stem, f"{folder}/{stem}.md", name, mention.kind, tuple(aliases))
                planned.put(entry)
            plan = plans.get(entry.stem)
            if plan is None:
                plan = plans[entry.stem] = self._new_plan(entry, mention.kind)
            for alias in [name, *aliases]:
                self._add_alias(plan, alias, planned)
            if not plan.description and mention.description:
                plan.description = _one_line(clean(mention.description))
            plan.facts.extend(grounder.ground(f) for f in mention.facts)
        return list(plans.values()), usage

    def _find(self, name: str, aliases: list[str], planned: Catalog) -> Entry | None:
        for candidate in (name, *aliases):
            for catalog in (planned, self.catalog):
                entry = catalog.lookup(candidate)
                if entry is not None and entry.type not in ("source", "answer"):
                    return entry
        return None

    def _confirm(self, mention: Mention, name: str) -> tuple[Entry | None, Usage]:
        usage = Usage()
        for entry in self.catalog.candidates(name, mention.kind)[:MAX_CANDIDATES_CONFIRMED]:
            verdict = self.engine.same_entity(
                mention, Candidate(entry.title, entry.type, entry.aliases, entry.summary)
            )
            usage += verdict.usage
            if verdict.same:
                return entry, usage
        return None, usage

    def _new_plan(self, entry: Entry, kind: str) -> _PagePlan:
        path = self.vault.wiki / entry.rel
        existing = read_page(path) if path.exists() else None
        plan = _PagePlan(entry.stem, entry.type or kind, entry.title, entry.rel, existing)
        plan.aliases = list(existing.aliases) if existing else []
        return plan

    def _add_alias(self, plan: _PagePlan, alias: str, planned: Catalog) -> None:
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

    # --- merging --------------------------------------------------------------------------

    def _merge_all(self, plans: list[_PagePlan], source_title: str) -> list[Merge | None]:
        """Ask the engine, page by page and in parallel, what each page lacks. None: locked."""

        def merge(plan: _PagePlan) -> Merge | None:
            if plan.existing is not None and plan.existing.meta.get("locked") is True:
                return None
            known = content.known_facts(plan.existing.body, self.catalog) if plan.existing else []
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

        if self.options.jobs <= 1 or len(plans) <= 1:
            return [merge(p) for p in plans]
        with ThreadPoolExecutor(max_workers=self.options.jobs) as pool:
            return list(pool.map(merge, plans))

    # --- rendering ------------------------------------------------------------------------

    def _render_entity(
        self, plan: _PagePlan, merge: Merge, source_stem: str, source_date: str, linker: Linker
    ) -> tuple[dict[str, object], str, int]:
        today = self.options.today.isoformat()
        bullets = [content.render_fact(f, source_stem, linker, plan.stem) for f in merge.new_facts]
        page = plan.existing or Page(
            self.vault.wiki / plan.rel, {}, _lead(plan, source_stem, linker)
        )
        body = append_to_section(page.body, FACTS_HEADING, bullets)
        added_conflicts = 0
        for conflict in merge.conflicts:
            old = (
                self.catalog.lookup(conflict.existing.source) if conflict.existing.source else None
            )
            cid = contradictions.conflict_id(
                conflict.existing.text, old.stem if old else "", conflict.new.statement, source_stem
            )
            if cid in body:  # found before: open, or resolved and not to be raised again
                continue
            old_when = f" ({conflict.existing.date})" if conflict.existing.date else ""
            old_cite = render_link(old.stem) if old else "An earlier source"
            old_text = conflict.existing.text
            new_text = linker.linkify(conflict.new.statement, skip_stem=plan.stem)
            callout = contradictions.render_callout(
                conflict,
                cid=cid,
                old_claim=f"{old_cite}{old_when}: {old_text}",
                new_claim=f"{render_link(source_stem)} ({source_date}): {new_text}",
            )
            body = append_to_section(body, CONTRADICTIONS_HEADING, [*callout, ""])
            added_conflicts += 1
        meta: dict[str, object] = dict(page.meta)
        source_link = render_link(source_stem)
        if plan.existing is None:
            meta = {
                "title": plan.title,
                "type": plan.kind,
                "aliases": plan.aliases,
                "summary": plan.description
                or f"{plan.kind.capitalize()} mentioned in {source_stem}.",
                "sources": [source_link],
                "tags": [plan.kind],
                "created": today,
                "updated": today,
                "engine": self.engine.name,
            }
        else:
            meta["aliases"] = plan.aliases
            meta["sources"] = content.unique([*as_list(meta.get("sources")), source_link])
            if not meta.get("summary") and plan.description:
                meta["summary"] = plan.description
        open_conflicts = contradictions.open_count(body)
        if open_conflicts or "contradictions" in meta:
            meta["contradictions"] = open_conflicts
        if plan.existing is not None and (body != page.body or meta != page.meta):
            meta["updated"] = today
        return meta, body, added_conflicts

    # --- files ----------------------------------------------------------------------------

    def _raw_path(self, path: Path, doc: SourceDoc) -> Path:
        """raw/NAME, or raw/NAME-<hash> when another content already has that name."""
        target = self.vault.raw / path.name
        if target.exists() and not _same_bytes(target, path):
            target = self.vault.raw / f"{path.stem}-{doc.sha256[:8]}{path.suffix}"
        return target

    def _archive_duplicate(self, path: Path, doc: SourceDoc, record: SourceRecord) -> None:
        """A file whose content is already ingested: keep its bytes in raw/, note its name."""
        if not self._in_inbox(path):
            return
        target = self._raw_path(path, doc)
        if not target.exists():
            atomic_write(target, path.read_bytes())
        if path.name not in record.files:
            self.manifest.sources[doc.sha256] = replace(record, files=(*record.files, path.name))
            self.manifest.save()
        self._leave_inbox(path)

    def _in_inbox(self, path: Path) -> bool:
        return path.resolve().parent == self.vault.inbox.resolve()

    def _leave_inbox(self, path: Path) -> None:
        """Remove an ingested file from the inbox; its bytes are already safe in raw/.
        Files given from elsewhere are the user's and stay where they are."""
        if self._in_inbox(path):
            path.unlink(missing_ok=True)

    def _reject(self, path: Path, reason: str) -> None:
        """Move a file that cannot be ingested to inbox/failed/ with the reason beside it."""
        if not self._in_inbox(path) or not path.exists():
            return
        self.vault.failed.mkdir(parents=True, exist_ok=True)
        target = self.vault.failed / path.name
        n = 1
        while target.exists():
            target = self.vault.failed / f"{path.stem} ({n}){path.suffix}"
            n += 1
        atomic_write(
            target.with_name(target.name + ".error.txt"),
            f"{reason}\n\nFix the file and move it back into inbox/ to retry.\n".encode(),
        )
        os.replace(path, target)

    def _log(
        self, today: str, title: str, stem: str, created: list[str], updated: list[str]
    ) -> None:
        log = self.vault.wiki / "log.md"
        lines = [f"## [{today}] ingest | {title}", "", f"- source: {render_link(stem)}"]
        if created:
            lines.append("- created: " + ", ".join(render_link(s) for s in created))
        if updated:
            lines.append("- updated: " + ", ".join(render_link(s) for s in updated))
        entry = "\n".join(lines) + "\n"
        if not log.exists():
            self.vault.write_text(log, "# Log\n\nWhat the wiki did, newest last. Append-only.\n")
        # append-only: a plain append cannot tear earlier entries
        with open(log, "a", encoding="utf-8") as handle:
            handle.write("\n" + entry)
            handle.flush()
            os.fsync(handle.fileno())


def _same_bytes(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    return a.read_bytes() == b.read_bytes()


def _one_line(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _link_names(plans: list[_PagePlan]) -> dict[str, str]:
    """Every name of every page this source touches -> that page's file name."""
    names: dict[str, str] = {}
    for plan in plans:
        for name in (plan.title, plan.stem, *plan.aliases):
            names.setdefault(name, plan.stem)
    return names


def _lead(plan: _PagePlan, source_stem: str, linker: Linker) -> str:
    if plan.description:
        return linker.linkify(plan.description, skip_stem=plan.stem)
    kind = "person" if plan.kind == "person" else "concept"
    return f"**{plan.title}** is a {kind} mentioned in {render_link(source_stem)}."


def _source_body(
    extraction: Extraction,
    grounder: Grounder,
    plans: list[_PagePlan],
    linker: Linker,
    locked: list[str],
) -> str:
    parts = [linker.linkify(clean(extraction.summary)) or "(no summary)"]
    claims = [grounder.ground(c) for c in extraction.claims]
    claim_lines = []
    for claim in claims:
        text = linker.linkify(claim.statement)
        if claim.quote and fact_key(claim.quote) == fact_key(claim.statement):
            claim_lines.append(f'- "{text}"')
        elif claim.quote:
            claim_lines.append(f'- {text} ("{claim.quote}")')
        elif text:
            claim_lines.append(f"- {text}")
    if claim_lines:
        parts.append("## Key claims\n\n" + "\n".join(content.unique(claim_lines)))
    for kind, heading in (("person", "People"), ("concept", "Concepts")):
        links = [render_link(p.stem, p.title) for p in plans if p.kind == kind]
        if links:
            parts.append(f"## {heading}\n\n" + "\n".join(f"- {link}" for link in links))
    if locked:
        parts.append(
            "## Not applied\n\nThese pages are locked, so this source's facts about them were "
            "not written: " + ", ".join(render_link(s) for s in locked)
        )
    return "\n\n".join(parts)
