"""Random titles, entity names, frontmatter values and inbox file names through ingest.

Whatever comes in, a run never aborts, every page parses, every link resolves by Obsidian's
rules (checked here by a resolver written independently of the package's), `wiki lint` exits
0 and nothing outside the vault is read. `HYPOTHESIS_PROFILE=thorough` runs 8 times as many
examples.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import frontmatter
import yaml
from click.testing import CliRunner
from conftest import NO_LLM, TODAY
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from llmwiki.cli import cli
from llmwiki.engines import (
    Candidate,
    Extraction,
    Fact,
    KnownFact,
    Mention,
    Merge,
    SourceDoc,
    Usage,
    Verdict,
)
from llmwiki.ingest import Options, ingest
from llmwiki.pages import read
from llmwiki.vault import init_vault

settings.register_profile(
    "default", max_examples=100, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.register_profile(
    "thorough", max_examples=800, deadline=None, suppress_health_check=list(HealthCheck)
)
# while debugging: the first failure as drawn, without minutes of shrinking
settings.register_profile(
    "debug",
    max_examples=200,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
    report_multiple_bugs=False,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

SECRET = "correct-horse-battery-staple"
# Names that broke a tool like this one, or that Obsidian, YAML, Windows or macOS read specially
TRICKY = [
    *("notes.md", "Index.md", "index", "log", "contradictions", "CON", "nul.txt", "a/b"),
    *("../../etc/passwd", "..", ".", " ", ".hidden", "~$draft", "x%%y", "==mark==", "> quote"),
    *("^block", "![[embed]]", "[[link]]", "a|b", "#tag", "A\nB", "a\r\nb", "GPT", "Gpt", "gpt"),
    *("Café", unicodedata.normalize("NFD", "Café"), "x" * 300, "é" * 130, "- item", "yes"),
    *("null", "2025-02-30", "12:30", "@at", "`code`", "$x$", "<b>bold</b>", "Andrej Karpathy"),
    *("Karpathy", "Retrieval-Augmented Generation", "RAG", "O'Brien", "Ω", "🙂 smile"),
]
name_text = st.one_of(
    st.sampled_from(TRICKY),
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40),
    st.builds(lambda a, b: f"{a} {b}", st.sampled_from(TRICKY), st.sampled_from(TRICKY)),
)
# a frontmatter value as a user's file may hold it, written verbatim into the YAML
yaml_value = st.one_of(
    name_text.map(lambda s: yaml.safe_dump(s, default_flow_style=True, width=1e9).strip()),
    st.sampled_from(
        [
            *("2025-02-30", "2025-13-45", "2024-02-29", "1999-01-01T25:61:00", "0000-00-00"),
            *("[1, 2]", "{a: 1}", "~", "''", "yes", "1e400", "-.inf", "!!binary aGk=", "&a x"),
            *('"[[Andrej Karpathy]]"', "['[[A]]', '[[B]]']", "|\n  block\n  text"),
        ]
    ),
)
FIELDS = ("title", "author", "published", "date", "created", "source", "url", "tags")
file_name = st.one_of(
    st.sampled_from(["a.md", "notes.md.md", "x" * 250 + ".md", "CON.txt", "é" * 120 + ".md"]),
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=60).map(
        lambda s: s + ".md"
    ),
).filter(lambda n: "/" not in n and "\x00" not in n and len(n.encode()) <= 255)


class FuzzEngine:
    """Returns whatever names, aliases, summaries and facts the test drew, like an LLM would."""

    name = "fuzz"

    def __init__(self, mentions: Sequence[tuple[str, str, Sequence[str]]], title: str) -> None:
        self.mentions = mentions
        self.title = title

    def extract(self, doc: SourceDoc, known_titles: Sequence[str]) -> Extraction:
        lines = [line for line in doc.text.splitlines() if line.strip()]
        mentions = tuple(
            Mention(
                name,
                "person" if kind == "person" else "concept",
                f"{name} is {kind}.",
                tuple(aliases),
                (Fact(f"{name} appears in {self.title}.", lines[i % len(lines)]),),
            )
            for i, (name, kind, aliases) in enumerate(self.mentions)
        )
        claims = tuple(Fact(line, line) for line in lines[:3])
        return Extraction(self.title, f"About {self.title}.", claims, mentions, Usage(1, 1, 1))

    def same_entity(self, mention: Mention, candidate: Candidate) -> Verdict:
        return Verdict(False)

    def merge(
        self, title: str, known: Sequence[KnownFact], new: Sequence[Fact], source: str
    ) -> Merge:
        return Merge(tuple(new), ())

    def estimate(self, doc: SourceDoc) -> Usage:
        return Usage()


@contextmanager
def reads_of(folder: Path) -> Iterator[list[str]]:
    """Every file opened under `folder` while the block runs (by Python's audit events)."""
    seen: list[str] = []
    prefix = str(folder)

    def hook(event: str, args: tuple[object, ...]) -> None:
        if active and event == "open" and str(args[0]).startswith(prefix):
            seen.append(str(args[0]))

    active = True
    sys.addaudithook(hook)  # hooks cannot be removed: the flag retires this one
    try:
        yield seen
    finally:
        active = False


_LINK = re.compile(r"\[\[([^\[\]\n]*?)\]\]")
# inline code inside a link's brackets is part of a title here (a file may be named so)
_CODE = re.compile(r"```.*?```|`[^`\n\[\]]*`(?![^\[\n]*\]\])", re.S)


def obsidian_targets(text: str) -> list[str]:
    """Link targets as Obsidian reads them: not in code; `|` starts the shown text (`\\|` in a
    table), `#` a heading; a trailing `.md` is the extension."""
    targets = []
    for match in _LINK.finditer(_CODE.sub("", text)):
        target = re.split(r"\\?\||#", match.group(1), maxsplit=1)[0].strip()
        if target.lower().endswith(".md"):
            target = target[:-3]
        targets.append(target)
    return targets


def strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def check_vault(root: Path) -> None:
    wiki = root / "wiki"
    pages = sorted(wiki.rglob("*.md"))
    folded = [
        unicodedata.normalize("NFC", p.relative_to(wiki).as_posix()).casefold() for p in pages
    ]
    assert len(set(folded)) == len(folded), "two files collide on a case-insensitive disk"
    names = {unicodedata.normalize("NFC", p.stem).casefold() for p in pages}
    paths = {
        unicodedata.normalize("NFC", p.relative_to(wiki).as_posix()[:-3]).casefold() for p in pages
    }
    # other files, such as the copies of the originals, are linked by their path
    paths |= {
        unicodedata.normalize("NFC", p.relative_to(wiki).as_posix()).casefold()
        for p in wiki.rglob("*")
        if p.is_file() and p.suffix != ".md" and ".obsidian" not in p.parts
    }
    for page in pages:
        text = page.read_text(encoding="utf-8")
        post = frontmatter.loads(text)  # an independent parse of what we wrote
        assert isinstance(post.metadata, dict), page
        read(page)
        values = " ".join(strings(post.metadata))  # Obsidian links from text properties too
        for target in obsidian_targets(values) + obsidian_targets(post.content):
            key = unicodedata.normalize("NFC", target).casefold()
            assert not target or key in names or key in paths, f"{page.name}: [[{target}]]"
        assert SECRET not in text


@given(
    title=name_text,
    fields=st.dictionaries(st.sampled_from(FIELDS), yaml_value, max_size=4),
    files=st.lists(file_name, min_size=1, max_size=3, unique_by=lambda n: n.casefold()),
    mentions=st.lists(
        st.tuples(
            name_text, st.sampled_from(["person", "concept"]), st.lists(name_text, max_size=2)
        ),
        min_size=1,
        max_size=5,
    ),
    link_outside=st.booleans(),
)
def test_random_input_never_breaks_the_wiki(
    title: str,
    fields: dict[str, str],
    files: list[str],
    mentions: list[tuple[str, str, list[str]]],
    link_outside: bool,
) -> None:
    base = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        outside = base / "outside"
        outside.mkdir()
        (outside / "secret.md").write_text(f"# {SECRET}\n\n{SECRET} is the password.\n")
        vault = init_vault(base / "kb")[0]
        header = "".join(f"{key}: {value}\n" for key, value in fields.items())
        body = "\n\n".join(f"{name} works with {title}." for name, _, _ in mentions)
        for n, name in enumerate(files):
            text = f"---\n{header}---\n\n# {title}\n\n{body}\n\nPart {n} of the fuzz.\n"
            (vault.inbox / name).write_bytes(text.encode("utf-8"))
        if link_outside:
            (vault.inbox / "linked.md").symlink_to(outside / "secret.md")
        engine = FuzzEngine(mentions, title)
        with reads_of(outside) as seen:
            report = ingest(vault, engine, Options(today=TODAY))  # type: ignore[arg-type]
        assert not seen, f"read outside the vault: {seen}"
        for result in report.results:
            assert result.status in ("ingested", "skipped", "failed"), result
            if result.status == "failed":  # quarantined with its reason, never left to block
                notes = list(vault.failed.glob("*.error.txt")) if vault.failed.is_dir() else []
                assert notes, result
        assert vault.pending() == [], "a file was left to stop the next run"
        check_vault(vault.root)
        lint = CliRunner().invoke(cli, ["--vault", str(vault.root), "lint"], env=NO_LLM)
        assert lint.exit_code == 0, lint.output
    finally:
        shutil.rmtree(base, ignore_errors=True)
