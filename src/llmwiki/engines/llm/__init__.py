"""The engine on any OpenAI-compatible server (OpenAI, Ollama, llama.cpp, vLLM).

- `client`: the one place that talks to the server: output modes and their fallbacks,
  retries, backoff, deadlines and the wording of every failure, shared by ingest and ask;
- `schema`: the structured-output schemas, validated as strictly as they are sent;
- `engine`: LLMEngine, the ingest engine (extract, same entity, merge);
- `answerer`: LLMAnswerer, which writes `wiki ask` answers and streams them.
"""

from llmwiki.engines.llm.engine import LLMEngine

__all__ = ["LLMEngine"]
