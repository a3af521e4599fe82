"""The conversation with an OpenAI-compatible chat completions server (OpenAI, Ollama, llama.cpp,
vLLM, LM Studio), shared by the ingest engine (`engine`) and the answerer of `wiki ask`
(`answerer`). The only module that imports `openai`.

Its surface is small:

- `LLMClient.structured(Request)` sends one request for a JSON reply and returns the `Reply`'s
  text, usage and finish reason. Servers differ in how they take a schema, so it tries, in
  order: `response_format` json_schema (OpenAI, vLLM, Ollama, LM Studio), json_object with a
  `schema` field (llama-cpp-python, which answers HTTP 500 to json_schema), a forced tool call,
  and plain json_object with the schema in the prompt. The mode that works is remembered for
  the process and, per (server, model), in `.wiki/llm_modes.json`, so the next run does not
  probe again; a remembered mode that is refused is forgotten and the probe starts over.
- `LLMClient.stream(...)` streams prose and returns a `Streamed` whose `cut_off` says why it
  ended early: the token limit, a model repeating itself, or the total deadline.
- `LLMClient.prompt_tokens(request)` counts what a request will cost in the mode it will use.

Every call has a completion budget (`max_tokens`) and a total deadline (`Config.deadline`)
that bounds its retries and its stream; rate limits, server errors and timeouts are retried
with exponential backoff shared by every thread. The instructions travel in the user message,
because some chat templates (llama-cpp-python's `gemma`) drop the system message. Whatever
fails ends as an `EngineError` whose message says what to do, and never holds the API key:
the key is redacted before any text is cut, so no part of it survives a cut.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageFunctionToolCall

from llmwiki.config import Config
from llmwiki.engines.base import Usage
from llmwiki.errors import EngineError
from llmwiki.tokens import count_tokens
from llmwiki.vault import atomic_write

__all__ = [
    "MODES",
    "LLMClient",
    "ModeCache",
    "Reply",
    "Request",
    "Streamed",
    "make_client",
    "repeats_itself",
]

log = logging.getLogger(__name__)

# Structured-output modes, most precise first.
MODES = ("json_schema", "json_object_schema", "tools", "json_object")
# How servers that do not know a mode refuse it: llama-cpp-python says 500, others 400 or 422.
_MODE_REFUSALS = frozenset({400, 422, 500})
# How servers that do not know `stream_options` refuse it.
_OPTION_REFUSALS = frozenset({400, 422})
_BACKOFF_BASE = 1.0  # seconds before the first retry; doubles each time
_BACKOFF_CAP = 30.0
_RETRY_AFTER_CAP = 120.0  # a server asking for longer is out of quota, not busy
_DETAIL_CHARS = 300  # of a server's error message, in ours
_MESSAGE_OVERHEAD = 4  # tokens a chat template adds around each message
# A stream whose last _REPEAT_SPAN characters are one unit of at most _REPEAT_UNIT characters,
# said at least _REPEAT_COUNT times, has degenerated: small models can loop until the context
# is full. No answer worth reading repeats itself 400 characters long.
_REPEAT_SPAN = 400
_REPEAT_UNIT = 64
_REPEAT_COUNT = 8
# The system message only names the role: templates that drop it lose nothing that matters.
ROLE = "You maintain a personal knowledge wiki. Your instructions are in the user message."
_CONTEXT_RE = re.compile(
    r"context (?:length|window|size)|maximum context|too many tokens|exceeds? the context"
    r"|prompt is too long",
    re.IGNORECASE,
)
_WINDOW_RE = re.compile(
    r"(?:context length is|context window of|context size of|n_ctx\W{0,3})\s*(\d+)", re.I
)
MODES_FILE = "llm_modes.json"


@dataclass(frozen=True)
class Request:
    """One structured call. `instructions` is the task (trusted); `data` is what to work on,
    already inside delimiters; `repair` is a bad reply and what to correct in it."""

    name: str  # the schema's name, also the forced tool's name and the call's name in logs
    schema: Mapping[str, Any]
    instructions: str
    data: str
    max_tokens: int
    repair: tuple[str, str] | tuple[()] = ()


@dataclass(frozen=True)
class Reply:
    text: str  # the JSON text, from the content or the tool call's arguments
    usage: Usage
    finish: str  # the server's finish_reason: "stop", "length", "tool_calls", ...
    mode: str


@dataclass(frozen=True)
class Streamed:
    text: str
    usage: Usage
    cut_off: str = ""  # why the text ended early ("" when the model finished it)


def make_client(config: Config, max_retries: int = 0) -> openai.OpenAI:
    """The OpenAI client for `config`, or an EngineError saying what to configure."""
    if not config.model:
        raise EngineError(
            "No model configured for the LLM engine: set WIKI_MODEL (or `model` in "
            "wiki.toml) to a model your server offers, or use `--engine extractive`."
        )
    return openai.OpenAI(
        api_key=config.api_key or "not-needed",  # local servers take any key
        base_url=config.base_url or None,
        timeout=config.timeout,
        max_retries=max_retries,
    )


class ModeCache:
    """The structured-output mode that worked, per (server, model), in `.wiki/llm_modes.json`.

    Derived state: a file that cannot be read is ignored with a notice and rewritten."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / MODES_FILE
        self._lock = threading.Lock()

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            log.warning("ignoring %s, which cannot be read (%s); it is rebuilt", self.path, exc)
            return {}
        if not isinstance(data, dict):
            log.warning("ignoring %s, which is not a JSON object; it is rebuilt", self.path)
            return {}
        return {k: v for k, v in data.items() if isinstance(v, str) and v in MODES}

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._load().get(key)

    def put(self, key: str, mode: str | None) -> None:
        with self._lock:
            data = self._load()
            if data.get(key) == mode:
                return
            if mode is None:
                data.pop(key, None)
            else:
                data[key] = mode
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(
                    self.path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()
                )
            except OSError as exc:  # only costs a probe next time
                log.warning("cannot remember the LLM mode in %s (%s)", self.path, exc.strerror)


class LLMClient:
    """The protocol half of the LLM engine. Thread-safe.

    `sleep`, `clock` and `rng` are injectable so tests can run retries without waiting; `state`
    is the vault's `.wiki/` folder, where the working mode is remembered (None: not at all).
    """

    def __init__(
        self,
        config: Config,
        client: openai.OpenAI | None = None,
        *,
        state: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._owns_client = client is None
        # retries are ours: shared backoff, mode fallback, deadlines, clear errors
        self._client = client or make_client(config, max_retries=0)
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._mode: int | None = None  # index into MODES once a mode has worked here
        self._refused: set[int] = set()  # modes refused while probing
        self._cache = ModeCache(state) if state is not None else None
        self._key = f"{self.where()} {config.model}"
        cached = self._cache.get(self._key) if self._cache is not None else None
        self._cached: int | None = MODES.index(cached) if cached else None
        self._budget_param = "max_tokens"
        self._stream_options = True
        self._not_before = 0.0  # clock() time before which no request may start

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    @property
    def mode(self) -> str | None:
        """The structured-output mode the server accepted in this process, once one has."""
        with self._lock:
            return None if self._mode is None else MODES[self._mode]

    @property
    def expected_mode(self) -> str:
        """The mode the next structured request will use, as far as is known."""
        with self._lock:
            return MODES[self._start_index()]

    # -- messages and their cost -------------------------------------------------------------

    @staticmethod
    def messages(mode: str | None, request: Request) -> list[dict[str, str]]:
        instructions = request.instructions.rstrip()
        if mode == "json_object":
            # The only mode where the server never sees the schema, so the model must.
            instructions += "\nThe JSON schema of the reply:\n" + json.dumps(request.schema)
        messages = [
            {"role": "system", "content": ROLE},
            {"role": "user", "content": instructions + "\n\n" + request.data},
        ]
        if request.repair:
            bad_reply, instruction = request.repair
            messages += [
                {"role": "assistant", "content": bad_reply},
                {"role": "user", "content": instruction},
            ]
        return messages

    def prompt_tokens(self, request: Request, mode: str | None = None) -> int:
        """The prompt tokens `request` costs in `mode` (default: the mode it will be sent in)."""
        mode = mode or self.expected_mode
        return _count_prompt(self.messages(mode, request), request.schema, mode)

    # -- one structured request: mode fallback, retries, deadline ------------------------------

    def structured(self, request: Request) -> Reply:
        """Send `request` until the server answers; the reply is not validated here."""
        deadline = self._clock() + self._config.deadline
        with self._lock:
            index = self._start_index()
        failures = 0
        failure = ""
        while True:
            self._wait_for_backoff(deadline, request.name, failure)
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise self._deadline_error(request.name, failure)
            mode = MODES[index]
            messages = self.messages(mode, request)
            started = time.monotonic()
            retry_after: float | None = None
            try:
                completion = self._send(
                    mode, request, messages, min(self._config.timeout, remaining)
                )
            except openai.APIStatusError as exc:
                status = exc.status_code
                detail = self._detail(exc)
                if _context_overflow(exc, detail):
                    prompt = _count_prompt(messages, request.schema, mode)
                    raise self._context_error(
                        status,
                        detail,
                        prompt,
                        "lower max_source_tokens in wiki.toml (now "
                        f"{self._config.max_source_tokens})",
                    ) from None
                if self._budget_param_refused(status, detail):
                    continue
                if status in _MODE_REFUSALS and not self._mode_known():
                    next_index = self._refuse_mode(index, status, detail)
                    if next_index is not None:
                        index = next_index
                        continue
                    index = self._restart_probe()
                    if status < 500:
                        raise self._error(
                            f"The LLM server at {self.where()} refused every structured-output "
                            f"mode ({', '.join(MODES)}) for model {self._config.model!r}; the "
                            f"last answer was HTTP {status}: {detail}. Check that the model name "
                            "is right and the server supports JSON output, or run with "
                            "`--engine extractive`."
                        ) from None
                elif not _retryable(exc):
                    raise self._status_error(status, detail) from None
                else:
                    retry_after = _retry_after(exc.response.headers)
                failure = f"HTTP {status}: {detail}"
            except openai.APITimeoutError:
                failure = f"no answer within {min(self._config.timeout, remaining):g} s"
            except openai.APIConnectionError as exc:
                failure = f"connection failed: {self._detail(exc)}"
            else:
                self._confirm_mode(index)
                reply = self._reply(completion, mode, request, messages)
                log.info(
                    "llm %s: %s, %d + %d tokens, %.2f s%s",
                    request.name,
                    mode,
                    reply.usage.prompt_tokens,
                    reply.usage.completion_tokens,
                    time.monotonic() - started,
                    ", cut at the token limit" if reply.finish == "length" else "",
                )
                return reply
            failures += 1
            if failures > self._config.max_retries:
                raise self._error(
                    f"The LLM server at {self.where()} kept failing for model "
                    f"{self._config.model!r} ({failures} attempts; last: {failure}). Check that "
                    "the server is running and the model is loaded, raise WIKI_TIMEOUT or "
                    "WIKI_MAX_RETRIES, lower WIKI_JOBS, or run with `--engine extractive`."
                )
            log.warning(
                "LLM request failed (%s); retry %d of %d",
                failure,
                failures,
                self._config.max_retries,
            )
            self._back_off(failures, retry_after)

    def _send(
        self, mode: str, request: Request, messages: list[dict[str, str]], timeout: float
    ) -> ChatCompletion:
        kwargs: dict[str, Any] = {
            "model": self._config.model,
            "messages": messages,
            "timeout": timeout,
        }
        extra: dict[str, Any] = {self._budget_param: request.max_tokens}
        schema = dict(request.schema)
        if mode == "json_schema":
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": request.name, "schema": schema, "strict": True},
            }
        elif mode == "json_object_schema":
            # Not in the SDK's types (llama-cpp-python's extension), so it goes in verbatim.
            extra["response_format"] = {"type": "json_object", "schema": schema}
        elif mode == "tools":
            kwargs["tools"] = [
                {"type": "function", "function": {"name": request.name, "parameters": schema}}
            ]
            kwargs["tool_choice"] = {"type": "function", "function": {"name": request.name}}
        else:
            kwargs["response_format"] = {"type": "json_object"}
        try:
            completion = self._client.chat.completions.create(**kwargs, extra_body=extra)
        except (json.JSONDecodeError, openai.APIResponseValidationError):
            completion = None
        # A 200 that is not a completion: typically a web page, because the URL lacks /v1.
        if not isinstance(completion, ChatCompletion):
            raise self._error(
                f"The server at {self.where()} did not answer like an OpenAI-compatible chat "
                "completions API. Check OPENAI_BASE_URL (or `base_url` in wiki.toml); it "
                "usually ends in /v1."
            )
        return completion

    def _reply(
        self,
        completion: ChatCompletion,
        mode: str,
        request: Request,
        messages: list[dict[str, str]],
    ) -> Reply:
        text, finish = "", ""
        if completion.choices:
            choice = completion.choices[0]
            finish = choice.finish_reason or ""
            content = choice.message.content or ""
            arguments = next(
                (
                    tool.function.arguments
                    for tool in choice.message.tool_calls or ()
                    if isinstance(tool, ChatCompletionMessageFunctionToolCall)
                ),
                "",
            )
            # Servers that do not force the tool answer in content, and the reverse happens too.
            text = (arguments or content) if mode == "tools" else (content or arguments)
        server = completion.usage
        if server is not None and server.prompt_tokens + server.completion_tokens > 0:
            usage = Usage(server.prompt_tokens, server.completion_tokens, 1)
        else:
            usage = Usage(_count_prompt(messages, request.schema, mode), count_tokens(text), 1)
        return Reply(text, usage, finish, mode)

    # -- streaming -------------------------------------------------------------------------

    def stream(
        self,
        instructions: str,
        data: str,
        max_tokens: int,
        on_text: Callable[[str], None],
        context_hint: str,
    ) -> Streamed:
        """Stream a prose reply, passing each piece to `on_text` as it comes.

        The stream stops early, and says why in `cut_off`, at the token limit, when the model
        repeats itself, or at the total deadline. `context_hint` says what to lower when the
        prompt does not fit the model's context."""
        request = Request("answer", {}, instructions, data, max_tokens)
        messages = self.messages(None, request)
        deadline = self._clock() + self._config.deadline
        started = time.monotonic()
        parts: list[str] = []
        received = 0
        usage: Usage | None = None
        finish, cut_off = "", ""
        try:
            with self._open_stream(messages, max_tokens, deadline) as stream:
                for chunk in stream:
                    if chunk.usage is not None and chunk.usage.total_tokens:
                        usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens, 1)
                    for choice in chunk.choices:
                        if choice.index != 0:
                            continue
                        finish = choice.finish_reason or finish
                        if choice.delta.content:
                            parts.append(choice.delta.content)
                            received += len(choice.delta.content)
                            on_text(choice.delta.content)
                    tail = "".join(parts[-_REPEAT_UNIT * _REPEAT_COUNT :])
                    if received > _REPEAT_SPAN and repeats_itself(tail):
                        cut_off = "stopped: the model kept repeating itself"
                        break
                    if self._clock() > deadline:
                        cut_off = f"stopped at the {self._config.deadline:g} s deadline"
                        break
        except openai.APIStatusError as exc:
            detail = self._detail(exc)
            if _context_overflow(exc, detail):
                prompt = _count_prompt(messages, {}, "text")
                raise self._context_error(exc.status_code, detail, prompt, context_hint) from None
            raise self._status_error(exc.status_code, detail) from None
        except openai.APITimeoutError:
            raise self._error(
                f"The LLM server at {self.where()} did not answer within "
                f"{self._config.timeout:g} s; raise WIKI_TIMEOUT, or run with "
                "`--engine extractive`."
            ) from None
        except openai.APIConnectionError as exc:
            raise self._error(
                f"Cannot reach the LLM server at {self.where()} ({self._detail(exc)}); check "
                "that it is running and OPENAI_BASE_URL, or run with `--engine extractive`."
            ) from None
        text = "".join(parts)
        if finish == "length" and not cut_off:
            cut_off = (
                f"cut off at the token limit ({max_tokens} tokens; raise max_tokens_answer "
                "in wiki.toml)"
            )
        if usage is None:  # the server sent no usage: count it ourselves
            usage = Usage(_count_prompt(messages, {}, "text"), count_tokens(text), 1)
        log.info(
            "llm answer: streamed, %d + %d tokens, %.2f s%s",
            usage.prompt_tokens,
            usage.completion_tokens,
            time.monotonic() - started,
            f", {cut_off}" if cut_off else "",
        )
        return Streamed(text, usage, cut_off)

    def _open_stream(
        self, messages: list[dict[str, str]], max_tokens: int, deadline: float
    ) -> openai.Stream[Any]:
        """Open the stream, retrying what is worth retrying; a stream that has started is
        never retried, since its text is already shown."""
        failures = 0
        failure = ""
        while True:
            self._wait_for_backoff(deadline, "answer", failure)
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise self._deadline_error("answer", failure)
            kwargs: dict[str, Any] = {
                "model": self._config.model,
                "messages": messages,
                "stream": True,
                "timeout": min(self._config.timeout, remaining),
                "extra_body": {self._budget_param: max_tokens},
            }
            if self._stream_options:
                kwargs["stream_options"] = {"include_usage": True}
            retry_after: float | None = None
            try:
                stream: openai.Stream[Any] = self._client.chat.completions.create(**kwargs)
                return stream
            except openai.APIStatusError as exc:
                detail = self._detail(exc)
                if _context_overflow(exc, detail) or not (
                    _retryable(exc) or exc.status_code in _OPTION_REFUSALS
                ):
                    raise
                if self._budget_param_refused(exc.status_code, detail):
                    continue
                if exc.status_code in _OPTION_REFUSALS:
                    if not self._stream_options:
                        raise
                    # the answer matters more than its token count
                    self._stream_options = False
                    continue
                retry_after = _retry_after(exc.response.headers)
                failure = f"HTTP {exc.status_code}: {detail}"
            except openai.APITimeoutError:
                failure = f"no answer within {min(self._config.timeout, remaining):g} s"
                if failures >= self._config.max_retries:
                    raise
            except openai.APIConnectionError:
                if failures >= self._config.max_retries:
                    raise
                failure = "connection failed"
            failures += 1
            if failures > self._config.max_retries:
                raise self._error(
                    f"The LLM server at {self.where()} kept failing for model "
                    f"{self._config.model!r} ({failures} attempts; last: {failure}). Check that "
                    "the server is running and the model is loaded, or run with "
                    "`--engine extractive`."
                )
            log.warning(
                "LLM request failed (%s); retry %d of %d",
                failure,
                failures,
                self._config.max_retries,
            )
            self._back_off(failures, retry_after)

    # -- shared state: the working mode, the budget parameter, the backoff deadline ----------

    def _start_index(self) -> int:
        """Call with the lock held."""
        if self._mode is not None:
            return self._mode
        if self._cached is not None and self._cached not in self._refused:
            return self._cached
        return next((i for i in range(len(MODES)) if i not in self._refused), 0)

    def _mode_known(self) -> bool:
        with self._lock:
            return self._mode is not None

    def _refuse_mode(self, index: int, status: int, detail: str) -> int | None:
        """Note that the server refused mode `index`; the next mode to try, or None if every
        mode was refused."""
        with self._lock:
            if self._mode is not None:
                return self._mode
            self._refused.add(index)
            if index == self._cached:
                self._cached = None
                forget = True
            else:
                forget = False
            untried = [i for i in range(len(MODES)) if i not in self._refused]
        if forget and self._cache is not None:
            log.info(
                "remembered mode %s was refused (HTTP %s); probing again", MODES[index], status
            )
            self._cache.put(self._key, None)
        if not untried:
            return None
        log.info(
            "server refused %s output (HTTP %s: %s); trying %s",
            MODES[index],
            status,
            detail[:120],
            MODES[untried[0]],
        )
        return untried[0]

    def _restart_probe(self) -> int:
        """Every mode was refused: start over, since a 500 may have been an outage."""
        with self._lock:
            if self._mode is None:
                self._refused.clear()
                return 0
            return self._mode

    def _confirm_mode(self, index: int) -> None:
        with self._lock:
            if self._mode is not None:
                return
            self._mode = index
            remember = index != self._cached
            self._cached = index
        log.info("LLM server accepts structured output as %s", MODES[index])
        if remember and self._cache is not None:
            self._cache.put(self._key, MODES[index])

    def _budget_param_refused(self, status: int, detail: str) -> bool:
        """OpenAI's reasoning models refuse `max_tokens` and want `max_completion_tokens`."""
        if status not in (400, 422) or "max_completion_tokens" not in detail:
            return False
        with self._lock:
            if self._budget_param == "max_completion_tokens":
                return False
            self._budget_param = "max_completion_tokens"
        return True

    def _back_off(self, failures: int, retry_after: float | None) -> None:
        if retry_after is not None:
            delay = min(retry_after, _RETRY_AFTER_CAP)
        else:
            delay = min(_BACKOFF_CAP, _BACKOFF_BASE * 2 ** (failures - 1))
        with self._lock:
            # Shared: one 429 slows every worker, instead of each finding the limit on its own.
            self._not_before = max(self._not_before, self._clock() + delay)

    def _wait_for_backoff(self, deadline: float, name: str, failure: str) -> None:
        with self._lock:
            wait = self._not_before - self._clock()
            # Jitter spreads the workers out so they do not all hit the server at one instant.
            jitter = self._rng.uniform(0.0, 0.1 * wait) if wait > 0 else 0.0
        if wait <= 0:
            return
        if self._clock() + wait >= deadline:  # waiting would only end in the deadline error
            raise self._deadline_error(name, failure)
        self._sleep(wait + jitter)

    # -- errors: they say what to do, and never hold the key ----------------------------------

    def scrub(self, text: str) -> str:
        key = self._config.api_key
        if key and len(key) >= 4:  # a shorter "key" is a placeholder, and scrubbing it garbles
            text = text.replace(key, "[redacted]")
        return text

    def _error(self, message: str) -> EngineError:
        return EngineError(self.scrub(message))

    def _detail(self, exc: openai.APIError) -> str:
        """The server's own words: redacted first, then cut, so no part of a key survives."""
        body = exc.body
        message = body.get("message") if isinstance(body, dict) else None
        text = message if isinstance(message, str) and message.strip() else str(exc.message)
        text = re.sub(r"^Error code: \d+ - ", "", text)  # the SDK's prefix; we say HTTP NNN
        return cut(" ".join(self.scrub(text).split()), _DETAIL_CHARS)

    def where(self) -> str:
        """The server's URL without any user:password part or trailing slash."""
        parts = urlsplit(str(self._client.base_url))
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))

    def _deadline_error(self, name: str, failure: str) -> EngineError:
        last = f" (last: {failure})" if failure else ""
        return self._error(
            f"The LLM server at {self.where()} did not complete the {name} call for model "
            f"{self._config.model!r} within the {self._config.deadline:g} s deadline{last}. "
            "Raise `deadline` in wiki.toml (or WIKI_DEADLINE), use a faster model, or run "
            "with `--engine extractive`."
        )

    def _context_error(self, status: int, detail: str, prompt: int, hint: str) -> EngineError:
        found = _WINDOW_RE.search(detail)
        window = f" of {found.group(1)} tokens" if found else ""
        return self._error(
            f"The prompt ({prompt} tokens) exceeds the model's context{window}: the LLM server "
            f"at {self.where()} refused it for model {self._config.model!r} (HTTP {status}: "
            f"{detail}). To fix it, {hint}, or load the model with a larger context "
            "(llama.cpp: --ctx-size; llama-cpp-python: --n_ctx; Ollama: num_ctx)."
        )

    def _status_error(self, status: int, detail: str) -> EngineError:
        where, model = self.where(), self._config.model
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
        return self._error(
            f"The LLM server at {where} refused the request for model {model!r} "
            f"(HTTP {status}: {detail}). {hint}"
        )


# -- helpers ----------------------------------------------------------------------------------


def cut(text: str, limit: int) -> str:
    """At most `limit` characters of `text`, marked when shortened. Redact before cutting."""
    return text if len(text) <= limit else text[:limit] + "..."


def repeats_itself(text: str) -> bool:
    """Whether `text` ends in one short unit said over and over (a degenerate stream)."""
    for unit in range(1, _REPEAT_UNIT + 1):
        times = max(_REPEAT_COUNT, -(-_REPEAT_SPAN // unit))
        span = unit * times
        if len(text) < span:
            continue
        tail = text[-span:]
        if tail == tail[-unit:] * times:
            return True
    return False


def _context_overflow(exc: openai.APIStatusError, detail: str) -> bool:
    """A prompt longer than the model's context: no mode or retry can help."""
    if exc.status_code == 413:
        return True
    if exc.status_code not in (400, 422, 500):
        return False
    return exc.code == "context_length_exceeded" or bool(_CONTEXT_RE.search(detail))


def _retryable(exc: openai.APIStatusError) -> bool:
    if exc.status_code == 429:
        # OpenAI says 429 for an exhausted quota too; waiting does not fix that.
        return exc.code != "insufficient_quota"
    return exc.status_code in (408, 409) or exc.status_code >= 500


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait (Retry-After, or OpenAI's retry-after-ms)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _count_prompt(
    messages: Sequence[Mapping[str, str]], schema: Mapping[str, Any], mode: str
) -> int:
    tokens = sum(count_tokens(m["content"]) + _MESSAGE_OVERHEAD for m in messages)
    # A schema sent as json_schema or as a tool is billed as prompt; one that a grammar enforces
    # (json_object with a schema) is not, and in plain json_object it is in the messages.
    if mode in ("json_schema", "tools"):
        tokens += count_tokens(json.dumps(schema))
    return tokens
