"""The whole pipeline on the LLM engine: the real openai client against a loopback fake."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLES, assert_links_resolve, drop, run, wiki_files
from fake_openai import FakeOpenAI, FakeReply, call_kind, default_responder, source_text

from llmwiki.catalog import Catalog
from llmwiki.config import Config
from llmwiki.engines import SourceDoc
from llmwiki.engines.llm.engine import LLMEngine
from llmwiki.prompts import Prompts
from llmwiki.vault import Vault, init_vault

SECRET = "sk-test-SECRET-4242"


def engine(fake: FakeOpenAI, jobs: int = 4) -> LLMEngine:
    config = Config(model="fake", base_url=fake.base_url, api_key=SECRET, jobs=jobs, max_retries=1)
    return LLMEngine(config, Prompts(None), sleep=lambda _: None)


def fill(vault: Vault, files: list[Path]) -> None:
    for path in files:
        shutil.copy(path, vault.inbox / path.name)


def assert_healthy(vault: Vault) -> None:
    assert_links_resolve(vault)
    index = (vault.wiki / "index.md").read_text(encoding="utf-8")
    for entry in Catalog.scan(vault.wiki):
        assert index.count(f"[[{entry.stem}]]") + index.count(f"[[{entry.stem}|") == 1


def test_jobs_4_gives_the_same_wiki_as_jobs_1(tmp_path: Path) -> None:
    samples = SAMPLES
    wikis = []
    for jobs in (1, 4):
        vault = init_vault(tmp_path / f"jobs{jobs}")[0]
        fill(vault, samples)
        with FakeOpenAI(latency=0.01) as fake:
            report = run(vault, engine(fake, jobs), jobs=jobs)
        assert report.ok and report.count("ingested") == 3
        wikis.append(wiki_files(vault))
        assert_healthy(vault)
    assert wikis[0] == wikis[1]


def test_falls_back_for_servers_without_json_schema(vault: Vault) -> None:
    fill(vault, SAMPLES)
    with FakeOpenAI(reject_json_schema=True) as fake:
        report = run(vault, engine(fake))
        assert report.ok and report.count("ingested") == 3
        modes = fake.modes()
    assert modes.count("json_schema") == 1  # tried once, then remembered for the run


def test_bad_json_twice_fails_only_that_source_and_keeps_it(vault: Vault) -> None:
    drop(vault, "1-bad.md", "# Bad\n\nTomas Berg wrote about Lighthouse Metrics.\n")
    drop(vault, "2-good.md", "# Good\n\nLena Okafor wrote about Reward Models.\n")

    def responder(request: dict[str, Any]) -> Any:
        if call_kind(request) == "extract" and "Tomas Berg" in source_text(request):
            return "{not json"
        return default_responder(request)

    with FakeOpenAI(responder) as fake:
        report = run(vault, engine(fake))
    bad, good = report.results
    assert bad.status == "failed" and "JSON" in bad.message and SECRET not in bad.message
    assert good.status == "ingested"
    assert (vault.inbox / "1-bad.md").exists() and not (vault.inbox / "2-good.md").exists()
    assert not (vault.wiki / "sources" / "Bad.md").exists()
    assert_healthy(vault)


def test_a_server_that_keeps_failing_fails_cleanly(vault: Vault) -> None:
    drop(vault, "a.md", "# A\n\nTomas Berg wrote about Lighthouse Metrics.\n")
    before = wiki_files(vault)
    with FakeOpenAI(lambda request: FakeReply(status=503)) as fake:
        report = run(vault, engine(fake))
    [result] = report.results
    assert result.status == "failed" and "inbox" in result.message
    assert SECRET not in result.message
    assert wiki_files(vault) == before and (vault.inbox / "a.md").exists()


def test_the_api_key_is_written_nowhere(vault: Vault) -> None:
    fill(vault, SAMPLES)
    with FakeOpenAI() as fake:
        run(vault, engine(fake))
        requests = fake.requests
    assert requests
    for path in vault.root.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def extractive_responder() -> Any:
    """A fake LLM whose extraction is the extractive engine's, so replies name real people and
    concepts of the corpus while staying schema-valid."""
    extractive = pytest.importorskip("llmwiki.engines.extractive.engine")
    reader = extractive.ExtractiveEngine()

    def respond(request: dict[str, Any]) -> Any:
        if call_kind(request) != "extract":
            return default_responder(request)
        text = source_text(request)
        doc = SourceDoc(name="x", text=text, sha256="0", title=text.split("\n", 1)[0])
        result = reader.extract(doc, [])

        def facts(items: Any) -> list[dict[str, str]]:
            return [{"statement": f.statement, "quote": f.quote} for f in items]

        return {
            "title": result.title,
            "summary": result.summary,
            "key_claims": facts(result.claims),
            "entities": [
                {
                    "name": m.name,
                    "type": m.kind,
                    "aliases": list(m.aliases),
                    "description": m.description,
                    "facts": facts(m.facts),
                }
                for m in result.mentions
            ],
        }

    return respond


def test_corpus_through_the_llm_engine(vault: Vault, corpus: list[Path]) -> None:
    fill(vault, corpus)
    with FakeOpenAI(extractive_responder()) as fake:
        report = run(vault, engine(fake))
        assert not fake.errors, fake.errors[0]
    assert report.ok and report.count("ingested") == 4, [r.message for r in report.results]
    assert report.usage.prompt_tokens > 0
    assert len(list((vault.wiki / "sources").glob("*.md"))) == 4
    people = {p.stem for p in (vault.wiki / "people").glob("*.md")}
    concepts = {p.stem for p in (vault.wiki / "concepts").glob("*.md")}
    assert {"Jeff Dean", "Nathan Lambert"} <= people
    assert {"microGPT", "GRPO"} <= {c.split(" (")[0] for c in concepts} | {
        a for e in Catalog.scan(vault.wiki) if e.type == "concept" for a in e.aliases
    }
    assert_healthy(vault)
    log = (vault.wiki / "log.md").read_text(encoding="utf-8")
    assert log.count("] ingest | ") == 4
    assert list(vault.inbox.iterdir()) == []
    for path in corpus:
        assert (vault.raw / path.name).read_bytes() == path.read_bytes()
    # again: nothing changes
    before = wiki_files(vault)
    fill(vault, corpus)
    with FakeOpenAI(extractive_responder()) as fake:
        assert run(vault, engine(fake)).count("skipped") == 4
        assert fake.requests == []
    assert wiki_files(vault) == before


def test_a_contradiction_the_llm_reports_is_flagged_on_the_page_and_in_the_register(
    vault: Vault,
) -> None:
    from fake_openai import message_text

    from llmwiki import contradictions

    old = "---\npublished: 2025-03-02\n---\n# Old report\n\nKV-Lite cuts memory by 40 percent.\n"
    new = "---\npublished: 2025-06-10\n---\n# New report\n\nKV-Lite cuts memory by 55 percent.\n"

    def responder(request: dict[str, Any]) -> Any:
        kind = call_kind(request)
        if kind == "extract":
            text = source_text(request)
            sentence = text.strip().splitlines()[-1]
            return {
                "title": "",
                "summary": sentence,
                "key_claims": [],
                "entities": [
                    {
                        "name": "KV-Lite",
                        "type": "concept",
                        "aliases": [],
                        "description": "A cache compression method.",
                        "facts": [{"statement": sentence, "quote": sentence}],
                    }
                ],
            }
        if kind == "merge":
            user = message_text(request)
            assert "40 percent" in user and "55 percent" in user  # both claims were compared
            return {
                "reasoning": "The new source gives a different figure.",
                "new_fact_ids": [1],
                "conflicts": [
                    {
                        "reasoning": "40 vs 55 percent for the same measure.",
                        "existing_fact_id": 1,
                        "new_fact_id": 1,
                        "kind": "changed_over_time",
                    }
                ],
            }
        return default_responder(request)

    drop(vault, "1-old.md", old)
    drop(vault, "2-new.md", new)
    with FakeOpenAI(responder) as fake:
        report = run(vault, engine(fake))
        assert not fake.errors, fake.errors
    assert [r.contradictions for r in report.results] == [0, 1]
    [item] = contradictions.scan(vault)
    assert item.kind == "changed over time" and item.page == "KV-Lite"
    assert "[[Old report]] (2025-03-02)" in item.claims[0] and "40 percent" in item.claims[0]
    assert "[[New report]] (2025-06-10)" in item.claims[1] and "55 percent" in item.claims[1]
    register = (vault.wiki / "contradictions.md").read_text(encoding="utf-8")
    assert "## Open (1)" in register and "[[Old report]]" in register
    assert "[[New report]]" in register
