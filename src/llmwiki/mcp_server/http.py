"""Serving `wiki mcp` over streamable HTTP: on 127.0.0.1 by default; another host only with a
bearer token, which every request must carry, since anyone on the network could otherwise read
the wiki (and write, with --allow-write)."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mcp.server.mcpserver import MCPServer

from llmwiki.errors import ServerSetupError

__all__ = ["check_http_host", "serve_http"]


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


def _is_loopback(host: str) -> bool:
    if host.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
