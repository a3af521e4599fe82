"""The engine on any OpenAI-compatible server (OpenAI, Ollama, llama.cpp, vLLM).

- `client`: the one place that talks to the server: the request loop, retries, backoff,
  deadlines and streaming, shared by ingest and ask;
- `modes`: the structured-output modes, which one a server takes, and remembering it;
- `failures`: the wording of every failure, for ingest and ask alike, never holding the key;
- `schema`: the structured-output schemas, and replies read as strictly as they are sent;
- `engine`: LLMEngine, the ingest engine (extract, same entity, merge);
- `answerer`: LLMAnswerer, which writes `wiki ask` answers and streams them.

No module outside this package imports `openai`, so the extractive path never loads it.
"""

from llmwiki.engines.llm.engine import LLMEngine

__all__ = ["LLMEngine"]
