"""The embedded engine: offline, deterministic, no model. The default when no LLM is configured.

- `engine`: ExtractiveEngine, which picks a source's claims and the sentences about each entity;
- `text`: a document as sentences and tokens, with headings and lists kept apart from prose;
- `names`: who the people are; `concepts`: which terms name things worth a page, from what
  `spelling` says of each word;
- `numbers`: figures and their measures, for contradictions; `junk`: what is never an entity;
- `lexicon`: the word lists they share;
- `answerer`: ExtractiveAnswerer, which answers `wiki ask` with the passages that match best.

The engine is loaded on first use: `wiki ask` needs only the answerer, and the engine's word
lists cost tens of milliseconds to load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmwiki.engines.extractive.engine import ExtractiveEngine

__all__ = ["ExtractiveEngine"]


def __getattr__(name: str) -> Any:
    if name == "ExtractiveEngine":
        from llmwiki.engines.extractive.engine import ExtractiveEngine

        return ExtractiveEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
