"""The LLM engine and answerer against a server that answers as a real llama-cpp-python did.

Each case replays a reply recorded in issue 18 (llama-cpp-python 0.3.36 serving a small Gemma 3
GGUF), through the real openai client and the loopback fake server.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import NO_LLM, SAMPLE_ALIASES, SAMPLE_ENTITIES, SAMPLES, KeywordEngine, drop, run
from fake_openai import (
    UNINSTRUCTED_REPLY,
    FakeCompletion,
    FakeOpenAI,
    FakeReply,
    by_kind,
    call_kind,
    default_responder,
    repeating,
    sequence,
)

from llmwiki.ask import ask
from llmwiki.cli import cli
from llmwiki.config import Config
from llmwiki.engines import Candidate, Mention, SourceDoc
from llmwiki.engines.llm.answerer import LLMAnswerer
from llmwiki.engines.llm.engine import LLMEngine
from llmwiki.errors import EngineError
from llmwiki.prompts import Prompts
from llmwiki.vault import Vault

SECRET = "sk-test-SECRET-77aa"
MODEL = "gemma-3-1b-it"
TEXT = "Alan Turing described a universal machine in 1936. Alonzo Church worked on the same."


def config(fake: FakeOpenAI, **overrides: Any) -> Config:
    settings: dict[str, Any] = {
        "model": MODEL,
        "base_url": fake.base_url,
        "api_key": SECRET,
        "max_retries": 1,
        **overrides,
    }
    return Config(**settings)


def engine(fake: FakeOpenAI, state: Path | None = None, **overrides: Any) -> LLMEngine:
    return LLMEngine(
        config(fake, **overrides),
        Prompts(),
        sleep=lambda _: None,
        rng=random.Random(0),
        state=state,
    )


def doc(text: str = TEXT) -> SourceDoc:
    return SourceDoc(name="turing.md", text=text, sha256="0" * 64, title="Turing")


def extract_reply(**fields: Any) -> dict[str, Any]:
    reply: dict[str, Any] = {
        "title": "Computable numbers",
        "summary": "Turing's machine.",
        "key_claims": [{"statement": "Alan Turing described a universal machine.", "quote": ""}],
        "entities": [],
    }
    reply.update(fields)
    return reply


def invoke(vault: Vault, *args: str, fake: FakeOpenAI | None = None) -> tuple[int, str, str]:
    env = dict(NO_LLM)
    if fake is not None:
        env |= {"WIKI_MODEL": MODEL, "OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": SECRET}
    result = CliRunner().invoke(cli, ["--vault", str(vault.root), *args], env=env)
    return result.exit_code, result.stdout, result.stderr


# -- 1. a reply that matches none of the schema's fields ----------------------------------------


def test_a_reply_matching_no_field_is_repaired_then_fails() -> None:
    with (
        FakeOpenAI(sequence(UNINSTRUCTED_REPLY)) as fake,
        engine(fake) as llm,
        pytest.raises(EngineError) as caught,
    ):
        llm.extract(doc(), [])
    assert len(fake.requests) == 2  # the reply, then one repair
    repair = fake.requests[1]["messages"][-1]["content"]
    assert "text" in repair and "title" in repair  # names the stray and the missing fields
    assert "did not return an extraction" in str(caught.value)


def test_a_wrong_shaped_reply_leaves_the_source_in_the_inbox(vault: Vault) -> None:
    source = drop(vault, "turing.md", "# Turing\n\n" + TEXT + "\n")
    with FakeOpenAI(by_kind({"extract": UNINSTRUCTED_REPLY})) as fake:
        code, out, _err = invoke(vault, "ingest", fake=fake)
    assert code == 1
    assert source.exists()
    assert not any((vault.wiki / "sources").glob("*.md"))
    assert "turing.md" in out and out.count("turing.md") == 1 + out.count("\n  failed")


def test_an_empty_extraction_is_reported_as_nothing_extracted(vault: Vault) -> None:
    drop(vault, "turing.md", "# Turing\n\n" + TEXT + "\n")
    empty = extract_reply(key_claims=[], entities=[])
    with FakeOpenAI(by_kind({"extract": empty})) as fake:
        code, out, _ = invoke(vault, "ingest", fake=fake)
    assert code == 0
    assert "nothing extracted" in out


# -- 2. a prompt over the model's context --------------------------------------------------------


@pytest.mark.parametrize("status", [400, 413])
def test_a_context_overflow_is_not_a_mode_refusal(status: int) -> None:
    long_text = " ".join(f"Sentence {i} about the universal machine." for i in range(400))
    window = 1000

    def respond(request: dict[str, Any]) -> Any:
        return extract_reply()

    fake_server = FakeOpenAI(respond, context_window=window)
    if status == 413:
        fake_server = FakeOpenAI(sequence(FakeReply(status=413, body={"error": {"message": "x"}})))
    with (
        fake_server as fake,
        engine(fake, max_source_tokens=8000) as llm,
        pytest.raises(EngineError) as caught,
    ):
        llm.extract(doc(long_text), [])
    message = str(caught.value)
    assert len(fake.requests) == 1  # no other mode was tried
    assert "exceeds the model's context" in message
    assert "max_source_tokens" in message and "refused every" not in message
    assert re.search(r"prompt \(\d+ tokens\)", message)
    if status == 400:
        assert f"{window} tokens" in message


# -- 3. bounded completions ----------------------------------------------------------------------


def test_every_request_sets_a_completion_budget_per_call_kind() -> None:
    with (
        FakeOpenAI() as fake,
        engine(fake, max_tokens_extract=1111, max_tokens_same_entity=222) as llm,
    ):
        llm.extract(doc(), [])
        llm.same_entity(Mention("Alan", "person"), Candidate("Alan Turing", "person"))
    assert [r["max_tokens"] for r in fake.requests] == [1111, 222]


def answerer(fake: FakeOpenAI, **overrides: Any) -> LLMAnswerer:
    return LLMAnswerer(config(fake, **overrides), Prompts())


@pytest.fixture
def samples(vault: Vault) -> Vault:
    for sample in SAMPLES:
        drop(vault, sample.name, sample.read_bytes())
    assert run(vault, KeywordEngine(SAMPLE_ENTITIES, SAMPLE_ALIASES)).ok
    return vault


def test_an_endless_repeating_stream_is_stopped(samples: Vault) -> None:
    start = ["[[Tomas Berg]] maintains ", "Lighthouse", " and"]
    reply = FakeCompletion(itertools.chain(start, repeating(" the")))
    with FakeOpenAI(sequence(reply)) as fake, answerer(fake) as llm:
        started = time.monotonic()
        result = ask(samples, llm, "Who is Tomas Berg?")
        elapsed = time.monotonic() - started
    assert elapsed < 10
    assert len(result.answer) < 2000  # stopped soon after the loop began, not at the context
    assert "repeat" in result.cut_off
    assert result.answer.startswith("[[Tomas Berg]] maintains Lighthouse")
    assert fake.requests[0]["max_tokens"] == Config().max_tokens_answer


def test_a_stream_is_bounded_by_the_total_deadline(samples: Vault) -> None:
    words = (f"word{i} " for i in range(100_000))  # never repeats, never ends
    with (
        FakeOpenAI(sequence(FakeCompletion(words, delay=0.01))) as fake,
        answerer(fake, deadline=0.5, timeout=5) as llm,
    ):
        started = time.monotonic()
        result = ask(samples, llm, "Who is Tomas Berg?")
        elapsed = time.monotonic() - started
    assert elapsed < 3
    assert "0.5 s" in result.cut_off


def test_a_stream_cut_at_the_token_limit_is_flagged(samples: Vault) -> None:
    cut = FakeCompletion("[[Tomas Berg]] maintains Lighthouse and", finish_reason="length")
    with FakeOpenAI(sequence(cut)) as fake, answerer(fake) as llm:
        result = ask(samples, llm, "Who is Tomas Berg?")
    assert "token limit" in result.cut_off
    with FakeOpenAI(sequence(cut)) as fake:
        code, out, err = invoke(samples, "ask", "Who is Tomas Berg?", fake=fake)
        assert code == 0 and "cut off" in err
        code, out, _ = invoke(samples, "ask", "Who is Tomas Berg?", "--json", fake=fake)
    assert code == 0 and "token limit" in json.loads(out)["cut_off"]


def test_a_complete_answer_is_not_flagged(samples: Vault) -> None:
    with FakeOpenAI(sequence("[[Tomas Berg]] maintains Lighthouse.")) as fake:
        code, out, _ = invoke(samples, "ask", "Who is Tomas Berg?", "--json", fake=fake)
    assert code == 0 and json.loads(out)["cut_off"] == ""


# -- 4. the structured-output mode is remembered across runs --------------------------------------


def test_a_second_run_makes_no_json_schema_request(vault: Vault) -> None:
    with FakeOpenAI(reject_json_schema=True) as fake:
        drop(vault, "a.md", "# A\n\nAlan Turing wrote about machines.\n")
        assert invoke(vault, "ingest", fake=fake)[0] == 0
        first = fake.modes()
        drop(vault, "b.md", "# B\n\nAlonzo Church wrote about lambdas.\n")
        assert invoke(vault, "ingest", fake=fake)[0] == 0
        second = fake.modes()[len(first) :]
    assert first[:2] == ["json_schema", "json_object_schema"]
    assert second and "json_schema" not in second
    cached = json.loads((vault.state / "llm_modes.json").read_text(encoding="utf-8"))
    assert "json_object_schema" in json.dumps(cached)


def test_a_remembered_mode_that_fails_is_probed_again(tmp_path: Path) -> None:
    with FakeOpenAI(reject_json_schema=True) as fake:
        with engine(fake, tmp_path) as llm:
            llm.extract(doc(), [])
        # the server is restarted as one that only takes a forced tool call
        fake.reject_modes = {"json_schema", "json_object_schema"}
        fake.reject_status = 400
        with engine(fake, tmp_path) as llm:
            llm.extract(doc(), [])
            assert llm.mode == "tools"
        with engine(fake, tmp_path) as llm:
            llm.extract(doc(), [])
    assert fake.modes() == [
        "json_schema",
        "json_object_schema",  # the first run
        "json_object_schema",  # the remembered mode, refused
        "json_schema",
        "tools",
        "tools",  # the third run
    ]


def test_an_unreadable_mode_cache_is_ignored_with_a_notice(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "llm_modes.json").write_bytes(b"\xff\xfe garbage {")
    with FakeOpenAI(reject_json_schema=True) as fake, engine(fake, tmp_path) as llm:
        llm.extract(doc(), [])
    assert "llm_modes.json" in caplog.text
    assert fake.modes() == ["json_schema", "json_object_schema"]
    assert "json_object_schema" in (tmp_path / "llm_modes.json").read_text(encoding="utf-8")


# -- 5. the dry-run estimate -----------------------------------------------------------------------

MODE_REFUSALS = {
    "json_schema": set(),
    "json_object_schema": {"json_schema"},
    "tools": {"json_schema", "json_object_schema"},
    "json_object": {"json_schema", "json_object_schema", "tools"},
}


@pytest.mark.parametrize("mode", list(MODE_REFUSALS))
def test_the_dry_run_estimate_is_within_ten_percent(vault: Vault, mode: str) -> None:
    paragraphs = [
        f"Paragraph {i}. "
        + " ".join(f"The machine reads symbol {j} of tape {i}." for j in range(40))
        for i in range(12)
    ]
    (vault.root / "wiki.toml").write_text("[wiki]\nmax_source_tokens = 1000\n", encoding="utf-8")
    refused = MODE_REFUSALS[mode]
    with FakeOpenAI(by_kind({"extract": extract_reply()}), reject_modes=refused) as fake:
        drop(vault, "a.md", "# A\n\nA first note.\n")
        assert invoke(vault, "ingest", fake=fake)[0] == 0  # the run that finds the mode
        drop(vault, "b.md", "# Tapes\n\n" + "\n\n".join(paragraphs) + "\n")
        code, out, _ = invoke(vault, "ingest", "--dry-run", fake=fake)
        assert code == 0, out
        match = re.search(r"estimated (\d+) prompt \+ (\d+) completion tokens in (\d+) calls", out)
        assert match, out
        estimate, calls = int(match.group(1)), int(match.group(3))
        before, answered = len(fake.requests), len(fake.request_prompt_tokens)
        assert invoke(vault, "ingest", fake=fake)[0] == 0
        sent = fake.request_prompt_tokens[answered:]
        modes = fake.modes()[before:]
    assert set(modes) == {mode} and calls == len(sent) > 1
    assert abs(estimate - sum(sent)) <= 0.10 * sum(sent), (mode, estimate, sum(sent))


# -- 6. a chat template that drops the system message ----------------------------------------------


def test_the_instructions_reach_a_model_whose_template_drops_the_system_message(
    vault: Vault,
) -> None:
    drop(vault, "turing.md", "# Turing\n\nAlan Turing described a universal machine.\n")
    with FakeOpenAI(default_responder, drop_system=True, reject_json_schema=True) as fake:
        code, out, _ = invoke(vault, "ingest", fake=fake)
        kinds = fake.kinds()
    assert code == 0, out
    assert kinds and all(kinds)  # every call's instructions arrived
    assert (vault.wiki / "people" / "Alan Turing.md").exists()


def test_the_schema_reaches_the_model_in_plain_json_object_mode() -> None:
    with (
        FakeOpenAI(
            drop_system=True,
            reject_modes={"json_schema", "json_object_schema", "tools"},
            reject_status=400,
        ) as fake,
        engine(fake) as llm,
    ):
        result = llm.extract(doc(), [])
    assert result.mentions
    user = fake.requests[-1]["messages"][-1]["content"]
    assert '"key_claims"' in user  # the schema itself, in the message that arrives


# -- 7. raw control characters inside JSON strings ------------------------------------------------


def test_a_raw_newline_inside_a_string_needs_no_repair() -> None:
    raw = '{"reasoning": "Same name,\nsame field.", "same": true}'
    with FakeOpenAI(sequence(raw)) as fake, engine(fake) as llm:
        verdict = llm.same_entity(Mention("Alan", "person"), Candidate("Alan Turing", "person"))
    assert verdict.same is True
    assert len(fake.requests) == 1


# -- 8. messages -----------------------------------------------------------------------------------


def test_an_http_error_names_its_status_once() -> None:
    refusal = FakeReply(status=400, body={"error": {"message": "bad things", "code": None}})
    with (
        FakeOpenAI(sequence(refusal)) as fake,
        engine(fake) as llm,
        pytest.raises(EngineError) as caught,
    ):
        llm.extract(doc(), [])
    message = str(caught.value)
    assert "HTTP 400: bad things" in message
    assert "Error code" not in message


def test_a_json_error_reads_well() -> None:
    with (
        FakeOpenAI(sequence('{"same": tru')) as fake,
        engine(fake) as llm,
        pytest.raises(EngineError) as caught,
    ):
        llm.same_entity(Mention("Alan", "person"), Candidate("Alan Turing", "person"))
    assert "at at" not in str(caught.value)
    assert "not JSON" in str(caught.value)


def test_the_base_url_reads_the_same_in_ask_and_ingest(samples: Vault) -> None:
    refusal = FakeReply(status=404, body={"error": {"message": "no such model"}})
    with FakeOpenAI(sequence(refusal)) as fake:
        url = fake.base_url
        with engine(fake, base_url=url + "/") as llm, pytest.raises(EngineError) as ingest_error:
            llm.extract(doc(), [])
        with answerer(fake, base_url=url + "/") as llm, pytest.raises(EngineError) as ask_error:
            ask(samples, llm, "Who is Tomas Berg?")
    for caught in (ingest_error, ask_error):
        assert f"{url} " in str(caught.value) and f"{url}/ " not in str(caught.value)


def test_ingest_output_is_one_line_per_source_and_verbose_shows_each_call(vault: Vault) -> None:
    drop(vault, "turing.md", "# Turing\n\nAlan Turing described a universal machine.\n")
    drop(vault, "church.md", "# Church\n\nAlonzo Church wrote about lambdas.\n")
    with FakeOpenAI(reject_json_schema=True) as fake:
        code, out, err = invoke(vault, "ingest", fake=fake)
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 3  # one per source, then the summary
    assert "0 pages created" not in out and "2 source pages" in out
    assert "1 source pages" not in out and "1 other pages" not in out
    assert err.strip() == ""  # the mode fallback is no warning
    drop(vault, "hopper.md", "# Hopper\n\nGrace Hopper wrote a compiler.\n")
    with FakeOpenAI() as fake:
        code, out, err = invoke(vault, "ingest", "-v", fake=fake)
    assert code == 0
    assert re.search(r"extract: json_schema, \d+ \+ \d+ tokens, [\d.]+ s", err), err


def test_retries_are_shown_as_warnings(vault: Vault) -> None:
    drop(vault, "turing.md", "# Turing\n\nAlan Turing described a universal machine.\n")
    busy = FakeReply(status=503, headers={"Retry-After": "0"})
    with FakeOpenAI(sequence(busy, busy, busy, busy, then=default_responder)) as fake:
        code, out, err = invoke(vault, "ingest", fake=fake)
    assert code == 0, out + err
    assert re.search(r"^warning: .*retry 1 of", err, re.MULTILINE), err


# -- issue 12: the key never leaks, and the summary is bounded -------------------------------------


@pytest.mark.parametrize("filler", [290, 295, 299])
def test_a_key_straddling_the_cut_never_shows(filler: int) -> None:
    echo = FakeReply(status=400, body={"error": {"message": "x" * filler + " " + SECRET}})
    with (
        FakeOpenAI(sequence(echo)) as fake,
        engine(fake) as llm,
        pytest.raises(EngineError) as caught,
    ):
        llm.extract(doc(), [])
    assert SECRET[:6] not in str(caught.value)


def test_a_key_straddling_the_reply_snippet_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="llmwiki")
    reply = "y" * 75 + " " + SECRET + " and no JSON at all"
    with (
        FakeOpenAI(sequence(reply)) as fake,
        engine(fake) as llm,
        pytest.raises(EngineError) as caught,
    ):
        llm.same_entity(Mention("Alan", "person"), Candidate("Alan Turing", "person"))
    assert SECRET[:6] not in str(caught.value)
    assert SECRET[:6] not in caplog.text


def test_a_huge_summary_is_bounded(vault: Vault) -> None:
    drop(vault, "turing.md", "# Turing\n\n" + TEXT + "\n")
    huge = extract_reply(summary="The machine reads a tape. " * 4000)  # ~100,000 characters
    with FakeOpenAI(by_kind({"extract": huge})) as fake:
        assert invoke(vault, "ingest", fake=fake)[0] == 0
    (page,) = (vault.wiki / "sources").glob("*.md")
    assert len(page.read_text(encoding="utf-8")) < 6000


@pytest.fixture(autouse=True)
def _no_env_leak(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ("WIKI_MODEL", "OPENAI_BASE_URL", "OPENAI_API_KEY", "WIKI_ENGINE"):
        monkeypatch.delenv(var, raising=False)
    yield


def test_call_kind_is_found_in_the_user_message() -> None:
    request = {"messages": [{"role": "user", "content": 'Reply with one "extract" schema.'}]}
    assert call_kind(request) == "extract"
