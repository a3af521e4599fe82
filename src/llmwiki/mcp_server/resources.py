"""The resources of `wiki mcp`: index.md, log.md and any page's file, as text an agent can
read without a tool call."""

from __future__ import annotations

from pathlib import Path

from mcp.server.mcpserver.exceptions import ResourceError, ToolError

from llmwiki.mcp_server.base import WikiState
from llmwiki.vault import LOG_HEADER

__all__ = ["Resources"]


class Resources(WikiState):
    """The text behind each resource; a page is found by name like the tools find it."""

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


def _read_generated(path: Path, empty: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return empty
    except (OSError, UnicodeDecodeError) as exc:
        raise ResourceError(f"{path.name} cannot be read: {exc}") from None
