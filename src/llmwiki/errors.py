"""Every exception llmwiki raises on purpose, under one root.

A caller catches `WikiError`, or one branch of it, and shows the message as it is: each says
what went wrong and what to do next. The classes live here, not beside the code that raises
them, so that the tree reads in one place, any module can raise them without an import cycle
(this module imports nothing from the package), and the CLI maps each branch to a message and
an exit code without importing the modules that raise them.

    WikiError
    ├── UsageError          bad input from the caller: an empty question, an unknown page or
    │                       page type, a limit below 1 (also a ValueError)
    ├── ConfigError         wiki.toml or an environment variable holds a value we cannot use
    ├── VaultError          no vault where one was expected, or a write that would leave it
    │   ├── LockedError     another wiki process is writing to the vault
    │   └── WriteError      a file could not be written (also an OSError, with the cause's errno)
    ├── PageError           a page's frontmatter cannot be parsed
    ├── SourceError         an inbox file cannot be turned into text (it goes to inbox/failed/)
    ├── ClipError           a page, file or text `wiki add` cannot add
    ├── EngineError         an engine could not produce a valid result (the file stays in inbox/)
    ├── SearchError         the search index cannot be opened or queried
    ├── ContradictionError  no such contradiction, or it is already resolved
    ├── MergeError          `wiki merge` refused (missing, identical, source or locked pages);
    │                       nothing changed
    ├── HistoryError        git is missing, the vault is not a repository, or git refused
    └── ServerSetupError    `wiki mcp` cannot start as asked (a public host without a token)

Errors that are no one's input (a bug, an unexpected OS error) are not in the tree: they are
the built-in exceptions, and the CLI turns an OSError into one line naming the path.
"""

from __future__ import annotations

from pathlib import Path


class WikiError(Exception):
    """The root: anything llmwiki raises on purpose, with a message that says what to do."""


class UsageError(WikiError, ValueError):
    """Bad input from the caller. Also a ValueError, which is what it was before the tree."""


class ConfigError(WikiError):
    """wiki.toml or an environment variable holds a value we cannot use."""


class VaultError(WikiError):
    """No vault where one was expected, or a path that would leave the vault."""


class LockedError(VaultError):
    """Another wiki process is writing to this vault."""


class WriteError(VaultError, OSError):
    """A file could not be written. Also an OSError (with the cause's errno), so code that
    treats a failed write as an OS error, such as a cache that is only an optimisation, still
    does; its message names the path and, in `why`, what to do."""

    def __init__(self, path: Path, cause: OSError, why: str) -> None:
        super().__init__(cause.errno, cause.strerror)
        self.filename = str(path)
        self.message = f"cannot write {path} (left unchanged): {why}"

    def __str__(self) -> str:
        return self.message


class PageError(WikiError):
    """A page file that cannot be parsed (its frontmatter is not valid YAML)."""


class SourceError(WikiError):
    """The file cannot be ingested; the message says why and what to do."""


class ClipError(WikiError):
    """A page, file or text that cannot be added; the message says why and what to do."""


class EngineError(WikiError):
    """An engine could not produce a valid result; the message says what to do."""


class SearchError(WikiError):
    """The search index cannot be opened or queried; the message says what to do."""


class ContradictionError(WikiError):
    """No such contradiction, or it is already resolved."""


class MergeError(WikiError):
    """The merge was refused (missing, identical, source or locked pages); nothing changed."""


class HistoryError(WikiError):
    """git is missing, the vault is not a repository, or git refused; the message says why."""


class ServerSetupError(WikiError):
    """The server cannot start as asked (e.g. a public host without a token)."""
