"""What the commands share: the vault and configuration they run on, today's date, the engine
flags and the engine they pick, and how the core's log reaches the terminal.

Cheap to import on purpose (click and the standard library): every command module imports it
at start-up, and the core modules a command needs are imported inside that command.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from llmwiki.errors import ConfigError, VaultError

if TYPE_CHECKING:
    from llmwiki.config import Config
    from llmwiki.engines import Engine
    from llmwiki.ingest import Options
    from llmwiki.vault import Vault

LOCK_WAIT = 600.0  # seconds a command waits for another wiki process before giving up


class State:
    """The `wiki` group's options, handed to every command (click's ctx.obj)."""

    def __init__(self, vault_path: str | None) -> None:
        self.vault_path = vault_path
        # set while an answer streams: an error must first end the half-written line
        self.line_open = False

    def vault(self) -> Vault:
        from llmwiki.vault import Vault, find_vault

        if self.vault_path:
            root = Path(self.vault_path)
            if not (root / "wiki.toml").is_file():
                raise VaultError(
                    f"{root} is not a vault (no wiki.toml); create one with `wiki init {root}`"
                )
            return Vault(root.resolve())
        env = os.environ.get("WIKI_VAULT")
        if env:
            return State(env).vault()
        found = find_vault(Path.cwd())
        if found is None:
            raise VaultError(
                "no vault here: run `wiki init PATH`, or pass --vault PATH, or set WIKI_VAULT"
            )
        return found

    def config(self, vault: Vault, **flags: Any) -> Config:
        from llmwiki.config import load_config

        return load_config(vault.root, overrides=flags)


def today() -> date:
    """Today, or the day SOURCE_DATE_EPOCH names (reproducible builds and tests)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), tz=UTC).date()
        except ValueError:
            raise ConfigError(
                f"SOURCE_DATE_EPOCH must be a number of seconds, got {epoch!r}"
            ) from None
    return date.today()


def clock() -> str:
    return datetime.now().strftime("%H:%M:%S")


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def print_error(message: str) -> None:
    click.secho(f"Error: {message}", fg="red", err=True)


def engine_options(command: Callable[..., None]) -> Callable[..., None]:
    """--engine, --model and --jobs, as every command that ingests takes them."""
    for option in reversed(
        (
            click.option(
                "--engine",
                type=click.Choice(["auto", "llm", "extractive"]),
                default=None,
                help="auto (default): the LLM when a model is configured, else extractive.",
            ),
            click.option("--model", default=None, help="LLM model name (overrides WIKI_MODEL)."),
            click.option(
                "--jobs", type=int, default=None, help="Parallel LLM calls within a source."
            ),
        )
    ):
        command = option(command)
    return command


def engine_and_options(
    state: State, vault: Vault, engine: str | None, model: str | None, jobs: int | None
) -> tuple[Engine, Options]:
    """The engine the flags and configuration ask for, and ingest options to match."""
    from llmwiki import engines
    from llmwiki.ingest import Options

    config = state.config(vault, engine=engine, model=model, jobs=jobs)
    wiki_engine = engines.open_engine(config, vault.prompts, vault.state)
    if wiki_engine.name == "extractive" and config.engine == "auto":
        click.echo(
            "No LLM configured: using the embedded extractive engine (offline). "
            "Set WIKI_MODEL (and OPENAI_API_KEY or OPENAI_BASE_URL) to use an LLM.",
            err=True,
        )
    return wiki_engine, Options.from_config(config, today=today())


def say_waiting() -> None:
    click.echo("Another wiki process is writing to this vault; waiting for it...", err=True)


class _EchoHandler(logging.Handler):
    """The core's log records on stderr: warnings as `warning: ...`, the rest (shown with
    --verbose: each LLM call, mode changes, repairs) indented under the source's line."""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            click.secho(f"warning: {message}", fg="yellow", err=True)
        else:
            click.echo(f"  {message}", err=True)


@contextlib.contextmanager
def engine_log(verbose: bool) -> Iterator[None]:
    logger = logging.getLogger("llmwiki")
    handler = _EchoHandler()
    level = logger.level
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
