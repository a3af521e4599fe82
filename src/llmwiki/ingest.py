"""Ingest: inbox files become pages, one source at a time, planned first and then written.

For each source: read -> hash (skip content already ingested) -> extract -> ground quotes ->
resolve each mention to a page -> merge new facts into each page as it is on disk -> render ->
archive to raw/ -> write the entity pages, index and log, then the source page -> record in
the manifest -> leave the inbox (-> one git commit, in a vault that is a repository).

Planning calls the engine and touches no file, so an engine failure leaves the vault as it was
and the file in the inbox. The engine only ever sees the source, the pages it touches and a
bounded list of candidate titles, so the cost of a source does not grow with the wiki.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from llmwiki import contradictions, history, inbox, index_pages, originals, overview_rewrite, render
from llmwiki.catalog import Catalog, name_runs
from llmwiki.config import Config
from llmwiki.content import RELATED_HEADING, Grounder, Linker, clean
from llmwiki.engines import Engine, Extraction, OverviewWriter, SourceDoc, Usage
from llmwiki.entries import entry_for
from llmwiki.errors import EngineError, HistoryError, PageError, SourceError
from llmwiki.manifest import Manifest, SourceRecord
from llmwiki.pages import read as read_page
from llmwiki.pages import render as render_page
from llmwiki.pages import render_link, replace_section, safe_name
from llmwiki.readers import read_source, source_bytes
from llmwiki.resolve import Resolver, link_names
from llmwiki.vault import Vault, atomic_write


@dataclass(frozen=True)
class SourceResult:
    file: str
    status: str  # ingested | skipped | failed | planned (dry run)
    title: str = ""
    page: str = ""  # stem of the source page
    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    locked: tuple[str, ...] = ()  # pages with `locked: true` that facts were not written to
    contradictions: int = 0
    usage: Usage = field(default_factory=Usage)
    message: str = ""
    # a valid extraction with no claim and no entity from a non-empty document: ingested, but
    # reported, so that a model that answered beside the point is never taken for success
    nothing_extracted: bool = False


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

    @classmethod
    def from_config(cls, config: Config, *, today: date) -> Options:
        """The options `config` asks for, as `wiki ingest` starts from before its own flags."""
        return cls(
            today=today,
            jobs=config.jobs,
            max_bytes=int(config.max_file_mb * 1_000_000),
            max_candidates=config.max_candidates,
        )


def ingest(
    vault: Vault,
    engine: Engine,
    options: Options,
    files: Sequence[Path] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_wait: Callable[[], None] | None = None,
) -> IngestReport:
    """Ingest `files` (default: everything pending in the inbox) and report what happened;
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
    manifest = Manifest.load(vault)
    if manifest.rebuilt and not options.dry_run:
        manifest.save()  # appends below must extend the rebuilt records, not replace them
    catalog = Catalog.load(vault, save_cache=not options.dry_run)
    run = _Run(vault, engine, options, manifest, catalog, index_pages.IndexFiles(vault))
    if several := len(paths) > 1:  # once per run, not in the first source's time
        catalog.with_name_keys()
        gc.freeze()  # what the run loaded lives on: the collector need not walk it per source
    results = []
    # jobs > 1: the next source is extracted as this one merges (one worker: chunks go parallel)
    prefetch = ThreadPoolExecutor(max_workers=1) if options.jobs > 1 else None
    try:
        for index, path in enumerate(paths, 1):
            if on_progress:
                on_progress(Progress(index, len(paths), path.name))
            upcoming = paths[index] if index < len(paths) else None
            result = run.source(path, upcoming, prefetch)
            results.append(result)
            if on_progress:
                on_progress(Progress(index, len(paths), path.name, result))
    finally:
        if several:
            gc.unfreeze()  # a long-lived process (`wiki watch`, `wiki mcp`) collects them again
        if prefetch is not None:
            prefetch.shutdown(wait=True, cancel_futures=True)
    return IngestReport(engine.name, options.dry_run, tuple(results))


@dataclass
class _Ahead:
    """The next source, read early (not again on its turn): titles offered, extraction begun."""

    path: Path
    doc: SourceDoc
    known: list[str]
    extraction: Future[Extraction] | None = None


@dataclass
class _Run:
    vault: Vault
    engine: Engine
    options: Options
    manifest: Manifest
    catalog: Catalog
    index: index_pages.IndexFiles  # what this run rendered of the index
    ahead: _Ahead | None = None

    # --- one source ---------------------------------------------------------------------

    def source(
        self, path: Path, upcoming: Path | None, prefetch: ThreadPoolExecutor | None
    ) -> SourceResult:
        ahead, self.ahead = self.ahead, None
        name = path.name
        # lexists: a link is judged by itself, whatever it points to
        if not os.path.lexists(path):  # taken by a wiki process that held the lock before us
            return SourceResult(name, "skipped", message="no longer there (already ingested?)")
        if ahead is not None and ahead.path == path:
            # changed since the look-ahead read it? The archive copy is checked against this
            # hash, so the file then stays in the inbox for the next run.
            doc = ahead.doc
        else:
            ahead = None
            try:
                doc = read_source(path, self.options.max_bytes, self._readable_areas(path))
            except FileNotFoundError:
                return SourceResult(name, "skipped", message="no longer there (already ingested?)")
            except (SourceError, OSError) as exc:
                # one file that cannot be read must not stop the run, nor every run after it
                reason = (
                    str(exc)
                    if isinstance(exc, SourceError)
                    else f"{name}: cannot read it ({exc.strerror or exc}); check the file"
                )
                if not self.options.dry_run:
                    inbox.reject(self.vault, path, reason)
                return SourceResult(name, "failed", message=reason)
        record = self.manifest.sources.get(doc.sha256)
        if record is not None:
            if not self.options.dry_run:
                try:
                    self._archive_duplicate(path, doc, record)
                except SourceError as exc:
                    return SourceResult(name, "failed", title=doc.title, message=str(exc))
            return SourceResult(
                name,
                "skipped",
                title=record.title,
                page=record.page,
                message=f"same content as {record.files[0]}, already ingested",
            )
        if self.options.dry_run:
            return SourceResult(name, "planned", title=doc.title, usage=self.engine.estimate(doc))
        if ahead is None:
            ahead = _Ahead(path, doc, self.catalog.mentioned_in(doc.text, self._limit))
        try:
            extraction = (
                ahead.extraction.result()
                if ahead.extraction is not None
                else self.engine.extract(doc, ahead.known)
            )
            return self._ingest(path, doc, extraction, upcoming, prefetch)
        except EngineError as exc:
            return SourceResult(
                name,
                "failed",
                title=doc.title,
                message=f"{exc} (the file stays in the inbox)",
            )
        except PageError as exc:
            return SourceResult(
                name,
                "failed",
                title=doc.title,
                message=f"{exc}; fix the page (or `wiki lint`) and run ingest again",
            )
        except SourceError as exc:  # changed under us after it was read: try again later
            return SourceResult(name, "failed", title=doc.title, message=str(exc))

    @property
    def _limit(self) -> int:
        return self.options.max_candidates

    def _readable_areas(self, path: Path) -> tuple[Path, ...]:
        """Where a link in the inbox may lead: into the vault (or the inbox, when that is
        itself a link to another disk). A file named on the command line is the user's
        choice, read wherever it is."""
        return (self.vault.root, self.vault.inbox) if inbox.in_inbox(self.vault, path) else ()

    def _look_ahead(
        self, upcoming: Path, planned: Catalog, prefetch: ThreadPoolExecutor | None
    ) -> None:
        """Read the next source now, and choose the titles offered to its extraction: the
        wiki's plus the pages the current source is about to create, by the same rule with
        or without extraction in the background, so --jobs never changes the wiki."""
        try:
            doc = read_source(upcoming, self.options.max_bytes, self._readable_areas(upcoming))
        except (SourceError, OSError):
            return  # its own turn reports it
        if doc.sha256 in self.manifest.sources:
            return
        runs, catalogs = name_runs(doc.text), (self.catalog, planned.with_name_keys())
        found = [title for c in catalogs for title in c.mentioned_in(runs, self._limit)]
        ahead = _Ahead(upcoming, doc, list(dict.fromkeys(found))[: self._limit])
        if prefetch is not None:
            ahead.extraction = prefetch.submit(self.engine.extract, doc, ahead.known)
        self.ahead = ahead

    def _ingest(
        self,
        path: Path,
        doc: SourceDoc,
        extraction: Extraction,
        upcoming: Path | None,
        prefetch: ThreadPoolExecutor | None,
    ) -> SourceResult:
        usage = extraction.usage
        # one line, no links: a title goes into headings, the log and commit messages
        title = clean(doc.title) or clean(extraction.title) or Path(doc.name).stem
        source_stem = self._source_stem(title, doc)
        grounder = Grounder(doc.text)
        resolver = Resolver(self.vault.wiki, self.engine, self.catalog, self.options.jobs)
        resolution = resolver.resolve(extraction, grounder, title, source_stem)
        usage += resolution.usage
        if upcoming is not None:
            self._look_ahead(upcoming, resolution.planned, prefetch)
        plans = resolution.plans
        linker = Linker(link_names(plans))
        merges = resolver.merge_all(plans, title)
        today = self.options.today.isoformat()
        source_date = doc.meta.get("published", "") or today
        writes: list[tuple[Path, dict[str, object], str]] = []
        created, updated, locked = [], [], []
        contradiction_ids: set[str] = set()  # one disagreement may show on several pages
        for plan, merge in zip(plans, merges, strict=True):
            if merge is None:
                locked.append(plan.stem)
                continue
            usage += merge.usage
            meta, body, added = render.entity_page(
                plan,
                merge,
                catalog=self.catalog,
                source_stem=source_stem,
                source_date=source_date,
                linker=linker,
                today=today,
                engine=self.engine.name,
            )
            contradiction_ids.update(added)
            if plan.existing is None:
                created.append(plan.stem)
            elif meta == plan.existing.meta and body == plan.existing.body:
                continue
            else:
                updated.append(plan.stem)
            writes.append((self.vault.wiki / plan.rel, meta, body))
        raw_path = inbox.raw_path(self.vault, path, doc.sha256)
        raw_rel = raw_path.relative_to(self.vault.root).as_posix()
        original = originals.place(self.vault, source_stem, raw_path, doc.sha256)
        source_meta = render.source_meta(
            doc,
            title=title,
            stem=source_stem,
            summary=extraction.summary,
            today=today,
            archive=raw_rel,
            original=originals.link(self.vault, original),
            engine=self.engine.name,
            tokens=usage.total_tokens,
        )
        source_body = render.source_body(extraction, grounder, plans, linker, locked)
        # a clip's images (`wiki add`), embedded only when the file is in the vault
        images = [
            i for i in doc.meta.get("images", "").split("\n") if (self.vault.wiki / i).is_file()
        ]
        source_body = replace_section(source_body, "Images", [f"![[{i}]]" for i in images])
        writes.append((self.vault.wiki / f"sources/{source_stem}.md", source_meta, source_body))

        # Apply, in an order that makes a crash at any point recoverable: the archive copy
        # first and the inbox file last, so the source's bytes always exist somewhere; the
        # source page after everything else in wiki/, because a source page with this hash
        # is what marks the source as ingested when the manifest has to be rebuilt.
        # an archive copy already there means an earlier run got this far and may have logged
        resumed = raw_path.exists()
        # the paths this source writes or removes: its commit holds these and nothing else
        touched = [raw_path, original, *(t for t, _, _ in writes), path]
        # (index/: the parts of a large index)
        generated = ("index.md", index_pages.PARTS_DIR, "log.md", "contradictions.md")
        touched += [self.vault.wiki / n for n in generated]
        not_committed = self._save_edits(touched, title) if not resumed else ""
        if not resumed:  # the bytes that were read, not whatever the name points at now
            atomic_write(raw_path, source_bytes(path, doc.sha256, self._readable_areas(path)))
        originals.write(original, raw_path)
        for target, meta, _ in writes:
            self.catalog.put(entry_for(target, self.vault.wiki, meta))
        *entity_writes, (source_path, _, _) = writes
        warnings: list[str] = []
        for target, meta, body in entity_writes:
            # "Related" is regenerated by code: the pages sharing the most sources with this
            # one. Only the pages this source touches can gain a related page from it.
            related = [
                f"- {render_link(e.stem, e.title)}" for e in self.catalog.related(target.stem)
            ]
            # after the Contradictions, before the user's Notes (#14: the page's shape)
            body = replace_section(body, RELATED_HEADING, related, move=True)
            # the overview last: it names the related pages and the open contradictions
            # (the LLM engine writes its own, checked; see overview_rewrite)
            if isinstance(self.engine, OverviewWriter):
                done = overview_rewrite.rewrite(self.engine, meta, body, self.catalog, target.stem)
                meta, body, usage = done.meta, done.body, usage + done.usage
                warnings += [done.warning] if done.warning else []
            else:
                meta, body, _ = render.refresh_overview(meta, body, self.catalog, target.stem)
            self.catalog.put(entry_for(target, self.vault.wiki, meta, body))
            self.vault.write_text(target, render_page(meta, body))
        self.index.write(self.catalog)
        if contradiction_ids:
            contradictions.write_register(self.vault, self.catalog)
        self._log(today, title, source_stem, created, updated, resumed, warnings)
        self.vault.write_text(source_path, render_page(source_meta, source_body))
        result = SourceResult(
            path.name,
            "ingested",
            title=title,
            page=source_stem,
            created=tuple(created),
            updated=tuple(updated),
            locked=tuple(locked),
            contradictions=len(contradiction_ids),
            usage=usage,
            # (read_source refuses a blank document, so there was text to extract from)
            nothing_extracted=not extraction.claims and not extraction.mentions,
            message="; ".join(warnings),
        )
        self.manifest.add(
            doc.sha256,
            SourceRecord(
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
            ),
        )
        inbox.leave_inbox(self.vault, path)
        if self._committing and not not_committed:
            try:
                history.commit(self.vault, f"ingest: {title}", touched)
            except HistoryError as exc:
                not_committed = str(exc)
        if not_committed:
            result = replace(result, message=f"ingested, but not committed: {not_committed}")
        return result

    @property
    def _committing(self) -> bool:
        return self.options.commit and history.is_repo(self.vault.root)

    def _save_edits(self, touched: list[Path], title: str) -> str:
        """Commit the user's pending edits to the pages about to change, so that undoing this
        ingest returns to them; the error that prevents it, which also skips the ingest's
        own commit (an undo must never take the user's edits with it)."""
        if not self._committing:
            return ""
        try:
            history.save_edits(self.vault, touched, f"ingest: {title}")
        except HistoryError as exc:
            return str(exc)
        return ""

    def _source_stem(self, title: str, doc: SourceDoc) -> str:
        """The source page's file name: its own page again if this very content was written
        before (a run interrupted before its manifest was saved), else a free name."""
        entry = self.catalog.lookup(title)
        for stem in (entry.stem if entry else "", safe_name(title)):
            page = self.vault.wiki / "sources" / f"{stem}.md"
            if stem and page.exists() and read_page(page).meta.get("sha256") == doc.sha256:
                return stem
        return self.catalog.free_stem(title, "source")

    # --- files ----------------------------------------------------------------------------

    def _archive_duplicate(self, path: Path, doc: SourceDoc, record: SourceRecord) -> None:
        """A file whose content is already ingested: keep its bytes in raw/, note its name."""
        if not inbox.in_inbox(self.vault, path):
            return
        target = inbox.raw_path(self.vault, path, doc.sha256)
        if not target.exists():
            atomic_write(target, source_bytes(path, doc.sha256, self._readable_areas(path)))
        if path.name not in record.files:
            self.manifest.add(doc.sha256, replace(record, files=(*record.files, path.name)))
        inbox.leave_inbox(self.vault, path)

    def _log(
        self,
        today: str,
        title: str,
        stem: str,
        created: list[str],
        updated: list[str],
        resumed: bool,
        warnings: Sequence[str] = (),
    ) -> None:
        # a line break in a value would start an entry of its own: a forged one
        lines = [f"## [{today}] ingest | {clean(title)}", ""]
        lines.append(f"- source: {render_link(stem)}")
        if created:
            lines.append("- created: " + ", ".join(render_link(s) for s in created))
        if updated:
            lines.append("- updated: " + ", ".join(render_link(s) for s in updated))
        lines += [f"- warning: {clean(w)}" for w in warnings]
        # a run interrupted after logging this source has it logged already: once is enough
        # (only then is the log read: it grows with the wiki's history)
        self.vault.append_log(lines, unless=lines[2] if resumed else "")
