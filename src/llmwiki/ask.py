"""`wiki ask`: answers from the wiki's pages, with citations, filed back when worth keeping.

Retrieval: the BM25 hits (`llmwiki.search`) that contain enough of the question's words, then
the pages the best hits link to, packed into a token budget, each page trimmed to fit. The
links are read from the hit pages themselves rather than from `llmwiki.graph`: building the
graph costs most of a second on a 10,000-page wiki, and backlinks need no graph here, since a
page linking to [[X]] has X's name in its indexed text and BM25 finds it anyway. An
answerer writes the answer from those pages only: the LLM (`engines.llm.answerer`, which streams) or
the extractive answerer here (the passages that match the question best, each citing its page).
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

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from llmwiki.catalog import Catalog, entry_for, render_index
from llmwiki.engines import Engine, EngineError, Usage
from llmwiki.pages import (
    LINK_RE,
    Page,
    PageError,
    as_list,
    display_text,
    normalize_key,
    parse_links,
    read,
    render,
    render_link,
    safe_name,
    section_lines,
    unlink,
)
from llmwiki.search import Hit, SearchIndex, parse_query
from llmwiki.tokens import count_tokens, split_text
from llmwiki.vault import GENERATED_PAGES, PAGE_FOLDERS, Vault

if TYPE_CHECKING:
    from llmwiki.config import Config

__all__ = [
    "DEFAULT_BUDGET",
    "NOT_COVERED",
    "Answer",
    "Answerer",
    "AskResult",
    "ContextPage",
    "ExtractiveAnswerer",
    "answerer_for",
    "ask",
    "render_block",
]

DEFAULT_BUDGET = 3000  # tokens of page text an answer may be built from
MAX_HITS = 8
# Shares of a question's weight a page must hold (see `relevant`), chosen on the question set
# of bench/ask_eval.py, where no question on an absent topic reaches COVERED
COVERED, ALONGSIDE = 0.5, 0.4
RANK_BONUS = 1.0  # extractive answer: the best-ranked pages' passages are cited first
NEIGHBOUR_SOURCES = 2  # the best hits whose linked pages are added as context
MAX_NEIGHBOURS = 4
MIN_PAGE_TOKENS = 60  # a page cut below this says too little to be worth its room
MAX_PASSAGES = 6  # extractive answer: passages quoted
PASSAGES_PER_PAGE = 3
MAX_PASSAGE_CHARS = 400
TRIMMED_MARK = "\n[…]"
NO_ANSWER = "The answerer returned no answer."
NOT_COVERED = "The wiki does not cover this question: none of its pages answers it."

_TAG_RE = re.compile(r"</?\s*(?:page|pages|question)\b[^>]*>", re.IGNORECASE)
_BULLET_RE = re.compile(r"^(?:[-*+]|\d+[.)])\s+")
_SENTENCE_RE = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(\[A-Z0-9])")
_WORD_RE = re.compile(r"[^\W_]+")
_QUOTED_RE = re.compile(r"^\[\[([^\[\]|#\n]+)(?:\|[^\[\]\n]*)?\]\]:\s+(.+)$")  # `[[X]]: passage`
_CITED_RE = re.compile(r"\s+—\s+\[\[[^\]]*\]\]\s*$")  # a fact bullet's trailing source link


@dataclass(frozen=True)
class ContextPage:
    """A page as an answerer sees it: `text` is its summary and body, trimmed to the budget."""

    stem: str
    title: str
    type: str
    text: str
    aliases: tuple[str, ...] = ()
    trimmed: bool = False
    neighbour: bool = False  # linked from a best hit rather than matched by the question


@dataclass(frozen=True)
class Answer:
    text: str
    usage: Usage = field(default_factory=Usage)
    cut_off: str = ""  # why the answer stopped before the model finished it ("" when it did)


@runtime_checkable
class Answerer(Protocol):
    """Writes an answer from the supplied pages only.

    An answerer that streams passes each piece of text to `on_token` as it comes; what it
    passed, joined, must then be its answer's text. One that does not stream never calls it.
    """

    name: str

    def answer(
        self,
        question: str,
        pages: Sequence[ContextPage],
        on_token: Callable[[str], None] | None = None,
    ) -> Answer: ...


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


def answerer_for(config: Config, vault_prompts: Path | None = None) -> Answerer:
    """The answerer `config` asks for, chosen like the ingest engine: the LLM when one is
    configured, else the extractive answerer. Imports lazily: the offline path never loads
    openai."""
    if config.uses_llm:
        from llmwiki.engines.llm.answerer import LLMAnswerer
        from llmwiki.prompts import Prompts

        return LLMAnswerer(config, Prompts(vault_prompts))
    return ExtractiveAnswerer()


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
) -> AskResult:
    """Answer `question` from the vault's pages.

    `answerer` is an Answerer, or an ingest Engine (which cannot write prose, so the extractive
    answerer stands in for it). `on_token` receives the answer as it is written, links already
    checked; every answer reaches it, streamed or not, so a caller can print from it alone.
    Saving waits up to `lock_wait` seconds for another writer (calling `on_wait` once).
    """
    question = " ".join(question.split())
    if not question:
        raise ValueError("the question is empty")
    if budget_tokens < MIN_PAGE_TOKENS:
        raise ValueError(f"the budget must be at least {MIN_PAGE_TOKENS} tokens")
    chosen = _answerer_of(answerer)
    with SearchIndex(vault) as index:
        hits = relevant(index.search(question, max_hits))
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


def needed(terms: int) -> int:
    """How many of a question's content words a page must contain to be relevant: all of one
    or two ("Nathan Lambert"), half of more. One shared common word is not relevance."""
    return terms if terms <= 2 else math.ceil(terms / 2)


def _answerer_of(answerer: Answerer | Engine) -> Answerer:
    if isinstance(answerer, Answerer):
        return answerer
    if answerer.name == "llm":
        # Silently answering extractively when the user configured an LLM would mislead.
        raise EngineError(
            "this LLM engine cannot answer questions; "
            "use llmwiki.ask.answerer_for(config) to get the LLM answerer"
        )
    return ExtractiveAnswerer()


# --- retrieval: pages packed into the budget ------------------------------------------------------


def render_block(page: ContextPage) -> str:
    """A page as it goes into a prompt; the budget counts exactly this text."""
    text = _TAG_RE.sub("", page.text).strip()
    return (
        f"<page>\nLink: {render_link(page.stem)}\nTitle: {display_text(page.title)}\n"
        f"Type: {page.type or 'page'}\n\n{text}\n</page>"
    )


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
                self._folded.setdefault(stem.casefold(), stem)
        return self._folded.get(target.casefold()) or self._names.get(normalize_key(target))

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


# --- the extractive answerer ----------------------------------------------------------------------


class ExtractiveAnswerer:
    """Answers without an LLM: the passages (bullets, sentences) of the supplied pages that
    contain most of the question's words, each citing its page. Deterministic and offline."""

    name = "extractive"

    def answer(
        self,
        question: str,
        pages: Sequence[ContextPage],
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        terms = {_stem(t) for t in parse_query(question).terms}
        if not terms:
            return Answer(NOT_COVERED)
        need = needed(len(terms))
        scored: list[tuple[float, int, int, str, str]] = []
        for rank, page in enumerate(pages):
            # A passage on a page about the subject is about it even when it says "he".
            implied = set() if page.neighbour else _terms_of(" ".join([page.title, *page.aliases]))
            for position, passage in enumerate(_passages(page.text)):
                cited = page.stem
                quoted = _QUOTED_RE.match(passage) if page.type == "answer" else None
                if quoted:
                    # a saved answer quotes other pages: cite those, not the answer about them
                    cited, passage = quoted.group(1).strip(), quoted.group(2)
                said = _terms_of(unlink(passage)) & terms
                covered = said | (implied & terms)
                # Retrieval judged the matched pages relevant: a passage of theirs that holds
                # two of the question's words may answer it, however long the question.
                # A neighbour must earn its place.
                if not said or len(covered) < (need if page.neighbour else min(need, 2)):
                    continue
                score = len(covered) + 0.5 * len(said)  # naming the words beats implying them
                score += RANK_BONUS * max(0, 3 - rank)
                scored.append((-score, rank, position, cited, passage))
        chosen: list[tuple[str, str]] = []
        per_page: dict[str, int] = {}
        seen: set[str] = set()
        for _, _, _, stem, passage in sorted(scored):
            key = _passage_key(passage)
            if key in seen or per_page.get(stem, 0) >= PASSAGES_PER_PAGE:
                continue
            seen.add(key)
            per_page[stem] = per_page.get(stem, 0) + 1
            chosen.append((stem, passage))
            if len(chosen) >= MAX_PASSAGES:
                break
        if not chosen:
            return Answer(NOT_COVERED)
        return Answer("\n".join(f"- {render_link(stem)}: {passage}" for stem, passage in chosen))


def _passage_key(passage: str) -> str:
    """One fact copied onto several pages (a person's, a source's) is quoted once."""
    return normalize_key(unlink(_CITED_RE.sub("", passage)))


def _stem(word: str) -> str:
    """Plural and singular compared as one ("models" ~ "model"); nothing more aggressive."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _terms_of(text: str) -> set[str]:
    return {_stem(t) for t in parse_query(text).terms} if text else set()


def _passages(text: str) -> Iterable[str]:
    """Bullets and sentences of a page's markdown, without headings and bare link lists."""
    paragraph: list[str] = []

    def sentences() -> Iterable[str]:
        joined = " ".join(paragraph)
        paragraph.clear()
        return _SENTENCE_RE.split(joined) if joined else []

    candidates: list[str] = []
    for raw in text.split("\n"):
        line = raw.strip()
        while line.startswith(">"):  # callouts and quotes
            line = line[1:].strip()
        if line.startswith("[!"):  # a callout's header line: `[!warning] Contradiction`
            line = line.split("]", 1)[1].strip()
        bullet = _BULLET_RE.match(line)
        if not line or line.startswith(("#", "---", "|")) or bullet or line == TRIMMED_MARK.strip():
            candidates += sentences()
            if bullet:
                candidates.append(line[bullet.end() :])
            continue
        paragraph.append(line.removeprefix("Summary: "))
    candidates += sentences()
    for candidate in candidates:
        passage = _shorten(candidate.strip())
        # at least a few words that are not a link: a bare list of links says nothing
        if len(_WORD_RE.findall(LINK_RE.sub("", passage))) >= 3:
            yield passage


def _shorten(passage: str) -> str:
    if len(passage) <= MAX_PASSAGE_CHARS:
        return passage
    cut = passage[:MAX_PASSAGE_CHARS].rsplit(" ", 1)[0]
    if cut.count("[[") > cut.count("]]"):  # never leave half a link
        cut = cut[: cut.rfind("[[")]
    return cut.rstrip(" ,;:") + " …"


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
    vault.write_text(vault.wiki / "index.md", render_index(catalog))
    _log(vault, day, question, stem, sources)
    return path, ""


def _summary(text: str, limit: int = 200) -> str:
    first = next((line for line in text.split("\n") if line.strip()), "")
    line = " ".join(unlink(_BULLET_RE.sub("", first.strip())).split())
    if len(line) <= limit:
        return line
    return line[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _log(vault: Vault, day: str, question: str, stem: str, cited: Sequence[str]) -> None:
    lines = [f"## [{day}] ask | {display_text(question)}", "", f"- answer: {render_link(stem)}"]
    if cited:
        lines.append("- cited: " + ", ".join(render_link(c) for c in cited))
    vault.append_log(lines)
