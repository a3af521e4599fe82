"""`wiki mcp`: the wiki as an MCP server, for agents (Claude Code, Claude Desktop, Cursor...).

Built on the official `mcp` SDK (`MCPServer`). Every tool is a thin call into the library
behind a CLI command (`search_report`, `ask`, `lint`, `contradictions`, `graph`, `ingest`), so
an agent and a person at the terminal see the same wiki the same way.

Read tools are always served; write tools (`ingest_text`, `add_note`, `resolve_contradiction`,
`save_answer`) only when the server was started with `allow_write`, and each takes the vault
lock as the CLI does. Bad input (an unknown page, a path-like title, an oversized text) is
answered with a tool error (`isError`), never a crash: a page is only ever reached through the
catalog, so no name an agent sends becomes a path.

- `base`: what the tools work on (the vault, the engines) and how a name finds a page;
- `tools`: the read tools; `writes`: the write tools; `resources`: index, log and pages;
- `http`: the streamable HTTP transport and its bearer-token guard.

Transports: stdio (the default; stdout then carries only the protocol), or streamable HTTP on
127.0.0.1. Another host must come with a bearer token, which every HTTP request must carry.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

from llmwiki.errors import ServerSetupError
from llmwiki.mcp_server.http import check_http_host, serve_http
from llmwiki.mcp_server.resources import Resources
from llmwiki.mcp_server.tools import ReadTools
from llmwiki.mcp_server.writes import MAX_TEXT_CHARS, WriteTools, inbox_markdown

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

INSTRUCTIONS = """\
A personal knowledge wiki: markdown pages about people, concepts and sources, every fact
citing its source page as a [[link]]. Start with `search` (cheap, full-text) or `list_pages`,
then `read_page`; `neighbors` shows how a page connects. `ask` returns the passages that
answer a question (with no LLM configured: a context pack to answer from yourself, citing
pages as [[Title]]); `save_answer` files a good answer back into the wiki. Cite pages by the
`link` each result gives."""


class WikiServer(ReadTools, WriteTools, Resources):
    """The wiki as the tools and resources see it: build it from the vault and the configured
    engines (`WikiState`'s fields), then serve it with `build_server`."""


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
    "related pages (those its Related section lists: sharing its most specific sources).",
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


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llm-wiki")
    except PackageNotFoundError:
        return "0"
