"""`wiki search` and the MCP `search` tool: ranked pages from the full-text index, no LLM.

A thin layer over `llmwiki.search.SearchIndex`, which ranks and filters by page type: this
gives the shape a script or an agent reads (title, type, snippet, score).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmwiki.errors import UsageError
from llmwiki.scan import WikiFiles
from llmwiki.search import Hit, SearchIndex
from llmwiki.vault import PAGE_FOLDERS, Vault

__all__ = ["PAGE_TYPES", "SearchResult", "search_pages"]

PAGE_TYPES = tuple(PAGE_FOLDERS)
MAX_LIMIT = 200  # an agent asking for 10,000 hits wants list_pages, not search


@dataclass(frozen=True)
class SearchResult:
    """One page matching a query. `score` is BM25 (higher is better); `matched` of `terms`
    is how many of the query's content words the page contains. The order is the index's:
    the share of the query a page holds, BM25, and a page the query names (`llmwiki.search`)."""

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
    vault: Vault,
    query: str,
    *,
    page_type: str | None = None,
    limit: int = 10,
    files: WikiFiles | None = None,
) -> list[SearchResult]:
    """The pages best matching `query`, best first, at most `limit`, only of `page_type` when
    given. Brings the index up to date with the files first (`files`: the walk of wiki/ to
    compare it with, else a new one)."""
    if page_type is not None and page_type not in PAGE_FOLDERS:
        raise UsageError(f"unknown page type {page_type!r}: use one of {', '.join(PAGE_TYPES)}")
    if limit < 1:
        raise UsageError("the limit must be at least 1")
    limit = min(limit, MAX_LIMIT)
    with SearchIndex(vault) as index:
        index.sync(files)
        hits = index.search(query, limit, sync=False, page_type=page_type)
    return [_result(hit) for hit in hits]


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
