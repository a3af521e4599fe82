"""The read tools of `wiki mcp`, always served: search, read a page, list pages, a page's
neighbours, recent changes, contradictions, lint and ask. Each is a thin call into the library
behind the CLI command of the same name, so an agent sees the wiki as a person at the terminal
does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from llmwiki import contradictions
from llmwiki.ask import DEFAULT_BUDGET
from llmwiki.engines.answerer import Answer, ContextPage
from llmwiki.errors import PageError, SearchError, VaultError
from llmwiki.mcp_server.base import MAX_QUESTION_CHARS, WikiState, check_size
from llmwiki.pages import read
from llmwiki.search_report import search_pages

__all__ = ["PAGE_SIZE_MAX", "ReadTools"]

PAGE_SIZE_MAX = 500

PageType = Literal["person", "concept", "source", "answer"]
_LOG_ENTRY = re.compile(r"^## \[(?P<day>[^\]]*)\]\s+(?P<kind>[^|]+?)\s*\|\s*(?P<title>.*)$")


class ReadTools(WikiState):
    """The read tools, as methods whose signatures are the tools' schemas."""

    def search(
        self,
        query: Annotated[str, Field(description="Words to look for (names, terms, a question).")],
        type: Annotated[PageType | None, Field(description="Only pages of this type.")] = None,
        limit: Annotated[int, Field(ge=1, le=200, description="At most this many hits.")] = 10,
    ) -> dict[str, Any]:
        try:
            found = search_pages(
                self.vault, query, page_type=type, limit=limit, files=self._files()
            )
        except (SearchError, ValueError) as exc:
            raise ToolError(str(exc)) from None
        return {"query": query, "hits": [hit.to_dict() for hit in found]}

    def read_page(
        self,
        title: Annotated[
            str, Field(description="The page's title, one of its aliases, or its file name.")
        ],
    ) -> dict[str, Any]:
        entry = self._entry(title)
        try:
            page = read(self.vault.wiki / entry.rel)
        except (PageError, UnicodeDecodeError, OSError) as exc:
            raise ToolError(f"{entry.rel} cannot be read: {exc}; `lint` reports why") from None
        return {
            "title": page.title,
            "link": f"[[{entry.stem}]]",
            "type": page.type,
            "path": entry.rel,
            "frontmatter": _json_safe(page.meta),
            "body": page.body,
        }

    def list_pages(
        self,
        type: Annotated[PageType | None, Field(description="Only pages of this type.")] = None,
        offset: Annotated[int, Field(ge=0, description="Skip this many pages (paging).")] = 0,
        limit: Annotated[
            int, Field(ge=1, le=PAGE_SIZE_MAX, description="At most this many pages.")
        ] = 100,
    ) -> dict[str, Any]:
        catalog = self._catalog()
        entries = sorted(
            (e for e in catalog if type is None or e.type == type),
            key=lambda e: (e.title.casefold(), e.stem),
        )
        chunk = entries[offset : offset + limit]
        more = offset + len(chunk) < len(entries)
        return {
            "total": len(entries),
            "offset": offset,
            "next_offset": offset + len(chunk) if more else None,
            "pages": [
                {
                    "title": e.title,
                    "link": f"[[{e.stem}]]",
                    "type": e.type,
                    "path": e.rel,
                    "summary": e.summary,
                }
                for e in chunk
            ],
        }

    def neighbors(
        self,
        title: Annotated[str, Field(description="The page's title, an alias or its file name.")],
    ) -> dict[str, Any]:
        from llmwiki.graph import build_graph, neighbours, related

        entry = self._entry(title)
        wg = build_graph(self.vault, files=self._files())
        if entry.stem not in wg.pages:
            raise ToolError(f'"{entry.title}" is not in the link graph; `lint` says why')
        near = neighbours(wg, entry.stem)

        def rows(stems: Sequence[str]) -> list[dict[str, str]]:
            return [
                {"title": wg.pages[s].title, "link": f"[[{s}]]", "type": wg.pages[s].type}
                for s in stems
                if s in wg.pages
            ]

        return {
            "title": entry.title,
            "link": f"[[{entry.stem}]]",
            "links_out": rows(near.outgoing),
            "links_in": rows(near.incoming),
            "related": rows(related(wg, entry.stem)),
        }

    def recent_changes(
        self,
        limit: Annotated[int, Field(ge=1, le=200, description="At most this many entries.")] = 20,
    ) -> dict[str, Any]:
        try:
            text = self.vault.log.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        entries = _log_entries(text)
        return {"entries": entries[-limit:][::-1], "total": len(entries)}

    def contradictions(
        self,
        include_resolved: Annotated[
            bool, Field(description="Also list the resolved ones.")
        ] = False,
    ) -> dict[str, Any]:
        found = contradictions.scan(self.vault)
        pages = contradictions.pages_by_id(found)
        items = [c for c in contradictions.unique_by_id(found) if include_resolved or c.open]
        return {
            "contradictions": [
                {
                    "id": c.id,
                    "kind": c.kind,
                    "claims": list(c.claims),
                    "pages": [f"[[{p}]]" for p in pages[c.id]],
                    "open": c.open,
                    "resolved": c.resolved or None,
                    "note": c.note or None,
                }
                for c in items
            ]
        }

    def lint(self) -> dict[str, Any]:
        from llmwiki.lint import lint  # networkx: slow to load

        try:
            return lint(self.vault, fix=False).to_dict()
        except VaultError as exc:
            raise ToolError(str(exc)) from None

    def ask(
        self,
        question: Annotated[str, Field(description="A question in plain words.")],
        budget: Annotated[
            int, Field(ge=100, le=20_000, description="Tokens of page text to draw on.")
        ] = DEFAULT_BUDGET,
    ) -> dict[str, Any]:
        check_size("question", question, MAX_QUESTION_CHARS)
        if self.answerer.name == "extractive":
            # No LLM configured: the calling agent is the better writer. Hand it the pages
            # an answer would be built from, exactly as an answerer would get them.
            capture = _Capture()
            result = self._ask(question, capture, budget)
            return {
                "question": result.question,
                "mode": "context",
                "instructions": (
                    "Answer from these pages only, citing each fact with the page's link "
                    "([[Title]]); call save_answer to file the answer in the wiki."
                    if capture.pages
                    else "The wiki does not cover this question: no page matches it."
                ),
                "pages": [_context_row(p) for p in capture.pages],
            }
        result = self._ask(question, self.answerer, budget)
        return {
            "question": result.question,
            "mode": "answer",
            "answer": result.answer,
            "citations": [f"[[{c}]]" for c in result.citations],
            "pages": [f"[[{p}]]" for p in result.pages],
            "tokens": result.usage.total_tokens,
        }


class _Capture:
    """An answerer that keeps the pages it is given and writes nothing: `ask`'s context pack."""

    name = "context"

    def __init__(self) -> None:
        self.pages: list[ContextPage] = []

    def answer(
        self,
        question: str,
        pages: Sequence[ContextPage],
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        self.pages = list(pages)
        return Answer("")


def _context_row(page: ContextPage) -> dict[str, Any]:
    return {
        "title": page.title,
        "link": f"[[{page.stem}]]",
        "type": page.type,
        "text": page.text,
        "trimmed": page.trimmed,
        "linked_from_hit": page.neighbour,
    }


def _log_entries(text: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for line in text.split("\n"):
        match = _LOG_ENTRY.match(line)
        if match:
            entries.append(
                {
                    "date": match["day"],
                    "action": match["kind"].strip(),
                    "title": match["title"].strip(),
                    "details": [],
                }
            )
        elif entries and line.startswith("- "):
            entries[-1]["details"].append(line[2:].strip())
    return entries


def _json_safe(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Frontmatter as JSON: YAML dates become ISO strings."""
    loaded: dict[str, Any] = json.loads(json.dumps(dict(meta), default=str))
    return loaded
