"""One exception tree: every class the package defines derives from WikiError, the tree's
docstring names them all, and the CLI's one handler gives each a message and an exit code."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import NO_LLM

import llmwiki
from llmwiki import errors
from llmwiki.cli import EXIT_CODES, cli
from llmwiki.errors import WikiError, WriteError


def package_modules() -> list[str]:
    # every module but __main__, which runs the command when imported
    walked = pkgutil.walk_packages(llmwiki.__path__, prefix="llmwiki.")
    return ["llmwiki", *(m.name for m in walked if m.name != "llmwiki.__main__")]


def defined_exceptions() -> list[type[BaseException]]:
    """Every exception class whose home is one of the package's modules, private ones too."""
    found = []
    for name in package_modules():
        module = importlib.import_module(name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == name:
                found.append(value)
    return found


def tree() -> list[type[WikiError]]:
    return [
        value
        for _, value in inspect.getmembers(errors, inspect.isclass)
        if issubclass(value, WikiError)
    ]


def test_every_exception_the_package_defines_derives_from_the_root() -> None:
    found = defined_exceptions()
    assert len(found) >= len(tree())  # the walk did reach errors.py, and more
    strays = [f"{c.__module__}.{c.__qualname__}" for c in found if not issubclass(c, WikiError)]
    assert not strays, f"not under WikiError: {strays}"


def test_the_docstring_of_errors_names_every_class_of_the_tree() -> None:
    doc = errors.__doc__ or ""
    assert [c.__name__ for c in tree() if not re.search(rf"\b{c.__name__}\b", doc)] == []


def test_the_tree_is_exported_with_the_public_api() -> None:
    assert [c.__name__ for c in tree() if getattr(llmwiki, c.__name__, None) is not c] == []
    assert {c.__name__ for c in tree()} <= set(llmwiki.__all__)


def test_bad_input_is_a_usage_error_and_still_a_value_error() -> None:
    assert issubclass(errors.UsageError, ValueError)


def instance(cls: type[WikiError]) -> WikiError:
    if cls is WriteError:
        return WriteError(Path("wiki/log.md"), OSError(28, "No space left"), "the disk is full")
    return cls(f"what went wrong with {cls.__name__}; what to do next")


# 1: the command ran and something failed or was refused; 2: it could not run
FAILED = {"SourceError", "ClipError", "MergeError"}


@pytest.mark.parametrize("cls", tree(), ids=lambda c: c.__name__)
def test_the_cli_maps_each_error_to_its_message_and_exit_code(cls: type[WikiError]) -> None:
    error = instance(cls)

    @click.command(name="boom")
    def boom() -> None:
        raise error

    cli.add_command(boom)  # type: ignore[attr-defined]
    try:
        result = CliRunner().invoke(cli, ["boom"], env=NO_LLM)
    finally:
        cli.commands.pop("boom")  # type: ignore[attr-defined]
    assert isinstance(result.exception, SystemExit), result.exception  # not a traceback
    assert result.exit_code == (1 if cls.__name__ in FAILED else 2)
    assert result.output == f"Error: {error}\n"


def test_every_class_of_the_tree_has_an_exit_code() -> None:
    assert set(tree()) == set(EXIT_CODES)


def test_the_cli_handles_an_error_raised_inside_a_subgroup(tmp_path: Path) -> None:
    CliRunner().invoke(cli, ["init", str(tmp_path / "kb")], env=NO_LLM)
    args = ["--vault", str(tmp_path / "kb"), "contradictions", "resolve", "c00000000"]
    result = CliRunner().invoke(cli, [*args, "--note", "n"], env=NO_LLM)
    assert result.exit_code == 2 and result.output.startswith("Error: ")
    assert isinstance(result.exception, SystemExit)
