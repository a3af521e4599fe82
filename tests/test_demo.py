"""The README's two commands, `make demo` and `make test`, work in either order, any number of
times: the demo copies the sample articles and the tests read them where no demo changes them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import NO_LLM, REPO, SAMPLES


def test_samples_live_where_no_demo_moves_them() -> None:
    assert len(SAMPLES) == 3
    assert all(p.parent.name == "samples" for p in SAMPLES)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_twice_leaves_the_samples_and_ingests_once(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ("Makefile", "wiki.toml"):
        shutil.copy(REPO / name, checkout / name)
    for folder in ("samples", "prompts", "raw", "wiki"):
        shutil.copytree(REPO / folder, checkout / folder, ignore=_demo_output)
    before = {p.name: p.read_bytes() for p in (checkout / "samples").iterdir()}
    bin_dir = Path(sys.executable).parent
    env = {**NO_LLM, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    for _ in range(2):
        # `-o install`: use this interpreter's environment instead of building a new .venv
        done = subprocess.run(
            ["make", "-o", "install", "demo", f"BIN={bin_dir}"],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "0 pending" in done.stdout
    assert {p.name: p.read_bytes() for p in (checkout / "samples").iterdir()} == before
    assert len(list((checkout / "wiki" / "sources").glob("*.md"))) == 3
    assert sorted(p.name for p in (checkout / "raw").iterdir() if p.name != ".gitkeep") == sorted(
        before
    )
    log = (checkout / "wiki" / "log.md").read_text(encoding="utf-8")
    assert log.count("] ingest | ") == 3  # the second demo added nothing


def _demo_output(folder: str, names: list[str]) -> list[str]:
    """What an earlier demo in this checkout left in raw/ and wiki/ is not part of the copy."""
    return [n for n in names if n != ".gitkeep" and Path(folder).name in ("raw", "wiki")]
