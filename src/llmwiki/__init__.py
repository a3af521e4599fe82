"""llmwiki: a personal knowledge wiki that an LLM keeps up to date.

The library does the work; `wiki` (llmwiki.cli) is a thin layer over it. Exceptions, each with a
message that says what to do next:

- ConfigError: wiki.toml or an environment variable holds a value we cannot use.
- VaultError: no vault where one was expected, or a write that would leave the vault.
  - LockedError: another wiki process is writing to the vault.
- SourceError: an inbox file cannot be turned into text (the file goes to inbox/failed/).
- EngineError: an engine could not produce a valid result (the file stays in the inbox).
- PageError: a page's frontmatter cannot be parsed.
"""

from llmwiki.config import Config, load_config
from llmwiki.engines import Engine, Usage, open_engine
from llmwiki.errors import ConfigError, EngineError, LockedError, PageError, SourceError, VaultError
from llmwiki.ingest import IngestReport, Options, SourceResult, ingest
from llmwiki.vault import Vault, find_vault, init_vault

__all__ = [
    "Config",
    "ConfigError",
    "Engine",
    "EngineError",
    "IngestReport",
    "LockedError",
    "Options",
    "PageError",
    "SourceError",
    "SourceResult",
    "Usage",
    "Vault",
    "VaultError",
    "find_vault",
    "ingest",
    "init_vault",
    "load_config",
    "open_engine",
]
