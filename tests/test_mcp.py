"""`wiki mcp`, driven by the MCP SDK's own client over stdio and streamable HTTP.

The server runs as a real subprocess (`python -m llmwiki mcp --vault ...`) on a vault built
from the repository's sample articles with the extractive engine (no LLM, no network).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from conftest import NO_LLM, SAMPLES, wiki_files
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult

from llmwiki.vault import Vault, init_vault

READ_TOOLS = {
    "search",
    "read_page",
    "list_pages",
    "neighbors",
    "recent_changes",
    "contradictions",
    "lint",
    "ask",
}
WRITE_TOOLS = {"ingest_text", "add_note", "resolve_contradiction", "save_answer"}
ENV = {**os.environ, **NO_LLM}
WIKI = (sys.executable, "-m", "llmwiki")
ARTICLE = (
    "Marta Kowalczyk, an engineer at Harbor Labs, released Tidewater this week. "
    "Tidewater is a scheduler for batch inference that packs requests by length. "
    "Kowalczyk said Tidewater doubles throughput on long prompts.\n"
)


def _wiki(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmwiki", *args],
        env=ENV,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _sample_vault(root: Path) -> Path:
    vault = init_vault(root)[0]
    for sample in SAMPLES:
        shutil.copy(sample, vault.inbox / sample.name)
    done = _wiki("--vault", str(root), "ingest")
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _sample_vault(tmp_path_factory.mktemp("mcp") / "kb")


@pytest.fixture
def kb(built: Path, tmp_path: Path) -> Path:
    """A fresh copy of the sample vault, so write tests do not touch the others' vault."""
    copy = tmp_path / "kb"
    shutil.copytree(built, copy)
    return copy


Session = Callable[[ClientSession], Awaitable[None]]


def _stdio(vault: Path, body: Session, *extra: str) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "llmwiki", "mcp", "--vault", str(vault), *extra],
        env={k: v for k, v in ENV.items() if isinstance(v, str)},
    )

    async def main() -> None:
        with open(os.devnull, "w") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                await body(session)

    anyio.run(main)


def _data(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def _error(result: CallToolResult) -> str:
    assert result.is_error, result.structured_content
    text = result.content[0]
    assert text.type == "text"
    return text.text


# --- read tools over stdio -------------------------------------------------------------------


def test_read_tools_over_stdio(built: Path) -> None:
    seen: dict[str, Any] = {}

    async def body(s: ClientSession) -> None:
        tools = {t.name: t for t in (await s.list_tools()).tools}
        seen["tools"] = tools
        for name in ("search", "read_page", "list_pages", "neighbors", "ask"):
            tool = tools[name]
            assert tool.description and len(tool.description) > 40
            assert tool.input_schema["type"] == "object"
        seen["search"] = _data(await s.call_tool("search", {"query": "KV-Lite memory"}))
        seen["sources"] = _data(
            await s.call_tool("search", {"query": "KV-Lite", "type": "source", "limit": 5})
        )
        seen["read"] = _data(await s.call_tool("read_page", {"title": "Raman"}))  # an alias
        seen["list"] = _data(await s.call_tool("list_pages", {"type": "person", "limit": 2}))
        seen["list2"] = _data(
            await s.call_tool("list_pages", {"type": "person", "limit": 2, "offset": 2})
        )
        seen["near"] = _data(await s.call_tool("neighbors", {"title": "KV-Lite"}))
        seen["recent"] = _data(await s.call_tool("recent_changes", {"limit": 2}))
        seen["contradictions"] = _data(await s.call_tool("contradictions", {}))
        seen["lint"] = _data(await s.call_tool("lint", {}))
        seen["ask"] = _data(await s.call_tool("ask", {"question": "What is KV-Lite?"}))
        seen["not_covered"] = _data(
            await s.call_tool("ask", {"question": "What is the capital of Mongolia?"})
        )
        seen["index"] = (await s.read_resource("wiki://index")).contents[0]
        seen["log"] = (await s.read_resource("wiki://log")).contents[0]
        seen["page"] = (await s.read_resource("wiki://page/Priya%20Raman")).contents[0]

        await _bad_input(s)

    _stdio(built, body)

    assert set(seen["tools"]) == READ_TOOLS  # no write tool without --allow-write
    hits = seen["search"]["hits"]
    assert hits[0]["title"] == "KV-Lite"
    assert {"title", "link", "type", "snippet", "score"} <= set(hits[0])
    assert seen["sources"]["hits"] and {h["type"] for h in seen["sources"]["hits"]} == {"source"}
    read = seen["read"]
    assert read["title"] == "Priya Raman" and read["type"] == "person"
    assert read["frontmatter"]["type"] == "person" and "## Facts" in read["body"]
    assert seen["list"]["total"] == 3 and len(seen["list"]["pages"]) == 2
    assert seen["list"]["next_offset"] == 2 and seen["list2"]["next_offset"] is None
    assert len(seen["list2"]["pages"]) == 1
    near = seen["near"]
    assert "[[Priya Raman]]" in {r["link"] for r in near["links_out"] + near["links_in"]}
    assert near["related"]
    recent = seen["recent"]
    assert recent["total"] == 3 and len(recent["entries"]) == 2
    assert recent["entries"][0]["action"] == "ingest"
    (contradiction,) = seen["contradictions"]["contradictions"]
    assert contradiction["open"] and "[[KV-Lite]]" in contradiction["pages"]
    assert seen["lint"]["pages"] == 11 and "findings" in seen["lint"]
    ask = seen["ask"]
    assert ask["mode"] == "context"  # no LLM: the agent writes the answer from the pages
    assert ask["pages"][0]["link"] == "[[KV-Lite]]" and "KV-Lite" in ask["pages"][0]["text"]
    assert seen["not_covered"]["pages"] == []
    assert "[[KV-Lite]]" in seen["index"].text
    assert "ingest |" in seen["log"].text
    assert seen["page"].text.startswith("---") and "Priya Raman" in seen["page"].text


async def _bad_input(s: ClientSession) -> None:
    """Every bad input gets an error result, and the server answers the next call."""
    errors: dict[str, str] = {}
    after: dict[str, Any] = {}
    errors["unknown"] = _error(await s.call_tool("read_page", {"title": "Nobody Known"}))
    errors["dotdot"] = _error(await s.call_tool("read_page", {"title": "../../wiki.toml"}))
    errors["dotdot_near"] = _error(
        await s.call_tool("neighbors", {"title": "../people/Priya Raman"})
    )
    errors["type"] = _error(await s.call_tool("search", {"query": "x", "type": "secret"}))
    errors["limit"] = _error(await s.call_tool("list_pages", {"limit": 0}))
    errors["huge"] = _error(await s.call_tool("ask", {"question": "why " * 1000}))
    errors["write"] = _error(await s.call_tool("add_note", {"title": "KV-Lite", "note": "hello"}))
    for name, uri in (
        ("resource", "wiki://page/Nobody%20Known"),
        ("resource_dotdot", "wiki://page/..%2F..%2Fwiki.toml"),
    ):
        with pytest.raises(MCPError) as raised:
            await s.read_resource(uri)
        errors[name] = str(raised.value)
    after["search"] = _data(await s.call_tool("search", {"query": "Priya Raman"}))

    assert "no page named" in errors["unknown"]
    assert "no page named" in errors["dotdot"] and "no page named" in errors["dotdot_near"]
    assert "secret" in errors["type"] or "type" in errors["type"]
    assert errors["limit"]
    assert "too long" in errors["huge"]
    assert "Unknown tool: add_note" in errors["write"]  # absent, not merely refused
    assert "no page named" in errors["resource"]
    assert "wiki.toml" in errors["resource_dotdot"]  # refused: no template reads a path
    assert after["search"]["hits"][0]["title"] == "Priya Raman"


# --- write tools --------------------------------------------------------------------------------


def test_write_tools_over_stdio(kb: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(kb, other)
    seen: dict[str, Any] = {}
    tidewater = {
        "title": "Tidewater Ships",
        "text": ARTICLE,
        "url": "https://example.org/tidewater",
        "published": "2025-11-03",
    }

    async def body(s: ClientSession) -> None:
        seen["tools"] = {t.name for t in (await s.list_tools()).tools}
        marta = {"query": "Marta Kowalczyk"}
        seen["before"] = _data(await s.call_tool("search", marta))  # the server walks wiki/
        seen["result"] = _data(await s.call_tool("ingest_text", tidewater))
        # at once: the server knows its own writes, not only what its watch of wiki/ reports
        seen["found"] = _data(await s.call_tool("search", marta))
        seen["after_ingest"] = _pages(kb)
        seen["again"] = _data(await s.call_tool("ingest_text", tidewater))
        note = await s.call_tool(
            "add_note", {"title": "Raman", "note": "Ask her about\nthe eviction rule."}
        )
        seen["note"] = _data(note)
        contradictions = _data(await s.call_tool("contradictions", {}))["contradictions"]
        seen["resolve"] = _data(
            await s.call_tool(
                "resolve_contradiction",
                {"id": contradictions[0]["id"], "note": "55 is the release"},
            )
        )
        seen["open_after"] = _data(await s.call_tool("contradictions", {}))["contradictions"]
        seen["resolved_again"] = _error(
            await s.call_tool(
                "resolve_contradiction", {"id": contradictions[0]["id"], "note": "once more"}
            )
        )
        seen["saved"] = _data(
            await s.call_tool(
                "save_answer",
                {
                    "question": "What does KV-Lite save?",
                    "answer": "Inference memory: 55 percent in the release [[KV-Lite]], "
                    "per [[Nobody Real]].",
                },
            )
        )
        seen["uncited"] = _error(
            await s.call_tool("save_answer", {"question": "Why?", "answer": "Because."})
        )
        seen["huge"] = _error(
            await s.call_tool("ingest_text", {"title": "Big", "text": "word " * 200_001})
        )
        seen["bad_date"] = _error(
            await s.call_tool(
                "ingest_text", {"title": "T", "text": ARTICLE, "published": "yesterday"}
            )
        )
        seen["note_missing"] = _error(
            await s.call_tool("add_note", {"title": "../../wiki.toml", "note": "x"})
        )
        seen["still"] = _data(await s.call_tool("read_page", {"title": "KV-Lite"}))

    _stdio(kb, body, "--allow-write")

    assert seen["tools"] == READ_TOOLS | WRITE_TOOLS
    result = seen["result"]
    assert result["status"] == "ingested" and result["page"] == "[[Tidewater Ships]]"
    assert "[[Marta Kowalczyk]]" in result["created"]
    links = [[hit["link"] for hit in seen[k]["hits"]] for k in ("before", "found")]
    assert "[[Marta Kowalczyk]]" not in links[0] and "[[Marta Kowalczyk]]" in links[1]
    assert seen["again"]["status"] == "skipped"  # the same content is recognised
    # The same text as a web clipping dropped in another copy's inbox, then `wiki ingest`:
    # the same pages, byte for byte.
    clipping = (
        "---\ntitle: Tidewater Ships\nsource: https://example.org/tidewater\n"
        f"published: 2025-11-03\n---\n\n{ARTICLE}"
    )
    (other / "inbox" / "Tidewater Ships.md").write_text(clipping, encoding="utf-8")
    done = _wiki("--vault", str(other), "ingest", "--no-commit")
    assert done.returncode == 0, done.stderr
    ours, theirs = seen["after_ingest"], _pages(other)
    assert ours.keys() == theirs.keys()
    for name in ours:
        assert ours[name] == theirs[name], name
    page = (kb / "wiki" / "people" / "Priya Raman.md").read_text(encoding="utf-8")
    notes = page.split("## Notes", 1)[1]
    assert "- 2026-01-15: Ask her about\n  the eviction rule." in notes
    assert seen["resolve"]["resolved"] == "2026-01-15" and seen["open_after"] == []
    assert "already resolved" in seen["resolved_again"]
    saved = kb / "wiki" / seen["saved"]["path"]
    text = saved.read_text(encoding="utf-8")
    assert "[[KV-Lite]]" in text and "[[Nobody Real]]" not in text  # no phantom link
    assert seen["saved"]["citations"] == ["[[KV-Lite]]"]
    assert "not saved" in seen["uncited"]
    assert "too long" in seen["huge"] and "inbox" in seen["huge"]
    assert "YYYY-MM-DD" in seen["bad_date"]
    assert "no page named" in seen["note_missing"]
    assert not list((kb / "inbox").glob("*.md"))  # rejected texts left nothing behind
    assert seen["still"]["title"] == "KV-Lite"


def _pages(root: Path) -> dict[str, bytes]:
    return {k.split("/", 1)[1]: v for k, v in wiki_files(Vault(root)).items()}


# --- streamable HTTP ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def http_server(built: Path) -> Iterator[Callable[..., str]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(*extra: str) -> str:
        port = _free_port()
        proc = subprocess.Popen(
            [*WIKI, "--vault", str(built), "mcp", "--http", "--port", str(port), *extra],
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert proc.poll() is None, "the server exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return f"http://127.0.0.1:{port}/mcp"
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the server did not start")

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(timeout=10)


@asynccontextmanager
async def _http_session(url: str, token: str | None = None) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as client,
        streamable_http_client(url, http_client=client) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def test_http_on_loopback(http_server: Callable[..., str]) -> None:
    url = http_server()
    seen: dict[str, Any] = {}

    async def main() -> None:
        async with _http_session(url) as s:
            seen["tools"] = {t.name for t in (await s.list_tools()).tools}
            seen["search"] = _data(await s.call_tool("search", {"query": "GRPO"}))
            seen["read"] = _data(await s.call_tool("read_page", {"title": "Tomas Berg"}))
            seen["bad"] = _error(await s.call_tool("read_page", {"title": "../secret"}))
            seen["after"] = _data(await s.call_tool("list_pages", {}))

    anyio.run(main)
    assert seen["tools"] == READ_TOOLS
    assert seen["search"]["hits"]
    assert seen["read"]["type"] == "person"
    assert "no page named" in seen["bad"]
    assert seen["after"]["total"] == 11


def test_public_host_needs_a_token(built: Path) -> None:
    done = _wiki("--vault", str(built), "mcp", "--http", "--host", "0.0.0.0")
    assert done.returncode == 2
    assert "--token" in done.stderr


def test_token_is_required_on_every_request(http_server: Callable[..., str]) -> None:
    url = http_server("--host", "0.0.0.0", "--token", "s3cret")
    refused = httpx2.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    wrong = httpx2.post(url, json={}, headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401 and wrong.status_code == 401
    seen: dict[str, Any] = {}

    async def main() -> None:
        async with _http_session(url, token="s3cret") as s:
            seen["search"] = _data(await s.call_tool("search", {"query": "Lighthouse"}))

    anyio.run(main)
    assert seen["search"]["hits"]
