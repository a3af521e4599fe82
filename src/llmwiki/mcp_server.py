"""`wiki mcp`: the wiki as an MCP server, for agents (Claude Code, Claude Desktop, Cursor...).

Built on the official `mcp` SDK (`MCPServer`). Every tool is a thin call into the library
behind a CLI command (`search_report`, `ask`, `lint`, `contradictions`, `graph`, `ingest`), so
an agent and a person at the terminal see the same wiki the same way.

Read tools are always served; write tools (`ingest_text`, `add_note`, `resolve_contradiction`,
`save_answer`) only when the server was started with `allow_write`, and each takes the vault
lock as the CLI does. Bad input (an unknown page, a path-like title, an oversized text) is
answered with a tool error (`isError`), never a crash: a page is only ever reached through the
catalog, so no name an agent sends becomes a path.

Transports: stdio (the default; stdout then carries only the protocol), or streamable HTTP on
127.0.0.1. Another host must come with a bearer token, which every HTTP request must carry.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from llmwiki import contradictions
from llmwiki.ask import DEFAULT_BUDGET, ask
from llmwiki.catalog import Catalog, Entry
from llmwiki.engines import Engine
from llmwiki.engines.answerer import Answer, Answerer, ContextPage
from llmwiki.errors import (
    ContradictionError,
    EngineError,
    PageError,
    SearchError,
    ServerSetupError,
    VaultError,
)
from llmwiki.ingest import Options, ingest
from llmwiki.pages import append_to_section, read, render, safe_name
from llmwiki.search_report import search_pages
from llmwiki.vault import LOG_HEADER, Vault

__all__ = [
    "DEFAULT_PORT",
    "INSTRUCTIONS",
    "MAX_TEXT_CHARS",
    "READ_TOOLS",
    "WRITE_TOOLS",
    "ServerSetupError",
    "WikiServer",
    "build_server",
    "check_http_host",
    "inbox_markdown",
    "serve_http",
]

DEFAULT_PORT = 8765
MAX_TEXT_CHARS = 1_000_000  # ingest_text: a book's worth; more belongs in inbox/ as a file
MAX_NOTE_CHARS = 20_000
MAX_QUESTION_CHARS = 2_000
MAX_ANSWER_CHARS = 100_000
WRITE_LOCK_WAIT = 60.0  # seconds a write tool waits for another wiki process
PAGE_SIZE_MAX = 500

PageType = Literal["person", "concept", "source", "answer"]
_LOG_ENTRY = re.compile(r"^## \[(?P<day>[^\]]*)\]\s+(?P<kind>[^|]+?)\s*\|\s*(?P<title>.*)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

INSTRUCTIONS = """\
A personal knowledge wiki: markdown pages about people, concepts and sources, every fact
citing its source page as a [[link]]. Start with `search` (cheap, full-text) or `list_pages`,
then `read_page`; `neighbors` shows how a page connects. `ask` returns the passages that
answer a question (with no LLM configured: a context pack to answer from yourself, citing
pages as [[Title]]); `save_answer` files a good answer back into the wiki. Cite pages by the
`link` each result gives."""


@dataclass(frozen=True)
class WikiServer:
    """What the tools work on: the vault, and for `ask` and writes, the configured engines."""

    vault: Vault
    answerer: Answerer
    engine: Engine | None = None  # for ingest_text; None serves no write tool
    options: Options | None = None
    today: Callable[[], date] = date.today
    allow_write: bool = False

    # -- helpers -------------------------------------------------------------------------------

    def _entry(self, name: str) -> Entry:
        """The page `name` (title, alias or file name) names, or a tool error saying so."""
        name = " ".join(name.split())
        if not name:
            raise ToolError("give a page title (search or list_pages shows them)")
        catalog = Catalog.load(self.vault, save_cache=False)
        entry = catalog.lookup(name) or catalog.get(name)
        if entry is None:
            near = ", ".join(f'"{e.title}"' for e in _by_name(catalog, name))
            hint = f"; did you mean {near}?" if near else "; `search` finds pages by their words"
            raise ToolError(f'no page named "{name}"{hint}')
        # The path comes from the catalog, never from the caller; checked all the same.
        try:
            self.vault.check_inside(self.vault.wiki / entry.rel, self.vault.wiki)
        except VaultError as exc:
            raise ToolError(str(exc)) from None
        return entry

    def _require_write(self) -> tuple[Engine, Options]:
        if not self.allow_write or self.engine is None or self.options is None:
            raise ToolError("this server is read-only: start it with `wiki mcp --allow-write`")
        return self.engine, self.options

    # -- read tools ----------------------------------------------------------------------------

    def search(
        self,
        query: Annotated[str, Field(description="Words to look for (names, terms, a question).")],
        type: Annotated[PageType | None, Field(description="Only pages of this type.")] = None,
        limit: Annotated[int, Field(ge=1, le=200, description="At most this many hits.")] = 10,
    ) -> dict[str, Any]:
        try:
            found = search_pages(self.vault, query, page_type=type, limit=limit)
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
        catalog = Catalog.load(self.vault, save_cache=False)
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
        from llmwiki.graph import build_graph, neighbours, related  # networkx: slow to load

        entry = self._entry(title)
        wg = build_graph(self.vault)
        if entry.stem not in wg.graph:
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
        _check_size("question", question, MAX_QUESTION_CHARS)
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

    def _ask(self, question: str, answerer: Answerer, budget: int, save: bool = False) -> Any:
        try:
            return ask(
                self.vault,
                answerer,
                question,
                budget_tokens=budget,
                save=save,
                today=self.today(),
                lock_wait=WRITE_LOCK_WAIT,
            )
        except (EngineError, SearchError, VaultError, ValueError) as exc:
            raise ToolError(str(exc)) from None

    # -- write tools ---------------------------------------------------------------------------

    def ingest_text(
        self,
        title: Annotated[str, Field(description="The document's title.")],
        text: Annotated[str, Field(description="The document's text (markdown or plain).")],
        url: Annotated[
            str | None, Field(description="Where it comes from (http or https).")
        ] = None,
        published: Annotated[
            str | None, Field(description="Its publication date, YYYY-MM-DD.")
        ] = None,
    ) -> dict[str, Any]:
        engine, options = self._require_write()
        title = " ".join(title.split())
        if not title:
            raise ToolError("the title is empty")
        _check_size("title", title, 300)
        _check_size("text", text, MAX_TEXT_CHARS)
        if options.max_bytes is not None and len(text.encode("utf-8")) > options.max_bytes:
            raise ToolError(f"the text is larger than max_file_mb ({options.max_bytes} bytes)")
        if not text.strip():
            raise ToolError("the text is empty")
        if url is not None and not re.match(r"^https?://\S+$", url):
            raise ToolError(f"not an http(s) URL: {url!r}")
        if published is not None and not _valid_date(published):
            raise ToolError(f"the date must be YYYY-MM-DD, got {published!r}")
        # Through the inbox, as a web clipping would arrive, so the pages are exactly those
        # `wiki ingest` makes of the same file.
        path = _free_inbox_path(self.vault, safe_name(title))
        self.vault.write_text(path, inbox_markdown(title, text, url, published))
        try:
            report = ingest(
                self.vault,
                engine,
                replace(options, today=self.today(), lock_wait=WRITE_LOCK_WAIT),
                [path],
            )
        except (EngineError, VaultError, ValueError) as exc:
            raise ToolError(f"{exc} (the text stays in {path.name} in the inbox)") from None
        (result,) = report.results
        if result.status == "failed":
            raise ToolError(f"ingest failed: {result.message}")
        return {
            "status": result.status,
            "file": result.file,
            "page": f"[[{result.page}]]" if result.page else None,
            "created": [f"[[{s}]]" for s in result.created],
            "updated": [f"[[{s}]]" for s in result.updated],
            "contradictions": result.contradictions,
            "message": result.message or None,
        }

    def add_note(
        self,
        title: Annotated[str, Field(description="The page's title, an alias or its file name.")],
        note: Annotated[str, Field(description="The note (markdown); added as one bullet.")],
    ) -> dict[str, Any]:
        self._require_write()
        _check_size("note", note, MAX_NOTE_CHARS)
        lines = [line.rstrip() for line in note.strip().split("\n")]
        if not lines[0]:
            raise ToolError("the note is empty")
        day = self.today().isoformat()
        bullet = [f"- {day}: {lines[0]}", *(f"  {line}" if line else "" for line in lines[1:])]
        try:
            with self.vault.lock(wait=WRITE_LOCK_WAIT):
                entry = self._entry(title)
                path = self.vault.wiki / entry.rel
                try:
                    page = read(path)  # the file as it is now: a user's edit is kept
                except (PageError, UnicodeDecodeError) as exc:
                    raise ToolError(f"{entry.rel} cannot be read ({exc}); fix it first") from None
                if page.meta.get("locked") is True:
                    raise ToolError(f"{entry.rel} is locked (locked: true); edit it by hand")
                body = append_to_section(page.body, "Notes", bullet)
                self.vault.write_text(path, render(page.meta, body))
                self.vault.append_log(
                    [f"## [{day}] note | {entry.title}", "", f"- [[{entry.stem}]]"]
                )
        except VaultError as exc:
            raise ToolError(str(exc)) from None
        return {"page": f"[[{entry.stem}]]", "path": entry.rel, "added": "\n".join(bullet)}

    def resolve_contradiction(
        self,
        id: Annotated[
            str, Field(description="The contradiction's ID, as `contradictions` lists it.")
        ],
        note: Annotated[str, Field(description="Why it is resolved; kept in the register.")],
    ) -> dict[str, Any]:
        self._require_write()
        _check_size("note", note, MAX_NOTE_CHARS)
        if not note.strip():
            raise ToolError("say why it is resolved: the note is empty")
        try:
            item = contradictions.resolve(
                self.vault, id.strip().lower(), note, self.today().isoformat()
            )
        except (ContradictionError, VaultError) as exc:
            raise ToolError(str(exc)) from None
        return {"id": item.id, "page": f"[[{item.page}]]", "resolved": item.resolved}

    def save_answer(
        self,
        question: Annotated[str, Field(description="The question the answer answers.")],
        answer: Annotated[
            str, Field(description="The answer, citing wiki pages as [[Title]] links.")
        ],
    ) -> dict[str, Any]:
        self._require_write()
        _check_size("question", question, MAX_QUESTION_CHARS)
        _check_size("answer", answer, MAX_ANSWER_CHARS)
        if not answer.strip():
            raise ToolError("the answer is empty")
        # `ask --save` files the answer: the same retrieval, link checking and page format,
        # with the agent's text standing in for the answerer's.
        result = self._ask(question, _Fixed(answer), DEFAULT_BUDGET, save=True)
        if result.saved is None:
            raise ToolError(
                (result.note or "not saved")
                + "; cite pages the wiki has as [[Title]] (search shows their links)"
            )
        return {
            "path": result.saved.relative_to(self.vault.wiki).as_posix(),
            "link": f"[[{result.saved.stem}]]",
            "citations": [f"[[{c}]]" for c in result.citations],
            "answer": result.answer,
        }

    # -- resources -----------------------------------------------------------------------------

    def index_text(self) -> str:
        return _read_generated(self.vault.wiki / "index.md", "# Index\n")

    def log_text(self) -> str:
        return _read_generated(self.vault.log, LOG_HEADER)

    def page_text(self, title: str) -> str:
        try:
            entry = self._entry(title)
            return (self.vault.wiki / entry.rel).read_text(encoding="utf-8")
        except ToolError as exc:
            raise ResourceError(str(exc)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ResourceError(f"the page cannot be read: {exc}") from None


# --- the server -----------------------------------------------------------------------------------

_READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
_WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)

_DESCRIPTIONS = {
    "search": "Full-text search of the wiki's pages (no LLM, fast). Returns ranked hits with "
    "title, link, type, a snippet and a score; pages containing more of the query's words "
    "come first. Use it first to find pages, then read_page.",
    "read_page": "Read one page by its title, an alias or its file name: frontmatter "
    "(type, aliases, sources, dates) and the markdown body with its facts and [[links]].",
    "list_pages": "List the wiki's pages (title, link, type, one-line summary), optionally of "
    "one type, sorted by title, in pages of `limit`; pass next_offset to get the next page.",
    "neighbors": "How a page connects: the pages it links to, the pages linking to it, and "
    "related pages (sharing sources or links).",
    "recent_changes": "What the wiki did lately, newest first, from its log: ingests, saved "
    "answers, notes, merges, each with the pages it touched.",
    "contradictions": "Open contradictions between sources (both claims, their sources and "
    "dates, and the pages showing them); include_resolved for the resolved ones too.",
    "lint": "Check the wiki's health: broken links, orphans, pages without sources, likely "
    "duplicates, invalid frontmatter, a stale index, open contradictions.",
    "ask": "Answer a question from the wiki. With an LLM configured: a written answer citing "
    "pages. Without one: the context pack (the most relevant pages' text, trimmed to the "
    "budget) for you to answer from, citing pages by their link.",
    "ingest_text": "Add a document to the wiki: its text goes through the inbox and ingest, "
    "like a file dropped in inbox/. Returns the source page and the pages created and "
    "updated. The same text sent twice is recognised and skipped.",
    "add_note": "Append a note to a page's `## Notes` section (the user's section, never "
    "rewritten by the engine), dated today.",
    "resolve_contradiction": "Mark a contradiction resolved with a note saying why; it stays "
    "in the register and is not raised again.",
    "save_answer": "File an answer you wrote as a page in wiki/answers/ (like `wiki ask "
    "--save`). Links to pages that do not exist become plain text; an answer citing no page "
    "is not saved.",
}
READ_TOOLS = (
    "search",
    "read_page",
    "list_pages",
    "neighbors",
    "recent_changes",
    "contradictions",
    "lint",
    "ask",
)
WRITE_TOOLS = ("ingest_text", "add_note", "resolve_contradiction", "save_answer")


def build_server(wiki: WikiServer) -> MCPServer[Any]:
    """The MCP server for `wiki`: read tools, write tools when allowed, and the resources."""
    server: MCPServer[Any] = MCPServer(
        "llm-wiki", instructions=INSTRUCTIONS, log_level="WARNING", version=_version()
    )
    tools = READ_TOOLS + (WRITE_TOOLS if wiki.allow_write else ())
    for name in tools:
        server.add_tool(
            getattr(wiki, name),
            name=name,
            description=_DESCRIPTIONS[name],
            annotations=_READ_ONLY if name in READ_TOOLS else _WRITES,
            structured_output=True,
        )

    @server.resource(
        "wiki://index",
        name="index",
        description="index.md: every page with a one-line summary, grouped by type.",
        mime_type="text/markdown",
    )
    def index() -> str:
        return wiki.index_text()

    @server.resource(
        "wiki://log",
        name="log",
        description="log.md: what the wiki did, newest last.",
        mime_type="text/markdown",
    )
    def log() -> str:
        return wiki.log_text()

    @server.resource(
        "wiki://page/{title}",
        name="page",
        description="One page's markdown file, by title, alias or file name (URL-encoded).",
        mime_type="text/markdown",
    )
    def page(title: str) -> str:
        return wiki.page_text(title)

    return server


def check_http_host(host: str, token: str | None) -> None:
    """Refuse to serve beyond this machine without a token: anyone on the network could
    otherwise read the wiki (and write, with --allow-write)."""
    if not token and not _is_loopback(host):
        raise ServerSetupError(
            f"--host {host} is reachable from other machines: also pass --token SECRET "
            "(or set WIKI_MCP_TOKEN), and give clients the header `Authorization: Bearer SECRET`"
        )


def serve_http(server: MCPServer[Any], host: str, port: int, token: str | None) -> None:
    """Serve streamable HTTP at http://HOST:PORT/mcp until interrupted."""
    import uvicorn

    check_http_host(host, token)
    app = server.streamable_http_app(host=host)
    asgi = _BearerGuard(app, token) if token else app
    config = uvicorn.Config(asgi, host=host, port=port, log_level="warning")
    uvicorn.Server(config).run()


_Scope = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
_Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
_App = Callable[[_Scope, _Receive, _Send], Awaitable[None]]


class _BearerGuard:
    """ASGI middleware: an HTTP request without `Authorization: Bearer TOKEN` gets 401."""

    def __init__(self, app: _App, token: str) -> None:
        self._app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or ()).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                body = b'{"error": "unauthorized: send the header Authorization: Bearer TOKEN"}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b"Bearer"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self._app(scope, receive, send)


# --- small parts ----------------------------------------------------------------------------------


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


class _Fixed:
    """An answerer whose answer is already written (by the calling agent)."""

    name = "agent"

    def __init__(self, text: str) -> None:
        self.text = text

    def answer(
        self,
        question: str,
        pages: Sequence[ContextPage],
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        return Answer(self.text)


def _context_row(page: ContextPage) -> dict[str, Any]:
    return {
        "title": page.title,
        "link": f"[[{page.stem}]]",
        "type": page.type,
        "text": page.text,
        "trimmed": page.trimmed,
        "linked_from_hit": page.neighbour,
    }


def _check_size(what: str, text: str, limit: int) -> None:
    if len(text) > limit:
        raise ToolError(
            f"the {what} is too long ({len(text):,} characters; at most {limit:,}): "
            "put a large document in inbox/ as a file and run `wiki ingest`"
        )


def _valid_date(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def inbox_markdown(title: str, text: str, url: str | None, published: str | None) -> str:
    """The inbox file `ingest_text` writes: a markdown web clipping, as Obsidian's Web Clipper
    would save it (title, source, published), so `wiki ingest` reads it the same way."""
    meta: dict[str, Any] = {"title": title}
    if url:
        meta["source"] = url
    if published:
        meta["published"] = published
    return render(meta, text.strip() + "\n")


def _free_inbox_path(vault: Vault, stem: str) -> Path:
    vault.inbox.mkdir(parents=True, exist_ok=True)
    path = vault.inbox / f"{stem}.md"
    n = 2
    while path.exists():  # never overwrite what the user dropped there
        path = vault.inbox / f"{stem} ({n}).md"
        n += 1
    return path


def _by_name(catalog: Catalog, name: str) -> list[Entry]:
    """Up to three pages whose names contain `name`'s first word: a hint, not a match."""
    words = name.casefold().split()
    if not words or "/" in name or "\\" in name:
        return []
    found = [e for e in catalog if any(words[0] in n.casefold() for n in e.names)]
    return sorted(found, key=lambda e: e.title.casefold())[:3]


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


def _read_generated(path: Path, empty: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return empty
    except (OSError, UnicodeDecodeError) as exc:
        raise ResourceError(f"{path.name} cannot be read: {exc}") from None


def _json_safe(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Frontmatter as JSON: YAML dates become ISO strings."""
    loaded: dict[str, Any] = json.loads(json.dumps(dict(meta), default=str))
    return loaded


def _is_loopback(host: str) -> bool:
    if host.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llm-wiki")
    except PackageNotFoundError:
        return "0"
