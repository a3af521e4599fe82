"""`wiki mcp`: the wiki served to agents. The MCP SDK is an optional dependency, so it is
imported only here, inside the command, and its absence is one line saying how to install it."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING

import click

from llmwiki.cli.common import LOCK_WAIT, State, engine_and_options, today
from llmwiki.errors import UsageError

if TYPE_CHECKING:
    from llmwiki.engines import Engine
    from llmwiki.ingest import Options


@click.command(name="mcp")
@click.option("--http", "use_http", is_flag=True, help="Serve streamable HTTP instead of stdio.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="With --http: the address to listen on; a non-loopback one requires --token.",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True)
@click.option(
    "--token",
    envvar="WIKI_MCP_TOKEN",
    default=None,
    help="With --http: the bearer token every request must carry (or WIKI_MCP_TOKEN).",
)
@click.option(
    "--allow-write",
    is_flag=True,
    help="Also serve the write tools: ingest_text, add_note, resolve_contradiction, save_answer.",
)
@click.option(
    "--vault",
    "vault_path",
    type=click.Path(file_okay=False),
    default=None,
    help="The vault to serve (like `wiki --vault`; a leading ~ is expanded, since agent "
    "configurations pass it unexpanded).",
)
@click.pass_obj
def mcp_cmd(
    state: State,
    use_http: bool,
    host: str,
    port: int,
    token: str | None,
    allow_write: bool,
    vault_path: str | None,
) -> None:
    """Serve the wiki to agents over MCP (stdio by default; --http for streamable HTTP).

    Read tools: search, read_page, list_pages, neighbors, recent_changes, contradictions,
    lint, ask. Write tools with --allow-write. Resources: wiki://index, wiki://log,
    wiki://page/{title}.
    """
    try:
        from llmwiki import mcp_server
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in ("mcp", "uvicorn", "starlette"):
            raise
        raise UsageError(
            "`wiki mcp` needs the MCP SDK: pip install 'llm-wiki[mcp]' "
            "(or: pip install mcp) in the environment `wiki` runs from"
        ) from None
    from llmwiki.engines import open_answerer
    from llmwiki.live_files import LiveFiles

    if vault_path:
        state = State(os.path.expanduser(vault_path))
    vault = state.vault()
    if use_http:
        mcp_server.check_http_host(host, token)
    answerer = open_answerer(state.config(vault), vault.prompts)
    engine: Engine | None = None
    options: Options | None = None
    if allow_write:
        engine, options = engine_and_options(state, vault, None, None, None)
        options = replace(options, commit=True, lock_wait=LOCK_WAIT)
    with LiveFiles(vault.wiki) as live:
        wiki = mcp_server.WikiServer(
            vault, answerer, engine, options, today=today, allow_write=allow_write, live=live
        )
        server = mcp_server.build_server(wiki)
        if use_http:
            click.echo(f"Serving MCP at http://{host}:{port}/mcp (Ctrl-C to stop).", err=True)
            mcp_server.serve_http(server, host, port, token)
        else:
            server.run()
