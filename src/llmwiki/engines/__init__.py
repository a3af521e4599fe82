"""The engines: what turns a source into facts and a question into an answer.

- `base`: the Engine protocol and the values that cross it (SourceDoc, Extraction, Merge, …).
- `extractive/`: the embedded engine, offline and deterministic, the default.
- `llm/`: the engine on any OpenAI-compatible server: its client (modes, retries, backoff,
  error wording), structured output, the ingest engine and the answerer.

`open_engine` picks one from a Config. It imports the chosen engine only when called, so the
extractive path never loads openai, and neither engine imports this module: they import `base`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from llmwiki.engines.base import (
    Candidate,
    Conflict,
    ConflictKind,
    Engine,
    EngineError,
    EntityKind,
    Extraction,
    Fact,
    KnownFact,
    Mention,
    Merge,
    SourceDoc,
    Usage,
    Verdict,
)

if TYPE_CHECKING:
    from llmwiki.config import Config

__all__ = [
    "Candidate",
    "Conflict",
    "ConflictKind",
    "Engine",
    "EngineError",
    "EntityKind",
    "Extraction",
    "Fact",
    "KnownFact",
    "Mention",
    "Merge",
    "SourceDoc",
    "Usage",
    "Verdict",
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
