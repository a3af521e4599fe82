"""The `wiki` command: parses arguments, calls one library function, prints its report.

This package is the only code that prints or exits. Its `__init__` holds the group, the one
handler that turns the exception tree (llmwiki.errors) into a message and an exit code, and
`main`; the commands live in modules by what they do (vaults, ingesting, reading, upkeep,
serving). Each command imports the core modules it needs inside its function, so that
`wiki search` loads the search index and not the ingest pipeline, the LLM client or networkx.

Exit codes: 0 done; 1 done, but something failed or was refused (a source that could not be
ingested or added, a lint error, a merge refused); 2 the command could not run (bad input, as
for click's own usage errors, no vault, a bad configuration, a locked vault, an engine or
index that cannot be used, an OS error).
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

from llmwiki.cli.common import State, print_error
from llmwiki.cli.ingesting import add_cmd, ingest_cmd, watch
from llmwiki.cli.reading import ask_cmd, graph_cmd, search_cmd
from llmwiki.cli.serving import mcp_cmd
from llmwiki.cli.upkeep import contradictions, lint_cmd, merge_cmd, refresh_cmd
from llmwiki.cli.vaults import init, status, undo
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

FAILED = 1
CANNOT_RUN = 2

# Every class of the tree, so that adding one means deciding its code (tests/test_errors.py).
EXIT_CODES: dict[type[WikiError], int] = {
    WikiError: CANNOT_RUN,
    UsageError: CANNOT_RUN,
    ConfigError: CANNOT_RUN,
    VaultError: CANNOT_RUN,
    LockedError: CANNOT_RUN,
    WriteError: CANNOT_RUN,
    PageError: CANNOT_RUN,
    EngineError: CANNOT_RUN,
    SearchError: CANNOT_RUN,
    ContradictionError: CANNOT_RUN,
    HistoryError: CANNOT_RUN,
    ServerSetupError: CANNOT_RUN,
    SourceError: FAILED,
    ClipError: FAILED,
    MergeError: FAILED,
}


def exit_code(error: WikiError) -> int:
    """The code for `error`: its class's, else its nearest ancestor's."""
    return next(EXIT_CODES[c] for c in type(error).__mro__ if c in EXIT_CODES)


def fail(message: str, code: int = CANNOT_RUN) -> NoReturn:
    print_error(message)
    sys.exit(code)


class _Commands(click.Group):
    """The `wiki` group, and the one place an error becomes a message and an exit code instead
    of a traceback: a WikiError says what to do in its own words; an OS error no command
    expected (a full disk, a read-only or unreadable folder, a file where a folder should be)
    becomes one line naming the path. Writes never leave a half file (vault.py)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise  # `wiki ... | head`: click ends quietly
        except (WikiError, OSError) as exc:
            if isinstance(ctx.obj, State) and ctx.obj.line_open:
                click.echo()  # end a partly streamed answer's line before the error
            if isinstance(exc, WikiError):
                fail(str(exc), exit_code(exc))
            from llmwiki.vault import explain_os_error

            fail(explain_os_error(exc))


@click.group(cls=_Commands)
@click.version_option(package_name="llm-wiki")
@click.option(
    "--vault",
    "vault_path",
    type=click.Path(file_okay=False),
    help="The vault to use (default: WIKI_VAULT, else the folder holding wiki.toml "
    "at or above the current one).",
)
@click.pass_context
def cli(ctx: click.Context, vault_path: str | None) -> None:
    """A personal knowledge wiki that an LLM keeps up to date.

    Drop files in inbox/, run `wiki ingest`, open wiki/ in Obsidian.
    """
    ctx.obj = State(vault_path)


for _command in (
    init,
    ingest_cmd,
    add_cmd,
    status,
    contradictions,
    undo,
    graph_cmd,
    lint_cmd,
    merge_cmd,
    refresh_cmd,
    ask_cmd,
    watch,
    search_cmd,
    mcp_cmd,
):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="wiki")
