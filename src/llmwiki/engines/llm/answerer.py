"""The LLM answerer of `wiki ask`: a streamed answer written from the retrieved pages only.

It talks to the server through `engines.llm.client`, like the ingest engine, but wants prose,
not structured output, and streams it so the terminal shows the answer as it is written.
`llmwiki.ask` checks every link of the stream before it is shown. A reasoning model's leading
`<think>` block is not part of the answer and is dropped. An answer that stopped early (the
token limit, a model repeating itself, the deadline) says so in `Answer.cut_off`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from llmwiki.config import Config
from llmwiki.engines.answerer import Answer, ContextPage, render_block
from llmwiki.engines.llm.client import LLMClient
from llmwiki.prompts import Prompts

if TYPE_CHECKING:
    import openai

__all__ = ["LLMAnswerer"]

TEMPLATE = "ask.md"


class LLMAnswerer:
    """Answers through an OpenAI-compatible chat completions server, streaming."""

    name = "llm"

    def __init__(
        self, config: Config, prompts: Prompts, client: openai.OpenAI | None = None
    ) -> None:
        self._config = config
        self._prompts = prompts
        self._server = LLMClient(config, client)

    def close(self) -> None:
        self._server.close()

    def __enter__(self) -> LLMAnswerer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def prompt(self, question: str, pages: Sequence[ContextPage]) -> tuple[str, str]:
        """The instructions and the data of the request."""
        blocks = "\n\n".join(render_block(page) for page in pages)
        question = question.replace("<", "‹").replace(">", "›")  # cannot close its own tag
        data = f"<question>\n{question}\n</question>\n\n<pages>\n{blocks}\n</pages>"
        return self._prompts.system(TEMPLATE), data

    def answer(
        self,
        question: str,
        pages: Sequence[ContextPage],
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        instructions, data = self.prompt(question, pages)
        parts: list[str] = []

        def emit(text: str) -> None:
            parts.append(text)
            if on_token is not None:
                on_token(text)

        shown = _ThinkFilter(emit)
        streamed = self._server.stream(
            instructions,
            data,
            self._config.max_tokens_answer,
            shown.feed,
            context_hint="ask with a smaller `--budget`",
        )
        shown.close()
        return Answer("".join(parts), streamed.usage, cut_off=streamed.cut_off)


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
