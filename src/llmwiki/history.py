"""History through git: when the vault is a git repository, each ingest is one commit, and
`wiki undo` reverts the last one.

An ingest commits only the paths it wrote, moved or deleted (its pages, index, log, register,
archive copy and inbox file), never anything else the user has lying around. Before it
writes, the user's uncommitted edits to those paths are committed on their own, so undoing the
ingest goes back to the pages as the user left them. Derived state in `.wiki/` is never
committed (it is rebuilt from the files after an undo).

Undo works file by file from the ingest commit's own diff rather than through `git revert`:
each path is put back to its state before the ingest with an atomic write (or removed, when
the ingest created it), after the source's bytes are back in the inbox and before the commit
that records the undo. A path already back is left alone, so an undo that was killed finishes
when run again; a path changed since in a way that cannot be merged stops the undo before any
file is touched.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from llmwiki.errors import HistoryError
from llmwiki.manifest import Manifest
from llmwiki.vault import TEMP_PREFIX, TEMP_SUFFIX, Vault, atomic_write

TRAILER = "Wiki-Operation: ingest"
_REVERTS = re.compile(r"This reverts commit ([0-9a-f]{40})")
_NO_IDENTITY = ("-c", "user.name=wiki", "-c", "user.email=wiki@localhost")


@dataclass(frozen=True)
class UndoReport:
    reverted: str  # the commit undone
    subject: str


def is_repo(root: Path) -> bool:
    return (root / ".git").exists() and shutil.which("git") is not None


def _run(
    root: Path, args: Iterable[str], *, check: bool = True, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    # names are paths, never patterns: a title may hold `*` or `[`
    command = ["git", "--literal-pathspecs", *args]
    done = subprocess.run(command, cwd=root, input=stdin, capture_output=True, check=False)
    if check and done.returncode != 0:
        message = (done.stderr or done.stdout).decode("utf-8", "replace").strip()
        hint = ""
        if "index.lock" in message:
            hint = (
                "; if no git command is running, an interrupted one left .git/index.lock "
                "behind: remove it and run the command again"
            )
        raise HistoryError(f"git {command[2]} failed: {message}{hint}")
    return done


def _git(root: Path, *args: str, check: bool = True) -> str:
    return _run(root, args, check=check).stdout.decode("utf-8", "surrogateescape")


def _z(output: str) -> list[str]:
    return [item for item in output.split("\x00") if item]


def _identity(root: Path) -> tuple[str, ...]:
    # A vault without a git identity still gets its history; the user's own config wins.
    return () if _git(root, "config", "user.email", check=False).strip() else _NO_IDENTITY


def _rels(vault: Vault, paths: Iterable[Path]) -> list[str]:
    """Paths relative to the vault, in git's spelling; paths outside it are not ours."""
    root = vault.root.resolve()
    rels: set[str] = set()
    for path in paths:
        absolute = path if path.is_absolute() else vault.root / path
        # the parent is resolved, not the file: a deleted file has nothing to resolve
        parent = absolute.parent.resolve()
        if parent.is_relative_to(root):
            rel = (parent / absolute.name).relative_to(root).as_posix()
            if rel != "." and not rel.startswith(".git/") and not rel.startswith(".wiki/"):
                rels.add(rel)
    return sorted(rels)


def commit(vault: Vault, subject: str, paths: Iterable[Path], trailer: str = TRAILER) -> str | None:
    """Commit exactly `paths` (written, moved or deleted) as one commit; the new commit's id,
    or None when none of them changed. Anything else, staged or not, stays as it is."""
    root = vault.root
    rels = _rels(vault, paths)
    if not rels:
        return None
    tracked = set(_z(_git(root, "ls-files", "-z", "--", *rels)))
    candidates = [r for r in rels if r in tracked or os.path.lexists(root / r)]
    untracked = [r for r in candidates if r not in tracked]
    if untracked:
        # git refuses to add an ignored path by name; the user chose to keep those out
        ignored = _run(
            root,
            ["check-ignore", "-z", "--stdin"],
            check=False,
            stdin="\x00".join(untracked).encode("utf-8", "surrogateescape"),
        )
        skip = set(_z(ignored.stdout.decode("utf-8", "surrogateescape")))
        candidates = [r for r in candidates if r not in skip]
    if not candidates:
        return None
    _git(root, "add", "-A", "--", *candidates)
    files = _z(_git(root, "diff", "--cached", "--name-only", "-z", "--", *candidates))
    if not files:
        return None
    message = f"{subject}\n\n{trailer}" if trailer else subject
    _git(root, *_identity(root), "commit", "--quiet", "--no-verify", "-m", message, "--", *files)
    return _git(root, "rev-parse", "HEAD").strip()


def save_edits(vault: Vault, paths: Iterable[Path], before: str) -> str | None:
    """Commit the user's uncommitted changes to the pages among `paths`, which an operation
    is about to rewrite, so that undoing it returns to them rather than to older versions.
    The inbox and raw/ are left out: a source dropped in the inbox is not an edit."""
    pages = [p for p in paths if p.resolve().is_relative_to(vault.wiki.resolve())]
    return commit(vault, f"wiki: your edits, saved before {before}", pages, trailer="")


# --- undo ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Change:
    path: str
    before: str | None  # blob id before the commit, None when the commit created the path
    after: str | None  # blob id after it, None when the commit deleted the path


def _last_ingest(root: Path) -> tuple[str, str]:
    """The newest ingest commit that has not been reverted yet."""
    log = _git(root, "log", "--format=%H%x00%s%x00%b%x1e")
    reverted: set[str] = set()
    for record in log.split("\x1e"):
        if not record.strip():
            continue
        sha, subject, body = [*record.strip().split("\x00"), "", ""][:3]
        reverted.update(_REVERTS.findall(body))
        if TRAILER in body and sha not in reverted:
            return sha, subject
    raise HistoryError("no ingest commit to undo")


def _changes(root: Path, sha: str) -> list[_Change]:
    out = _z(_git(root, "diff-tree", "--root", "--no-renames", "-r", "-z", "--no-commit-id", sha))
    changes = []
    for header, path in zip(out[::2], out[1::2], strict=True):
        _, _, old, new, status = header.split(" ")
        changes.append(
            _Change(path, None if status == "A" else old, None if status == "D" else new)
        )
    return changes


def _blob(root: Path, blob: str) -> bytes:
    return _blobs(root, [blob])[blob]


def _blobs(root: Path, ids: Iterable[str]) -> dict[str, bytes]:
    """The contents of several blobs, read by one git process."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    out = _run(root, ["cat-file", "--batch"], stdin="".join(f"{i}\n" for i in wanted).encode())
    data, found, at = out.stdout, {}, 0
    for blob in wanted:
        header_end = data.index(b"\n", at)
        size = int(data[at:header_end].split()[2])
        found[blob] = data[header_end + 1 : header_end + 1 + size]
        at = header_end + 1 + size + 1  # the content is followed by a newline
    return found


def _hashes(root: Path, rels: list[str]) -> dict[str, str | None]:
    """The blob id each path has in the work tree now, None for a path that is not there."""
    present = [r for r in rels if (root / r).is_file()]
    ids: list[str] = []
    if present:
        stdin = "\n".join(present).encode("utf-8", "surrogateescape")
        ids = _run(root, ["hash-object", "--stdin-paths"], stdin=stdin).stdout.decode().split()
    found: dict[str, str | None] = dict.fromkeys(rels)
    found.update(zip(present, ids, strict=True))
    return found


def _merge(root: Path, current: Path, after: str, before: str) -> bytes | None:
    """The current file with the commit's change to it taken out (a three-way merge, as
    `git revert` makes it), or None when that conflicts with later changes."""
    with tempfile.TemporaryDirectory() as scratch:
        base, other = Path(scratch, "after"), Path(scratch, "before")
        base.write_bytes(_blob(root, after))
        other.write_bytes(_blob(root, before))
        done = _run(
            root, ["merge-file", "-p", "--", str(current), str(base), str(other)], check=False
        )
    return done.stdout if done.returncode == 0 else None


def _plan(root: Path, changes: list[_Change]) -> tuple[dict[str, bytes | None], list[str]]:
    """What to write (None: remove) to take each path back, and the paths that cannot be."""
    now = _hashes(root, [c.path for c in changes])
    wanted = [c.before for c in changes if c.before and now[c.path] == c.after]
    blobs = _blobs(root, wanted)
    todo: dict[str, bytes | None] = {}
    blocked: list[str] = []
    for change in changes:
        current = now[change.path]
        if change.path.startswith("inbox/") and change.before is None:
            continue  # older ingests committed other inbox files: never remove one
        if current == change.before:
            continue  # already back (an earlier undo was interrupted)
        if current == change.after:
            todo[change.path] = blobs[change.before] if change.before else None
        elif current is not None and change.before and change.after:
            merged = _merge(root, root / change.path, change.after, change.before)
            if merged is None:
                blocked.append(change.path)
            else:
                todo[change.path] = merged
        else:
            blocked.append(change.path)
    return todo, blocked


def _sources_back_to_inbox(vault: Vault, changes: list[_Change]) -> None:
    """Put each source the ingest archived back into the inbox, before raw/ loses it."""
    tracked = {c.before for c in changes if c.path.startswith("inbox/") and c.before}
    for change in changes:
        if not change.path.startswith("raw/") or change.before or change.after is None:
            continue
        if change.after in tracked:
            continue  # the inbox file was tracked: taking its path back restores it
        target = _inbox_target(vault, Path(change.path).name, change.after)
        if target is None:
            continue
        # written beside the state first, so a kill leaves no temp file in the user's inbox
        staged = vault.state / f"{TEMP_PREFIX}undo-{change.after}{TEMP_SUFFIX}"
        atomic_write(staged, _blob(vault.root, change.after))
        os.replace(staged, target)


def _inbox_target(vault: Vault, name: str, blob: str) -> Path | None:
    """inbox/NAME, or `NAME (n)` beside a different file of that name; None when the source
    is there already (an interrupted undo got this far)."""
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 0
    while True:
        target = vault.inbox / (name if n == 0 else f"{stem} ({n}){suffix}")
        if not target.exists():
            return target
        rel = target.relative_to(vault.root).as_posix()
        if _hashes(vault.root, [rel])[rel] == blob:
            return None
        n += 1


def _record_undo(root: Path, message: str) -> None:
    """A commit that changes nothing but says the ingest is undone (its files were already
    back), made without touching the index, where the user may have staged work."""
    tree = _git(root, "rev-parse", "HEAD^{tree}").strip()
    new = _git(root, *_identity(root), "commit-tree", tree, "-p", "HEAD", "-m", message).strip()
    _git(root, "update-ref", "-m", "wiki undo", "HEAD", new)


def undo(vault: Vault) -> UndoReport:
    """Revert the most recent ingest that is not reverted yet, and rebuild the manifest."""
    if not is_repo(vault.root):
        raise HistoryError(
            f"{vault.root} is not a git repository, so there is no history to undo; "
            "run `git init` there and later ingests can be undone"
        )
    root = vault.root
    with vault.lock():
        sha, subject = _last_ingest(root)
        changes = _changes(root, sha)
        todo, blocked = _plan(root, changes)
        if blocked:
            shown = ", ".join(blocked[:3]) + (
                f" and {len(blocked) - 3} more" if blocked[3:] else ""
            )
            raise HistoryError(
                f"could not undo {sha[:10]} ({subject}): {shown} changed since in a way that "
                "cannot be taken apart from the ingest; nothing was changed. Undo later ingests "
                "first, or put the file back as the ingest left it, or revert by hand with "
                f"`git revert {sha[:10]}`"
            )
        _sources_back_to_inbox(vault, changes)
        # writes before removals, so no sentence is only in a removed file at any moment
        for rel, data in sorted(todo.items(), key=lambda item: item[1] is None):
            target = vault.check_inside(root / rel)
            if data is None:
                target.unlink(missing_ok=True)
            else:
                atomic_write(target, data)
        # before the commit: once the undo is recorded, a stale manifest would never be fixed
        Manifest.rebuild(vault).save()
        subject_line, trailer = f'Revert "{subject}"', f"This reverts commit {sha}."
        if commit(vault, subject_line, [root / c.path for c in changes], trailer) is None:
            _record_undo(root, f"{subject_line}\n\n{trailer}")
    return UndoReport(sha, subject)
