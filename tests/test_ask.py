"""`wiki ask`: retrieval into a budget, both answerers, link checking, --save, the command."""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import NO_LLM, SAMPLE_ENTITIES, SAMPLES, TODAY, KeywordEngine, run

from llmwiki.ask import AskResult, ask
from llmwiki.catalog import Catalog
from llmwiki.cli import cli
from llmwiki.config import Config
from llmwiki.engines.answerer import NOT_COVERED, Answer, ContextPage
from llmwiki.engines.extractive.answerer import ExtractiveAnswerer
from llmwiki.engines.llm.answerer import LLMAnswerer
from llmwiki.errors import EngineError
from llmwiki.pages import parse_links, read
from llmwiki.prompts import Prompts
from llmwiki.search import search
from llmwiki.tokens import count_tokens
from llmwiki.vault import Vault

ENTITIES = SAMPLE_ENTITIES
ALIASES: dict[str, Sequence[str]] = {
    "Tomas Berg": ["Berg"],
    "Retrieval-Augmented Generation": ["RAG"],
}
SECRET = "sk-test-SECRET123"
PAGE_RE = re.compile(r"<page>\n.*?\n</page>", re.DOTALL)


@pytest.fixture
def samples(vault: Vault) -> Vault:
    """The repository's own sample articles, ingested with the scripted engine."""
    for sample in SAMPLES:
        shutil.copy(sample, vault.inbox / sample.name)
    assert run(vault, KeywordEngine(ENTITIES, ALIASES)).ok
    return vault


@pytest.fixture
def corpus_wiki(vault: Vault, corpus: list[Path]) -> Vault:
    """The shared real newsletters, ingested with the embedded extractive engine."""
    extractive = pytest.importorskip("llmwiki.engines.extractive.engine")
    for file in corpus:
        shutil.copy(file, vault.inbox / file.name)
    assert run(vault, extractive.ExtractiveEngine()).ok
    assert (vault.wiki / "people" / "Nathan Lambert.md").exists(), "no Nathan Lambert page"
    return vault


def assert_links_resolve(vault: Vault, text: str) -> None:
    stems = {p.stem for p in vault.wiki.rglob("*.md")}
    for link in parse_links(text):
        assert link.target in stems, f"[[{link.target}]] is not a page"


# --- a loopback OpenAI-compatible server that streams (server-sent events) --------------------


class StreamingFake:
    """Serves /v1/chat/completions as an SSE stream of the responder's text, a few characters
    per chunk (so links arrive split across chunks), with a final usage chunk when asked."""

    def __init__(
        self, responder: Callable[[dict[str, Any]], str | int], refuse_stream_options: bool = False
    ) -> None:
        self.responder = responder
        self.refuse_stream_options = refuse_stream_options
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # the body ends when the connection closes

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                if fake.refuse_stream_options and "stream_options" in body:
                    return self._error(400, "unknown field stream_options")
                reply = fake.responder(body)
                if isinstance(reply, int):
                    return self._error(reply, f"scripted failure, key {SECRET}")
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                base = {
                    "id": "c1",
                    "object": "chat.completion.chunk",
                    "created": 1,
                    "model": body["model"],
                }
                pieces = [reply[i : i + 5] for i in range(0, len(reply), 5)]
                for piece in pieces:
                    choice = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                    self._event({**base, "choices": [choice]})
                self._event(
                    {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                )
                if body.get("stream_options", {}).get("include_usage"):
                    self._event(
                        {
                            **base,
                            "choices": [],
                            "usage": {
                                "prompt_tokens": 111,
                                "completion_tokens": 22,
                                "total_tokens": 133,
                            },
                        }
                    )
                self.wfile.write(b"data: [DONE]\n\n")

            def _event(self, data: dict[str, Any]) -> None:
                self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())

            def _error(self, status: int, message: str) -> None:
                payload = json.dumps({"error": {"message": message}}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> StreamingFake:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"


def user_message(request: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in request["messages"] if m["role"] == "user")


def prompt_links(request: dict[str, Any]) -> list[str]:
    return re.findall(r"^Link: \[\[(.+?)\]\]$", user_message(request), re.MULTILINE)


def cite_first_page(request: dict[str, Any]) -> str:
    """A model that answers from the first supplied page, and also invents a page."""
    first = prompt_links(request)[0]
    return (
        f"According to the wiki, [[{first}]] is the page about this. "
        "See also [[Ghost Page|a page that does not exist]]."
    )


@pytest.fixture
def answerer_for_fake() -> Iterator[Callable[[StreamingFake], LLMAnswerer]]:
    made: list[LLMAnswerer] = []

    def make(fake: StreamingFake) -> LLMAnswerer:
        config = Config(
            model="test-model", base_url=fake.base_url, api_key=SECRET, max_retries=0, timeout=10
        )
        made.append(LLMAnswerer(config, Prompts()))
        return made[-1]

    yield make
    for answerer in made:
        answerer.close()


# --- acceptance 1: who is ...? ------------------------------------------------------------------


def test_samples_who_is_tomas_berg_cites_his_page(samples: Vault) -> None:
    result = ask(samples, ExtractiveAnswerer(), "Who is Tomas Berg?", today=TODAY)
    assert result.citations[0] == "Tomas Berg" and result.covered
    assert "[[Tomas Berg]]" in result.answer and "Lighthouse" in result.answer
    assert result.pages[0] == "Tomas Berg" and result.engine == "extractive"
    assert_links_resolve(samples, result.answer)


def test_an_ingest_engine_stands_in_with_the_extractive_answerer(samples: Vault) -> None:
    result = ask(samples, KeywordEngine(ENTITIES), "Who is Tomas Berg?")
    assert result.engine == "extractive" and "Tomas Berg" in result.citations


def test_corpus_who_is_nathan_lambert_extractive(corpus_wiki: Vault) -> None:
    result = ask(corpus_wiki, ExtractiveAnswerer(), "Who is Nathan Lambert?", today=TODAY)
    assert result.citations[0] == "Nathan Lambert"
    assert result.answer.startswith("- [[Nathan Lambert]]: ")
    assert "OLMo" in result.answer
    assert_links_resolve(corpus_wiki, result.answer)


def test_corpus_who_is_nathan_lambert_llm(
    corpus_wiki: Vault, answerer_for_fake: Callable[[StreamingFake], LLMAnswerer]
) -> None:
    streamed: list[str] = []
    with StreamingFake(cite_first_page) as fake:
        result = ask(
            corpus_wiki, answerer_for_fake(fake), "Who is Nathan Lambert?", on_token=streamed.append
        )
    assert result.citations == ("Nathan Lambert",) and result.engine == "llm"
    assert "[[Nathan Lambert]]" in result.answer
    # the invented page is plain text, in the answer and in what was streamed alike
    assert "a page that does not exist" in result.answer and "Ghost" not in result.answer
    assert "".join(streamed).strip() == result.answer
    assert not any("Ghost" in piece for piece in streamed)
    assert result.usage.total_tokens == 133


def test_llm_prompt_holds_only_retrieved_pages_within_the_budget(
    samples: Vault, answerer_for_fake: Callable[[StreamingFake], LLMAnswerer]
) -> None:
    budget = 400
    with StreamingFake(cite_first_page) as fake:
        result = ask(
            samples, answerer_for_fake(fake), "What did Berg say about code?", budget_tokens=budget
        )
    (request,) = fake.requests
    assert request["stream"] is True and request["model"] == "test-model"
    blocks = PAGE_RE.findall(user_message(request))
    assert blocks and sum(count_tokens(b) for b in blocks) <= budget
    assert tuple(prompt_links(request)) == result.pages
    assert result.pages[0] == "Tomas Berg"
    every_page = {e.stem for e in Catalog.scan(samples.wiki)}
    assert set(result.pages) < every_page  # not the whole wiki
    assert "<question>\nWhat did Berg say about code?\n</question>" in user_message(request)
    instructions = user_message(request)  # not the system message: templates may drop it
    assert "only the wiki pages supplied" in instructions and "[[" in instructions


def test_a_tight_budget_trims_pages_to_fit(
    samples: Vault, answerer_for_fake: Callable[[StreamingFake], LLMAnswerer]
) -> None:
    with StreamingFake(cite_first_page) as fake:
        ask(samples, answerer_for_fake(fake), "Who is Tomas Berg?", budget_tokens=150)
    blocks = PAGE_RE.findall(user_message(fake.requests[0]))
    assert blocks and sum(count_tokens(b) for b in blocks) <= 150
    assert "[…]" in blocks[0]


# --- acceptance 2: what the wiki does not hold -----------------------------------------------


def test_not_covered_says_so_without_citation(
    samples: Vault, answerer_for_fake: Callable[[StreamingFake], LLMAnswerer]
) -> None:
    question = "What is the capital of Mongolia?"
    result = ask(samples, ExtractiveAnswerer(), question)
    assert result.answer == NOT_COVERED and "does not cover" in result.answer
    assert result.citations == () and result.pages == () and "[[" not in result.answer
    with StreamingFake(cite_first_page) as fake:
        result = ask(samples, answerer_for_fake(fake), question, save=True)
    assert fake.requests == []  # no relevant page, no LLM call
    assert result.answer == NOT_COVERED and result.saved is None and "not saved" in result.note
    assert not (samples.wiki / "answers").exists() or not any((samples.wiki / "answers").iterdir())


def test_one_shared_common_word_is_not_coverage(
    samples: Vault, answerer_for_fake: Callable[[StreamingFake], LLMAnswerer]
) -> None:
    # "evaluation" is in the wiki; "Mongolian" and "cuisine" are not
    question = "Mongolian cuisine evaluation?"
    result = ask(samples, ExtractiveAnswerer(), question)
    assert result.answer == NOT_COVERED and result.citations == ()
    with StreamingFake(cite_first_page) as fake:
        result = ask(samples, answerer_for_fake(fake), question)
    assert fake.requests == [] and result.answer == NOT_COVERED


def test_extractive_passages_must_cover_the_question_themselves() -> None:
    page = ContextPage("Notes", "Notes", "concept", "Quokkas live in Australia.\n\nBerg likes tea.")
    answer = ExtractiveAnswerer().answer("Berg and quokkas?", [page])
    assert answer.text == NOT_COVERED  # each word is on the page, but no passage has both
    answer = ExtractiveAnswerer().answer("Where do quokkas live?", [page])
    assert answer.text == "- [[Notes]]: Quokkas live in Australia."


# --- acceptance 3: --save files the answer back ------------------------------------------------


def test_save_files_the_answer_and_later_questions_retrieve_it(samples: Vault) -> None:
    question = "Who is Tomas Berg?"
    result = ask(samples, ExtractiveAnswerer(), question, save=True, today=TODAY)
    path = samples.wiki / "answers" / "Who is Tomas Berg.md"
    assert result.saved == path and path.exists()
    page = read(path)
    assert page.meta["title"] == question and page.meta["type"] == "answer"
    assert page.meta["tags"] == ["answer"] and page.meta["created"] == TODAY.isoformat()
    assert "[[Tomas Berg]]" in page.meta["sources"] and page.meta["summary"]
    assert page.body.startswith(result.answer)
    assert "## Sources\n\n- [[Tomas Berg]]" in page.body
    assert_links_resolve(samples, path.read_text())
    index = (samples.wiki / "index.md").read_text()
    assert "## Answers (1)" in index and "[[Who is Tomas Berg|Who is Tomas Berg?]]" in index
    assert "] ask | Who is Tomas Berg?" in (samples.wiki / "log.md").read_text()

    assert "Who is Tomas Berg" in [h.stem for h in search(samples, "Who is Tomas Berg?")]
    later = ask(samples, ExtractiveAnswerer(), "What do we know about Tomas Berg?")
    assert "Who is Tomas Berg" in later.pages

    path.write_text(path.read_text() + "\n## Notes\n\nMy own words.\n")
    again = ask(samples, ExtractiveAnswerer(), question, save=True, today=TODAY.replace(day=20))
    assert again.saved == path and len(list((samples.wiki / "answers").iterdir())) == 1
    assert read(path).meta["created"] == TODAY.isoformat()
    assert read(path).meta["updated"] == "2026-01-20"
    assert path.read_text().rstrip().endswith("## Notes\n\nMy own words.")


def test_save_never_takes_another_pages_name(samples: Vault) -> None:
    result = ask(samples, ExtractiveAnswerer(), "Tomas Berg", save=True, today=TODAY)
    assert result.saved is not None and result.saved.parent.name == "answers"
    assert result.saved.stem != "Tomas Berg" and (samples.wiki / "people/Tomas Berg.md").exists()


# --- links are checked, streamed or not --------------------------------------------------------


class Scripted:
    """An answerer that streams fixed pieces (links split across them)."""

    name = "scripted"

    def __init__(self, pieces: Sequence[str], stream: bool = True) -> None:
        self.pieces = pieces
        self.stream = stream
        self.seen: list[ContextPage] = []

    def answer(
        self,
        question: str,
        pages: Sequence[ContextPage],
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        self.seen = list(pages)
        if self.stream and on_token is not None:
            for piece in self.pieces:
                on_token(piece)
        return Answer("".join(self.pieces))


@pytest.mark.parametrize("stream", [True, False])
def test_links_to_missing_pages_become_plain_text(samples: Vault, stream: bool) -> None:
    pieces = [
        "Berg [",
        "[Tomas Be",
        "rg]] built [[Ghost",
        " Page]] and [[lighthouse|the suite]]",
        "; see [[people/Tomas Berg]] and [[Berg]], [[]] and [[open! ",
    ]
    streamed: list[str] = []
    result = ask(samples, Scripted(pieces, stream), "Who is Tomas Berg?", on_token=streamed.append)
    assert result.answer == (
        "Berg [[Tomas Berg]] built Ghost Page and [[Lighthouse|the suite]]; see [[Tomas Berg]] "
        "and [[Tomas Berg|Berg]],  and [[open!"
    )
    assert "".join(streamed).strip() == result.answer
    assert not any("Ghost Page]]" in s or "[[Ghost" in s for s in streamed)
    assert result.citations == ("Tomas Berg", "Lighthouse")


def test_llm_thinking_is_dropped_and_refused_stream_options_fall_back(
    samples: Vault, answerer_for_fake: Callable[[StreamingFake], LLMAnswerer]
) -> None:
    def think_first(request: dict[str, Any]) -> str:
        return "<think>Maybe [[Ghost]]?</think>\n\n[[Tomas Berg]] maintains Lighthouse."

    with StreamingFake(think_first, refuse_stream_options=True) as fake:
        result = ask(samples, answerer_for_fake(fake), "Who is Tomas Berg?")
    assert result.answer == "[[Tomas Berg]] maintains Lighthouse."
    assert len(fake.requests) == 2 and "stream_options" not in fake.requests[1]
    assert result.usage.calls == 1 and result.usage.completion_tokens > 0  # counted locally


def test_llm_server_error_is_a_clear_engine_error(
    samples: Vault, answerer_for_fake: Callable[[StreamingFake], LLMAnswerer]
) -> None:
    with StreamingFake(lambda request: 404) as fake, pytest.raises(EngineError) as error:
        ask(samples, answerer_for_fake(fake), "Who is Tomas Berg?")
    message = str(error.value)
    assert "HTTP 404" in message and "WIKI_MODEL" in message and SECRET not in message


def test_llm_answerer_needs_a_model() -> None:
    with pytest.raises(EngineError, match="WIKI_MODEL"):
        LLMAnswerer(Config(base_url="http://127.0.0.1:9/v1"), Prompts())


# --- the command ------------------------------------------------------------------------------


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={**NO_LLM, **(env or {})})
    return result.exit_code, result.stdout, result.output


def test_cli_ask_extractive_json_and_save(samples: Vault) -> None:
    code, out, _ = invoke("--vault", str(samples.root), "ask", "Who is Tomas Berg?", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert set(data) >= {"answer", "citations", "pages", "tokens"}
    assert data["citations"][0] == "Tomas Berg" and data["tokens"] == 0
    code, out, _ = invoke("--vault", str(samples.root), "ask", "Who is Tomas Berg?", "--save")
    assert code == 0, out
    assert "[[Tomas Berg]]" in out and "Sources: [[Tomas Berg]]" in out
    assert "Saved as wiki/answers/Who is Tomas Berg.md" in out
    code, out, _ = invoke("--vault", str(samples.root), "ask", "capital of Mongolia?", "--save")
    assert code == 0 and "does not cover" in out and "Saved" not in out


def test_cli_ask_streams_with_the_llm(samples: Vault) -> None:
    with StreamingFake(cite_first_page) as fake:
        code, out, _ = invoke(
            "--vault",
            str(samples.root),
            "ask",
            "Who is Tomas Berg?",
            env={"WIKI_MODEL": "test-model", "OPENAI_BASE_URL": fake.base_url},
        )
    assert code == 0, out
    assert "According to the wiki, [[Tomas Berg]] is the page" in out
    assert "Ghost" not in out and "Sources: [[Tomas Berg]]" in out


def test_cli_ask_reports_llm_failure(samples: Vault) -> None:
    with StreamingFake(lambda request: 500) as fake:
        code, _, output = invoke(
            "--vault",
            str(samples.root),
            "ask",
            "Who is Tomas Berg?",
            env={"WIKI_MODEL": "m", "OPENAI_BASE_URL": fake.base_url, "WIKI_MAX_RETRIES": "0"},
        )
    assert code == 2 and "Error:" in output and "HTTP 500" in output


def test_ask_result_is_frozen(samples: Vault) -> None:
    result = ask(samples, ExtractiveAnswerer(), "Who is Tomas Berg?")
    assert isinstance(result, AskResult)
    with pytest.raises(AttributeError):
        result.answer = "x"  # type: ignore[misc]
