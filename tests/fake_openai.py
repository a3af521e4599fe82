"""A loopback fake of an OpenAI-compatible chat completions server, for tests and benchmarks.

It listens on 127.0.0.1 (a free port) in a daemon thread, so the real `openai` client, whatever
HTTP library it uses inside, talks to it over a real socket:

    def responder(request: dict) -> dict | str | FakeReply:
        if call_kind(request) == "same_entity":
            return {"reasoning": "same name", "same": True}
        return FakeReply(status=500)

    with FakeOpenAI(responder) as fake:
        client = openai.OpenAI(base_url=fake.base_url, api_key="test", max_retries=0)
        ...
        assert len(fake.requests) == 1

A responder gets the parsed request body and returns the reply's JSON content (a dict or list,
sent as the message content, or as a tool call's arguments when the request forced a tool), a
raw string (sent as is, e.g. invalid JSON), a `FakeCompletion` to choose the finish reason or
stream an endless reply, or a `FakeReply` for an HTTP error or a raw body. A request with
`"stream": true` is answered with server-sent events, a few characters per chunk.
`by_kind` and `sequence` build common responders; `default_responder` answers every call of the
wiki's LLM engine with a small schema-valid reply built from the source text.

Some behaviours replay what a real llama-cpp-python server (0.3.36, a Gemma 3 GGUF) did, as
recorded in issue 18: `LLAMA_CPP_JSON_SCHEMA_ERROR` (its HTTP 500 to json_schema),
`context_window` (its 400 `context_length_exceeded`), `drop_system` (its `gemma` chat format,
which drops the system message: the model answers as if no instructions arrived, unless they
are in the user message). Prompt tokens are counted the way servers bill them: the messages,
plus the schema when it travels as a json_schema or a tool definition; a schema enforced by a
grammar (json_object with a schema) is not part of the prompt.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from llmwiki.tokens import count_tokens

Content = dict[str, Any] | list[Any] | str
Responder = Callable[[dict[str, Any]], "Content | FakeReply | FakeCompletion"]

_MARKER_RE = re.compile(r'"([\w-]+)" schema')
_STREAM_PIECE = 5  # characters per streamed chunk, so words and links arrive split
_STREAM_CAP = 200_000  # chunks; an endless reply stops here even if the client never hangs up

# What llama-cpp-python 0.3.36 answered to response_format json_schema (HTTP 500).
LLAMA_CPP_JSON_SCHEMA_ERROR = {
    "error": {
        "message": "1 validation error for CreateChatCompletionRequest\nresponse_format.type\n"
        "  Input should be 'text' or 'json_object' [type=literal_error, "
        "input_value='json_schema', input_type=str]",
        "type": "internal_server_error",
        "param": None,
        "code": None,
    }
}
# What a model answered when its chat template had dropped the instructions (issue 18).
UNINSTRUCTED_REPLY = {"text": "The Turing machine has been shown to be a universal model."}


def context_length_error(window: int, prompt: int) -> FakeReply:
    """The HTTP 400 llama-cpp-python (like OpenAI) sends for a prompt over the context."""
    return FakeReply(
        status=400,
        body={
            "error": {
                "message": f"This model's maximum context length is {window} tokens. However, "
                f"you requested {prompt} tokens ({prompt} in the messages, 0 in the "
                "completion). Please reduce the length of the messages or completion.",
                "type": "invalid_request_error",
                "param": "messages",
                "code": "context_length_exceeded",
            }
        },
    )


@dataclass(frozen=True)
class FakeReply:
    """An HTTP answer other than a normal completion.

    `body` None sends an OpenAI-style error object (`{"error": {"message": ...}}`); a dict is
    sent as JSON and a string as is. With status 200 and a body, the body replaces the whole
    completion (to test replies without `usage`, without choices, ...).
    """

    status: int = 500
    headers: Mapping[str, str] = field(default_factory=dict)
    body: dict[str, Any] | str | None = None


@dataclass(frozen=True)
class FakeCompletion:
    """A completion with a chosen finish reason. For a streamed request, `content` may also be
    an iterable of text pieces, each sent as one chunk (an endless generator streams until the
    client hangs up), `delay` seconds apart."""

    content: Content | Iterable[str]
    finish_reason: str = "stop"
    delay: float = 0.0


def repeating(token: str) -> Iterator[str]:
    """An endless stream of one token, as a degenerate small model produces."""
    return itertools.repeat(token)


def request_mode(request: Mapping[str, Any]) -> str:
    """How a request asks for structured output: json_schema, json_object_schema (llama.cpp's
    json_object with a schema), tools (a forced tool call), json_object, or text."""
    response_format = request.get("response_format") or {}
    kind = response_format.get("type")
    if kind == "json_schema":
        return "json_schema"
    if kind == "json_object":
        return "json_object_schema" if response_format.get("schema") else "json_object"
    if request.get("tools"):
        return "tools"
    return "text"


def call_kind(request: Mapping[str, Any]) -> str:
    """Which call this is ("extract", "same_entity", "merge", ...): the json_schema's name, the
    forced tool's name, or the `"NAME" schema` marker in the system prompt; "" when unknown."""
    response_format = request.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return str(response_format.get("json_schema", {}).get("name", ""))
    choice = request.get("tool_choice")
    if isinstance(choice, dict) and choice.get("function", {}).get("name"):
        return str(choice["function"]["name"])
    for tool in request.get("tools") or ():
        return str(tool.get("function", {}).get("name", ""))
    for role in ("system", "user"):  # the engine's instructions come before any data
        match = _MARKER_RE.search(message_text(request, role))
        if match:
            return match.group(1)
    return ""


def message_text(request: Mapping[str, Any], role: str = "user") -> str:
    """All text of the request's messages with this role, joined."""
    return "\n".join(
        _text(m.get("content")) for m in request.get("messages") or () if m.get("role") == role
    )


def source_text(request: Mapping[str, Any]) -> str:
    """What the user message has between <source> and </source> ("" when nothing): the last
    such block, since the instructions that come first may name the tags."""
    return _between(message_text(request), "source")


def by_kind(replies: Mapping[str, Content | FakeReply | FakeCompletion | Responder]) -> Responder:
    """A responder answering each call kind with a fixed reply or a responder of its own."""

    def respond(request: dict[str, Any]) -> Content | FakeReply | FakeCompletion:
        kind = call_kind(request)
        if kind not in replies:
            return FakeReply(status=400, body={"error": {"message": f"unscripted call {kind!r}"}})
        reply = replies[kind]
        return reply(request) if callable(reply) else reply

    return respond


def sequence(
    *replies: Content | FakeReply | FakeCompletion, then: Responder | None = None
) -> Responder:
    """Replies in this order whatever the request, then `then` (or the last reply again)."""
    lock = threading.Lock()
    queue = list(replies)

    def respond(request: dict[str, Any]) -> Content | FakeReply | FakeCompletion:
        with lock:
            if len(queue) > 1 or (queue and then is not None):
                return queue.pop(0)
        if then is not None:
            return then(request)
        return queue[0]

    return respond


def default_responder(request: dict[str, Any]) -> Content | FakeReply:
    """Schema-valid replies for the LLM engine's calls: extract finds capitalised two-word
    names in the source (people) with the sentences naming them as facts and verbatim quotes;
    same_entity says no; merge keeps every new fact and reports no contradiction; overview repeats
    the page's first two facts."""
    kind = call_kind(request)
    if kind == "same_entity":
        return {"reasoning": "The names differ.", "same": False}
    if kind == "merge":
        count = len(re.findall(r"^\d+\. ", _between(message_text(request), "new_facts"), re.M))
        return {"reasoning": "All new.", "new_fact_ids": list(range(1, count + 1)), "conflicts": []}
    if kind == "extract":
        text = source_text(request)
        sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
        entities: dict[str, dict[str, Any]] = {}
        for sentence in sentences:
            for name in re.findall(r"\b[A-Z][a-z]+ [A-Z][a-z]+\b", sentence):
                entity = entities.setdefault(
                    name,
                    {"name": name, "type": "person", "aliases": [], "description": "", "facts": []},
                )
                if len(entity["facts"]) < 3:
                    entity["facts"].append({"statement": sentence, "quote": sentence})
        first = sentences[0] if sentences else ""
        return {
            "title": first[:60],
            "summary": first,
            "key_claims": [{"statement": s, "quote": s} for s in sentences[:2]],
            "entities": list(entities.values())[:8],
        }
    if kind == "overview":
        return overview_from_facts(request)
    return FakeReply(status=400, body={"error": {"message": f"unknown call {kind!r}"}})


def overview_from_facts(request: Mapping[str, Any], count: int = 2) -> dict[str, Any]:
    """An overview call's reply that passes the checks: the page's first facts, each citing
    the source it names."""
    sentences = []
    # (the fact lines themselves: the instructions before them name the tags too)
    for line in message_text(request).splitlines():
        match = re.match(r"^\d+\. (.*) \(source: (.*?)(?:, [0-9-]+)?\)$", line)
        if match and len(sentences) < count:
            sentences.append({"text": match.group(1), "sources": [match.group(2)]})
    return {"sentences": sentences}


class FakeOpenAI:
    """The server. Use as a context manager (or call start()/close()).

    reject_modes: request modes (see `request_mode`) answered with `reject_status`, like
    llama-cpp-python answering HTTP 500 to json_schema (with its very words when the status is
    500 and the mode json_schema); `reject_json_schema=True` is shorthand.
    latency: seconds each completion takes, so parallel callers overlap.
    context_window: prompts over this many tokens get the 400 `context_length_exceeded`.
    drop_system: system messages never reach the model (llama-cpp-python's `gemma` format); a
    request whose user message holds no instructions is answered with `UNINSTRUCTED_REPLY`.
    """

    def __init__(
        self,
        responder: Responder = default_responder,
        *,
        latency: float = 0.0,
        reject_json_schema: bool = False,
        reject_modes: Iterable[str] = (),
        reject_status: int = 500,
        model: str = "fake-model",
        context_window: int | None = None,
        drop_system: bool = False,
    ) -> None:
        self.responder = responder
        self.latency = latency
        self.reject_modes = set(reject_modes) | ({"json_schema"} if reject_json_schema else set())
        self.reject_status = reject_status
        self.model = model
        self.context_window = context_window
        self.drop_system = drop_system
        self.requests: list[dict[str, Any]] = []  # every chat request body, in arrival order
        self.errors: list[str] = []  # tracebacks of responders that raised
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.request_prompt_tokens: list[int] = []  # per request, as billed, in arrival order
        self.streamed_chunks = 0  # content chunks sent in streams
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeOpenAI is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    # -- what happened -----------------------------------------------------------------------

    def kinds(self) -> list[str]:
        with self._lock:
            return [call_kind(r) for r in self.requests]

    def modes(self) -> list[str]:
        with self._lock:
            return [request_mode(r) for r in self.requests]

    # -- serving -----------------------------------------------------------------------------

    def prompt_of(self, request: Mapping[str, Any]) -> int:
        """The request's prompt tokens as the server bills them (see the module docstring)."""
        tokens = sum(count_tokens(_text(m.get("content"))) for m in request.get("messages") or ())
        mode = request_mode(request)
        if mode == "json_schema":
            schema = request["response_format"].get("json_schema", {}).get("schema", {})
            tokens += count_tokens(json.dumps(schema))
        elif mode == "tools":
            tokens += count_tokens(json.dumps(request.get("tools")))
        return tokens

    def _heard(self, request: dict[str, Any]) -> dict[str, Any]:
        """The request as the model gets it."""
        if not self.drop_system:
            return request
        messages = [m for m in request.get("messages") or () if m.get("role") != "system"]
        return {**request, "messages": messages}

    def _answer(self, request: dict[str, Any]) -> Content | FakeReply | FakeCompletion:
        """What to send back: a refusal the server itself makes, or the responder's reply."""
        mode = request_mode(request)
        if mode in self.reject_modes:
            if self.reject_status == 500 and mode == "json_schema":
                return FakeReply(status=500, body=LLAMA_CPP_JSON_SCHEMA_ERROR)
            return FakeReply(
                status=self.reject_status, body=_error_body(f"response mode {mode} unsupported")
            )
        heard = self._heard(request)
        prompt = self.prompt_of(heard)
        if self.context_window is not None and prompt > self.context_window:
            return context_length_error(self.context_window, prompt)
        if self.drop_system and not call_kind(heard) and mode != "text":
            return UNINSTRUCTED_REPLY
        try:
            return self.responder(heard)
        except Exception:  # a broken responder is a test bug: answer 500 and keep the trace
            trace = traceback.format_exc()
            with self._lock:
                self.errors.append(trace)
            return FakeReply(status=500, body=_error_body("responder raised: " + trace[-200:]))

    def _serve(self, request: dict[str, Any], handler: _Handler) -> None:
        with self._lock:
            self.requests.append(request)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if self.latency:
                time.sleep(self.latency)
            reply = self._answer(request)
            if isinstance(reply, FakeReply):
                if reply.status == 200 and reply.body is not None:
                    handler.send(200, reply.headers, _encode(reply.body))
                else:
                    handler.send(*_error(reply.status, "scripted error", reply.headers, reply.body))
                return
            if not isinstance(reply, FakeCompletion):
                reply = FakeCompletion(reply)
            heard = self._heard(request)
            prompt = self.prompt_of(heard)
            with self._lock:
                self.request_prompt_tokens.append(prompt)
            if request.get("stream"):
                self._stream(heard, prompt, reply, handler)
            else:
                handler.send(200, {}, json.dumps(self._completion(heard, prompt, reply)).encode())
        finally:
            with self._lock:
                self._in_flight -= 1

    def _completion(
        self, request: dict[str, Any], prompt: int, reply: FakeCompletion
    ) -> dict[str, Any]:
        content = _content(reply.content)
        completion = count_tokens(content)
        with self._lock:
            self.prompt_tokens += prompt
            self.completion_tokens += completion
        message: dict[str, Any] = {"role": "assistant", "content": content}
        finish = reply.finish_reason
        if request_mode(request) == "tools":
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{len(self.requests)}",
                        "type": "function",
                        "function": {"name": call_kind(request), "arguments": content},
                    }
                ],
            }
            finish = "tool_calls" if finish == "stop" else finish
        return {
            "id": f"chatcmpl-fake-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", self.model),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }

    def _stream(
        self, request: dict[str, Any], prompt: int, reply: FakeCompletion, handler: _Handler
    ) -> None:
        if isinstance(reply.content, (str, dict, list)):
            text = _content(reply.content)
            pieces: Iterable[str] = [
                text[i : i + _STREAM_PIECE] for i in range(0, len(text), _STREAM_PIECE)
            ]
        else:
            pieces = reply.content
        base = {
            "id": f"chatcmpl-fake-{len(self.requests)}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": request.get("model", self.model),
        }
        handler.start_stream()
        completion = 0
        try:
            for piece in itertools.islice(pieces, _STREAM_CAP):
                choice = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                handler.event({**base, "choices": [choice]})
                completion += count_tokens(piece)
                with self._lock:
                    self.streamed_chunks += 1
                if reply.delay:
                    time.sleep(reply.delay)
            end = {"index": 0, "delta": {}, "finish_reason": reply.finish_reason}
            handler.event({**base, "choices": [end]})
            if (request.get("stream_options") or {}).get("include_usage"):
                usage = {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                }
                handler.event({**base, "choices": [], "usage": usage})
            handler.done()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up, as it should on a stream it stopped reading
        finally:
            with self._lock:
                self.prompt_tokens += prompt
                self.completion_tokens += completion


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAI
    protocol_version = "HTTP/1.1"  # keep-alive, as the openai client expects
    timeout = 10  # an idle kept-alive connection is dropped after this
    # Headers and body leave in one write; otherwise Nagle plus delayed ACKs add 40 ms a reply.
    wbufsize = -1
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self.send(*_error(404, f"no route {self.path}", {}))
            return
        try:
            request = json.loads(raw)
        except json.JSONDecodeError:
            self.send(*_error(400, "request body is not JSON", {}))
            return
        self.fake._serve(request, self)

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            body = {"object": "list", "data": [{"id": self.fake.model, "object": "model"}]}
            self.send(200, {}, json.dumps(body).encode())
        else:
            self.send(*_error(404, f"no route {self.path}", {}))

    def send(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.send_response(status)
        if not any(name.lower() == "content-type" for name in headers):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def start_stream(self) -> None:
        # No length is known in advance: the body ends when the connection closes.
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()

    def event(self, data: dict[str, Any]) -> None:
        self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()

    def done(self) -> None:
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass


def _error(
    status: int,
    message: str,
    headers: Mapping[str, str],
    body: dict[str, Any] | str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    if body is None:
        body = _error_body(message)
    return status, dict(headers), _encode(body)


def _error_body(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "server_error", "code": None}}


def _content(content: Content | Iterable[str]) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, (dict, list)):
        return json.dumps(content)
    return "".join(content)


def _encode(body: dict[str, Any] | str) -> bytes:
    return (body if isinstance(body, str) else json.dumps(body)).encode()


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _between(text: str, tag: str) -> str:
    found = re.findall(rf"<{tag}>\n?(.*?)\n?</{tag}>", text, re.DOTALL)
    return found[-1] if found else ""
