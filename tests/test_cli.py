"""The real `wiki` command on vaults in tmp_path."""

from __future__ import annotations

import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import NO_LLM, SAMPLES

from llmwiki.cli import cli


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env={**NO_LLM, **(env or {})})
    return result.exit_code, result.output


def subcommands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command under `group`, as the words that name it, subgroups' commands included."""
    found = []
    for name, command in group.commands.items():
        found.append((*path, name))
        if isinstance(command, click.Group):
            found += subcommands(command, (*path, name))
    return found


def test_every_command_and_subcommand_has_help() -> None:
    names = subcommands(cli)  # type: ignore[arg-type]
    assert ("contradictions", "resolve") in names and len(names) >= 14
    for words in names:
        code, out = invoke(*words, "--help")
        assert code == 0 and f"Usage: cli {' '.join(words)}" in out, words
        assert out.split("\n\n")[1].strip(), f"{words}: no help text"


def test_init_ingest_status(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    code, out = invoke("init", str(kb))
    assert (
        code == 0 and (kb / "wiki.toml").is_file() and (kb / "prompts" / "conventions.md").exists()
    )
    for sample in SAMPLES:
        shutil.copy(sample, kb / "inbox")
    code, out = invoke("--vault", str(kb), "ingest")
    assert code == 0, out
    assert "extractive engine" in out and "3 ingested" in out
    assert len(list((kb / "wiki" / "sources").glob("*.md"))) == 3
    code, out = invoke("--vault", str(kb), "status")
    assert code == 0 and "Sources ingested: 3" in out and "0 pending" in out


def test_vault_is_found_from_env_and_missing_vault_says_what_to_do(tmp_path: Path) -> None:
    invoke("init", str(tmp_path / "kb"))
    code, out = invoke("status", env={"WIKI_VAULT": str(tmp_path / "kb")})
    assert code == 0 and str(tmp_path / "kb") in out
    code, out = invoke("--vault", str(tmp_path / "nothing"), "status")
    assert code == 2 and "wiki init" in out


def test_failed_source_exits_1(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    invoke("init", str(kb))
    (kb / "inbox" / "empty.md").write_text("")
    code, out = invoke("--vault", str(kb), "ingest")
    assert code == 1 and "empty" in out
    assert (kb / "inbox" / "failed" / "empty.md.error.txt").exists()


def test_dry_run_reports_an_estimate(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    invoke("init", str(kb))
    (kb / "inbox" / "a.md").write_text("# A\n\nTomas Berg built Lighthouse.\n")
    code, out = invoke("--vault", str(kb), "ingest", "--dry-run")
    assert code == 0 and "Dry run" in out and (kb / "inbox" / "a.md").exists()


def test_api_key_is_refused_in_wiki_toml(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    invoke("init", str(kb))
    (kb / "wiki.toml").write_text('[wiki]\napi_key = "sk-secret-123"\n')
    code, out = invoke("--vault", str(kb), "ingest")
    assert code == 2 and "OPENAI_API_KEY" in out and "sk-secret-123" not in out


@pytest.mark.parametrize("bad", ['[wiki]\njobs = "many"\n', "[wiki\n", '[wiki]\nengine = "gpt"\n'])
def test_bad_config_gets_a_clear_message(tmp_path: Path, bad: str) -> None:
    kb = tmp_path / "kb"
    invoke("init", str(kb))
    (kb / "wiki.toml").write_text(bad)
    code, out = invoke("--vault", str(kb), "status")
    assert code == 2 and "Error:" in out


def test_a_source_page_with_a_bad_token_count_is_one_clear_line(tmp_path: Path) -> None:
    """The manifest, rebuilt from the source pages, meets a `tokens` it cannot read."""
    kb = tmp_path / "kb"
    invoke("init", str(kb))
    shutil.copy(SAMPLES[0], kb / "inbox")
    assert invoke("--vault", str(kb), "ingest", "--no-commit")[0] == 0
    (kb / ".wiki" / "manifest.jsonl").unlink()
    page = next((kb / "wiki" / "sources").glob("*.md"))
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace("\ntokens: 0\n", "\ntokens: many\n", 1), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--vault", str(kb), "status"], env=NO_LLM)
    assert isinstance(result.exception, SystemExit) and result.exit_code == 2
    assert "Error: " in result.output and "tokens must be a whole number" in result.output


def test_same_input_same_clock_gives_a_byte_identical_wiki(tmp_path: Path) -> None:
    """Two real `wiki ingest` processes (different hash seeds) on the same files and date."""
    import os
    import subprocess
    import sys

    from conftest import CORPUS

    inputs = SAMPLES + sorted(CORPUS.glob("*.txt"))
    wikis = []
    for seed in ("1", "2"):
        kb = tmp_path / f"kb{seed}"
        invoke("init", str(kb))
        for path in inputs:
            shutil.copy(path, kb / "inbox")
        env = {**os.environ, **NO_LLM, "PYTHONHASHSEED": seed, "WIKI_ENGINE": "extractive"}
        done = subprocess.run(
            [sys.executable, "-m", "llmwiki", "--vault", str(kb), "ingest", "--no-commit"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        wikis.append(
            {
                p.relative_to(kb).as_posix(): p.read_bytes()
                for p in sorted((kb / "wiki").rglob("*"))
                if p.is_file()
            }
        )
    assert len(wikis[0]) > 10 and wikis[0] == wikis[1]
