import json
from pathlib import Path

from llmwiki.catalog import Catalog, Entry
from llmwiki.index_pages import render as render_index
from llmwiki.pages import render


def entry(title: str, kind: str = "person", *aliases: str) -> Entry:
    return Entry(title, f"x/{title}.md", title, kind, tuple(aliases))


def test_lookup_by_title_alias_and_ambiguity() -> None:
    cat = Catalog(
        [
            entry("Jeff Dean", "person", "Dean"),
            entry("James Dean", "person", "Dean"),
            entry("Retrieval-Augmented Generation", "concept", "RAG"),
        ]
    )
    assert cat.lookup("jeff  dean").stem == "Jeff Dean"  # type: ignore[union-attr]
    assert cat.lookup("rag").stem == "Retrieval-Augmented Generation"  # type: ignore[union-attr]
    assert cat.lookup("Dean") is None  # two people: ambiguous, never guessed


def test_candidates_are_bounded_and_keep_people_apart() -> None:
    cat = Catalog(
        [
            entry("Andrej Karpathy"),
            entry("Jeff Dean"),
            entry("Group Relative Policy Optimization", "concept"),
        ]
    )
    assert [e.stem for e in cat.candidates("Karpathy", "person")] == ["Andrej Karpathy"]
    assert cat.candidates("James Dean", "person") == []
    assert [e.stem for e in cat.candidates("GRPO", "concept")] == [
        "Group Relative Policy Optimization"
    ]
    assert cat.candidates("Karpathy", "concept") == []


def test_free_stem_is_unique_ignoring_case() -> None:
    cat = Catalog([entry("Weekly", "source")])
    assert cat.free_stem("weekly", "concept") == "weekly (concept)"
    assert cat.free_stem("Index", "concept") == "Index (concept)"  # index.md is generated
    assert cat.free_stem("Fresh", "concept") == "Fresh"


def test_scan_cache_sees_edits_and_survives_damage(tmp_path: Path) -> None:
    wiki, cache = tmp_path / "wiki", tmp_path / "state" / "catalog.json"
    (wiki / "people").mkdir(parents=True)
    page = wiki / "people" / "Ada.md"
    page.write_text(render({"title": "Ada", "type": "person", "aliases": []}, "x"))
    assert Catalog.scan(wiki, cache).get("Ada").aliases == ()  # type: ignore[union-attr]
    assert cache.exists()
    page.write_text(render({"title": "Ada", "type": "person", "aliases": ["Lovelace"]}, "x"))
    assert Catalog.scan(wiki, cache).lookup("Lovelace") is not None
    cache.write_text("{broken")
    assert len(Catalog.scan(wiki, cache)) == 1


def test_a_cache_row_from_older_name_rules_is_read_again(tmp_path: Path) -> None:
    wiki, cache = tmp_path / "wiki", tmp_path / "state" / "catalog.json"
    (wiki / "concepts").mkdir(parents=True)
    title = "Reinforcement Learning from Human Feedback"
    page = wiki / "concepts" / f"{title}.md"
    page.write_text(render({"title": title, "type": "concept"}, "x"))
    Catalog.scan(wiki, cache)
    rows = json.loads(cache.read_text())
    row = rows[f"concepts/{title}.md"]
    rows[f"concepts/{title}.md"] = [*row[:3], [], []]  # a row as an older version wrote it
    cache.write_text(json.dumps(rows))
    assert [e.stem for e in Catalog.scan(wiki, cache).candidates("RLHF", "concept")] == [title]


def test_index_lists_every_page_once_grouped() -> None:
    cat = Catalog([entry("B", "concept"), entry("A", "person"), entry("S", "source")])
    text = render_index(cat)["index.md"]
    assert text.index("## Sources") < text.index("## People") < text.index("## Concepts")
    assert all(text.count(f"[[{t}]]") == 1 for t in "ABS")


def test_mentioned_in_finds_titles_and_aliases_by_whole_words() -> None:
    cat = Catalog(
        [
            entry("Andrej Karpathy", "person", "Karpathy"),
            entry("GRPO", "concept"),
            entry("Ada", "person"),
            entry("Lighthouse", "concept"),
        ]
    )
    text = (
        "Karpathy's talk on GRPO. Andrej Karpathy again; GRPO again and again GRPO, GRPO. "
        "Adam is not Ada's name. Lighthouses are not Lighthouse."
    )
    found = cat.mentioned_in(text, limit=10)
    assert found[:2] == ["GRPO", "Andrej Karpathy"]  # 4 mentions, then 3
    assert set(found) == {"GRPO", "Andrej Karpathy", "Ada", "Lighthouse"}
    assert cat.mentioned_in(text, limit=1) == ["GRPO"]
    assert cat.mentioned_in("Nothing relevant here.", limit=5) == []
