"""The wording of every failure of the LLM engine and the LLM answerer, in one place.

Ingest and `wiki ask` talk to the same servers and fail in the same ways, so they say so in the
same words: a hint written once (a 403 is the key's permissions, a 413 a prompt longer than the
model's context) serves both. Each message names the server and the model, quotes what the
server said, and ends with what to do next. None holds the API key: the key is redacted before
any text is cut, so no part of it survives a cut.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

import openai

from llmwiki.config import Config
from llmwiki.errors import EngineError

__all__ = ["Failures", "context_overflow", "cut", "no_model", "server_url"]

_DETAIL_CHARS = 300  # of a server's error message, in ours
_CONTEXT_RE = re.compile(
    r"context (?:length|window|size)|maximum context|too many tokens|exceeds? the context"
    r"|prompt is too long",
    re.IGNORECASE,
)
_WINDOW_RE = re.compile(
    r"(?:context length is|context window of|context size of|n_ctx\W{0,3})\s*(\d+)", re.I
)


def no_model() -> EngineError:
    return EngineError(
        "No model configured for the LLM engine: set WIKI_MODEL (or `model` in "
        "wiki.toml) to a model your server offers, or use `--engine extractive`."
    )


def server_url(base_url: object) -> str:
    """The server's URL without any user:password part or trailing slash."""
    parts = urlsplit(str(base_url))
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


class Failures:
    """The failures of one client: `where` is the server's URL, as `server_url` shows it."""

    def __init__(self, config: Config, where: str) -> None:
        self._config = config
        self.where = where

    def scrub(self, text: str) -> str:
        key = self._config.api_key
        if key and len(key) >= 4:  # a shorter "key" is a placeholder, and scrubbing it garbles
            text = text.replace(key, "[redacted]")
        return text

    def error(self, message: str) -> EngineError:
        return EngineError(self.scrub(message))

    def detail(self, exc: openai.APIError) -> str:
        """The server's own words: redacted first, then cut, so no part of a key survives."""
        body = exc.body
        message = body.get("message") if isinstance(body, dict) else None
        text = message if isinstance(message, str) and message.strip() else str(exc.message)
        text = re.sub(r"^Error code: \d+ - ", "", text)  # the SDK's prefix; we say HTTP NNN
        return cut(" ".join(self.scrub(text).split()), _DETAIL_CHARS)

    # -- the server answered, but not as asked -----------------------------------------------

    def status(self, status: int, detail: str) -> EngineError:
        """A refusal that no retry can change."""
        where, model = self.where, self._config.model
        if status == 401:
            hint = "The server rejected the API key: set OPENAI_API_KEY to a valid key."
        elif status == 403:
            hint = f"The API key may not use model {model!r}: check the key's permissions."
        elif status == 404:
            hint = (
                f"Model {model!r} or the chat endpoint was not found: check WIKI_MODEL (or "
                "`model` in wiki.toml) and OPENAI_BASE_URL, which usually ends in /v1."
            )
        elif status == 429:
            hint = "The account is out of quota: check its billing, or use a local server."
        else:
            hint = "Check the server's log, or run with `--engine extractive`."
        return self.error(
            f"The LLM server at {where} refused the request for model {model!r} "
            f"(HTTP {status}: {detail}). {hint}"
        )

    def context(self, status: int, detail: str, prompt: int, hint: str) -> EngineError:
        """A prompt longer than the model's context; `hint` says what to lower."""
        found = _WINDOW_RE.search(detail)
        window = f" of {found.group(1)} tokens" if found else ""
        return self.error(
            f"The prompt ({prompt} tokens) exceeds the model's context{window}: the LLM server "
            f"at {self.where} refused it for model {self._config.model!r} (HTTP {status}: "
            f"{detail}). To fix it, {hint}, or load the model with a larger context "
            "(llama.cpp: --ctx-size; llama-cpp-python: --n_ctx; Ollama: num_ctx)."
        )

    def every_mode_refused(self, modes: tuple[str, ...], status: int, detail: str) -> EngineError:
        return self.error(
            f"The LLM server at {self.where} refused every structured-output mode "
            f"({', '.join(modes)}) for model {self._config.model!r}; the last answer was "
            f"HTTP {status}: {detail}. Check that the model name is right and the server "
            "supports JSON output, or run with `--engine extractive`."
        )

    def not_a_chat_api(self) -> EngineError:
        """A 200 that is not a completion: typically a web page, because the URL lacks /v1."""
        return self.error(
            f"The server at {self.where} did not answer like an OpenAI-compatible chat "
            "completions API. Check OPENAI_BASE_URL (or `base_url` in wiki.toml); it "
            "usually ends in /v1."
        )

    def invalid_reply(self, what: str, error: str, cut_at: str | None) -> EngineError:
        """No valid JSON even after a repair request; `cut_at` is the budget setting to raise
        when the reply was cut off at the token limit (None when it was not)."""
        cut_note = (
            f" The reply was cut off at the token limit: raise {cut_at} in wiki.toml."
            if cut_at
            else ""
        )
        return self.error(
            f"The model {self._config.model!r} did not return {what} as valid "
            f"JSON, even after being asked to correct it ({error}).{cut_note} Try a "
            "bigger or more capable model (WIKI_MODEL or `model` in wiki.toml), or run "
            "with `--engine extractive`."
        )

    # -- no answer ---------------------------------------------------------------------------

    def deadline(self, name: str, failure: str) -> EngineError:
        last = f" (last: {failure})" if failure else ""
        return self.error(
            f"The LLM server at {self.where} did not complete the {name} call for model "
            f"{self._config.model!r} within the {self._config.deadline:g} s deadline{last}. "
            "Raise `deadline` in wiki.toml (or WIKI_DEADLINE), use a faster model, or run "
            "with `--engine extractive`."
        )

    def kept_failing(self, attempts: int, failure: str, *, streaming: bool) -> EngineError:
        # Ingest runs WIKI_JOBS requests at once and may wait on each; an answer is one request.
        tuning = "" if streaming else "raise WIKI_TIMEOUT or WIKI_MAX_RETRIES, lower WIKI_JOBS, "
        return self.error(
            f"The LLM server at {self.where} kept failing for model "
            f"{self._config.model!r} ({attempts} attempts; last: {failure}). Check that "
            f"the server is running and the model is loaded, {tuning}or run with "
            "`--engine extractive`."
        )

    def timed_out(self) -> EngineError:
        return self.error(
            f"The LLM server at {self.where} did not answer within "
            f"{self._config.timeout:g} s; raise WIKI_TIMEOUT, or run with "
            "`--engine extractive`."
        )

    def unreachable(self, detail: str) -> EngineError:
        return self.error(
            f"Cannot reach the LLM server at {self.where} ({detail}); check "
            "that it is running and OPENAI_BASE_URL, or run with `--engine extractive`."
        )


def context_overflow(exc: openai.APIStatusError, detail: str) -> bool:
    """A prompt longer than the model's context: no mode or retry can help."""
    if exc.status_code == 413:
        return True
    if exc.status_code not in (400, 422, 500):
        return False
    return exc.code == "context_length_exceeded" or bool(_CONTEXT_RE.search(detail))


def cut(text: str, limit: int) -> str:
    """At most `limit` characters of `text`, marked when shortened. Redact before cutting."""
    return text if len(text) <= limit else text[:limit] + "..."
