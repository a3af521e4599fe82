"""LiveFiles: the walk of wiki/ that a long-running process (the MCP server) takes again only
after a change in the folder."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmwiki.live_files import LiveFiles
from llmwiki.scan import WikiFiles
from llmwiki.vault import Vault


@pytest.fixture
def live(vault: Vault) -> Iterator[LiveFiles]:
    (vault.wiki / "concepts").mkdir(exist_ok=True)
    (vault.wiki / "concepts" / "First.md").write_text("---\ntitle: First\n---\n")
    with LiveFiles(vault.wiki) as files:
        if not files.watching:
            pytest.skip("this file system cannot be watched here")
        yield files


def walked_again(live: LiveFiles, before: WikiFiles, seconds: float = 5.0) -> WikiFiles:
    """The first walk other than `before`, waiting for the observer's report."""
    deadline = time.monotonic() + seconds
    while (files := live.get()) is before and time.monotonic() < deadline:
        time.sleep(0.02)
    return files


def test_the_same_walk_until_something_changes(vault: Vault, live: LiveFiles) -> None:
    first = live.get()
    assert "concepts/First.md" in first.pages
    assert live.get() is first
    (vault.wiki / "concepts" / "Second.md").write_text("---\ntitle: Second\n---\n")
    assert "concepts/Second.md" in walked_again(live, first).pages


def test_an_edit_and_a_deletion_are_seen(vault: Vault, live: LiveFiles) -> None:
    page = vault.wiki / "concepts" / "First.md"
    first = live.get()
    page.write_text(page.read_text() + "More.\n")
    edited = walked_again(live, first)
    assert edited.pages["concepts/First.md"][1] > first.pages["concepts/First.md"][1]
    page.unlink()
    assert "concepts/First.md" not in walked_again(live, edited).pages


def test_reads_and_dot_folders_change_nothing(vault: Vault, live: LiveFiles) -> None:
    first = live.get()
    (vault.wiki / "concepts" / "First.md").read_text()
    settings = vault.wiki / ".obsidian"
    settings.mkdir(exist_ok=True)
    (settings / "workspace.json").write_text("{}")  # Obsidian rewrites it at every click
    time.sleep(0.5)  # long enough for the observer to report what it saw
    assert live.get() is first


def test_a_write_of_this_process_is_walked_at_once(vault: Vault, live: LiveFiles) -> None:
    first = live.get()
    (vault.wiki / "concepts" / "Second.md").write_text("---\ntitle: Second\n---\n")
    live.changed()  # what a write tool says, before the observer's report may arrive
    assert "concepts/Second.md" not in first.pages
    assert "concepts/Second.md" in live.get().pages


def test_an_unwatchable_folder_walks_every_time(tmp_path: Path) -> None:
    with LiveFiles(tmp_path / "missing") as files:
        assert not files.watching
        assert files.get() is not files.get()
