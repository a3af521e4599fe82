"""The engines: what turns a source into facts and a question into an answer.

- `base`: the Engine protocol and the values that cross it (SourceDoc, Extraction, Merge, …).
- `answerer`: the Answerer protocol of `wiki ask`, which both engines' answerers implement.
- `extractive/`: the embedded engine, offline and deterministic, the default.
- `llm/`: the engine on any OpenAI-compatible server: its client (modes, retries, backoff,
  error wording), structured output, the ingest engine and the answerer.

`open_engine` and `open_answerer` pick one from a Config. They import the chosen engine only
when called, so the extractive path never loads openai, and neither engine imports this module:
they import `base` and `answerer`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from llmwiki.engines.base import (
    Candidate,
    Contradiction,
    ContradictionKind,
    Engine,
    EntityKind,
    Extraction,
    Fact,
    KnownFact,
    Mention,
    Merge,
    OverviewDraft,
    OverviewSentence,
    OverviewWriter,
    SourceDoc,
    Usage,
    Verdict,
)

if TYPE_CHECKING:
    from llmwiki.config import Config
    from llmwiki.engines.answerer import Answerer

__all__ = [
    "Candidate",
    "Contradiction",
    "ContradictionKind",
    "Engine",
    "EntityKind",
    "Extraction",
    "Fact",
    "KnownFact",
    "Mention",
    "Merge",
    "OverviewDraft",
    "OverviewSentence",
    "OverviewWriter",
    "SourceDoc",
    "Usage",
    "Verdict",
    "open_answerer",
    "open_engine",
]


def open_engine(
    config: Config, vault_prompts: Path | None = None, state: Path | None = None
) -> Engine:
    """The engine `config` asks for: the LLM engine when a model or server is configured (or
    `engine = "llm"`), else the embedded extractive one. `state` is the vault's `.wiki/`
    folder, where the LLM engine remembers what the server accepts."""
    if config.uses_llm:
        from llmwiki.engines.llm import LLMEngine
        from llmwiki.prompts import Prompts

        return LLMEngine(config, Prompts(vault_prompts), state=state)
    from llmwiki.engines.extractive import ExtractiveEngine

    return ExtractiveEngine()


def open_answerer(config: Config, vault_prompts: Path | None = None) -> Answerer:
    """The answerer of `wiki ask` that `config` asks for, chosen like the ingest engine: the LLM
    when one is configured, else the extractive answerer."""
    if config.uses_llm:
        from llmwiki.engines.llm.answerer import LLMAnswerer
        from llmwiki.prompts import Prompts

        return LLMAnswerer(config, Prompts(vault_prompts))
    from llmwiki.engines.extractive.answerer import ExtractiveAnswerer

    return ExtractiveAnswerer()
