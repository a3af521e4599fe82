"""llmwiki: a personal knowledge wiki that an LLM keeps up to date.

The library does the work; `wiki` (llmwiki.cli) is a thin layer over it, and a script calls the
same functions its commands do:

    from llmwiki import Options, find_vault, ingest, load_config, open_engine

    vault = find_vault(Path.cwd())
    config = load_config(vault.root)
    engine = open_engine(config, vault.prompts, vault.state)
    report = ingest(vault, engine, Options.from_config(config, today=date.today()))

`ask`, `lint`, `merge` (`wiki merge`), `graph` (`wiki graph`) and `search_pages` follow the same
pattern; `open_answerer` gives `ask` its answerer. Every exception is a WikiError; the tree,
with what each branch means, is in llmwiki.errors.

Names load on first use (PEP 562), so that `wiki search`, which imports this package, does not
pay for the ingest pipeline. `ingest`, `ask`, `lint` and `graph` are functions here, though
submodules of the same names exist: the package keeps the function under that name even after
the submodule is imported (see `_Package`).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from llmwiki.errors import (
    ClipError,
    ConfigError,
    ContradictionError,
    EngineError,
    HistoryError,
    LockedError,
    MergeError,
    PageError,
    SearchError,
    ServerSetupError,
    SourceError,
    UsageError,
    VaultError,
    WikiError,
    WriteError,
)

if TYPE_CHECKING:
    from llmwiki.ask import AskResult, ask
    from llmwiki.config import Config, load_config
    from llmwiki.engines import Engine, Usage, open_answerer, open_engine
    from llmwiki.graph import GraphReport
    from llmwiki.graph import graph_report as graph
    from llmwiki.ingest import IngestReport, Options, SourceResult, ingest
    from llmwiki.lint import LintReport, lint
    from llmwiki.merge_pages import MergeReport
    from llmwiki.merge_pages import merge_pages as merge
    from llmwiki.search_report import SearchResult, search_pages
    from llmwiki.vault import Vault, find_vault, init_vault

# public name -> (module, attribute)
_LAZY: dict[str, tuple[str, str]] = {
    "AskResult": ("llmwiki.ask", "AskResult"),
    "ask": ("llmwiki.ask", "ask"),
    "Config": ("llmwiki.config", "Config"),
    "load_config": ("llmwiki.config", "load_config"),
    "Engine": ("llmwiki.engines", "Engine"),
    "Usage": ("llmwiki.engines", "Usage"),
    "open_answerer": ("llmwiki.engines", "open_answerer"),
    "open_engine": ("llmwiki.engines", "open_engine"),
    "GraphReport": ("llmwiki.graph", "GraphReport"),
    "graph": ("llmwiki.graph", "graph_report"),
    "IngestReport": ("llmwiki.ingest", "IngestReport"),
    "Options": ("llmwiki.ingest", "Options"),
    "SourceResult": ("llmwiki.ingest", "SourceResult"),
    "ingest": ("llmwiki.ingest", "ingest"),
    "LintReport": ("llmwiki.lint", "LintReport"),
    "lint": ("llmwiki.lint", "lint"),
    "MergeReport": ("llmwiki.merge_pages", "MergeReport"),
    "merge": ("llmwiki.merge_pages", "merge_pages"),
    "SearchResult": ("llmwiki.search_report", "SearchResult"),
    "search_pages": ("llmwiki.search_report", "search_pages"),
    "Vault": ("llmwiki.vault", "Vault"),
    "find_vault": ("llmwiki.vault", "find_vault"),
    "init_vault": ("llmwiki.vault", "init_vault"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


class _Package(types.ModuleType):
    """Importing a submodule binds it on its package, so `import llmwiki.ask` anywhere would
    turn `llmwiki.ask` into the module; the public function keeps the name instead."""

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(value, types.ModuleType) and _LAZY.get(name, ("", ""))[0] == value.__name__:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = [
    "AskResult",
    "ClipError",
    "Config",
    "ConfigError",
    "ContradictionError",
    "Engine",
    "EngineError",
    "GraphReport",
    "HistoryError",
    "IngestReport",
    "LintReport",
    "LockedError",
    "MergeError",
    "MergeReport",
    "Options",
    "PageError",
    "SearchError",
    "SearchResult",
    "ServerSetupError",
    "SourceError",
    "SourceResult",
    "Usage",
    "UsageError",
    "Vault",
    "VaultError",
    "WikiError",
    "WriteError",
    "ask",
    "find_vault",
    "graph",
    "ingest",
    "init_vault",
    "lint",
    "load_config",
    "merge",
    "open_answerer",
    "open_engine",
    "search_pages",
]
