"""kill -9 at many points of an LLM-backed ingest: every page stays whole, and the next run
finishes each source exactly once."""

from __future__ import annotations

import difflib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLES, assert_links_resolve, git
from fake_openai import FakeOpenAI

from llmwiki.catalog import Catalog
from llmwiki.content import FACTS_HEADING
from llmwiki.errors import ContradictionError
from llmwiki.identity import fact_key
from llmwiki.manifest import Manifest
from llmwiki.pages import read, section_lines
from llmwiki.vault import Vault, init_vault

KILLS = 24


def start(vault: Vault, fake: FakeOpenAI) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "WIKI_MODEL": "fake",
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_API_KEY": "sk-test",
        "WIKI_ENGINE": "",
        "WIKI_JOBS": "4",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "llmwiki", "--vault", str(vault.root), "ingest", "--no-commit"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def check_whole(vault: Vault) -> None:
    """Every page parses; no bullet appears twice on a page."""
    for path in vault.wiki.rglob("*.md"):
        if path.name in ("index.md", "log.md", "contradictions.md"):
            assert path.read_text(encoding="utf-8").startswith("# ")
            continue
        page = read(path)  # raises on a torn frontmatter
        assert page.meta.get("title") and page.meta.get("type"), path
        facts = [
            fact_key(line)
            for line in section_lines(page.body, FACTS_HEADING)
            if line.startswith("- ")
        ]
        assert len(facts) == len(set(facts)), f"duplicate fact on {path.name}"


def check_complete(vault: Vault) -> None:
    assert sorted(p.name for p in vault.raw.iterdir()) == sorted(p.name for p in SAMPLES)
    assert [p for p in vault.inbox.iterdir() if p.is_file()] == []
    assert len(Manifest.load(vault).sources) == len(SAMPLES)
    sources = [e for e in Catalog.scan(vault.wiki) if e.type == "source"]
    assert len(sources) == len(SAMPLES)
    log = (vault.wiki / "log.md").read_text(encoding="utf-8")
    for source in sources:
        assert log.count(f"- source: [[{source.stem}]]\n") == 1, source.stem
    assert_links_resolve(vault)
    assert not list(vault.root.rglob(".tmp-*.part"))


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_kill_9_anywhere_then_rerun(tmp_path: Path) -> None:
    with FakeOpenAI(latency=0.03) as fake:
        # how long an undisturbed run takes, to spread the kills over it
        probe = init_vault(tmp_path / "probe")[0]
        for sample in SAMPLES:
            shutil.copy(sample, probe.inbox)
        began = time.monotonic()
        assert start(probe, fake).wait(timeout=120) == 0
        duration = time.monotonic() - began
        check_complete(probe)
        reference = {p.relative_to(probe.wiki).as_posix() for p in probe.wiki.rglob("*.md")}

        states = set()
        for n in range(KILLS):
            vault = init_vault(tmp_path / f"kill{n}")[0]
            for sample in SAMPLES:
                shutil.copy(sample, vault.inbox)
            process = start(vault, fake)
            # Kills are placed by progress, not by a clock (a loaded machine stretches a run):
            # wait until `stage` sources are archived, then a little longer each time.
            stage, step = n % len(SAMPLES), n // len(SAMPLES)
            deadline = time.monotonic() + 60
            while (
                len(list(vault.raw.iterdir())) < stage
                and process.poll() is None
                and time.monotonic() < deadline
            ):
                time.sleep(0.002)
            time.sleep(step * duration / (KILLS // len(SAMPLES)) / len(SAMPLES))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            states.add(
                (
                    len(list(vault.raw.iterdir())),
                    len(list(vault.wiki.rglob("*.md"))),
                    len(Manifest.load(vault).sources),
                    len([p for p in vault.inbox.iterdir() if p.is_file()]),
                )
            )
            check_whole(vault)
            assert start(vault, fake).wait(timeout=120) == 0
            check_whole(vault)
            check_complete(vault)
            assert {
                p.relative_to(vault.wiki).as_posix() for p in vault.wiki.rglob("*.md")
            } == reference
    # the kills landed at different stages of the run: before any write and after each source
    assert len(states) >= 4, states


def without_tokens(page: bytes) -> bytes:
    return re.sub(rb"\ntokens: \d+\n", b"\n", page)


class Crash(BaseException):
    """Stands for the process dying: nothing catches it and nothing after it runs."""


def test_a_crash_at_every_write_then_rerun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deterministic complement to the kill -9 test: stop the first run at each of its file
    operations in turn (every page, the index, the log, the archive copy, the manifest, the
    inbox), then rerun, and check the vault ends as if nothing had happened."""
    import importlib

    from conftest import TODAY, KeywordEngine

    # by module path: the package re-exports a function named `ingest`
    ingest_module = importlib.import_module("llmwiki.ingest")
    vault_module = importlib.import_module("llmwiki.vault")
    inbox_module = importlib.import_module("llmwiki.inbox")
    from llmwiki.ingest import Options, ingest

    engine = KeywordEngine(
        {"Priya Raman": "person", "Tomas Berg": "person", "KV-Lite": "concept", "GRPO": "concept"},
        {"Priya Raman": ["Raman"], "Tomas Berg": ["Berg"]},
    )
    reference = init_vault(tmp_path / "reference")[0]
    for sample in SAMPLES:
        shutil.copy(sample, reference.inbox)
    ingest(reference, engine, Options(today=TODAY))  # type: ignore[arg-type]
    # every page as an uninterrupted run writes it, but for what the resumed run spent in
    # tokens, and the log's wording of a resumed entry (check_complete: each source once)
    expected = {
        p.relative_to(reference.root).as_posix(): without_tokens(p.read_bytes())
        for p in sorted(reference.wiki.rglob("*.md"))
        if p.name != "log.md"
    }

    operations = {
        (vault_module, "atomic_write"),
        (ingest_module, "atomic_write"),
        (ingest_module.Manifest, "add"),
        (ingest_module._Run, "_log"),
        (inbox_module, "leave_inbox"),
    }
    originals = {(owner, name): getattr(owner, name) for owner, name in operations}
    point = 0
    while True:
        vault = init_vault(tmp_path / f"crash{point}")[0]
        for sample in SAMPLES:
            shutil.copy(sample, vault.inbox)
        calls = [0]

        def counting(original: object, target: int = point, calls: list[int] = calls) -> object:
            def wrapper(*args: object, **kwargs: object) -> object:
                calls[0] += 1
                if calls[0] == target + 1:
                    raise Crash
                return original(*args, **kwargs)  # type: ignore[operator]

            return wrapper

        for (owner, name), original in originals.items():
            monkeypatch.setattr(owner, name, counting(original))
        try:
            ingest(vault, engine, Options(today=TODAY))  # type: ignore[arg-type]
            crashed = False
        except Crash:
            crashed = True
        for (owner, name), original in originals.items():
            monkeypatch.setattr(owner, name, original)
        if not crashed:
            break  # every operation of a whole run has been a crash point
        check_whole(vault)
        ingest(vault, engine, Options(today=TODAY))  # type: ignore[arg-type]
        check_complete(vault)
        got = {
            p.relative_to(vault.root).as_posix(): without_tokens(p.read_bytes())
            for p in sorted(vault.wiki.rglob("*.md"))
            if p.name != "log.md"
        }
        for name in sorted(set(got) | set(expected)):
            assert got.get(name) == expected.get(name), (
                point,
                name,
                "".join(
                    difflib.unified_diff(
                        expected.get(name, b"").decode().splitlines(True),
                        got.get(name, b"").decode().splitlines(True),
                    )
                ),
            )
        point += 1
    assert point >= 20  # crash points exercised


# --- the other commands that write: merge, lint --fix, contradictions resolve, undo ---------
#
# Each is stopped at every one of its file operations in turn (the deterministic way), then
# checked as the ingest is: every page parses, no line of the wiki is lost, and running the
# command again ends with the vault exactly as one uninterrupted run leaves it.

_LINK = re.compile(r"\[\[([^\]|]*)(?:\|([^\]]*))?\]\]")


def shown_lines(vault: Vault) -> set[str]:
    """The text lines of every page, as a reader sees them (a link shows its display text,
    callout headers and the regenerated Related list aside): what may move, never vanish."""
    found: set[str] = set()
    for path in vault.wiki.rglob("*.md"):
        if path.name in ("index.md", "log.md", "contradictions.md"):
            continue
        related = False
        for line in read(path).body.split("\n"):
            if line.startswith("## "):
                related = line.strip() == "## Related"
                continue
            if related or not line.strip() or line.startswith("> [!"):
                continue
            found.add(_LINK.sub(lambda m: (m.group(2) or m.group(1)).strip(), line).strip())
    return found


def content(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not {".git", ".wiki"} & set(p.relative_to(root).parts)
    }


def _wiki_modules() -> list[object]:
    return [m for name, m in sorted(sys.modules.items()) if name.startswith("llmwiki") and m]


def crash_at_every_write(
    monkeypatch: pytest.MonkeyPatch,
    prepared: Path,
    scratch: Path,
    command: Callable[[Vault], object],
    done: Callable[[Vault], bool],
    keeps_lines: bool = True,
) -> int:
    """Copy the vault `prepared` and run `command` on the copy, crashing at its first, second,
    ... file operation until it runs through; after each crash, check the vault and run the
    command again (unless `done` says the first run finished the job). Returns the number of
    crash points."""
    reference_vault = Vault(scratch / "reference")
    shutil.copytree(prepared, reference_vault.root, symlinks=True)
    command(reference_vault)
    reference = content(reference_vault.root)
    lines_before = shown_lines(Vault(prepared))

    import pathlib

    from llmwiki import vault as vault_module

    # every way these commands change a file: atomic writes (in each module that imported
    # the function), appends to the log, removals, renames, and git's add and commit
    targets: list[tuple[object, str]] = [
        (m, "atomic_write") for m in _wiki_modules() if hasattr(m, "atomic_write")
    ]
    targets += [(vault_module.Vault, "append_log"), (pathlib.Path, "unlink"), (os, "replace")]
    history = sys.modules["llmwiki.history"]
    originals = {(owner, name): getattr(owner, name) for owner, name in targets}
    original_run = history._run  # type: ignore[attr-defined]
    point = 0
    while True:
        vault = Vault(scratch / f"crash{point}")
        shutil.copytree(prepared, vault.root, symlinks=True)
        calls = [0]

        def tick(target: int = point, calls: list[int] = calls) -> None:
            calls[0] += 1
            if calls[0] == target + 1:
                raise Crash

        def counting(original: Any) -> Any:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                tick()
                return original(*args, **kwargs)

            return wrapper

        def git_run(root: Path, args: Any, **kwargs: Any) -> Any:
            words = [a for a in args if not a.startswith("-")][:1]
            if words and words[0] in ("add", "commit", "commit-tree", "update-ref"):
                tick()
            return original_run(root, args, **kwargs)

        for (owner, name), original in originals.items():
            monkeypatch.setattr(owner, name, counting(original))
        monkeypatch.setattr(history, "_run", git_run)
        try:
            command(vault)
            crashed = False
        except Crash:
            crashed = True
        for (owner, name), original in originals.items():
            monkeypatch.setattr(owner, name, original)
        monkeypatch.setattr(history, "_run", original_run)
        if not crashed:
            return point
        check_whole(vault)
        if keeps_lines:
            assert lines_before <= shown_lines(vault), (point, lines_before - shown_lines(vault))
        if not done(vault):
            command(vault)
        got = content(vault.root)
        for name in sorted(set(got) | set(reference)):
            assert got.get(name) == reference.get(name), (
                point,
                name,
                "".join(
                    difflib.unified_diff(
                        reference.get(name, b"").decode().splitlines(True),
                        got.get(name, b"").decode().splitlines(True),
                    )
                ),
            )
        assert not list(vault.wiki.rglob(".tmp-*.part")), point
        point += 1


def ingested(
    root: Path, entities: dict[str, str], aliases: dict[str, list[str]] | None = None
) -> Vault:
    from conftest import KeywordEngine, run

    vault = init_vault(root)[0]
    for sample in SAMPLES:
        shutil.copy(sample, vault.inbox)
    assert run(vault, KeywordEngine(entities, aliases)).ok  # type: ignore[arg-type]
    return vault


DUPLICATES = {
    "Priya Raman": "person",
    "Raman": "person",
    "Tomas Berg": "person",
    "KV-Lite": "concept",
}


def test_merge_stopped_at_every_write_then_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import TODAY

    from llmwiki.errors import MergeError
    from llmwiki.merge_pages import merge_pages

    prepared = ingested(tmp_path / "prepared", DUPLICATES)

    def merge(vault: Vault) -> None:
        merge_pages(vault, "Priya Raman", "Raman", TODAY)

    def done(vault: Vault) -> bool:
        try:
            merge_pages(vault, "Priya Raman", "Raman", TODAY)
        except MergeError:
            return True  # refused: nothing left to merge, and nothing was changed
        return True

    points = crash_at_every_write(monkeypatch, prepared.root, tmp_path, merge, done)
    assert points >= 8


def test_lint_fix_stopped_at_every_write_then_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmwiki.lint import lint

    prepared = ingested(tmp_path / "prepared", DUPLICATES)
    # mechanical repairs on several pages: links by a differently cased name, a scalar where
    # a list belongs, and a stale index
    for path in prepared.wiki.rglob("*.md"):
        text = path.read_text(encoding="utf-8").replace("[[Tomas Berg]]", "[[tomas berg]]")
        path.write_text(text.replace("tags:\n- source\n", "tags: source\n"), encoding="utf-8")
    (prepared.wiki / "index.md").write_text("# Index\n\nstale\n", encoding="utf-8")

    points = crash_at_every_write(
        monkeypatch, prepared.root, tmp_path, lambda v: lint(v, fix=True), lambda v: False
    )
    assert points >= 6


def contradicting(root: Path) -> tuple[Vault, str]:
    """A vault where one claim about two entities changed between two sources: one
    contradiction, shown on both pages. Returns it and the contradiction's id."""
    from conftest import drop, run
    from test_contradictions import NumberEngine

    from llmwiki import contradictions

    prepared = init_vault(root)[0]
    engine = NumberEngine({"KV-Lite": "concept", "Northwind": "concept"})
    for name, title, day, share in (
        ("1.md", "Old", "2025-03-02", 40),
        ("2.md", "New", "2025-06-10", 55),
    ):
        drop(
            prepared,
            name,
            f"---\ntitle: {title}\npublished: {day}\n---\n"
            f"Northwind says KV-Lite cuts memory by {share} percent.\n",
        )
        run(prepared, engine)
    [cid] = {item.id for item in contradictions.scan(prepared)}
    return prepared, cid


def test_contradiction_resolve_stopped_at_every_write_then_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmwiki import contradictions

    prepared, cid = contradicting(tmp_path / "prepared")
    assert len(contradictions.scan(prepared)) == 2

    def resolve(vault: Vault) -> None:
        try:
            contradictions.resolve(vault, cid, "the newer release", "2026-01-20")
        except ContradictionError as exc:
            # run again after the pages were all written: it says so, and completes the rest
            assert "already resolved on 2026-01-20" in str(exc)

    points = crash_at_every_write(monkeypatch, prepared.root, tmp_path, resolve, lambda v: False)
    assert points >= 3


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_undo_stopped_at_every_write_then_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import TODAY, KeywordEngine

    from llmwiki.history import undo
    from llmwiki.ingest import Options, ingest

    prepared = init_vault(tmp_path / "prepared")[0]
    git(prepared.root, "init", "-q")
    git(prepared.root, "add", "-A")
    git(prepared.root, "commit", "-q", "-m", "a new vault")
    (prepared.inbox / "zz-draft.txt").write_text("not for the wiki yet\n", encoding="utf-8")
    engine = KeywordEngine(DUPLICATES)
    for sample in SAMPLES[:2]:
        shutil.copy(sample, prepared.inbox)
        ingest(prepared, engine, Options(today=TODAY, commit=True), [prepared.inbox / sample.name])  # type: ignore[arg-type]
    undone = git(prepared.root, "rev-parse", "HEAD").strip()
    git(prepared.root, "gc", "--quiet")  # one pack instead of many files, copied per point

    def done(vault: Vault) -> bool:
        return f"This reverts commit {undone}" in git(vault.root, "log", "-1", "--format=%b")

    def source_kept(vault: Vault) -> None:
        # at every moment the undone source's bytes are in raw/ or back in the inbox
        name = SAMPLES[1].name
        assert (vault.raw / name).exists() or (vault.inbox / name).exists()

    def run_undo(vault: Vault) -> None:
        undo(vault)

    def checked_undo(vault: Vault) -> None:
        try:
            run_undo(vault)
        finally:
            source_kept(vault)

    points = crash_at_every_write(
        monkeypatch, prepared.root, tmp_path, checked_undo, done, keeps_lines=False
    )
    assert points >= 6
