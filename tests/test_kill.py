"""A real `kill -9` inside `wiki merge`, `wiki lint --fix`, `wiki contradictions resolve` and
`wiki undo`: the process dies at its Nth file operation with no cleanup at all (no `finally`,
no temp-file removal), the vault stays whole, and running the command again gives the vault
an uninterrupted run gives.

tests/test_crash.py stops the same commands at every write by raising; this kills for real,
at a sample of the points, through the CLI in a child process."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import NO_LLM, SAMPLES, TODAY, KeywordEngine, git
from test_crash import DUPLICATES, check_whole, content, contradicting, ingested

from llmwiki.ingest import Options, ingest
from llmwiki.vault import Vault, init_vault

POINTS = (1, 2, 4, 7, 11)  # the Nth file operation of the command

# Run the CLI with every way it changes a file counted, and SIGKILL itself at the Nth.
BOOTSTRAP = """
import os, pathlib, pkgutil, importlib, signal, sys
import llmwiki
for info in pkgutil.walk_packages(llmwiki.__path__, "llmwiki."):
    if info.name != "llmwiki.__main__":
        importlib.import_module(info.name)
from llmwiki import vault, history
target, count = int(os.environ["KILL_AT"]), [0]
def counted(original):
    def wrapper(*args, **kwargs):
        count[0] += 1
        if count[0] == target:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)
    return wrapper
for module in [m for n, m in list(sys.modules.items()) if n.startswith("llmwiki") and m]:
    if hasattr(module, "atomic_write"):
        module.atomic_write = counted(module.atomic_write)
vault.Vault.append_log = counted(vault.Vault.append_log)
pathlib.Path.unlink = counted(pathlib.Path.unlink)
os.replace = counted(os.replace)
history._run = counted(history._run)
from llmwiki.cli import main
sys.argv = ["wiki", *sys.argv[1:]]
main()
"""


def wiki(root: Path, *args: str, kill_at: int = 0) -> subprocess.CompletedProcess[str]:
    env = {**NO_LLM, "PATH": "/usr/bin:/bin", "KILL_AT": str(kill_at), "HOME": str(root)}
    code = BOOTSTRAP if kill_at else "from llmwiki.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, "--vault", str(root), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def kill_at_points(
    prepared: Path, scratch: Path, args: tuple[str, ...], again: Callable[[Path], None]
) -> int:
    """Kill the command at each of POINTS until it runs through; after each kill the vault is
    whole and `again` (the command run again) gives the uninterrupted run's vault. Returns how
    many kills landed."""
    reference = scratch / "reference"
    shutil.copytree(prepared, reference, symlinks=True)
    wiki(reference, *args)
    expected = content(reference)
    kills = 0
    for point in POINTS:
        root = scratch / f"kill{point}"
        shutil.copytree(prepared, root, symlinks=True)
        done = wiki(root, *args, kill_at=point)
        if done.returncode != -9:
            break  # fewer file operations than that: the command ran through
        kills += 1
        check_whole(Vault(root))
        again(root)
        got = content(root)
        assert got == expected, (
            point,
            sorted(k for k in got.keys() | expected.keys() if got.get(k) != expected.get(k)),
        )
    return kills


def test_kill_9_inside_merge(tmp_path: Path) -> None:
    prepared = ingested(tmp_path / "prepared", DUPLICATES)
    args = ("merge", "Priya Raman", "Raman")

    def again(root: Path) -> None:
        if (root / "wiki" / "people" / "Raman.md").exists():
            assert wiki(root, *args).returncode == 0

    assert kill_at_points(prepared.root, tmp_path, args, again) >= 3


def test_kill_9_inside_lint_fix(tmp_path: Path) -> None:
    prepared = ingested(tmp_path / "prepared", DUPLICATES)
    for path in prepared.wiki.rglob("*.md"):
        text = path.read_text(encoding="utf-8").replace("[[Tomas Berg]]", "[[tomas berg]]")
        path.write_text(text, encoding="utf-8")
    (prepared.wiki / "index.md").write_text("# Index\n\nstale\n", encoding="utf-8")

    def again(root: Path) -> None:
        wiki(root, "lint", "--fix")

    assert kill_at_points(prepared.root, tmp_path, ("lint", "--fix"), again) >= 3


def test_kill_9_inside_contradictions_resolve(tmp_path: Path) -> None:
    prepared, cid = contradicting(tmp_path / "prepared")
    args = ("contradictions", "resolve", cid, "--note", "the newer release")

    def again(root: Path) -> None:
        wiki(root, *args)  # says "already resolved" when the pages were all written

    assert kill_at_points(prepared.root, tmp_path, args, again) >= 2


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_kill_9_inside_undo(tmp_path: Path) -> None:
    prepared = init_vault(tmp_path / "prepared")[0]
    git(prepared.root, "init", "-q")
    git(prepared.root, "add", "-A")
    git(prepared.root, "commit", "-q", "-m", "a new vault")
    engine = KeywordEngine(DUPLICATES)
    for sample in SAMPLES[:2]:
        shutil.copy(sample, prepared.inbox)
        ingest(prepared, engine, Options(today=TODAY, commit=True), [prepared.inbox / sample.name])  # type: ignore[arg-type]

    def again(root: Path) -> None:
        body = git(root, "log", "-1", "--format=%b")
        if "This reverts commit" not in body:
            assert wiki(root, "undo").returncode == 0

    def kept(root: Path) -> bool:
        name = SAMPLES[1].name
        return (root / "raw" / name).exists() or (root / "inbox" / name).exists()

    assert kill_at_points(prepared.root, tmp_path, ("undo",), again) >= 3
    assert all(kept(p) for p in tmp_path.glob("kill*"))
