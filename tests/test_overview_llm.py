"""The LLM engine's overview (#14): one call per touched page, checked in code, repaired once."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from conftest import drop, run
from fake_openai import (
    FakeOpenAI,
    by_kind,
    call_kind,
    default_responder,
    message_text,
    overview_from_facts,
)

from llmwiki.config import Config
from llmwiki.engines import KnownFact, OverviewSentence
from llmwiki.engines.llm.engine import LLMEngine
from llmwiki.overview import split
from llmwiki.overview_check import check, render, select_facts
from llmwiki.pages import parse_links
from llmwiki.pages import read as read_page
from llmwiki.prompts import Prompts
from llmwiki.refresh import refresh
from llmwiki.vault import Vault

PAGE = "people/Lena Okafor.md"
FACTS = [
    KnownFact("Lena Okafor leads a team of 12 people.", "Report A", "2025-01-10"),
    KnownFact('She calls it "the quiet lab".', "Report A", "2025-01-10"),
    KnownFact("Lena Okafor leads a team of 20 people.", "Report B", "2025-06-01"),
]


def engine(fake: FakeOpenAI) -> LLMEngine:
    config = Config(model="fake", base_url=fake.base_url, api_key="sk-test", max_retries=1)
    return LLMEngine(config, Prompts(None), sleep=lambda _: None)


def overview_of(vault: Vault, rel: str = PAGE) -> str:
    return split(read_page(vault.wiki / rel).body)[0]


def sources_of(vault: Vault) -> set[str]:
    return {p.stem for p in (vault.wiki / "sources").glob("*.md")}


def one_per_source(request: dict[str, Any]) -> dict[str, Any]:
    """Cites every source the page's facts name, one sentence each (the first fact of each)."""
    seen: dict[str, str] = {}
    for line in message_text(request).splitlines():
        match = re.match(r"^\d+\. (.*) \(source: (.*?)(?:, [0-9-]+)?\)$", line)
        if match:
            seen.setdefault(match.group(2), match.group(1))
    return {"sentences": [{"text": t, "sources": [s]} for s, t in list(seen.items())[:6]]}


def overview_calls(fake: FakeOpenAI, page: str = "Lena Okafor") -> int:
    return sum(
        1
        for r in fake.requests
        if call_kind(r) == "overview" and f"Page: {page}\n" in message_text(r)
    )


# -- the checks, pure ----------------------------------------------------------------------


def test_a_grounded_overview_passes_the_checks() -> None:
    sentences = [
        OverviewSentence(
            "Lena Okafor leads a team of 20 people as of 2025-06-01, up from 12.",
            ("Report B", "report a"),
        ),
        OverviewSentence('She calls it "the quiet lab".', ("Report A",)),
    ]
    assert check(sentences, FACTS, lambda _: True) == []
    text = render(sentences, lambda t: f"[[{t}]]")
    assert text.endswith('"the quiet lab" ([[Report A]]).')
    assert "up from 12 ([[Report B]], [[report a]])." in text


def test_the_checks_find_a_foreign_source_an_unknown_number_a_quote_and_a_missing_link() -> None:
    sentences = [
        OverviewSentence("Lena Okafor leads a team of 35 people.", ("Report B",)),
        OverviewSentence("She works with [[Tomas Berg]].", ("Report C",)),
        OverviewSentence('She calls it "the loud lab".', ("Report A",)),
    ]
    problems = check(sentences, FACTS, lambda target: target != "Tomas Berg")
    assert any("states 35" in p for p in problems)
    assert any("'Report C'" in p for p in problems)
    assert any("the loud lab" in p for p in problems)
    assert any("[[Tomas Berg]]" in p for p in problems)
    # a number from a source the sentence does not cite is not grounded either
    cited_elsewhere = [OverviewSentence("A team of 20 people.", ("Report A",))]
    assert check(cited_elsewhere, FACTS, lambda _: True)
    assert check([], FACTS, lambda _: True)


def test_the_facts_one_rewrite_sees_are_bounded_the_most_cited_and_newest_first() -> None:
    many = [KnownFact(f"Fact {i}.", "S", f"2025-01-{i % 28 + 1:02d}") for i in range(100)]
    many += [KnownFact("Fact 0.", "T", "2024-01-01")]
    chosen = select_facts(many, 10)
    assert len(chosen) == 10 and chosen[0].text == "Fact 0."
    assert select_facts(FACTS) == FACTS


# -- through ingest ------------------------------------------------------------------------


def test_three_sources_give_an_overview_citing_all_three_and_a_fourth_updates_it(
    vault: Vault,
) -> None:
    responder = by_kind({"overview": one_per_source, **{k: default_responder for k in KINDS}})
    with FakeOpenAI(responder) as fake:
        for n, day in enumerate(("2025-01-10", "2025-02-10", "2025-03-10"), 1):
            drop(vault, f"{n}.md", f"# Note {n}\n\nLena Okafor wrote report number {n}.\n")
            assert run(vault, engine(fake), today=date.fromisoformat(day)).ok
        cited = {link.target for link in parse_links(overview_of(vault))}
        assert cited == sources_of(vault) and len(cited) == 3
        drop(vault, "4.md", "# Note 4\n\nLena Okafor wrote report number 4.\n")
        report = run(vault, engine(fake), today=date(2025, 4, 10))
        assert report.ok and not report.results[0].message
        cited = {link.target for link in parse_links(overview_of(vault))}
        assert cited == sources_of(vault) and len(cited) == 4
        assert overview_calls(fake) == 4  # one per source that touched the page


KINDS = ("extract", "same_entity", "merge")


def test_a_rewrite_with_a_foreign_source_or_a_new_number_is_repaired(vault: Vault) -> None:
    foreign = {"sentences": [{"text": "Lena Okafor wrote.", "sources": ["Elsewhere"]}]}
    invented = {"sentences": [{"text": "Lena Okafor wrote 99 notes.", "sources": []}]}
    replies = iter([foreign, None, invented, None])

    def overview(request: dict[str, Any]) -> Any:
        reply = next(replies)
        return reply if reply is not None else overview_from_facts(request)

    responder = by_kind({"overview": overview, **{k: default_responder for k in KINDS}})
    with FakeOpenAI(responder) as fake:
        for n in (1, 2):
            drop(vault, f"{n}.md", f"# Note {n}\n\nLena Okafor wrote report number {n}.\n")
            report = run(vault, engine(fake))
            assert report.ok and not report.results[0].message
            assert "rejected" in message_text(fake.requests[-1])
        assert overview_calls(fake) == 4
    assert "report number" in overview_of(vault)


def test_a_rewrite_that_fails_its_repair_too_keeps_the_old_overview(vault: Vault) -> None:
    bad = {"sentences": [{"text": "Lena Okafor wrote 99 notes.", "sources": ["Elsewhere"]}]}
    replies = iter([None, bad, bad])

    def overview(request: dict[str, Any]) -> Any:
        reply = next(replies)
        return reply if reply is not None else overview_from_facts(request)

    responder = by_kind({"overview": overview, **{k: default_responder for k in KINDS}})
    with FakeOpenAI(responder) as fake:
        drop(vault, "1.md", "# Note 1\n\nLena Okafor wrote report number 1.\n")
        assert run(vault, engine(fake)).ok
        before = overview_of(vault)
        drop(vault, "2.md", "# Note 2\n\nLena Okafor wrote report number 2.\n")
        report = run(vault, engine(fake))
    assert report.ok and "not rewritten" in report.results[0].message
    assert overview_of(vault) == before and "99" not in before
    log = (vault.wiki / "log.md").read_text(encoding="utf-8")
    assert "- warning: overview of Lena Okafor not rewritten" in log


def edit_overview_by_hand(vault: Vault, fake: FakeOpenAI) -> str:
    """Ingest one note about Lena Okafor, then replace her page's overview as a person would;
    the new overview."""
    drop(vault, "1.md", "# Note 1\n\nLena Okafor wrote report number 1.\n")
    assert run(vault, engine(fake)).ok
    path = vault.wiki / PAGE
    mine = "Lena is my colleague; she likes tea."
    path.write_text(path.read_text(encoding="utf-8").replace(overview_of(vault), mine))
    return mine


def test_a_hand_edited_overview_survives_later_ingests_without_a_call(vault: Vault) -> None:
    path = vault.wiki / PAGE
    with FakeOpenAI() as fake:
        mine = edit_overview_by_hand(vault, fake)
        calls = overview_calls(fake)
        for n in (2, 3, 4):
            drop(vault, f"{n}.md", f"# Note {n}\n\nLena Okafor wrote report number {n}.\n")
            assert run(vault, engine(fake)).ok
        assert overview_calls(fake) == calls
    assert overview_of(vault) == mine
    assert "report number 4" in read_page(path).body


def test_a_figure_that_changed_appears_as_of_the_later_date(vault: Vault) -> None:
    def overview(request: dict[str, Any]) -> Any:
        titles = re.findall(r"\(source: (.*?), ([0-9-]+)\)", message_text(request))
        by_date = {day: title for title, day in titles}
        if len(by_date) < 2:
            return overview_from_facts(request)
        return {
            "sentences": [
                {
                    "text": "Lena Okafor leads a team of 20 people as of 2025-06-01, "
                    "up from 12 on 2025-01-10.",
                    "sources": [by_date["2025-06-01"], by_date["2025-01-10"]],
                },
                {"text": "Lena Okafor leads a team.", "sources": [by_date["2025-06-01"]]},
            ]
        }

    responder = by_kind({"overview": overview, **{k: default_responder for k in KINDS}})
    with FakeOpenAI(responder) as fake:
        for n, (size, day) in enumerate(((12, "2025-01-10"), (20, "2025-06-01")), 1):
            drop(vault, f"{n}.md", f"# Note {n}\n\nLena Okafor leads a team of {size} people.\n")
            report = run(vault, engine(fake), today=date.fromisoformat(day))
            assert report.ok and not report.results[0].message
    text = overview_of(vault)
    assert "20 people as of 2025-06-01, up from 12 on 2025-01-10" in text


def test_refresh_with_the_llm_rewrites_a_hand_edited_overview_checked(vault: Vault) -> None:
    path = vault.wiki / PAGE
    with FakeOpenAI() as fake:
        mine = edit_overview_by_hand(vault, fake)
        calls = overview_calls(fake)
        report = refresh(vault, "Lena Okafor", date(2026, 2, 1), engine(fake))
        assert overview_calls(fake) == calls + 1
    assert report.changed and report.kept and not report.warning
    assert overview_of(vault) == report.overview != mine
    assert parse_links(report.overview)  # each sentence cites its source
    assert mine in read_page(path).body  # moved into Notes, not lost
