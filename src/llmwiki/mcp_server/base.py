"""What every tool of `wiki mcp` works on, and the checks they share.

`WikiState` holds the vault and the configured engines; the tool groups (`tools`, `writes`,
`resources`) are written against it, and `WikiServer` joins them. Finding a page by name is
here because it is the one door from an agent's words to a file: a page is only ever reached
through the catalog, so no name an agent sends becomes a path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from mcp.server.mcpserver.exceptions import ToolError

from llmwiki.ask import AskResult, ask
from llmwiki.catalog import Catalog
from llmwiki.catalog_store import STORE_FILE
from llmwiki.engines import Engine
from llmwiki.engines.answerer import Answerer
from llmwiki.entries import Entry
from llmwiki.errors import EngineError, SearchError, VaultError
from llmwiki.ingest import Options
from llmwiki.live_files import LiveFiles
from llmwiki.scan import WikiFiles, walk
from llmwiki.vault import Vault

__all__ = ["MAX_QUESTION_CHARS", "WRITE_LOCK_WAIT", "WikiState", "check_size"]

MAX_QUESTION_CHARS = 2_000
WRITE_LOCK_WAIT = 60.0  # seconds a write tool waits for another wiki process


@dataclass(frozen=True)
class WikiState:
    """What the tools work on: the vault, and for `ask` and writes, the configured engines."""

    vault: Vault
    answerer: Answerer
    engine: Engine | None = None  # for ingest_text; None serves no write tool
    options: Options | None = None
    today: Callable[[], date] = date.today
    allow_write: bool = False
    # the walk of wiki/, taken again only after a change (the server stays up); None: walk
    # at every call
    live: LiveFiles | None = None

    # -- helpers -------------------------------------------------------------------------------

    def _files(self) -> WikiFiles:
        return self.live.get() if self.live is not None else walk(self.vault.wiki)

    def _catalog(self) -> Catalog:
        """The catalog as the files are now, writing nothing (a read tool changes no state)."""
        wiki, store = self.vault.wiki, self.vault.state / STORE_FILE
        return Catalog.scan(wiki, store, save_cache=False, files=self._files())

    def _wrote(self) -> None:
        """A write tool changed wiki/: the next call walks it again."""
        if self.live is not None:
            self.live.changed()

    def _entry(self, name: str) -> Entry:
        """The page `name` (title, alias or file name) names, or a tool error saying so."""
        name = " ".join(name.split())
        if not name:
            raise ToolError("give a page title (search or list_pages shows them)")
        catalog = self._catalog()
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

    def _ask(self, question: str, answerer: Answerer, budget: int, save: bool = False) -> AskResult:
        try:
            return ask(
                self.vault,
                answerer,
                question,
                budget_tokens=budget,
                save=save,
                today=self.today(),
                lock_wait=WRITE_LOCK_WAIT,
                files=self._files(),
            )
        except (EngineError, SearchError, VaultError, ValueError) as exc:
            raise ToolError(str(exc)) from None


def check_size(what: str, text: str, limit: int) -> None:
    if len(text) > limit:
        raise ToolError(
            f"the {what} is too long ({len(text):,} characters; at most {limit:,}): "
            "put a large document in inbox/ as a file and run `wiki ingest`"
        )


def _by_name(catalog: Catalog, name: str) -> list[Entry]:
    """Up to three pages whose names contain `name`'s first word: a hint, not a match."""
    words = name.casefold().split()
    if not words or "/" in name or "\\" in name:
        return []
    found = [e for e in catalog if any(words[0] in n.casefold() for n in e.names)]
    return sorted(found, key=lambda e: e.title.casefold())[:3]
