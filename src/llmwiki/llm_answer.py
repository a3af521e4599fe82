"""The LLM answerer of `wiki ask`: a streamed answer written from the retrieved pages only.

It talks to any OpenAI-compatible server the way `llmwiki.llm` does (same client settings), but
wants prose, not structured output, and streams it so the terminal shows the answer as it is
written. `llmwiki.ask` checks every link of the stream before it is shown. A reasoning model's
leading `<think>` block is not part of the answer and is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import urlsplit, urlunsplit

import openai
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

from llmwiki.ask import Answer, ContextPage, render_block
from llmwiki.config import Config
from llmwiki.engine import EngineError, Usage
from llmwiki.llm import make_client
from llmwiki.prompts import Prompts
from llmwiki.tokens import count_tokens

__all__ = ["LLMAnswerer"]

TEMPLATE = "ask.md"
_MESSAGE_OVERHEAD = 4  # tokens a chat template adds around each message
# How servers that do not know `stream_options` refuse it.
_OPTION_REFUSALS = frozenset({400, 422})


class LLMAnswerer:
    """Answers through an OpenAI-compatible chat completions server, streaming."""

    name = "llm"

    def __init__(
        self, config: Config, prompts: Prompts, client: openai.OpenAI | None = None
    ) -> None:
        self._config = config
        self._prompts = prompts
        self._owns_client = client is None
        # A stream cannot be retried once it has started; the SDK retries opening it.
        self._client = client or make_client(config, max_retries=config.max_retries)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> LLMAnswerer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def messages(
        self, question: str, pages: Sequence[ContextPage]
    ) -> list[ChatCompletionMessageParam]:
        blocks = "\n\n".join(render_block(page) for page in pages)
        question = question.replace("<", "‹").replace(">", "›")  # cannot close its own tag
        user = f"<question>\n{question}\n</question>\n\n<pages>\n{blocks}\n</pages>"
        return [
            {"role": "system", "content": self._prompts.system(TEMPLATE)},
            {"role": "user", "content": user},
        ]

    def answer(
        self,
        question: str,
        pages: Sequence[ContextPage],
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        messages = self.messages(question, pages)
        parts: list[str] = []

        def emit(text: str) -> None:
            parts.append(text)
            if on_token is not None:
                on_token(text)

        shown = _ThinkFilter(emit)
        usage: Usage | None = None
        try:
            with self._stream(messages) as stream:  # closed even if on_token raises
                for chunk in stream:
                    if chunk.usage is not None and chunk.usage.total_tokens:
                        usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens, 1)
                    for choice in chunk.choices:
                        if choice.index == 0 and choice.delta.content:
                            shown.feed(choice.delta.content)
        except openai.APIStatusError as exc:
            raise self._status_error(exc) from None
        except openai.APITimeoutError:
            raise self._error(
                f"The LLM server at {self._where()} did not answer within "
                f"{self._config.timeout:g} s; raise WIKI_TIMEOUT, or run with "
                "`--engine extractive`."
            ) from None
        except openai.APIConnectionError as exc:
            raise self._error(
                f"Cannot reach the LLM server at {self._where()} ({exc.message}); check that it "
                "is running and OPENAI_BASE_URL, or run with `--engine extractive`."
            ) from None
        shown.close()
        text = "".join(parts)
        if usage is None:  # the server sent no usage: count it ourselves
            prompt = sum(
                count_tokens(str(m.get("content") or "")) + _MESSAGE_OVERHEAD for m in messages
            )
            usage = Usage(prompt, count_tokens(text), 1)
        return Answer(text, usage)

    def _stream(
        self, messages: list[ChatCompletionMessageParam]
    ) -> openai.Stream[ChatCompletionChunk]:
        completions = self._client.chat.completions
        try:
            return completions.create(
                model=self._config.model,
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
            )
        except openai.APIStatusError as exc:
            if exc.status_code not in _OPTION_REFUSALS:
                raise
        # Some servers refuse `stream_options`; the answer matters more than its token count.
        return completions.create(model=self._config.model, messages=messages, stream=True)

    # -- errors: they say what to do and never hold the key -------------------------------------

    def _error(self, message: str) -> EngineError:
        key = self._config.api_key
        if key and len(key) >= 4:
            message = message.replace(key, "[redacted]")
        return EngineError(message)

    def _where(self) -> str:
        """The server's URL without any user:password part."""
        parts = urlsplit(str(self._client.base_url))
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))

    def _status_error(self, exc: openai.APIStatusError) -> EngineError:
        status = exc.status_code
        detail = " ".join(str(exc.message).split())[:300]
        model = self._config.model
        if status == 401:
            hint = "The server rejected the API key: set OPENAI_API_KEY to a valid key."
        elif status == 404:
            hint = (
                f"Model {model!r} or the chat endpoint was not found: check WIKI_MODEL and "
                "OPENAI_BASE_URL, which usually ends in /v1."
            )
        elif status == 429:
            hint = "The server is rate limiting or the account is out of quota; try again later."
        else:
            hint = "Check the server's log, or run with `--engine extractive`."
        return self._error(
            f"The LLM server at {self._where()} refused the question for model {model!r} "
            f"(HTTP {status}: {detail}). {hint}"
        )


class _ThinkFilter:
    """Drops a leading `<think>...</think>` block from a stream, passing the rest on as it
    comes. Reasoning models (DeepSeek-R1, QwQ) put their deliberation there."""

    OPEN, CLOSE = "<think>", "</think>"

    def __init__(self, out: Callable[[str], None]) -> None:
        self._out = out
        self._buffer = ""
        self._state = "start"  # start: undecided; think: inside the block; text: passing on

    def feed(self, text: str) -> None:
        if self._state == "text":
            self._out(text)
            return
        self._buffer += text
        if self._state == "start":
            head = self._buffer.lstrip()
            if len(head) < len(self.OPEN) and self.OPEN.startswith(head):
                return  # may still become "<think>"
            if not head.startswith(self.OPEN):
                self._pass_on(self._buffer)
                return
            self._state = "think"
        end = self._buffer.find(self.CLOSE)
        if end >= 0:
            self._pass_on(self._buffer[end + len(self.CLOSE) :].lstrip())

    def _pass_on(self, text: str) -> None:
        self._state = "text"
        self._buffer = ""
        if text:
            self._out(text)

    def close(self) -> None:
        if self._state == "start" and self._buffer:
            self._out(self._buffer)
        # an unclosed think block is all deliberation and no answer: nothing to show
        self._buffer = ""
