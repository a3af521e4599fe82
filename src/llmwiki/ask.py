"""`wiki ask`: answers from the wiki's pages, with citations, filed back when worth keeping.

Retrieval: the BM25 hits (`llmwiki.search`) that contain enough of the question's words, then
the pages the best hits link to, packed into a token budget, each page trimmed to fit. The
links are read from the hit pages themselves rather than from `llmwiki.graph`: building the
graph costs most of a second on a 10,000-page wiki, and backlinks need no graph here, since a
page linking to [[X]] has X's name in its indexed text and BM25 finds it anyway. An
answerer (`engines.answerer`) writes the answer from those pages only: the LLM
(`engines.llm.answerer`, which streams) or the extractive one (`engines.extractive.answerer`:
the passages that match the question best, each citing its page).
With no relevant page there is no answerer call at all: the answer says the wiki does not cover
the question, and cites nothing.

Code, not the answerer, has the last word on links: every `[[link]]` of the answer is checked,
while it streams too, and a link to a page that does not exist becomes plain text. So neither
the terminal nor a saved answer ever shows a phantom citation.

With `save`, an answer that cites pages becomes `wiki/answers/<question>.md` (written under the
vault lock, atomically), index.md is regenerated and log.md gets an entry; the next search
indexes the new page, so later questions can retrieve it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from llmwiki.catalog import Catalog
from llmwiki.engines import Engine, Usage
from llmwiki.engines.answerer import (
    BULLET_RE,
    NOT_COVERED,
    TRIMMED_MARK,
    Answerer,
    ContextPage,
    render_block,
)
from llmwiki.engines.extractive.answerer import ExtractiveAnswerer
from llmwiki.entries import entry_for
from llmwiki.errors import EngineError, PageError, UsageError
from llmwiki.identity import fold_name, normalize_key
from llmwiki.index_pages import write as write_index
from llmwiki.pages import (
    LINK_RE,
    Page,
    as_list,
    display_text,
    parse_links,
    read,
    render,
    render_link,
    safe_name,
    section_lines,
    unlink,
)
from llmwiki.scan import WikiFiles
from llmwiki.search import Hit, SearchIndex
from llmwiki.tokens import count_tokens, split_text
from llmwiki.vault import GENERATED_PAGES, PAGE_FOLDERS, Vault

__all__ = ["DEFAULT_BUDGET", "AskResult", "ask"]

DEFAULT_BUDGET = 3000  # tokens of page text an answer may be built from
MAX_HITS = 8
# Shares of a question's weight a page must hold (see `relevant`), chosen on the question set
# of bench/ask_eval.py, where no question on an absent topic reaches COVERED
COVERED, ALONGSIDE = 0.5, 0.4
NEIGHBOUR_SOURCES = 2  # the best hits whose linked pages are added as context
MAX_NEIGHBOURS = 4
MIN_PAGE_TOKENS = 60  # a page cut below this says too little to be worth its room
NO_ANSWER = "The answerer returned no answer."


@dataclass(frozen=True)
class AskResult:
    question: str
    answer: str
    citations: tuple[str, ...]  # stems of the existing pages the answer links to, in order
    pages: tuple[str, ...]  # stems of the pages the answerer was given
    usage: Usage
    engine: str
    saved: Path | None = None
    note: str = ""  # why `save` did not save, when it did not
    cut_off: str = ""  # why the answer is incomplete ("" when it is complete)

    @property
    def covered(self) -> bool:
        return bool(self.citations)


def ask(
    vault: Vault,
    answerer: Answerer | Engine,
    question: str,
    *,
    budget_tokens: int = DEFAULT_BUDGET,
    save: bool = False,
    today: date | None = None,
    on_token: Callable[[str], None] | None = None,
    max_hits: int = MAX_HITS,
    lock_wait: float = 0.0,
    on_wait: Callable[[], None] | None = None,
    files: WikiFiles | None = None,
) -> AskResult:
    """Answer `question` from the vault's pages (`files`: the walk of wiki/ to bring the
    search index in step with, else a new one).

    `answerer` is an Answerer, or an ingest Engine (which cannot write prose, so the extractive
    answerer stands in for it). `on_token` receives the answer as it is written, links already
    checked; every answer reaches it, streamed or not, so a caller can print from it alone.
    Saving waits up to `lock_wait` seconds for another writer (calling `on_wait` once).
    """
    question = " ".join(question.split())
    if not question:
        raise UsageError("the question is empty")
    if budget_tokens < MIN_PAGE_TOKENS:
        raise UsageError(f"the budget must be at least {MIN_PAGE_TOKENS} tokens")
    chosen = _answerer_of(answerer)
    with SearchIndex(vault) as index:
        index.sync(files)
        hits = relevant(index.search(question, max_hits, sync=False))
        context = _context(vault, index, [h.rel for h in hits], budget_tokens) if hits else []
        links = _Links(vault, index.stems(), context)
    guard = _LinkGuard(links.fix, on_token)
    usage = Usage()
    cut_off = ""
    if context:
        reply = chosen.answer(question, context, guard.feed)
        usage = reply.usage
        cut_off = reply.cut_off
        if not guard.fed:
            guard.feed(reply.text.strip() or NO_ANSWER)
    else:
        guard.feed(NOT_COVERED)
    text = links.fix(guard.close()).strip()
    citations = links.cited(text)
    saved: Path | None = None
    note = ""
    if save:
        if citations:
            with vault.lock(wait=lock_wait, on_wait=on_wait):
                saved, note = _save(vault, question, text, citations, today or date.today())
        else:
            note = "not saved: the answer cites no page of the wiki"
    return AskResult(
        question=question,
        answer=text,
        citations=citations,
        pages=tuple(p.stem for p in context),
        usage=usage,
        engine=chosen.name,
        saved=saved,
        note=note,
        cut_off=cut_off,
    )


def relevant(hits: Sequence[Hit]) -> list[Hit]:
    """The hits an answer may be built from, or none when nothing shows that the wiki covers
    the question. Evidence is a page the question names, or one holding most of the
    question's weight (rare words weigh most, and a word no page holds weighs most of all, so
    a question on an absent topic falls short). Once the question is covered, pages holding a
    good part of it come along."""
    if not any(h.named or h.coverage >= COVERED for h in hits):
        return []
    return [h for h in hits if h.named or h.coverage >= ALONGSIDE]


def _answerer_of(answerer: Answerer | Engine) -> Answerer:
    if isinstance(answerer, Answerer):
        return answerer
    if answerer.name == "llm":
        # Silently answering extractively when the user configured an LLM would mislead.
        raise EngineError(
            "this LLM engine cannot answer questions; "
            "use llmwiki.engines.open_answerer(config) to get the LLM answerer"
        )
    return ExtractiveAnswerer()


# --- retrieval: pages packed into the budget ------------------------------------------------------


def _context(
    vault: Vault, index: SearchIndex, rels: Sequence[str], budget: int
) -> list[ContextPage]:
    pages: list[tuple[Page, bool]] = []
    seen: set[str] = set()
    for rel in rels:
        page = _read(vault, rel)
        if page is not None and page.stem not in seen:
            seen.add(page.stem)
            pages.append((page, False))
    linked: list[str] = []
    for page, _ in pages[:NEIGHBOUR_SOURCES]:
        targets = [link.target for link in parse_links(page.body)]
        targets += [
            link.target for s in as_list(page.meta.get("sources")) for link in parse_links(s)
        ]
        linked += [t for t in targets if t and t not in seen]
    added = 0
    for stem, rel in index.paths(dict.fromkeys(linked)).items():
        if added >= MAX_NEIGHBOURS:
            break
        page = _read(vault, rel)
        if page is not None and stem not in seen:
            seen.add(stem)
            pages.append((page, True))
            added += 1
    return _pack(pages, budget)


def _read(vault: Vault, rel: str) -> Page | None:
    try:
        return read(vault.wiki / rel)
    except (PageError, UnicodeDecodeError, OSError):
        return None  # changed or broken since it was indexed: answer from the others


def _pack(pages: Sequence[tuple[Page, bool]], budget: int) -> list[ContextPage]:
    """Pages in order of relevance while the budget lasts, each cut to fit what is left; no page
    takes more than half the budget while others wait, so the best hit cannot crowd out all."""
    share = max(MIN_PAGE_TOKENS, budget // 2)
    remaining = budget
    packed: list[ContextPage] = []
    for position, (page, neighbour) in enumerate(pages):
        if remaining < MIN_PAGE_TOKENS:
            break
        cap = remaining if position == len(pages) - 1 else min(remaining, share)
        summary = " ".join(str(page.meta.get("summary") or "").split())
        body = page.body.strip()
        # a saved answer's summary is its own first line again
        fresh = summary and summary not in body and page.type != "answer"
        text = f"Summary: {summary}\n\n{body}" if fresh else body
        candidate = ContextPage(
            page.stem, page.title, page.type, text, tuple(page.aliases), neighbour=neighbour
        )
        fitted = _fit(candidate, cap)
        if fitted is None:
            continue
        packed.append(fitted)
        remaining -= count_tokens(render_block(fitted))
    return packed


def _fit(page: ContextPage, cap: int) -> ContextPage | None:
    if count_tokens(render_block(page)) <= cap:
        return page
    room = cap - count_tokens(render_block(replace(page, text=""))) - count_tokens(TRIMMED_MARK)
    while room >= MIN_PAGE_TOKENS // 2:
        cut = split_text(page.text, room)[0] + TRIMMED_MARK
        trimmed = replace(page, text=cut, trimmed=True)
        if count_tokens(render_block(trimmed)) <= cap:
            return trimmed
        room = room * 9 // 10  # the cut met a boundary that counts differently: shrink a bit
    return None


# --- links: only to pages that exist --------------------------------------------------------------


class _Links:
    def __init__(
        self, vault: Vault, stems: Mapping[str, str], context: Sequence[ContextPage]
    ) -> None:
        self._stems = set(stems)
        self._generated = {
            name.removesuffix(".md") for name in GENERATED_PAGES if (vault.wiki / name).is_file()
        }
        self._folded: dict[str, str] | None = None
        # An answer may name a supplied page by its title or an alias: the link must name the
        # file, so those are mapped to it.
        self._names: dict[str, str] = {}
        for page in context:
            for name in (page.title, *page.aliases):
                self._names.setdefault(normalize_key(name), page.stem)

    def resolve(self, target: str) -> str | None:
        """The stem of the page `target` names, the way Obsidian finds it, or None."""
        target = _bare(target)
        if target in self._stems or target in self._generated:
            return target
        if self._folded is None:
            self._folded = {}
            for stem in sorted(self._stems | self._generated):
                self._folded.setdefault(fold_name(stem), stem)
        return self._folded.get(fold_name(target)) or self._names.get(normalize_key(target))

    def fix(self, text: str) -> str:
        return LINK_RE.sub(self._fix_one, text)

    def _fix_one(self, match: re.Match[str]) -> str:
        target = match.group(1).strip()
        heading = match.group(2) or ""
        display = (match.group(3) or "").strip()
        stem = self.resolve(target) if target else None
        if stem is None:
            return display_text(display or target)
        bare = _bare(target)
        shown = display or (bare if bare != stem else "")
        # An embed (`![[...]]`) would paste a whole page into the answer: a link says enough.
        if shown and shown != stem:
            return f"[[{stem}{heading}|{display_text(shown)}]]"
        return f"[[{stem}{heading}]]"

    def cited(self, text: str) -> tuple[str, ...]:
        return tuple(
            dict.fromkeys(
                link.target
                for link in parse_links(text)
                if link.target in self._stems and link.target not in self._generated
            )
        )


def _bare(target: str) -> str:
    """A link target as a file name: `[[people/Tomas Berg.md]]` names `Tomas Berg`."""
    if target.casefold().endswith(".md"):
        target = target[:-3]
    return target.rsplit("/", 1)[-1].strip()


class _LinkGuard:
    """Passes streamed text on as it comes, except a `[[link]]`, which is held until it is
    complete and checked, so a link to a missing page is never shown even for a moment."""

    HOLD = 300  # an unclosed `[[` longer than this is not a link

    def __init__(self, fix: Callable[[str], str], out: Callable[[str], None] | None) -> None:
        self._fix = fix
        self._out = out
        self._pending = ""
        self._parts: list[str] = []
        self.fed = False

    def feed(self, chunk: str) -> None:
        if chunk:
            self.fed = True
            self._pending += chunk
            self._drain(final=False)

    def close(self) -> str:
        self._drain(final=True)
        return "".join(self._parts)

    def _emit(self, text: str) -> None:
        if text:
            self._parts.append(text)
            if self._out is not None:
                self._out(text)

    def _drain(self, final: bool) -> None:
        while self._pending:
            text = self._pending
            start = text.find("[[")
            if start < 0:
                # a trailing "[" or "!" may be the start of a link or an embed
                keep = 1 if not final and text.endswith(("[", "!")) else 0
                self._emit(text[: len(text) - keep])
                self._pending = text[len(text) - keep :]
                return
            if start > 0 and text[start - 1] == "!":
                start -= 1
            self._emit(text[:start])
            end = text.find("]]", start + 2)
            if end >= 0:
                self._emit(self._fix(text[start : end + 2]))
                self._pending = text[end + 2 :]
                continue
            tail = text[start:]
            if final or "\n" in tail or len(tail) > self.HOLD:
                opener = tail.index("[[") + 2  # not a link after all
                self._emit(tail[:opener])
                self._pending = tail[opener:]
                continue
            self._pending = tail
            return


# --- filing the answer back -----------------------------------------------------------------------


def _save(
    vault: Vault, question: str, text: str, citations: Sequence[str], today: date
) -> tuple[Path | None, str]:
    """Write the answer page, index.md and the log entry. The caller holds the vault lock."""
    day = today.isoformat()
    folder = PAGE_FOLDERS["answer"]
    catalog = Catalog.load(vault)
    base = safe_name(question)
    entry = catalog.get(base)
    existing: Page | None = None
    if entry is not None and entry.rel == f"{folder}/{base}.md":
        # The same question asked again: the page is updated, not duplicated.
        path = vault.wiki / entry.rel
        try:
            existing = read(path)
        except (PageError, UnicodeDecodeError) as exc:
            return None, f"not saved: {entry.rel} cannot be read ({exc})"
        if existing.meta.get("locked") is True:
            return None, f"not saved: {entry.rel} is locked"
    else:
        path = vault.folder("answer") / f"{catalog.free_stem(question, 'answer')}.md"
    stem = path.stem
    sources = [c for c in citations if c != stem]
    meta: dict[str, object] = {
        "title": question,
        "type": "answer",
        "aliases": [],
        "summary": _summary(text),
        "sources": [render_link(c) for c in sources],
        "tags": ["answer"],
        "created": day,
        "updated": day,
    }
    notes: list[str] = []
    if existing is not None:
        meta = {**existing.meta, **meta, "created": existing.meta.get("created") or day}
        notes = section_lines(existing.body, "Notes")  # the user's words, kept verbatim
    body = text + "\n\n## Sources\n\n" + "\n".join(f"- {render_link(c)}" for c in sources)
    if notes:
        body += "\n\n## Notes\n" + "\n".join(notes)
    vault.write_text(path, render(meta, body))
    catalog.put(entry_for(path, vault.wiki, meta))
    write_index(vault, catalog)
    _log(vault, day, question, stem, sources)
    return path, ""


def _summary(text: str, limit: int = 200) -> str:
    first = next((line for line in text.split("\n") if line.strip()), "")
    line = " ".join(unlink(BULLET_RE.sub("", first.strip())).split())
    if len(line) <= limit:
        return line
    return line[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _log(vault: Vault, day: str, question: str, stem: str, cited: Sequence[str]) -> None:
    lines = [f"## [{day}] ask | {display_text(question)}", "", f"- answer: {render_link(stem)}"]
    if cited:
        lines.append("- cited: " + ", ".join(render_link(c) for c in cited))
    vault.append_log(lines)
