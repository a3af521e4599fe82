"""Shared fixtures. Tests never need a network or an API key."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest

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
from llmwiki.identity import normalize_key
from llmwiki.ingest import IngestReport, Options, ingest
from llmwiki.pages import parse_links
from llmwiki.vault import Vault, init_vault

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
TODAY = date(2026, 1, 15)
SAMPLES = sorted(
    (REPO / "samples").glob("*.*")
)  # the repo's own sample articles: the demo copies, never moves, them
# what the samples are about, for KeywordEngine
SAMPLE_ENTITIES = {
    "Priya Raman": "person",
    "Tomas Berg": "person",
    "Lena Okafor": "person",
    "KV-Lite": "concept",
    "Retrieval-Augmented Generation": "concept",
    "GRPO": "concept",
    "Lighthouse": "concept",
}
SAMPLE_ALIASES: dict[str, Sequence[str]] = {
    "Priya Raman": ["Raman"],
    "Tomas Berg": ["Berg"],
    "Lena Okafor": ["Okafor"],
    "Retrieval-Augmented Generation": ["RAG"],
}
# a `wiki` command's environment with no LLM configured and a fixed date
NO_LLM = {
    "WIKI_MODEL": "",
    "OPENAI_BASE_URL": "",
    "OPENAI_API_KEY": "",
    "WIKI_ENGINE": "",
    "WIKI_VAULT": "",
    "SOURCE_DATE_EPOCH": "1768435200",
}


@pytest.fixture
def corpus() -> list[Path]:
    """The shared real-world documents; absent in a user's clone, so tests skip there."""
    files = sorted(CORPUS.glob("*.txt")) if CORPUS.is_dir() else []
    if not files:
        pytest.skip(f"shared corpus not found at {CORPUS} (only present in the dev workspace)")
    return files


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    return init_vault(tmp_path / "kb")[0]


def git(root: Path, *args: str) -> str:
    """Run git in `root` (with an identity, for machines that have none) and return its output."""
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def drop(vault: Vault, name: str, text: str | bytes) -> Path:
    path = vault.inbox / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def run(vault: Vault, engine: object, **kwargs: object) -> IngestReport:
    options = Options(today=kwargs.pop("today", TODAY), **kwargs)  # type: ignore[arg-type]
    return ingest(vault, engine, options)  # type: ignore[arg-type]


def wiki_files(vault: Vault) -> dict[str, bytes]:
    return {
        p.relative_to(vault.root).as_posix(): p.read_bytes()
        for p in sorted(vault.wiki.rglob("*"))
        if p.is_file()
    }


def assert_links_resolve(vault: Vault) -> None:
    """Every link in wiki/ names a page by its file name, or a file (an original's copy, an
    image) by its path from wiki/, as Obsidian finds them."""
    stems = {p.stem for p in vault.wiki.rglob("*.md")}
    for page in vault.wiki.rglob("*.md"):
        for link in parse_links(page.read_text(encoding="utf-8")):
            found = link.target in stems or (vault.wiki / link.target).is_file()
            assert found, f"{page.name} links to missing [[{link.target}]]"


class KeywordEngine:
    """A scripted engine for pipeline tests: it knows a fixed list of entities and reports
    every sentence of a source that names one of them."""

    name = "keyword"

    def __init__(
        self,
        entities: dict[str, str],
        aliases: dict[str, Sequence[str]] | None = None,
        same: Sequence[tuple[str, str]] = (),
        quote_suffix: str = "",
    ) -> None:
        self.entities = entities  # name -> kind
        self.aliases = aliases or {}
        self.same = {(normalize_key(a), normalize_key(b)) for a, b in same}
        self.quote_suffix = quote_suffix
        self.merges: list[tuple[str, list[KnownFact], list[Fact]]] = []

    def extract(self, doc: SourceDoc, known_titles: Sequence[str]) -> Extraction:
        sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", doc.text) if s.strip()]
        mentions = []
        for name, kind in self.entities.items():
            names = [name, *self.aliases.get(name, ())]
            facts = tuple(
                Fact(s, s + self.quote_suffix) for s in sentences if any(n in s for n in names)
            )
            if facts:
                mentions.append(Mention(name, kind, "", tuple(self.aliases.get(name, ())), facts))
        claims = tuple(Fact(s, s) for s in sentences[:2])
        return Extraction(
            doc.title, sentences[0] if sentences else "", claims, tuple(mentions), Usage(10, 5, 1)
        )

    def same_entity(self, mention: Mention, candidate: Candidate) -> Verdict:
        pair = (normalize_key(mention.name), normalize_key(candidate.title))
        return Verdict(pair in self.same, Usage(3, 1, 1))

    def merge(
        self, title: str, known: Sequence[KnownFact], new: Sequence[Fact], source: str
    ) -> Merge:
        self.merges.append((title, list(known), list(new)))
        return Merge(tuple(new), (), Usage(4, 2, 1) if known else Usage())

    def estimate(self, doc: SourceDoc) -> Usage:
        return Usage(len(doc.text) // 4, 10, 1)
