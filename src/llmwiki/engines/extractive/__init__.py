"""The embedded engine: offline, deterministic, no model. The default when no LLM is configured.

- `engine`: ExtractiveEngine, which picks a source's claims and the sentences about each entity;
- `text`: a document as sentences and tokens, with headings and lists kept apart from prose;
- `names`: who the people are; `concepts`: which terms name things worth a page;
- `numbers`: figures and their measures, for contradictions; `junk`: what is never an entity;
- `lexicon`: the word lists they share.
"""

from llmwiki.engines.extractive.engine import ExtractiveEngine

__all__ = ["ExtractiveEngine"]
