"""`wiki search` and the MCP `search` tool: ranked pages from the full-text index, no LLM.

A thin layer over `llmwiki.search.SearchIndex`: it adds the page-type filter and the shape a
script or an agent reads (title, type, snippet, score). The ranking is the index's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmwiki.search import Hit, SearchIndex
from llmwiki.vault import PAGE_FOLDERS, Vault

__all__ = ["PAGE_TYPES", "SearchResult", "search_pages"]

PAGE_TYPES = tuple(PAGE_FOLDERS)
MAX_LIMIT = 200  # an agent asking for 10,000 hits wants list_pages, not search
# With a type filter, hits of other types are skipped: ask the index for this many times the
# limit at first, and more only when the filter left too few.
_OVERFETCH = 4


@dataclass(frozen=True)
class SearchResult:
    """One page matching a query. `score` is BM25 (higher is better); `matched` of `terms`
    is how many of the query's content words the page contains (pages with more come first)."""

    title: str
    stem: str
    type: str
    path: str  # under wiki/, forward slashes
    score: float
    snippet: str
    matched: int
    terms: int

    @property
    def link(self) -> str:
        return f"[[{self.stem}]]"

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "link": self.link,
            "type": self.type,
            "path": self.path,
            "score": round(self.score, 4),
            "snippet": self.snippet,
            "matched": self.matched,
            "terms": self.terms,
        }


def search_pages(
    vault: Vault, query: str, *, page_type: str | None = None, limit: int = 10
) -> list[SearchResult]:
    """The pages best matching `query`, best first, at most `limit`, only of `page_type` when
    given. Brings the index up to date with the files first (one directory walk)."""
    if page_type is not None and page_type not in PAGE_FOLDERS:
        raise ValueError(f"unknown page type {page_type!r}: use one of {', '.join(PAGE_TYPES)}")
    if limit < 1:
        raise ValueError("the limit must be at least 1")
    limit = min(limit, MAX_LIMIT)
    with SearchIndex(vault) as index:
        index.sync()
        if page_type is None:
            hits = index.search(query, limit, sync=False)
        else:
            hits = _of_type(index, query, page_type, limit)
    return [_result(hit) for hit in hits]


def _of_type(index: SearchIndex, query: str, page_type: str, limit: int) -> list[Hit]:
    fetch = limit * _OVERFETCH
    while True:
        hits = index.search(query, fetch, sync=False)
        kept = [h for h in hits if h.type == page_type]
        if len(kept) >= limit or len(hits) < fetch:  # enough, or every match was seen
            return kept[:limit]
        fetch *= _OVERFETCH


def _result(hit: Hit) -> SearchResult:
    return SearchResult(
        title=hit.title,
        stem=hit.stem,
        type=hit.type,
        path=hit.rel,
        score=hit.score,
        snippet=hit.snippet,
        matched=hit.matched,
        terms=hit.terms,
    )
