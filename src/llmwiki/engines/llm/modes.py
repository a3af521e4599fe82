"""Structured output: how a request asks each kind of server for JSON, and which way works.

Servers differ in how they take a schema, so there are four modes, most precise first:
`response_format` json_schema (OpenAI, vLLM, Ollama, LM Studio), json_object with a `schema`
field (llama-cpp-python, which answers HTTP 500 to json_schema), a forced tool call, and plain
json_object with the schema in the prompt. `ModeProbe` tries them in that order until one is
accepted; the mode that works is remembered for the process and, per (server, model), in
`.wiki/llm_modes.json` (`ModeCache`), so the next run does not probe again. A remembered mode
that is refused is forgotten and the probe starts over.

The instructions travel in the user message, because some chat templates (llama-cpp-python's
`gemma`) drop the system message.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openai.types.chat import ChatCompletion, ChatCompletionMessageFunctionToolCall

from llmwiki.engines.base import Usage
from llmwiki.tokens import count_tokens
from llmwiki.vault import atomic_write

__all__ = [
    "MODES",
    "MODE_REFUSALS",
    "ModeCache",
    "ModeProbe",
    "Reply",
    "Request",
    "count_prompt",
    "messages",
    "mode_arguments",
    "reply_text",
]

log = logging.getLogger(__name__)

# Structured-output modes, most precise first.
MODES = ("json_schema", "json_object_schema", "tools", "json_object")
# How servers that do not know a mode refuse it: llama-cpp-python says 500, others 400 or 422.
MODE_REFUSALS = frozenset({400, 422, 500})
MODES_FILE = "llm_modes.json"
_MESSAGE_OVERHEAD = 4  # tokens a chat template adds around each message
# The system message only names the role: templates that drop it lose nothing that matters.
ROLE = "You maintain a personal knowledge wiki. Your instructions are in the user message."


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


def messages(mode: str | None, request: Request) -> list[dict[str, str]]:
    """The chat messages of `request` in `mode` (None: prose, no schema)."""
    instructions = request.instructions.rstrip()
    if mode == "json_object":
        # The only mode where the server never sees the schema, so the model must.
        instructions += "\nThe JSON schema of the reply:\n" + json.dumps(request.schema)
    chat = [
        {"role": "system", "content": ROLE},
        {"role": "user", "content": instructions + "\n\n" + request.data},
    ]
    if request.repair:
        bad_reply, instruction = request.repair
        chat += [
            {"role": "assistant", "content": bad_reply},
            {"role": "user", "content": instruction},
        ]
    return chat


def count_prompt(chat: Sequence[Mapping[str, str]], schema: Mapping[str, Any], mode: str) -> int:
    tokens = sum(count_tokens(m["content"]) + _MESSAGE_OVERHEAD for m in chat)
    # A schema sent as json_schema or as a tool is billed as prompt; one that a grammar enforces
    # (json_object with a schema) is not, and in plain json_object it is in the messages.
    if mode in ("json_schema", "tools"):
        tokens += count_tokens(json.dumps(schema))
    return tokens


def mode_arguments(mode: str, request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
    """The request's arguments that ask for JSON in `mode`: those the SDK knows, and those
    that go into the body verbatim."""
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
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
    return kwargs, extra


def reply_text(completion: ChatCompletion, mode: str) -> tuple[str, str]:
    """The reply's JSON text and the server's finish reason."""
    if not completion.choices:
        return "", ""
    choice = completion.choices[0]
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
    return text, choice.finish_reason or ""


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


class ModeProbe:
    """Which mode the next structured request uses on one server: the one that worked in this
    process, else the remembered one, else the next one not yet refused. Thread-safe.

    `key` names the server and model in the cache; `cache` None remembers nothing."""

    def __init__(self, key: str, cache: ModeCache | None) -> None:
        self._key = key
        self._cache = cache
        self._lock = threading.Lock()
        self._mode: int | None = None  # index into MODES once a mode has worked here
        self._refused: set[int] = set()  # modes refused while probing
        cached = cache.get(key) if cache is not None else None
        self._cached: int | None = MODES.index(cached) if cached else None

    @property
    def mode(self) -> str | None:
        """The mode the server accepted in this process, once one has."""
        with self._lock:
            return None if self._mode is None else MODES[self._mode]

    def start(self) -> int:
        """The index of the mode the next request starts with."""
        with self._lock:
            if self._mode is not None:
                return self._mode
            if self._cached is not None and self._cached not in self._refused:
                return self._cached
            return next((i for i in range(len(MODES)) if i not in self._refused), 0)

    def known(self) -> bool:
        with self._lock:
            return self._mode is not None

    def refuse(self, index: int, status: int, detail: str) -> int | None:
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

    def restart(self) -> int:
        """Every mode was refused: start over, since a 500 may have been an outage."""
        with self._lock:
            if self._mode is None:
                self._refused.clear()
                return 0
            return self._mode

    def confirm(self, index: int) -> None:
        with self._lock:
            if self._mode is not None:
                return
            self._mode = index
            remember = index != self._cached
            self._cached = index
        log.info("LLM server accepts structured output as %s", MODES[index])
        if remember and self._cache is not None:
            self._cache.put(self._key, MODES[index])
