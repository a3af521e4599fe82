"""What becomes of a file in the inbox: its bytes go to raw/ under a name no other content
holds, it leaves the inbox once ingested, or it moves to inbox/failed/ with a note saying why
it could not be. A file named from elsewhere (`wiki ingest FILE`) is the user's and is never
moved or removed.
"""

from __future__ import annotations

import os
from pathlib import Path

from llmwiki.readers import sha256_bytes
from llmwiki.vault import Vault, atomic_write


def raw_path(vault: Vault, path: Path, sha256: str) -> Path:
    """raw/NAME, or raw/NAME-<hash> when another content already has that name."""
    target = vault.raw / path.name
    # compared by hash with the bytes that were read: the name in the inbox is not read
    # again (a link may have been swapped since)
    if target.exists() and sha256_bytes(target.read_bytes()) != sha256:
        target = vault.raw / fit_name(path.name, f"-{sha256[:8]}")
    return target


def in_inbox(vault: Vault, path: Path) -> bool:
    # the folder the entry is in, not where a link leads
    return path.absolute().parent.resolve() == vault.inbox.resolve()


def leave_inbox(vault: Vault, path: Path) -> None:
    """Remove an ingested file from the inbox; its bytes are already safe in raw/.
    Files given from elsewhere are the user's and stay where they are."""
    if in_inbox(vault, path):
        path.unlink(missing_ok=True)


def reject(vault: Vault, path: Path, reason: str) -> None:
    """Move a file that cannot be ingested to inbox/failed/ with the reason beside it."""
    # lexists and os.replace act on a link itself: it is moved, its target never touched
    if not in_inbox(vault, path) or not os.path.lexists(path):
        return
    vault.failed.mkdir(parents=True, exist_ok=True)
    room = len(_ERROR_NOTE)  # NAME and NAME.error.txt must both be valid names
    target = vault.failed / fit_name(path.name, "", room)
    n = 1
    while os.path.lexists(target):
        target = vault.failed / fit_name(path.name, f" ({n})", room)
        n += 1
    if target.name != path.name:
        reason += f"\n\nIn the inbox this file was named: {path.name}"
    atomic_write(
        target.with_name(target.name + _ERROR_NOTE),
        # a name that is not valid UTF-8 is shown escaped
        f"{reason}\n\nFix the file and move it back into inbox/ to retry.\n".encode(
            errors="backslashreplace"
        ),
    )
    os.replace(path, target)


_ERROR_NOTE = ".error.txt"
_NAME_MAX = 255  # bytes in a file name, on every common file system
_SUFFIX_MAX = 16  # a longer "extension" is just the end of a name, cut like the rest


def fit_name(name: str, tag: str, room: int = 0) -> str:
    """`name` with `tag` before its extension ("a.txt", " (2)" -> "a (2).txt"), its stem cut
    at a character boundary so the result, plus `room` more bytes, is a valid file name."""
    stem, suffix = os.path.splitext(name)
    if len(os.fsencode(suffix)) > _SUFFIX_MAX:
        stem, suffix = name, ""
    # fsencode: a name that is not valid UTF-8 comes from the OS with escaped bytes
    raw = os.fsencode(stem)
    end = min(len(raw), max(0, _NAME_MAX - room - len(os.fsencode(tag + suffix))))
    while 0 < end < len(raw) and raw[end] & 0xC0 == 0x80:  # not inside a UTF-8 character
        end -= 1
    return f"{os.fsdecode(raw[:end])}{tag}{suffix}"
