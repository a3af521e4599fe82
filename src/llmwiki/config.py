"""Configuration: flags > environment > wiki.toml > defaults, resolved once into a frozen Config.

The API key is read from the environment only (never from wiki.toml, which people commit), and
is kept out of every repr so it cannot leak into a log line or an error message.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from llmwiki.errors import ConfigError

ENGINES = ("auto", "llm", "extractive")


@dataclass(frozen=True)
class Config:
    engine: str = "auto"  # auto: the LLM when a model is configured, else extractive
    model: str = ""
    base_url: str = ""
    api_key: str = field(default="", repr=False)
    timeout: float = 120.0  # seconds per LLM request, and between two chunks of a stream
    deadline: float = 600.0  # seconds a whole LLM call may take, retries and streaming included
    max_retries: int = 4  # on 429/5xx/connection errors, with backoff
    max_source_tokens: int = 6000  # larger documents are split into chunks of this size
    max_page_tokens: int = 3000  # how much of an existing page an update call may see
    max_candidates: int = 30  # existing titles offered to the engine per source
    jobs: int = 4  # parallel LLM calls within one source
    max_file_mb: float = 50.0  # larger inbox files are rejected
    # completion budgets (max_tokens) per call kind: a model that never stops is stopped
    max_tokens_extract: int = 4096
    max_tokens_same_entity: int = 512
    max_tokens_merge: int = 2048
    max_tokens_answer: int = 2048

    @property
    def uses_llm(self) -> bool:
        if self.engine == "auto":
            return bool(self.model or self.base_url)
        return self.engine == "llm"


# env var -> field; OPENAI_* are the names every OpenAI-compatible tool already uses.
ENV_VARS: Mapping[str, str] = {
    "WIKI_ENGINE": "engine",
    "WIKI_MODEL": "model",
    "OPENAI_BASE_URL": "base_url",
    "OPENAI_API_KEY": "api_key",
    "WIKI_TIMEOUT": "timeout",
    "WIKI_DEADLINE": "deadline",
    "WIKI_MAX_RETRIES": "max_retries",
    "WIKI_JOBS": "jobs",
}


def _coerce(name: str, value: Any) -> Any:
    kinds = {f.name: f.type for f in fields(Config)}
    kind = kinds[name]
    try:
        if kind == "float":
            return float(value)
        if kind == "int":
            return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    return str(value)


def load_config(
    vault_root: Path | None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Build the Config for a vault. `overrides` are command-line flags (None values ignored)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    toml_path = vault_root / "wiki.toml" if vault_root else None
    if toml_path and toml_path.is_file():
        try:
            data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{toml_path} is not valid TOML: {exc}") from None
        section = data.get("wiki", data)
        known = {f.name for f in fields(Config)} - {"api_key"}
        for key, value in section.items():
            if key == "api_key":
                raise ConfigError(
                    f"{toml_path}: do not put the API key in wiki.toml; "
                    "set OPENAI_API_KEY in the environment instead"
                )
            if key in known:
                values[key] = _coerce(key, value)
    for var, name in ENV_VARS.items():
        if env.get(var):
            values[name] = _coerce(name, env[var])
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = _coerce(name, value)
    config = replace(Config(), **values)
    if config.engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, got {config.engine!r}")
    if config.jobs < 1:
        raise ConfigError(f"jobs must be at least 1, got {config.jobs}")
    for name in ("timeout", "deadline"):
        if getattr(config, name) <= 0:
            raise ConfigError(f"{name} must be a positive number of seconds")
    for name in ("max_tokens_extract", "max_tokens_same_entity", "max_tokens_merge"):
        if getattr(config, name) < 64:
            raise ConfigError(f"{name} must be at least 64 tokens, got {getattr(config, name)}")
    if config.max_tokens_answer < 16:
        raise ConfigError(f"max_tokens_answer must be at least 16, got {config.max_tokens_answer}")
    return config
