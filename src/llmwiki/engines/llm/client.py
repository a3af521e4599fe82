"""The conversation with an OpenAI-compatible chat completions server (OpenAI, Ollama, llama.cpp,
vLLM, LM Studio), shared by the ingest engine (`engine`) and the answerer of `wiki ask`
(`answerer`). It, `modes` and `failures` are the only modules that load `openai`.

Its surface is small:

- `LLMClient.structured(Request)` sends one request for a JSON reply and returns the `Reply`'s
  text, usage and finish reason, in the structured-output mode `modes.ModeProbe` picks, falling
  back to the next mode when the server refuses one.
- `LLMClient.stream(...)` streams prose and returns a `Streamed` whose `cut_off` says why it
  ended early: the token limit, a model repeating itself, or the total deadline.
- `LLMClient.prompt_tokens(request)` counts what a request will cost in the mode it will use.

Every call has a completion budget (`max_tokens`) and a total deadline (`Config.deadline`)
that bounds its retries and its stream; rate limits, server errors and timeouts are retried
with exponential backoff shared by every thread. Whatever fails ends as an `EngineError` worded
by `failures`: it says what to do, and never holds the API key.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from llmwiki.config import Config
from llmwiki.engines.base import Usage
from llmwiki.engines.llm.failures import Failures, context_overflow, no_model, server_url
from llmwiki.engines.llm.modes import (
    MODE_REFUSALS,
    MODES,
    ModeCache,
    ModeProbe,
    Reply,
    Request,
    count_prompt,
    messages,
    mode_arguments,
    reply_text,
)
from llmwiki.tokens import count_tokens

__all__ = ["LLMClient", "Streamed", "make_client", "repeats_itself"]

log = logging.getLogger(__name__)

# How servers that do not know `stream_options` refuse it.
_OPTION_REFUSALS = frozenset({400, 422})
_BACKOFF_BASE = 1.0  # seconds before the first retry; doubles each time
_BACKOFF_CAP = 30.0
_RETRY_AFTER_CAP = 120.0  # a server asking for longer is out of quota, not busy
# A stream whose last _REPEAT_SPAN characters are one unit of at most _REPEAT_UNIT characters,
# said at least _REPEAT_COUNT times, has degenerated: small models can loop until the context
# is full. No answer worth reading repeats itself 400 characters long.
_REPEAT_SPAN = 400
_REPEAT_UNIT = 64
_REPEAT_COUNT = 8


@dataclass(frozen=True)
class Streamed:
    text: str
    usage: Usage
    cut_off: str = ""  # why the text ended early ("" when the model finished it)


def make_client(config: Config, max_retries: int = 0) -> openai.OpenAI:
    """The OpenAI client for `config`, or an EngineError saying what to configure."""
    if not config.model:
        raise no_model()
    return openai.OpenAI(
        api_key=config.api_key or "not-needed",  # local servers take any key
        base_url=config.base_url or None,
        timeout=config.timeout,
        max_retries=max_retries,
    )


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
        self._failures = Failures(config, server_url(self._client.base_url))
        cache = ModeCache(state) if state is not None else None
        self._modes = ModeProbe(f"{self._failures.where} {config.model}", cache)
        self._budget_param = "max_tokens"
        self._stream_options = True
        self._not_before = 0.0  # clock() time before which no request may start

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    @property
    def mode(self) -> str | None:
        """The structured-output mode the server accepted in this process, once one has."""
        return self._modes.mode

    @property
    def expected_mode(self) -> str:
        """The mode the next structured request will use, as far as is known."""
        return MODES[self._modes.start()]

    @property
    def failures(self) -> Failures:
        """The wording of this server's failures, and the key's redaction."""
        return self._failures

    def prompt_tokens(self, request: Request, mode: str | None = None) -> int:
        """The prompt tokens `request` costs in `mode` (default: the mode it will be sent in)."""
        mode = mode or self.expected_mode
        return count_prompt(messages(mode, request), request.schema, mode)

    # -- one structured request: mode fallback, retries, deadline ------------------------------

    def structured(self, request: Request) -> Reply:
        """Send `request` until the server answers; the reply is not validated here."""
        deadline = self._clock() + self._config.deadline
        index = self._modes.start()
        failures = 0
        failure = ""
        while True:
            self._wait_for_backoff(deadline, request.name, failure)
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise self._failures.deadline(request.name, failure)
            mode = MODES[index]
            chat = messages(mode, request)
            started = time.monotonic()
            retry_after: float | None = None
            try:
                completion = self._send(mode, request, chat, min(self._config.timeout, remaining))
            except openai.APIStatusError as exc:
                status = exc.status_code
                detail = self._failures.detail(exc)
                if context_overflow(exc, detail):
                    prompt = count_prompt(chat, request.schema, mode)
                    raise self._failures.context(
                        status,
                        detail,
                        prompt,
                        "lower max_source_tokens in wiki.toml (now "
                        f"{self._config.max_source_tokens})",
                    ) from None
                if self._budget_param_refused(status, detail):
                    continue
                if status in MODE_REFUSALS and not self._modes.known():
                    next_index = self._modes.refuse(index, status, detail)
                    if next_index is not None:
                        index = next_index
                        continue
                    index = self._modes.restart()
                    if status < 500:
                        raise self._failures.every_mode_refused(MODES, status, detail) from None
                elif not _retryable(exc):
                    raise self._failures.status(status, detail) from None
                else:
                    retry_after = _retry_after(exc.response.headers)
                failure = f"HTTP {status}: {detail}"
            except openai.APITimeoutError:
                failure = f"no answer within {min(self._config.timeout, remaining):g} s"
            except openai.APIConnectionError as exc:
                failure = f"connection failed: {self._failures.detail(exc)}"
            else:
                self._modes.confirm(index)
                reply = self._reply(completion, mode, request, chat)
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
            self._retry_or_give_up(failures, failure, retry_after, streaming=False)

    def _send(
        self, mode: str, request: Request, chat: list[dict[str, str]], timeout: float
    ) -> ChatCompletion:
        asked, verbatim = mode_arguments(mode, request)
        kwargs: dict[str, Any] = {
            "model": self._config.model,
            "messages": chat,
            "timeout": timeout,
            **asked,
        }
        extra: dict[str, Any] = {self._budget_param: request.max_tokens, **verbatim}
        try:
            completion = self._client.chat.completions.create(**kwargs, extra_body=extra)
        except (json.JSONDecodeError, openai.APIResponseValidationError):
            completion = None
        if not isinstance(completion, ChatCompletion):
            raise self._failures.not_a_chat_api()
        return completion

    def _reply(
        self, completion: ChatCompletion, mode: str, request: Request, chat: list[dict[str, str]]
    ) -> Reply:
        text, finish = reply_text(completion, mode)
        server = completion.usage
        if server is not None and server.prompt_tokens + server.completion_tokens > 0:
            usage = Usage(server.prompt_tokens, server.completion_tokens, 1)
        else:
            usage = Usage(count_prompt(chat, request.schema, mode), count_tokens(text), 1)
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
        chat = messages(None, request)
        deadline = self._clock() + self._config.deadline
        started = time.monotonic()
        parts: list[str] = []
        received = 0
        usage: Usage | None = None
        finish, cut_off = "", ""
        try:
            with self._open_stream(chat, max_tokens, deadline) as stream:
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
            detail = self._failures.detail(exc)
            if context_overflow(exc, detail):
                prompt = count_prompt(chat, {}, "text")
                raise self._failures.context(
                    exc.status_code, detail, prompt, context_hint
                ) from None
            raise self._failures.status(exc.status_code, detail) from None
        except openai.APITimeoutError:
            raise self._failures.timed_out() from None
        except openai.APIConnectionError as exc:
            raise self._failures.unreachable(self._failures.detail(exc)) from None
        text = "".join(parts)
        if finish == "length" and not cut_off:
            cut_off = (
                f"cut off at the token limit ({max_tokens} tokens; raise max_tokens_answer "
                "in wiki.toml)"
            )
        if usage is None:  # the server sent no usage: count it ourselves
            usage = Usage(count_prompt(chat, {}, "text"), count_tokens(text), 1)
        log.info(
            "llm answer: streamed, %d + %d tokens, %.2f s%s",
            usage.prompt_tokens,
            usage.completion_tokens,
            time.monotonic() - started,
            f", {cut_off}" if cut_off else "",
        )
        return Streamed(text, usage, cut_off)

    def _open_stream(
        self, chat: list[dict[str, str]], max_tokens: int, deadline: float
    ) -> openai.Stream[Any]:
        """Open the stream, retrying what is worth retrying; a stream that has started is
        never retried, since its text is already shown."""
        failures = 0
        failure = ""
        while True:
            self._wait_for_backoff(deadline, "answer", failure)
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise self._failures.deadline("answer", failure)
            kwargs: dict[str, Any] = {
                "model": self._config.model,
                "messages": chat,
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
                detail = self._failures.detail(exc)
                if context_overflow(exc, detail) or not (
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
            self._retry_or_give_up(failures, failure, retry_after, streaming=True)

    # -- shared state: the budget parameter, the backoff deadline -----------------------------

    def _budget_param_refused(self, status: int, detail: str) -> bool:
        """OpenAI's reasoning models refuse `max_tokens` and want `max_completion_tokens`."""
        if status not in (400, 422) or "max_completion_tokens" not in detail:
            return False
        with self._lock:
            if self._budget_param == "max_completion_tokens":
                return False
            self._budget_param = "max_completion_tokens"
        return True

    def _retry_or_give_up(
        self, failures: int, failure: str, retry_after: float | None, streaming: bool
    ) -> None:
        """After the `failures`-th failed attempt: raise once the retries are spent, else
        say so and back off before the next."""
        if failures > self._config.max_retries:
            raise self._failures.kept_failing(failures, failure, streaming=streaming)
        log.warning(
            "LLM request failed (%s); retry %d of %d", failure, failures, self._config.max_retries
        )
        self._back_off(failures, retry_after)

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
            raise self._failures.deadline(name, failure)
        self._sleep(wait + jitter)


# -- helpers ----------------------------------------------------------------------------------


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
