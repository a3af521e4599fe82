"""`wiki lint`: what keeps a wiki healthy as it grows, and the repairs that are mechanical.

Errors (exit code 1): broken links, frontmatter that is unreadable or lacks a title or type.
Warnings: orphan pages, entity pages citing no source, likely duplicates, a stale index.md,
open contradictions, and names used on three or more pages that have no page.

`lint(vault, fix=True)` first makes the repairs that need no judgement (regenerate index.md,
point links at file names, normalize frontmatter lists and key order) and then reports what is
left. It never changes any other text of a page.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy

from llmwiki import index_pages, originals
from llmwiki.catalog import Catalog
from llmwiki.duplicates import duplicates
from llmwiki.entries import ENTITY_TYPES, Entry
from llmwiki.errors import PageError
from llmwiki.graph import WikiGraph, build_graph, orphans
from llmwiki.identity import initials, normalize_key, words
from llmwiki.links import frontmatter_block, relink, rewrite_links, split_frontmatter
from llmwiki.page_info import PageInfo, normalized_meta
from llmwiki.pages import link_target, parse
from llmwiki.scan import gc_paused
from llmwiki.vault import Vault

SEVERITIES = ("error", "warning")
MIN_PAGES_FOR_MISSING = 3
_DUPLICATES = "duplicates"  # the catalog's state that keeps the pairs found
_DUPLICATE_RULES = 3  # bump when identity's rules for one entity change: saved pairs are stale


@dataclass(frozen=True)
class Finding:
    severity: str  # error | warning
    code: str  # e.g. broken-link
    page: str  # path under wiki/ ("" when the finding is about the wiki as a whole)
    message: str  # what is wrong and what to do about it


@dataclass(frozen=True)
class Fix:
    page: str
    message: str


@dataclass(frozen=True)
class LintReport:
    pages: int
    findings: tuple[Finding, ...] = ()
    fixed: tuple[Fix, ...] = ()

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "pages": self.pages,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "findings": [asdict(f) for f in self.findings],
            "fixed": [asdict(f) for f in self.fixed],
        }


def lint(vault: Vault, fix: bool = False) -> LintReport:
    """Check the wiki; with `fix`, make the mechanical repairs first (under the vault lock)."""
    if not fix:
        return check(vault, build_graph(vault, terms=True))
    with vault.lock():
        wg = build_graph(vault)
        fixed = [Fix(rel, what) for rel, what in originals.restore(vault, wg.scan.pages)]
        fixed += _fix_pages(vault, build_graph(vault) if fixed else wg)
        wg = build_graph(vault, terms=True)
        if wg.pages or (vault.wiki / "index.md").exists():
            for path in index_pages.write(vault, wg.catalog()):
                what = "regenerated from the pages' frontmatter" if path.exists() else "removed"
                fixed.append(Fix(path.relative_to(vault.wiki).as_posix(), what))
    return replace(check(vault, wg), fixed=tuple(fixed))


def check(vault: Vault, wg: WikiGraph) -> LintReport:
    with gc_paused():  # every page's records live on while the checks run (see gc_paused)
        return _check(vault, wg)


def _check(vault: Vault, wg: WikiGraph) -> LintReport:
    catalog = wg.catalog()
    named = catalog.names_only()  # read once, for the checks that need every page
    findings = [
        *_page_findings(wg.scan.pages),
        *_broken_links(wg, catalog),
        *_orphans(wg),
        *_duplicates(catalog, named, wg.pages),
        *_index(vault, catalog, bool(wg.pages)),
        *_contradictions(wg),
        *_missing_pages(wg, catalog, (entry for entry, _ in named)),
        *(
            Finding(
                "warning",
                "same-file-name",
                info.rel,
                f"another page is also named {info.stem}.md, so links reach only one of the "
                "two: rename one of them (or `wiki merge` them)",
            )
            for info in wg.shadowed
        ),
    ]
    order = {s: i for i, s in enumerate(SEVERITIES)}
    findings.sort(key=lambda f: (order[f.severity], f.code, f.page, f.message))
    return LintReport(pages=len(wg.scan.pages), findings=tuple(findings))


# --- checks -------------------------------------------------------------------------------


def _page_findings(pages: Iterable[PageInfo]) -> Iterator[Finding]:
    """What is wrong with each page by itself: found when the page was parsed, and cached
    with it (`page_problems`), so a warm lint reads no frontmatter."""
    for info in pages:
        if info.error:
            problem = f"{info.error}: correct the YAML between the `---` lines"
            yield Finding("error", "invalid-frontmatter", info.rel, problem)
        for severity, code, message in info.problems:
            yield Finding(severity, code, info.rel, message)


def _broken_links(wg: WikiGraph, catalog: Catalog) -> Iterator[Finding]:
    for link in wg.broken:
        rel = wg.pages[link.page].rel
        entry = catalog.lookup(link.target)
        if link.target.startswith(f"{originals.FOLDER}/"):
            yield Finding(
                "error",
                "broken-link",
                rel,
                f"[[{link.target}]], the copy of this source's original, is gone: run "
                "`wiki lint --fix` to copy it again from raw/",
            )
        elif entry is not None and entry.stem in wg.pages:
            target = link_target(entry.stem)
            yield Finding(
                "error",
                "broken-link",
                rel,
                f"[[{link.target}]] names no file; it means [[{target}]]: run "
                f"`wiki lint --fix` to write [[{target}|{link.target}]]",
            )
        else:
            yield Finding(
                "error",
                "broken-link",
                rel,
                f"[[{link.target}]] links to a page that does not exist: create the page, "
                "correct the link, or remove the brackets",
            )


def _orphans(wg: WikiGraph) -> Iterator[Finding]:
    for stem in orphans(wg):
        info = wg.pages[stem]
        # a saved answer is reached through the index and search; nothing is meant to cite it
        if info.type == "answer":
            continue
        yield Finding(
            "warning",
            "orphan",
            info.rel,
            "no other page links here (index.md and log.md do not count): link it from a "
            "related page, or merge or delete it",
        )


def _index(vault: Vault, catalog: Catalog, has_pages: bool) -> Iterator[Finding]:
    if not has_pages and not (vault.wiki / "index.md").exists():
        return
    for rel, why in index_pages.stale(vault, catalog):
        if why == "missing":
            message = f"{rel} is missing: run `wiki lint --fix`"
        elif why == "left over":
            message = f"{rel} is left from an earlier index: `wiki lint --fix` removes it"
        else:
            message = (
                f"{rel} does not match the pages (edited by hand, or a page changed since): "
                "run `wiki lint --fix` to regenerate it"
            )
        yield Finding("warning", "stale-index", rel, message)


def _contradictions(wg: WikiGraph) -> Iterator[Finding]:
    for info in wg.pages.values():
        if info.callouts:
            yield Finding(
                "warning",
                "contradiction",
                info.rel,
                f"{info.callouts} open contradiction(s): see `wiki contradictions`, check which "
                "claim holds, then `wiki contradictions resolve ID --note ...`",
            )


# --- names that deserve a page ------------------------------------------------------------


class _KnownNames:
    """Names that already have a page, to tell a missing page from a known one."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.seqs: set[tuple[str, ...]] = set()
        for entry in entries:
            for name in entry.names:
                found = words(name)
                if found:
                    self.seqs.add(found)
        self.joined = "\n".join(" " + " ".join(s) + " " for s in self.seqs)
        self.keys = {"".join(s) for s in self.seqs}

    def covers(self, term: str) -> bool:
        """True if `term` contains a page's name, is part of one, or abbreviates one."""
        found = words(term)
        if not found:
            return True
        if f" {' '.join(found)} " in self.joined:
            return True
        for size in range(1, len(found) + 1):
            for start in range(len(found) - size + 1):
                if found[start : start + size] in self.seqs:
                    return True
        return any(k in self.keys for a in initials(term) for k in (a, a + "s"))


def _missing_pages(wg: WikiGraph, catalog: Catalog, entries: Iterable[Entry]) -> Iterator[Finding]:
    """Link targets with no page used on three or more pages, and names mentioned (not
    linked) in three or more different sentences on three or more pages."""
    linked: dict[str, set[str]] = defaultdict(set)
    shown: dict[str, Counter[str]] = defaultdict(Counter)
    for link in wg.broken:
        if catalog.lookup(link.target) is not None:
            continue  # a page's other name: `wiki lint --fix` points these links at it
        key = normalize_key(link.target)
        linked[key].add(link.page)
        shown[key][link.target] += 1
    for key, stems in sorted(linked.items()):
        if len(stems) >= MIN_PAGES_FOR_MISSING:
            name = shown[key].most_common(1)[0][0]
            yield Finding(
                "warning",
                "missing-page",
                "",
                f"[[{name}]] is linked from {len(stems)} pages ({_some(wg, stems)}) but has no "
                "page: create it, or point the links at the page that covers it",
            )
    known = _KnownNames(entries)
    pages: dict[str, set[str]] = defaultdict(set)
    contexts: dict[str, set[str]] = defaultdict(set)
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    for stem, info in wg.pages.items():
        for term, context in info.terms or ():
            key = normalize_key(term)
            pages[key].add(stem)
            contexts[key].add(context)
            forms[key][term] += 1
    for key in sorted(pages):
        if len(pages[key]) < MIN_PAGES_FOR_MISSING or len(contexts[key]) < MIN_PAGES_FOR_MISSING:
            continue
        name = forms[key].most_common(1)[0][0]
        if key in linked or known.covers(name):
            continue
        yield Finding(
            "warning",
            "missing-page",
            "",
            f'"{name}" is mentioned on {len(pages[key])} pages ({_some(wg, pages[key])}) but '
            "has no page: consider giving it one",
        )


def _duplicates(
    catalog: Catalog, named: Iterable[tuple[Entry, int]], pages: Mapping[str, PageInfo]
) -> Iterator[Finding]:
    found: dict[str, Entry] = {}
    sources: dict[str, int] = {}
    for entry, cited in named:
        if entry.stem in pages and entry.type in ENTITY_TYPES:
            found[entry.stem] = entry
            sources[entry.stem] = cited
    for keep, other, reason in _duplicate_pairs(catalog, list(found.values()), sources):
        yield Finding(
            "warning",
            "duplicate",
            pages[other].rel,
            f"may be the same {found[other].type} as [[{keep}]] ({reason}); if so, run: "
            f'wiki merge "{keep}" "{other}"',
        )


def _duplicate_pairs(
    catalog: Catalog, entries: list[Entry], sources: Mapping[str, int]
) -> list[tuple[str, str, str]]:
    """(page to keep, the other, why) for each likely duplicate pair among `entries`
    (`sources`: how many sources each cites, by file name). The pairs are kept beside the
    catalog with a digest of each page's file name, names and type, all a pair depends on:
    pairs are sought again only for the pages that changed or came since (a full search at
    100,000 pages takes 6 s; the pairs of a page that went go with it), or for every page
    when many changed."""
    signatures = numpy.fromiter(map(_signature, entries), numpy.uint64, len(entries))
    saved = catalog.state(_DUPLICATES)
    before = saved.get("signatures")
    changed: set[str] | None = None
    gone = 0
    if saved.get("rules") == _DUPLICATE_RULES and isinstance(before, bytes):
        known = numpy.frombuffer(before, numpy.uint64)
        new = ~numpy.isin(signatures, known)
        changed = {entries[i].stem for i in numpy.flatnonzero(new).tolist()}
        gone = len(known) - (len(entries) - len(changed))
        if len(changed) + gone > max(1000, len(entries) // 10):
            changed = None  # the index of every name is then cheaper than a search per page
    found = duplicates(entries, sources, changed, saved.get("pairs", ()))
    if changed is None or changed or gone:
        pairs = [(*sorted((d.keep.stem, d.other.stem)), d.reason) for d in found]
        signatures.sort()  # stored as one array: a dict by file name took 25 MB at 100,000
        state = {"rules": _DUPLICATE_RULES, "signatures": signatures.tobytes(), "pairs": pairs}
        catalog.save_state(_DUPLICATES, state)
    return [(d.keep.stem, d.other.stem, d.reason) for d in found]


def _signature(entry: Entry) -> int:
    # not marshal: it writes an interned string differently from an equal one that is not
    names = "\0".join((entry.stem, entry.type, entry.title, *entry.aliases))
    digest = hashlib.blake2b(names.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _some(wg: WikiGraph, stems: Iterable[str], limit: int = 3) -> str:
    titles = sorted(wg.pages[s].title for s in stems)
    more = f" and {len(titles) - limit} more" if len(titles) > limit else ""
    return ", ".join(titles[:limit]) + more


# --- repairs ------------------------------------------------------------------------------


def _fix_pages(vault: Vault, wg: WikiGraph) -> list[Fix]:
    catalog = wg.catalog()
    targets: dict[str, str] = {}  # link target as written -> the file name it should name
    for info in wg.scan.pages:
        for target in info.links:
            new = _canonical_target(wg, catalog, target)
            if new is not None:
                targets[target] = new
    fixed: list[Fix] = []
    for info in wg.scan.pages:
        if info.error:
            continue
        stale_links = any(t in targets for t in info.links)
        if not stale_links and info.tidy:
            continue
        path = vault.wiki / info.rel
        changes: list[str] = []
        text = path.read_text(encoding="utf-8")

        def point(match: re.Match[str], changes: list[str] = changes) -> str | None:
            stem = targets.get(match.group(1).strip())
            if stem is None:
                return None
            new = relink(match, stem)
            changes.append(f"{match.group()} -> {new}")
            return new

        try:
            new_text = rewrite_links(text, point)
            meta = parse(new_text, path).meta
        except PageError:
            continue  # changed since the scan; the next lint reports it
        normal = normalized_meta(meta)
        head, rest = split_frontmatter(new_text)
        if head and list(normal.items()) != list(meta.items()):
            new_text = frontmatter_block(normal) + rest
            changes.append("frontmatter: lists and key order normalized")
        if changes and vault.write_text(path, new_text):
            fixed.append(Fix(info.rel, "; ".join(dict.fromkeys(changes))))
    return fixed


def _canonical_target(wg: WikiGraph, catalog: Catalog, target: str) -> str | None:
    """The file name a link should name instead of `target`, or None when it is right (or
    when there is no telling what it means)."""
    stem = wg.resolve(target)
    if stem is not None:
        # a differently cased name resolves, but not on every tool and file system
        plain = "/" not in target and not target.casefold().endswith(".md")
        return stem if plain and target != stem else None
    if wg.names.is_attachment(target):
        return None
    entry = catalog.lookup(target)
    if entry is not None and entry.stem in wg.pages:
        return entry.stem
    return None
