"""History through git: when the vault is a git repository, each ingest is one commit, and
`wiki undo` reverts the last one.

Only the vault's content folders are committed (`wiki/`, `raw/`, `inbox/`); derived state in
`.wiki/` is not (it is rebuilt from the files after an undo).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from llmwiki.manifest import Manifest
from llmwiki.vault import Vault, atomic_write

TRAILER = "Wiki-Operation: ingest"
CONTENT = ("wiki", "raw", "inbox")


class HistoryError(Exception):
    """git is missing, the vault is not a repository, or git refused; the message says why."""


@dataclass(frozen=True)
class UndoReport:
    reverted: str  # the commit undone
    subject: str


def is_repo(root: Path) -> bool:
    return (root / ".git").exists() and shutil.which("git") is not None


def _git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    # A vault without a git identity still gets its history; the user's own config wins.
    identity: list[str] = []
    probe = subprocess.run(
        ["git", "config", "user.email"], cwd=root, capture_output=True, text=True, check=False
    )
    if not probe.stdout.strip():
        identity = ["-c", "user.name=wiki", "-c", "user.email=wiki@localhost"]
    done = subprocess.run(
        ["git", *identity, *args], cwd=root, capture_output=True, text=True, check=False
    )
    if check and done.returncode != 0:
        raise HistoryError(f"git {args[0]} failed: {(done.stderr or done.stdout).strip()}")
    return done


def commit(vault: Vault, subject: str) -> str | None:
    """Commit the vault's content folders as one ingest; the new commit's id, or None when
    nothing changed."""
    paths = [p for p in CONTENT if (vault.root / p).exists()]
    _git(vault.root, "add", "-A", "--", *paths)
    staged = _git(vault.root, "diff", "--cached", "--name-only", "-z", "--", *paths)
    files = [f for f in staged.stdout.split("\x00") if f]
    if not files:
        return None
    # naming the files keeps anything else the user has staged out of the ingest's commit
    _git(vault.root, "commit", "--quiet", "-m", f"{subject}\n\n{TRAILER}", "--", *files)
    return _git(vault.root, "rev-parse", "HEAD").stdout.strip()


def _last_ingest(root: Path) -> tuple[str, str]:
    """The newest ingest commit that has not been reverted yet."""
    log = _git(root, "log", "--format=%H%x00%s%x00%b%x1e")
    reverted: set[str] = set()
    for record in log.stdout.split("\x1e"):
        if not record.strip():
            continue
        sha, subject, body = [*record.strip().split("\x00"), "", ""][:3]
        reverted.update(re.findall(r"This reverts commit ([0-9a-f]{40})", body))
        if TRAILER in body and sha not in reverted:
            return sha, subject
    raise HistoryError("no ingest commit to undo")


def undo(vault: Vault) -> UndoReport:
    """Revert the most recent ingest commit and rebuild the manifest from the reverted files."""
    if not is_repo(vault.root):
        raise HistoryError(
            f"{vault.root} is not a git repository, so there is no history to undo; "
            "run `git init` there and later ingests can be undone"
        )
    with vault.lock():
        sha, subject = _last_ingest(vault.root)
        added = _git(vault.root, "diff-tree", "--no-commit-id", "--name-status", "-r", sha)
        reverted = _git(vault.root, "revert", "--no-edit", sha, check=False)
        if reverted.returncode != 0:
            _git(vault.root, "revert", "--abort", check=False)
            raise HistoryError(
                f"could not revert {sha[:10]} ({subject}): later changes touch the same files; "
                "commit or stash your changes, or revert it by hand with `git revert`"
            )
        # The source's bytes must not vanish with the revert: put it back in the inbox.
        for line in added.stdout.splitlines():
            status, _, rel = line.partition("\t")
            if status == "A" and rel.startswith("raw/"):
                target = vault.inbox / Path(rel).name
                if not target.exists():
                    blob = subprocess.run(
                        ["git", "show", f"{sha}:{rel}"],
                        cwd=vault.root,
                        capture_output=True,
                        check=True,
                    ).stdout
                    atomic_write(target, blob)
        Manifest.rebuild(vault).save()
    return UndoReport(sha, subject)
