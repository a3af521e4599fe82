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
raw string (sent as is, e.g. invalid JSON), or a `FakeReply` for an HTTP error or a raw body.
`by_kind` and `sequence` build common responders; `default_responder` answers every call of the
wiki's LLM engine with a small schema-valid reply built from the source text.
"""

from __future__ import annotations

import json
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from llmwiki.tokens import count_tokens

Content = dict[str, Any] | list[Any] | str
Responder = Callable[[dict[str, Any]], "Content | FakeReply"]

_MARKER_RE = re.compile(r'"([\w-]+)" schema')


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
    for message in request.get("messages") or ():
        if message.get("role") == "system":
            match = _MARKER_RE.search(_text(message.get("content")))
            if match:
                return match.group(1)
    return ""


def message_text(request: Mapping[str, Any], role: str = "user") -> str:
    """All text of the request's messages with this role, joined."""
    return "\n".join(
        _text(m.get("content")) for m in request.get("messages") or () if m.get("role") == role
    )


def source_text(request: Mapping[str, Any]) -> str:
    """What the first user message has between <source> and </source> ("" when nothing)."""
    match = re.search(r"<source>\n?(.*?)\n?</source>", message_text(request), re.DOTALL)
    return match.group(1) if match else ""


def by_kind(replies: Mapping[str, Content | FakeReply | Responder]) -> Responder:
    """A responder answering each call kind with a fixed reply or a responder of its own."""

    def respond(request: dict[str, Any]) -> Content | FakeReply:
        kind = call_kind(request)
        if kind not in replies:
            return FakeReply(status=400, body={"error": {"message": f"unscripted call {kind!r}"}})
        reply = replies[kind]
        return reply(request) if callable(reply) else reply

    return respond


def sequence(*replies: Content | FakeReply, then: Responder | None = None) -> Responder:
    """Replies in this order whatever the request, then `then` (or the last reply again)."""
    lock = threading.Lock()
    queue = list(replies)

    def respond(request: dict[str, Any]) -> Content | FakeReply:
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
    same_entity says no; merge keeps every new fact and reports no conflict."""
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
    return FakeReply(status=400, body={"error": {"message": f"unknown call {kind!r}"}})


class FakeOpenAI:
    """The server. Use as a context manager (or call start()/close()).

    reject_modes: request modes (see `request_mode`) answered with `reject_status`, like
    llama-cpp-python answering HTTP 500 to json_schema; `reject_json_schema=True` is shorthand.
    latency: seconds each completion takes, so parallel callers overlap.
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
    ) -> None:
        self.responder = responder
        self.latency = latency
        self.reject_modes = set(reject_modes) | ({"json_schema"} if reject_json_schema else set())
        self.reject_status = reject_status
        self.model = model
        self.requests: list[dict[str, Any]] = []  # every chat request body, in arrival order
        self.errors: list[str] = []  # tracebacks of responders that raised
        self.prompt_tokens = 0
        self.completion_tokens = 0
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

    def _complete(self, request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests.append(request)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if self.latency:
                time.sleep(self.latency)
            mode = request_mode(request)
            if mode in self.reject_modes:
                return _error(self.reject_status, f"response mode {mode} is not supported", {})
            try:
                reply = self.responder(request)
            except Exception:  # a broken responder is a test bug: answer 500 and keep the trace
                trace = traceback.format_exc()
                with self._lock:
                    self.errors.append(trace)
                return _error(500, "responder raised: " + trace.splitlines()[-1], {})
            if isinstance(reply, FakeReply):
                if reply.status == 200 and reply.body is not None:
                    return 200, dict(reply.headers), _encode(reply.body)
                return _error(reply.status, "scripted error", reply.headers, reply.body)
            return 200, {}, json.dumps(self._completion(request, mode, reply)).encode()
        finally:
            with self._lock:
                self._in_flight -= 1

    def _completion(self, request: dict[str, Any], mode: str, reply: Content) -> dict[str, Any]:
        content = reply if isinstance(reply, str) else json.dumps(reply)
        prompt = sum(count_tokens(_text(m.get("content"))) for m in request.get("messages") or ())
        completion = count_tokens(content)
        with self._lock:
            self.prompt_tokens += prompt
            self.completion_tokens += completion
        message: dict[str, Any] = {"role": "assistant", "content": content}
        finish = "stop"
        if mode == "tools":
            name = call_kind(request)
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{len(self.requests)}",
                        "type": "function",
                        "function": {"name": name, "arguments": content},
                    }
                ],
            }
            finish = "tool_calls"
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
            self._send(*_error(404, f"no route {self.path}", {}))
            return
        try:
            request = json.loads(raw)
        except json.JSONDecodeError:
            self._send(*_error(400, "request body is not JSON", {}))
            return
        self._send(*self.fake._complete(request))

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            body = {"object": "list", "data": [{"id": self.fake.model, "object": "model"}]}
            self._send(200, {}, json.dumps(body).encode())
        else:
            self._send(*_error(404, f"no route {self.path}", {}))

    def _send(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.send_response(status)
        if not any(name.lower() == "content-type" for name in headers):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass


def _error(
    status: int,
    message: str,
    headers: Mapping[str, str],
    body: dict[str, Any] | str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    if body is None:
        body = {"error": {"message": message, "type": "server_error", "code": None}}
    return status, dict(headers), _encode(body)


def _encode(body: dict[str, Any] | str) -> bytes:
    return (body if isinstance(body, str) else json.dumps(body)).encode()


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _between(text: str, tag: str) -> str:
    match = re.search(rf"<{tag}>(.*?)</{tag}>", text, re.DOTALL)
    return match.group(1) if match else ""
