"""The FTS5 page index: what it holds, how it stays current, which questions cannot break it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import SAMPLES, KeywordEngine, run

import llmwiki.search as search_module
from llmwiki import pages as page_files
from llmwiki.pages import render
from llmwiki.search import SearchIndex, parse_query, search
from llmwiki.vault import Vault

ENTITIES = {
    "Priya Raman": "person",
    "Tomas Berg": "person",
    "Lena Okafor": "person",
    "KV-Lite": "concept",
    "Lighthouse": "concept",
    "GRPO": "concept",
}


@pytest.fixture
def wiki(vault: Vault) -> Vault:
    """The repository's sample articles, ingested with the scripted engine."""
    for sample in SAMPLES:
        shutil.copy(sample, vault.inbox / sample.name)
    assert run(vault, KeywordEngine(ENTITIES)).ok
    return vault


def write_page(vault: Vault, rel: str, meta: dict[str, object], body: str) -> Path:
    path = vault.wiki / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(meta, body), encoding="utf-8")
    return path


def test_query_keeps_content_words_and_adjacent_runs() -> None:
    query = parse_query("Who is Nathan Lambert, and what did he say about KV-Lite?")
    assert query.terms == ("nathan", "lambert", "kv", "lite")
    assert query.phrases == ("nathan lambert", "kv lite")
    assert parse_query("What is it?").terms == ()
    assert parse_query("Müller's OLMo 3").terms == ("muller", "olmo", "3")


@pytest.mark.parametrize(
    "question",
    [
        'What did he mean by "alignment tax"?',
        "title: Tomas Berg",
        "KV-Lite vs. -Lighthouse",
        "Berg AND OR NOT NEAR(Lighthouse, 2)",
        "Light* ^Berg {title aliases}: x",
        '"unbalanced quote',
        "(((",
        'Berg\'s "tests" -- [[Lighthouse]] | # ^',
        "🙂 emoji ünïcödé ✓",
        "",
        "   ",
    ],
)
def test_awkward_questions_never_reach_fts5_as_syntax(wiki: Vault, question: str) -> None:
    hits = search(wiki, question)
    assert isinstance(hits, list)
    if "Berg" in question:
        assert "Tomas Berg" in [h.stem for h in hits]


def test_title_outranks_body_and_hits_describe_the_page(wiki: Vault) -> None:
    hits = search(wiki, "Who is Tomas Berg?")
    best = hits[0]
    assert best.stem == "Tomas Berg" and best.type == "person" and best.title == "Tomas Berg"
    assert best.rel == "people/Tomas Berg.md"
    assert best.matched == best.terms == 2 and best.score > 0
    assert "Berg" in best.snippet
    assert [h.score for h in hits if h.matched == 2] == sorted(
        (h.score for h in hits if h.matched == 2), reverse=True
    )


def test_pages_only_never_raw_or_generated_pages(wiki: Vault) -> None:
    (wiki.raw / "secret.md").write_text("zanzibarian secret\n")
    (wiki.wiki / "log.md").write_text((wiki.wiki / "log.md").read_text() + "\nzanzibarian\n")
    assert search(wiki, "zanzibarian") == []
    stems = {h.stem for h in search(wiki, "Lighthouse evaluation suite", limit=50)}
    assert stems and not stems & {"index", "log", "contradictions"}


def test_aliases_and_link_text_are_searchable(vault: Vault) -> None:
    write_page(
        vault,
        "people/Ada Quill.md",
        {"title": "Ada Quill", "type": "person", "aliases": ["Zorbatron"]},
        "A person.",
    )
    write_page(
        vault,
        "concepts/Thing.md",
        {"title": "Thing", "type": "concept"},
        "Built by [[Ada Quill|the famous quillwright]].",
    )
    assert [h.stem for h in search(vault, "Zorbatron")] == ["Ada Quill"]
    assert [h.stem for h in search(vault, "quillwright")] == ["Thing"]


def test_index_follows_the_files_reading_only_what_changed(
    wiki: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[Path] = []
    real_read = page_files.read

    def counting_read(path: Path) -> object:
        reads.append(path)
        return real_read(path)

    monkeypatch.setattr(search_module, "read", counting_read)
    pages = len(list(wiki.wiki.rglob("*.md"))) - 2  # less index.md and log.md
    with SearchIndex(wiki) as index:
        first = index.sync()
        assert first.added == pages == len(index) and len(reads) == pages
        reads.clear()
        assert index.sync().changed == 0 and reads == []

        berg = wiki.wiki / "people" / "Tomas Berg.md"
        berg.write_text(berg.read_text() + "\n- Berg collects quokkas.\n")
        assert [h.stem for h in index.search("quokkas")] == ["Tomas Berg"]
        assert reads == [berg]

        (wiki.wiki / "concepts" / "GRPO.md").unlink()
        write_page(wiki, "concepts/Quokka.md", {"title": "Quokka", "type": "concept"}, "Marsupial.")
        stats = index.sync()
        assert (stats.added, stats.updated, stats.removed) == (1, 0, 1)
        assert "GRPO" not in index.stems() and "Quokka" in index.stems()
        assert search(wiki, "GRPO")[0].stem != "GRPO"


def test_a_broken_index_file_is_rebuilt(wiki: Vault) -> None:
    search(wiki, "Berg")
    index_file = wiki.state / "search.sqlite"
    index_file.write_bytes(b"this is not a database" * 100)
    assert search(wiki, "Tomas Berg")[0].stem == "Tomas Berg"


def test_unparseable_page_is_skipped_not_fatal(wiki: Vault) -> None:
    (wiki.wiki / "concepts" / "Broken.md").write_text("---\ntitle: [unclosed\n---\nquokka\n")
    assert search(wiki, "quokka") == []
    assert search(wiki, "Tomas Berg")[0].stem == "Tomas Berg"


def test_words_on_most_pages_of_a_large_wiki_are_left_out_of_the_ranking() -> None:
    from llmwiki.search import COMMON_TERM_PAGES, _common, _without

    query = parse_query("How does Sami Moreau relate to tokenizer finetuning?")
    assert query.terms == ("sami", "moreau", "relate", "tokenizer", "finetuning")
    pages = 100_000
    common = COMMON_TERM_PAGES * 6  # on 60,000 of the 100,000 pages
    found = _common(query, [8_000, 8_000, 0, common, common], pages)
    assert found == {"tokenizer", "finetuning"}
    kept = _without(query, found)
    assert kept.terms == ("sami", "moreau", "relate")
    assert kept.phrases == ("sami moreau relate",)  # "tokenizer finetuning" is gone
    # nothing is common in a smaller wiki
    assert _common(query, [800, 800, 0, 8_500, 8_500], 9_000) == set()


def test_a_question_of_common_words_alone_finds_the_pages_they_name(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a small wiki standing for a large one: a word on more than two pages is "common"
    monkeypatch.setattr(search_module, "COMMON_TERM_PAGES", 2)
    for n in range(30):
        body = "A benchmark of the gradient, benchmark after benchmark, gradient by gradient."
        write_page(vault, f"sources/Run {n}.md", {"title": f"Run {n}", "type": "source"}, body)
    meta = {"title": "Gradient Benchmark", "type": "concept", "aliases": ["GB"]}
    write_page(vault, "concepts/Gradient Benchmark.md", meta, "A suite of tests.")
    hits = search(vault, "benchmark gradient", limit=3)
    assert [h.stem for h in hits][:1] == ["Gradient Benchmark"]
    # too few pages named by them: the bodies are searched as well
    assert len(hits) == 3 and all(h.coverage == 1.0 for h in hits)
    assert len(search(vault, "benchmark gradient", limit=20)) == 20
