"""Writing files: permissions, failures (disk full, read-only, a file held open), the lock.

Tests run as root here, where a read-only mode does not stop a write, so the OS errors are
simulated where they arise: at the temp file's creation (EROFS, EACCES), at the write (ENOSPC)
and at the rename (a Windows program holding the target open). A real read-only folder is
tried too when the tests do not run as root.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import NO_LLM, SAMPLE_ENTITIES, SAMPLES, KeywordEngine, drop, run

from llmwiki import vault as vault_module
from llmwiki.cli import cli
from llmwiki.errors import LockedError, WriteError
from llmwiki.vault import Vault, atomic_write

posix_modes = pytest.mark.skipif(os.name == "nt", reason="Windows has no permission bits")
REAL_OPEN, REAL_WRITE, REAL_REPLACE = os.open, os.write, os.replace


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(vault_module.TEMP_PREFIX)]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask() -> Iterator[None]:
    """Restore the process's umask after a test sets it."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


# --- permissions (issue 12 item 13) -----------------------------------------------------------


@posix_modes
@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_files_written_follow_the_umask(vault: Vault, mask: int, umask: None) -> None:
    os.umask(mask)
    expected = 0o666 & ~mask
    for sample in SAMPLES:
        (vault.inbox / sample.name).write_bytes(sample.read_bytes())
    assert run(vault, KeywordEngine(SAMPLE_ENTITIES)).ok
    written = [p for p in (*vault.wiki.rglob("*"), *vault.raw.rglob("*")) if p.is_file()]
    assert len(written) > 10
    assert {p.relative_to(vault.root).as_posix(): mode(p) for p in written} == {
        p.relative_to(vault.root).as_posix(): expected for p in written
    }


@posix_modes
def test_a_replaced_file_keeps_the_mode_the_user_gave_it(vault: Vault, umask: None) -> None:
    os.umask(0o022)
    page = vault.wiki / "people" / "Ada.md"
    vault.write_text(page, "one\n")
    page.chmod(0o640)  # the user keeps this page from other users
    vault.write_text(page, "two\n")
    assert page.read_text() == "two\n"
    assert mode(page) == 0o640


# --- failures name the path and leave nothing half-written (issue 12 item 9) -------------------


def _failing_open(code: int, folder: Path) -> object:
    def fake_open(path: object, flags: int, mode: int = 0o777, *args: object) -> int:
        if Path(os.fsdecode(path)).parent == folder:  # type: ignore[arg-type]
            raise OSError(code, os.strerror(code), os.fsdecode(path))  # type: ignore[arg-type]
        return REAL_OPEN(path, flags, mode, *args)  # type: ignore[arg-type]

    return fake_open


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (errno.EROFS, "file system is read-only"),
        (errno.EACCES, "permission denied"),
        (errno.ENOSPC, "disk is full"),
    ],
)
def test_a_folder_that_refuses_new_files_gives_a_clear_error(
    vault: Vault, monkeypatch: pytest.MonkeyPatch, code: int, says: str
) -> None:
    page = vault.wiki / "people" / "Ada.md"
    vault.write_text(page, "before\n")
    monkeypatch.setattr(os, "open", _failing_open(code, page.parent))
    with pytest.raises(WriteError) as caught:
        vault.write_text(page, "after\n")
    monkeypatch.undo()
    assert str(page) in str(caught.value) and says in str(caught.value)
    assert caught.value.errno == code and isinstance(caught.value, OSError)
    assert page.read_text() == "before\n"
    assert temp_files(vault.root) == []


def _disk_fills_after(room: int) -> object:
    """os.write that takes `room` more bytes, then fails as a full disk does."""
    left = [room]

    def fake_write(fd: int, data: bytes | memoryview) -> int:
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = REAL_WRITE(fd, bytes(data)[: left[0]])
        left[0] -= n
        return n

    return fake_write


def test_a_full_disk_leaves_the_page_as_it_was_and_no_temp_file(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = vault.wiki / "concepts" / "RAG.md"
    vault.write_text(page, "before\n")
    monkeypatch.setattr(os, "write", _disk_fills_after(5))
    with pytest.raises(WriteError, match="disk is full"):
        vault.write_text(page, "a much longer text than fits\n")
    monkeypatch.undo()
    assert page.read_text() == "before\n"
    assert temp_files(vault.root) == []


def test_a_full_disk_cuts_the_log_back_to_its_last_whole_entry(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault.append_log(["## [2026-01-01] ingest | First"])
    before = vault.log.read_bytes()
    monkeypatch.setattr(os, "write", _disk_fills_after(7))
    with pytest.raises(WriteError, match=r"log\.md"):
        vault.append_log(["## [2026-01-02] ingest | Second", "", "- source: [[Second]]"])
    monkeypatch.undo()
    assert vault.log.read_bytes() == before


@pytest.mark.skipif(
    os.name == "nt" or os.geteuid() == 0, reason="needs POSIX modes and a user that is not root"
)
def test_a_really_read_only_folder_gives_a_clear_error(vault: Vault) -> None:
    page = vault.wiki / "people" / "Ada.md"
    vault.write_text(page, "before\n")
    page.parent.chmod(0o555)
    try:
        with pytest.raises(WriteError, match="permission denied"):
            vault.write_text(page, "after\n")
    finally:
        page.parent.chmod(0o755)
    assert page.read_text() == "before\n"
    assert temp_files(vault.root) == []


# --- replacing a file another program holds open (Windows) ------------------------------------


def _replace_held_for(times: int) -> object:
    calls = [0]

    def fake_replace(src: object, dst: object) -> None:
        calls[0] += 1
        if calls[0] <= times:
            raise PermissionError(errno.EACCES, "Access is denied", os.fsdecode(dst))  # type: ignore[arg-type]
        REAL_REPLACE(src, dst)  # type: ignore[arg-type]

    return fake_replace


def test_a_file_held_open_briefly_is_replaced_once_it_is_let_go(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vault_module, "REPLACE_PATIENCE", 5.0)
    monkeypatch.setattr(os, "replace", _replace_held_for(3))
    page = vault.wiki / "index.md"
    vault.write_text(page, "new index\n")
    monkeypatch.undo()
    assert page.read_text() == "new index\n"
    assert temp_files(vault.root) == []


def test_a_file_held_open_too_long_fails_clearly_and_leaves_no_temp_file(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = vault.wiki / "index.md"
    vault.write_text(page, "old index\n")
    monkeypatch.setattr(vault_module, "ON_WINDOWS", True)
    monkeypatch.setattr(vault_module, "REPLACE_PATIENCE", 0.3)
    monkeypatch.setattr(os, "replace", _replace_held_for(10**6))
    started = time.monotonic()
    with pytest.raises(WriteError) as caught:
        vault.write_text(page, "new index\n")
    waited = time.monotonic() - started
    monkeypatch.undo()
    assert 0.3 <= waited < 3
    assert str(page) in str(caught.value)
    assert "another program" in str(caught.value) and "Obsidian" in str(caught.value)
    assert page.read_text() == "old index\n"
    assert temp_files(vault.root) == []


def test_a_permission_error_on_posix_is_not_waited_for(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vault_module, "ON_WINDOWS", False)
    monkeypatch.setattr(vault_module, "REPLACE_PATIENCE", 0.0)
    monkeypatch.setattr(os, "replace", _replace_held_for(10**6))
    with pytest.raises(WriteError, match="permission denied"):
        atomic_write(vault.wiki / "x.md", b"x\n")
    monkeypatch.undo()
    assert not (vault.wiki / "x.md").exists()
    assert temp_files(vault.root) == []


# --- text files -------------------------------------------------------------------------------


def test_text_is_written_with_lf_line_endings(vault: Vault) -> None:
    page = vault.wiki / "people" / "Ada.md"
    vault.write_text(page, "a\nb\n")
    vault.append_log(["## [2026-01-01] ingest | A", "", "- source: [[A]]"])
    assert page.read_bytes() == b"a\nb\n"
    assert b"\r" not in vault.log.read_bytes()


# --- the CLI: one clear line, never a traceback ------------------------------------------------


def test_ingest_on_a_full_disk_says_which_file_and_what_to_do(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop(vault, "a.md", "# A\n\nPriya Raman built KV-Lite.\n")
    before = {p: p.read_bytes() for p in vault.root.rglob("*") if p.is_file()}
    monkeypatch.setattr(os, "write", _disk_fills_after(0))
    result = CliRunner().invoke(
        cli, ["--vault", str(vault.root), "ingest", "--no-commit"], env=NO_LLM
    )
    monkeypatch.undo()
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # not a traceback
    assert "Error: cannot write" in result.output and "disk is full" in result.output
    assert str(vault.root) in result.output
    assert (vault.inbox / "a.md").exists()
    assert temp_files(vault.root) == []
    for path, data in before.items():
        assert path.read_bytes() == data, path


def test_an_os_error_outside_a_write_is_one_clear_line(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    root.mkdir()
    (root / "inbox").write_text("a file where the inbox folder should be\n")
    result = CliRunner().invoke(cli, ["init", str(root)], env=NO_LLM)
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    assert "Error:" in result.output and "inbox" in result.output
    assert "a file is in the way" in result.output


# --- the lock ---------------------------------------------------------------------------------

HOLDER = """
import sys, time
from pathlib import Path
from llmwiki.vault import Vault
with Vault(Path(sys.argv[1])).lock():
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_lock_held_by_a_killed_process_is_free_at_once(vault: Vault) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(vault.root)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(LockedError, match="another wiki process"), vault.lock(wait=0.2):
            pass
    finally:
        holder.kill()  # SIGKILL on POSIX, TerminateProcess on Windows: no clean-up runs
        holder.wait()
    with vault.lock():
        pass


def test_the_temp_file_of_a_writer_killed_mid_write_is_cleared_by_the_next(vault: Vault) -> None:
    part = vault.wiki / "concepts" / f"{vault_module.TEMP_PREFIX}0123{vault_module.TEMP_SUFFIX}"
    writer = HOLDER.replace('print("held"', f'open({str(part)!r}, "w").write("half"); print("held"')
    holder = subprocess.Popen(
        [sys.executable, "-c", writer, str(vault.root)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert part.exists()
    finally:
        holder.kill()  # no clean-up runs: the mark that it held the lock stays
        holder.wait()
    with vault.lock():
        assert temp_files(vault.root) == []
    assert not (vault.state / vault_module.WRITING).exists()  # released cleanly this time
