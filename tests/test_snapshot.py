"""The wiki the demo builds from samples/ is pinned byte for byte.

A refactor must not change what a user gets: any difference in any file under wiki/ (pages,
index, log, Obsidian settings) fails here. When a change is meant to alter the output, rebuild
the snapshot with `python tests/test_snapshot.py` and review the diff in git like any other.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import NO_LLM, REPO, SAMPLES

SNAPSHOT = REPO / "tests" / "data" / "sample_wiki"
WIKI = [sys.executable, "-m", "llmwiki"]


def build_sample_wiki(root: Path) -> dict[str, bytes]:
    """Run the demo's commands, as a user would, in a fresh vault at `root`; return wiki/."""
    env = {**os.environ, **NO_LLM}
    subprocess.run([*WIKI, "init", str(root)], env=env, check=True, capture_output=True)
    inbox = root / "inbox"
    for sample in SAMPLES:
        shutil.copy(sample, inbox / sample.name)
    subprocess.run(
        [*WIKI, "--vault", str(root), "ingest", "--no-commit"],
        env=env,
        check=True,
        capture_output=True,
    )
    wiki = root / "wiki"
    return {
        p.relative_to(wiki).as_posix(): p.read_bytes()
        for p in sorted(wiki.rglob("*"))
        if p.is_file()
    }


def snapshot() -> dict[str, bytes]:
    return {
        p.relative_to(SNAPSHOT).as_posix(): p.read_bytes()
        for p in sorted(SNAPSHOT.rglob("*"))
        if p.is_file()
    }


def test_sample_wiki_is_byte_identical_to_the_snapshot(tmp_path: Path) -> None:
    built = build_sample_wiki(tmp_path / "kb")
    expected = snapshot()
    assert sorted(built) == sorted(expected)
    changed = [name for name in expected if built[name] != expected[name]]
    assert not changed, f"these files differ from tests/data/sample_wiki: {changed}"


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        files = build_sample_wiki(Path(tmp) / "kb")
    shutil.rmtree(SNAPSHOT, ignore_errors=True)
    for name, data in files.items():
        target = SNAPSHOT / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    print(f"wrote {len(files)} files to {SNAPSHOT}")
