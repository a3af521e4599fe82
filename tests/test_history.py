"""History in a vault that is a git repository: each ingest commits only what it touched, and
`wiki undo` reverts one ingest without removing anything that was not ingested."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import NO_LLM, SAMPLES, git

from llmwiki.cli import cli
from llmwiki.vault import Vault, init_vault

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

MEETUP = next(p for p in SAMPLES if "meetup" in p.name)
EVALUATION = next(p for p in SAMPLES if "evaluation" in p.name)
DRAFT = "Half-written notes about Tomas Berg, not ready for the wiki.\n"


def wiki(vault: Vault, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--vault", str(vault.root), *args], env=NO_LLM)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def content(vault: Vault) -> dict[str, bytes]:
    """Everything the user can see: the vault without git's and the engine's own state."""
    return {
        p.relative_to(vault.root).as_posix(): p.read_bytes()
        for p in sorted(vault.root.rglob("*"))
        if p.is_file() and not {".git", ".wiki"} & set(p.relative_to(vault.root).parts)
    }


@pytest.fixture
def repo(tmp_path: Path) -> Vault:
    vault = init_vault(tmp_path / "kb")[0]
    git(vault.root, "init", "-q")
    git(vault.root, "add", "-A")
    git(vault.root, "commit", "-q", "-m", "a new vault")
    return vault


def test_undo_keeps_inbox_files_that_were_not_ingested(repo: Vault) -> None:
    shutil.copy(MEETUP, repo.inbox / "a.md")
    (repo.inbox / "zz-draft.txt").write_text(DRAFT, encoding="utf-8")
    before = content(repo)

    wiki(repo, "ingest", str(repo.inbox / "a.md"))
    committed = git(repo.root, "show", "--name-only", "--format=", "HEAD").split("\n")
    assert "raw/a.md" in committed
    assert not [f for f in committed if f.startswith("inbox/")], committed

    wiki(repo, "undo")
    assert content(repo) == before  # the draft is there, a.md is back, the wiki as it was
    assert git(repo.root, "status", "--porcelain", "--", "inbox") == "?? inbox/\n"


def test_two_ingests_one_by_one_then_undo_twice(repo: Vault) -> None:
    shutil.copy(MEETUP, repo.inbox / "a.md")
    shutil.copy(EVALUATION, repo.inbox / "b.txt")
    (repo.inbox / "zz-draft.txt").write_text(DRAFT, encoding="utf-8")
    at_start = content(repo)
    wiki(repo, "ingest", str(repo.inbox / "a.md"))
    after_a = content(repo)
    wiki(repo, "ingest", str(repo.inbox / "b.txt"))
    assert "b.txt" not in {p.name for p in repo.inbox.iterdir()}

    assert "Why Evaluation Is Hard" in wiki(repo, "undo")
    assert content(repo) == after_a
    assert "Open Models Meetup" in wiki(repo, "undo")
    assert content(repo) == at_start
    result = CliRunner().invoke(cli, ["--vault", str(repo.root), "undo"], env=NO_LLM)
    assert result.exit_code != 0 and "no ingest commit" in result.output
    # and the sources can be ingested again, as if never seen
    wiki(repo, "ingest", str(repo.inbox / "a.md"), str(repo.inbox / "b.txt"))
    assert sorted(p.name for p in repo.raw.iterdir()) == ["a.md", "b.txt"]


def test_an_uncommitted_edit_survives_an_ingest_and_its_undo(repo: Vault) -> None:
    shutil.copy(MEETUP, repo.inbox / "a.md")
    wiki(repo, "ingest")
    page = repo.wiki / "people" / "Tomas Berg.md"
    edited = page.read_text(encoding="utf-8") + "\n## Notes\n\nMet him in Oslo.\n"
    page.write_text(edited, encoding="utf-8")  # not committed
    shutil.copy(EVALUATION, repo.inbox / "b.txt")
    wiki(repo, "ingest")
    assert "Met him in Oslo." in page.read_text(encoding="utf-8")
    assert page.read_text(encoding="utf-8") != edited  # the ingest added to the page

    wiki(repo, "undo")
    assert page.read_text(encoding="utf-8") == edited


def test_undo_refuses_to_drop_an_edited_page_and_changes_nothing(repo: Vault) -> None:
    shutil.copy(MEETUP, repo.inbox / "a.md")
    wiki(repo, "ingest")
    source = next((repo.wiki / "sources").iterdir())
    source.write_text(source.read_text(encoding="utf-8") + "\nMy own remark.\n", "utf-8")
    before = content(repo)
    head = git(repo.root, "rev-parse", "HEAD")

    result = CliRunner().invoke(cli, ["--vault", str(repo.root), "undo"], env=NO_LLM)
    assert result.exit_code != 0
    assert source.relative_to(repo.root).as_posix() in result.output
    assert content(repo) == before
    assert git(repo.root, "rev-parse", "HEAD") == head


def test_undo_of_an_older_style_commit_never_removes_an_inbox_file(repo: Vault) -> None:
    """Commits made before ingests named their paths swept other inbox files in."""
    shutil.copy(MEETUP, repo.inbox / "a.md")
    (repo.inbox / "zz-draft.txt").write_text(DRAFT, encoding="utf-8")
    wiki(repo, "ingest", "--no-commit", str(repo.inbox / "a.md"))
    git(repo.root, "add", "-A", "--", "wiki", "raw", "inbox")
    git(repo.root, "commit", "-q", "-m", "ingest: old\n\nWiki-Operation: ingest")

    wiki(repo, "undo")
    assert (repo.inbox / "zz-draft.txt").read_text(encoding="utf-8") == DRAFT
    assert (repo.inbox / "a.md").read_bytes() == MEETUP.read_bytes()
