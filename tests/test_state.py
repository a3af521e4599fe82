"""Everything under .wiki/ is derived state: a damaged file is rebuilt from the pages, with a
one-line notice, and never stops a command."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import NO_LLM, SAMPLES

from llmwiki.cli import cli
from llmwiki.manifest import Manifest
from llmwiki.vault import Vault, init_vault

GARBAGE = {
    "random bytes": bytes(range(256)) * 3,
    "json of another shape": b'{"files": 3, "version": [1]}\n[1, 2]\n"text"\n',
    "a torn line in the middle": b'{"sha256": "ab", "title": \n{"sha256": "cd"}\n',
}
COMMANDS = [
    ("status",),
    ("lint",),
    ("graph",),
    ("ask", "Who is Priya Raman?"),
    ("contradictions",),
    ("ingest",),
]


def invoke(vault: Vault, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--vault", str(vault.root), *args], env=NO_LLM)
    return result.exit_code, result.output


@pytest.fixture
def built(tmp_path: Path) -> Vault:
    vault = init_vault(tmp_path / "kb")[0]
    for sample in SAMPLES:
        shutil.copy(sample, vault.inbox)
    for command in [*COMMANDS, *COMMANDS]:  # every cache exists afterwards
        invoke(vault, *command)
    return vault


@pytest.mark.parametrize("kind", sorted(GARBAGE))
def test_damaged_state_files_are_rebuilt(built: Vault, kind: str) -> None:
    state = sorted(p for p in built.state.iterdir() if p.name != "lock")
    assert {p.name for p in state} >= {"manifest.jsonl", "catalog.sqlite", "search.sqlite"}
    for path in state:
        path.write_bytes(GARBAGE[kind])
    for command in COMMANDS:
        code, out = invoke(built, *command)
        assert code in (0, 1) and "Traceback" not in out and "codec" not in out, (command, out)
    code, out = invoke(built, "status")
    assert code == 0 and "Sources ingested: 3" in out
    assert "Priya Raman" in invoke(built, "ask", "Who is Priya Raman?")[1]


def test_a_damaged_manifest_keeps_the_lines_that_read(
    built: Vault, caplog: pytest.LogCaptureFixture
) -> None:
    path = built.state / "manifest.jsonl"
    good = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"\xff\xfe garbage\n" + b"".join(good))
    manifest = Manifest.load(built)
    assert "damaged" in caplog.text and str(path) in caplog.text
    assert len(manifest.sources) == 3 and manifest.rebuilt
    # what only the manifest knows (the pages a source touched) survives the rebuild
    assert all(record.pages for record in manifest.sources.values())


def test_a_torn_last_line_is_no_damage(built: Vault, caplog: pytest.LogCaptureFixture) -> None:
    path = built.state / "manifest.jsonl"
    path.write_bytes(path.read_bytes() + b'{"sha256": "ab", "tit')
    manifest = Manifest.load(built)
    assert len(manifest.sources) == 3 and not manifest.rebuilt and "damaged" not in caplog.text


def test_status_keeps_a_manifest_it_had_to_rebuild(built: Vault) -> None:
    manifest = built.state / "manifest.jsonl"
    recorded = Manifest.load(built).sources
    manifest.unlink()
    assert invoke(built, "status")[0] == 0
    # saved once, from the source pages, so the next command does not read them all again
    assert manifest.is_file() and set(Manifest.load(built).sources) == set(recorded)
    manifest.unlink()
    with built.lock():  # an ingest under way: its manifest must not be replaced
        assert invoke(built, "status")[0] == 0
    assert not manifest.exists()
