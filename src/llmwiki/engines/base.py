"""The Engine protocol and the values that cross it.

An engine turns a source into facts (`extract`), confirms whether a mention is an existing page
(`same_entity`), and decides which new facts a page lacks and which contradict it (`merge`).
Engines never touch files: the ingest pipeline decides every path, link and write, so whatever an
engine returns can only ever become page content.

Two engines implement it: `llmwiki.llm.LLMEngine` (any OpenAI-compatible server) and
`llmwiki.engines.extractive.engine.ExtractiveEngine` (offline, deterministic, the default).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

EntityKind = Literal["person", "concept"]
ContradictionKind = Literal["factual", "changed_over_time", "differing_opinions"]


@dataclass(frozen=True)
class Usage:
    """Tokens and calls spent; engines return one with every result so runs can be costed."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.calls + other.calls,
        )

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class SourceDoc:
    """A document read from the inbox, as plain text plus what its file said about itself."""

    name: str  # file name as dropped in the inbox
    text: str
    sha256: str  # of the raw bytes, so the same content under another name is recognised
    title: str
    meta: Mapping[str, str] = field(default_factory=dict)  # url, author, published, ...
    path: Path | None = None
    # each link's (text, target) from before links became their text: "[s3-ocr](…/s3-ocr)"
    # tells the extractive engine that "s3-ocr" names a project
    links: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Fact:
    """One statement taken from a source.

    `quote` is a verbatim passage of the source supporting the statement, or "" when there is
    none; the pipeline checks it against the source text and drops it when it is not there.
    """

    statement: str
    quote: str = ""


@dataclass(frozen=True)
class Mention:
    """A person or concept a source talks about, with the facts the source gives about it."""

    name: str
    kind: EntityKind
    description: str = ""  # one line, used as the lead of a new page
    aliases: tuple[str, ...] = ()
    facts: tuple[Fact, ...] = ()


@dataclass(frozen=True)
class Extraction:
    title: str
    summary: str
    claims: tuple[Fact, ...]  # the source's key claims, for its source page
    mentions: tuple[Mention, ...]
    usage: Usage = Usage()


@dataclass(frozen=True)
class Candidate:
    """An existing page that a mention might be (shown to an engine to confirm)."""

    title: str
    kind: str
    aliases: tuple[str, ...] = ()
    summary: str = ""


@dataclass(frozen=True)
class Verdict:
    same: bool
    usage: Usage = Usage()


@dataclass(frozen=True)
class KnownFact:
    """A fact already on a page: the bullet's text and the source page it cites."""

    text: str
    source: str  # title of the cited source page ("" when the bullet cites none)
    date: str = ""  # that source's date, YYYY-MM-DD when known


@dataclass(frozen=True)
class Contradiction:
    """A new fact that disagrees with a fact already on the page, between two sources."""

    existing: KnownFact
    new: Fact
    kind: ContradictionKind
    reasoning: str = ""


@dataclass(frozen=True)
class Merge:
    """What to add to a page: the new facts it lacks, and where they contradict what it says."""

    new_facts: tuple[Fact, ...]
    contradictions: tuple[Contradiction, ...] = ()
    usage: Usage = Usage()


@dataclass(frozen=True)
class OverviewSentence:
    """One sentence of an overview and the titles of the source pages it rests on."""

    text: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class OverviewDraft:
    """An overview an engine wrote for a page, before code checks it."""

    sentences: tuple[OverviewSentence, ...]
    usage: Usage = Usage()


class Engine(Protocol):
    """What the ingest pipeline needs from an engine. Implementations must be thread-safe."""

    name: str

    def extract(self, doc: SourceDoc, known_titles: Sequence[str]) -> Extraction:
        """Read a source. `known_titles` is a bounded list of existing page titles the source
        seems to mention, so the engine can reuse their spelling instead of inventing new ones."""
        ...

    def same_entity(self, mention: Mention, candidate: Candidate) -> Verdict:
        """Is `mention` the entity that `candidate`'s page is about?"""
        ...

    def merge(
        self, title: str, known: Sequence[KnownFact], new: Sequence[Fact], source: str
    ) -> Merge:
        """Given a page's facts and the new facts about it from `source`, return the facts the
        page lacks and the contradictions between the new facts and the page's (never the engine's
        own knowledge)."""
        ...

    def estimate(self, doc: SourceDoc) -> Usage:
        """What ingesting `doc` would cost, without calling anything."""
        ...


@runtime_checkable
class OverviewWriter(Protocol):
    """An engine that writes a page's overview itself (the LLM engine); the others get the
    overview the pipeline compiles."""

    def write_overview(
        self,
        title: str,
        previous: str,
        facts: Sequence[KnownFact],
        contradictions: str,
        problems: Sequence[str] = (),
    ) -> OverviewDraft:
        """The page's overview from its previous one and its facts (`contradictions`: the open
        ones, as the page shows them); `problems` are what code found wrong with the last
        draft, for a repair."""
        ...
