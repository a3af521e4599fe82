"""Windows and macOS, simulated on Linux: no fcntl, Windows path rules, Windows signals,
"\\r\\n" sources and "\\n" output.

Only Linux runs these tests here. What differs on the other platforms is simulated: fcntl is
made unimportable (as on Windows), computed names are checked against Windows' rules with
PureWindowsPath, Windows' extra stop signal is stood in for by another signal, and source
files are given Windows line endings.
"""

from __future__ import annotations

import ast
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path, PureWindowsPath

import pytest
from conftest import NO_LLM, REPO, SAMPLES, KeywordEngine, drop, run

from llmwiki.pages import safe_name
from llmwiki.vault import PAGE_FOLDERS, Vault
from llmwiki.watch import stop_on_signals, stop_signals

SRC = REPO / "src" / "llmwiki"

# --- no fcntl (Windows has none) ---------------------------------------------------------------

WITHOUT_FCNTL = """
import sys
sys.modules["fcntl"] = None  # `import fcntl` now raises ImportError, as on Windows
import importlib, pkgutil, warnings
warnings.simplefilter("ignore")  # filelock says it falls back to a soft lock here
import llmwiki
for module in pkgutil.walk_packages(llmwiki.__path__, "llmwiki."):
    importlib.import_module(module.name)
from llmwiki.cli import main
sys.argv = ["wiki", *sys.argv[1:]]
try:
    main()
finally:
    assert sys.modules["fcntl"] is None, "something put fcntl back"
"""


def without_fcntl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_FCNTL, *args],
        env={**os.environ, **NO_LLM, "WIKI_ENGINE": "extractive"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_module_imports_and_an_ingest_runs_without_fcntl(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    for args in (["--help"], ["init", str(root)]):
        done = without_fcntl(*args)
        assert done.returncode == 0, done.stderr
    for sample in SAMPLES:
        shutil.copy(sample, root / "inbox")
    done = without_fcntl("--vault", str(root), "ingest", "--no-commit")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(SAMPLES)} ingested" in done.stdout
    assert len(list((root / "wiki" / "sources").glob("*.md"))) == len(SAMPLES)
    assert sorted(p.name for p in (root / "raw").iterdir()) == sorted(p.name for p in SAMPLES)


# --- names, by Windows' rules ------------------------------------------------------------------

# Python 3.13's ntpath.isreserved list: device names, whatever follows a dot
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{kind}{n}" for kind in ("COM", "LPT") for n in "123456789¹²³"
}
_WINDOWS_FORBIDDEN = set('<>:"/\\|?*') | {chr(c) for c in range(32)}


def windows_problem(name: str) -> str:
    """Why Windows would refuse or alter a file named `name`, or ""."""
    if set(name) & _WINDOWS_FORBIDDEN:
        return "a character Windows forbids"
    if name.endswith((" ", ".")):
        return "a trailing dot or space (Windows drops it)"
    if name.split(".")[0].rstrip(" ").upper() in _RESERVED:
        return "a device name"
    if len(name.encode("utf-16-le")) // 2 > 255:
        return "too long"
    return ""


HOSTILE = [
    "CON",
    "con.txt",
    "CON .notes",
    "Aux",
    "nul.md",
    "COM1",
    "LPT9 ",
    "COM¹",
    "CONIN$",
    "CONOUT$",
    "Who? What: *this*",
    'A "quoted" <tag> name',
    "back\\slash and/slash",
    "pipe | name",
    "trailing dot.",
    "trailing spaces   ",
    "tab\there",
    "…" * 200,
    "é" * 300,
]


@pytest.mark.parametrize("title", HOSTILE)
def test_a_computed_file_name_is_one_valid_windows_name(title: str) -> None:
    stem = safe_name(title)
    folder = PureWindowsPath("C:/Users/ada/kb/wiki") / PAGE_FOLDERS["person"]
    page = folder / f"{stem}.md"
    assert page.parent == folder and page.name == f"{stem}.md"  # no separator, drive or ..
    assert windows_problem(stem) == "", (title, stem)
    assert windows_problem(page.name) == "", (title, page.name)


def test_every_path_an_ingest_writes_is_valid_on_windows(vault: Vault) -> None:
    entities = {t.strip(): "concept" for t in HOSTILE if len(t) < 60}
    text = " ".join(f"We discussed {name} today." for name in entities)
    drop(vault, "hostile.txt", "Hostile names\n\n" + text + "\n")
    drop(vault, "CON-notes.md", "# CON\n\nCON is a concept named like a device.\n")
    assert run(vault, KeywordEngine(entities)).ok
    written = [p for p in vault.root.rglob("*") if p.is_file() and ".wiki" not in p.parts]
    assert len(written) > len(entities)
    for path in written:
        rel = PureWindowsPath(path.relative_to(vault.root).as_posix())
        assert not rel.anchor and ".." not in rel.parts
        for part in rel.parts:
            assert windows_problem(part) == "", (rel, part)


def test_wiki_relative_paths_with_slashes_are_the_same_path_on_windows() -> None:
    # catalog, graph and links keep paths relative to wiki/ as "people/Ada.md" strings;
    # pathlib on Windows reads "/" as a separator, so they join the same way there
    rel = "people/Ada Lovelace.md"
    joined = PureWindowsPath("C:/kb/wiki") / rel
    assert joined.parts == ("C:\\", "kb", "wiki", "people", "Ada Lovelace.md")
    assert joined.relative_to(PureWindowsPath("C:/kb/wiki")).as_posix() == rel


# --- signals -----------------------------------------------------------------------------------


@pytest.fixture
def restored_handlers() -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_ask_the_watch_to_stop(sig: int, restored_handlers: None) -> None:
    before = signal.getsignal(sig)
    stop = threading.Event()
    with stop_on_signals(stop):
        signal.raise_signal(sig)  # a handler runs, the process goes on
        assert stop.is_set()
    assert signal.getsignal(sig) == before


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs a spare signal to stand in")
def test_ctrl_break_asks_the_watch_to_stop_on_windows(
    monkeypatch: pytest.MonkeyPatch, restored_handlers: None
) -> None:
    # Windows' console sends Ctrl-Break as SIGBREAK, a name POSIX lacks: a spare signal
    # stands in for it
    monkeypatch.setattr(signal, "SIGBREAK", signal.SIGUSR1, raising=False)
    assert signal.SIGUSR1 in stop_signals()
    before = signal.getsignal(signal.SIGUSR1)
    stop = threading.Event()
    with stop_on_signals(stop):
        signal.raise_signal(signal.SIGUSR1)
        assert stop.is_set()
    assert signal.getsignal(signal.SIGUSR1) == before


def test_without_sigbreak_only_ctrl_c_and_sigterm_are_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(signal, "SIGBREAK", raising=False)
    assert stop_signals() == [signal.SIGINT, signal.SIGTERM]


# --- line endings ------------------------------------------------------------------------------


def test_sources_with_windows_line_endings_give_the_same_wiki(tmp_path: Path) -> None:
    wikis = []
    for ending in (b"\n", b"\r\n"):
        vault_root = tmp_path / ("crlf" if ending == b"\r\n" else "lf")
        done = subprocess.run(
            [sys.executable, "-m", "llmwiki", "init", str(vault_root)],
            capture_output=True,
            text=True,
            env={**os.environ, **NO_LLM},
        )
        assert done.returncode == 0, done.stderr
        for sample in SAMPLES:
            data = sample.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", ending)
            (vault_root / "inbox" / sample.name).write_bytes(data)
        done = subprocess.run(
            [sys.executable, "-m", "llmwiki", "--vault", str(vault_root), "ingest", "--no-commit"],
            capture_output=True,
            text=True,
            env={**os.environ, **NO_LLM, "WIKI_ENGINE": "extractive"},
        )
        assert done.returncode == 0, done.stdout + done.stderr
        wiki = {}
        for page in sorted((vault_root / "wiki").rglob("*.md")):
            data = page.read_bytes()
            assert b"\r" not in data, page
            # the hash of the bytes differs, and only it
            lines = [x for x in data.split(b"\n") if not x.startswith(b"sha256: ")]
            wiki[page.relative_to(vault_root).as_posix()] = lines
        wikis.append(wiki)
    assert wikis[0] == wikis[1]


def _text_mode_writes(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Calls that would change line endings on Windows: a text-mode open for writing without
    newline=, Path.write_text without newline=, os.open in a function that never names
    O_BINARY (without it the C runtime reads and writes in text mode)."""
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if not isinstance(node, ast.Call):
                continue
            keywords = {k.arg for k in node.keywords}
            func = node.func
            if isinstance(func, ast.Name) and func.id == "open":
                given = [*node.args[1:2], *(k.value for k in node.keywords if k.arg == "mode")]
                mode = str(given[0].value) if given and isinstance(given[0], ast.Constant) else "r"
                if set(mode) & set("wax+") and "b" not in mode and "newline" not in keywords:
                    yield node.lineno, f"open(..., {mode!r}) without newline="
            elif not isinstance(func, ast.Attribute):
                continue
            elif func.attr == "write_text" and "encoding" in keywords and "newline" not in keywords:
                yield node.lineno, "Path.write_text without newline="
            elif (
                func.attr == "open"
                and isinstance(func.value, ast.Name)
                and func.value.id == "os"
                and "BINARY" not in ast.unparse(function)
            ):
                yield node.lineno, "os.open without O_BINARY"


def test_no_file_is_opened_in_a_mode_that_changes_line_endings_on_windows() -> None:
    found = [
        f"{path.relative_to(REPO).as_posix()}:{line}: {what}"
        for path in sorted(SRC.rglob("*.py"))
        for line, what in _text_mode_writes(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert found == []
