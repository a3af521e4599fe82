"""The extractive answerer of `wiki ask`: an answer without an LLM, made of the passages that
match the question best, each citing its page.

It is the answerer when no LLM is configured, so it must be offline and deterministic like the
extractive engine, and it stays as cheap to import: it loads none of the engine's word lists.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence

from llmwiki.engines.answerer import BULLET_RE, NOT_COVERED, TRIMMED_MARK, Answer, ContextPage
from llmwiki.identity import fact_key
from llmwiki.pages import LINK_RE, render_link, unlink
from llmwiki.search import parse_query

__all__ = ["ExtractiveAnswerer", "needed"]

RANK_BONUS = 1.0  # the best-ranked pages' passages are cited first
MAX_PASSAGES = 6  # passages quoted
PASSAGES_PER_PAGE = 3
MAX_PASSAGE_CHARS = 400

_SENTENCE_RE = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(\[A-Z0-9])")
_WORD_RE = re.compile(r"[^\W_]+")
_QUOTED_RE = re.compile(r"^\[\[([^\[\]|#\n]+)(?:\|[^\[\]\n]*)?\]\]:\s+(.+)$")  # `[[X]]: passage`


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
            key = fact_key(passage)  # one fact copied onto several pages is quoted once
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


def needed(terms: int) -> int:
    """How many of a question's content words a passage must contain to answer it: all of one
    or two ("Nathan Lambert"), half of more. One shared common word is not relevance."""
    return terms if terms <= 2 else math.ceil(terms / 2)


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
        bullet = BULLET_RE.match(line)
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
