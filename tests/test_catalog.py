import sqlite3
from pathlib import Path

from llmwiki import catalog_store
from llmwiki.catalog import Catalog
from llmwiki.entries import Entry
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
    wiki, cache = tmp_path / "wiki", tmp_path / "state" / "catalog.sqlite"
    (wiki / "people").mkdir(parents=True)
    page = wiki / "people" / "Ada.md"
    page.write_text(render({"title": "Ada", "type": "person", "aliases": []}, "x"))
    assert Catalog.scan(wiki, cache).get("Ada").aliases == ()  # type: ignore[union-attr]
    assert cache.exists()
    page.write_text(render({"title": "Ada", "type": "person", "aliases": ["Lovelace"]}, "x"))
    assert Catalog.scan(wiki, cache).lookup("Lovelace") is not None
    page.unlink()
    assert len(Catalog.scan(wiki, cache)) == 0
    page.write_text(render({"title": "Ada", "type": "person"}, "x"))
    cache.write_text("{broken")
    assert len(Catalog.scan(wiki, cache)) == 1


def test_a_database_from_older_name_rules_is_built_again(tmp_path: Path) -> None:
    wiki, cache = tmp_path / "wiki", tmp_path / "state" / "catalog.sqlite"
    (wiki / "concepts").mkdir(parents=True)
    title = "Reinforcement Learning from Human Feedback"
    page = wiki / "concepts" / f"{title}.md"
    page.write_text(render({"title": title, "type": "concept"}, "x"))
    Catalog.scan(wiki, cache)
    with sqlite3.connect(cache) as db:  # rows as an older version wrote them
        db.execute("DELETE FROM names")
        db.execute("DELETE FROM words")
        db.execute(f"PRAGMA user_version = {catalog_store.SCHEMA_VERSION - 1}")
    db.close()
    assert [e.stem for e in Catalog.scan(wiki, cache).candidates("RLHF", "concept")] == [title]


def test_two_folders_with_one_file_name_the_later_path_is_the_page(tmp_path: Path) -> None:
    wiki, cache = tmp_path / "wiki", tmp_path / "state" / "catalog.sqlite"
    for folder, kind in (("concepts", "concept"), ("people", "person")):
        (wiki / folder).mkdir(parents=True)
        (wiki / folder / "Ada.md").write_text(render({"title": "Ada", "type": kind}, "x"))
    assert Catalog.scan(wiki, cache).get("Ada").type == "person"  # type: ignore[union-attr]
    (wiki / "concepts" / "Ada.md").write_text(render({"title": "Ada!", "type": "concept"}, "y"))
    assert Catalog.scan(wiki, cache).get("Ada").type == "person"  # type: ignore[union-attr]
    (wiki / "people" / "Ada.md").unlink()  # the other file is the page again
    assert Catalog.scan(wiki, cache).get("Ada").title == "Ada!"  # type: ignore[union-attr]


def test_a_read_only_scan_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    wiki, cache = tmp_path / "wiki", tmp_path / "state" / "catalog.sqlite"
    (wiki / "people").mkdir(parents=True)
    (wiki / "people" / "Ada.md").write_text(render({"title": "Ada", "type": "person"}, "x"))
    Catalog.scan(wiki, cache)
    in_step = Catalog.scan(wiki, cache, save_cache=False)  # read as it is, no copy made
    in_step.put(entry("Cy", "person"))
    assert in_step.lookup("Cy") is not None and in_step.lookup("Ada") is not None
    (wiki / "people" / "Bo.md").write_text(render({"title": "Bo", "type": "person"}, "x"))
    read_only = Catalog.scan(wiki, cache, save_cache=False)  # a copy, brought in step
    assert read_only.lookup("Bo") is not None
    read_only.put(entry("Cy", "person"))
    with sqlite3.connect(cache) as db:
        assert [s for (s,) in db.execute("SELECT stem FROM pages")] == ["Ada"]
    db.close()


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
    # the same through the set of every name's key that a run of many sources loads first,
    # which a page put afterwards joins
    assert cat.with_name_keys().mentioned_in(text, limit=10) == found
    cat.put(entry("Lighthouses", "concept"))
    assert "Lighthouses" in cat.mentioned_in(text, limit=10)


def test_pages_put_are_this_commands_plans_never_shared(tmp_path: Path) -> None:
    """An ingest puts a page before it writes it: a crash in between, or another process
    reading the database meanwhile, must not see a page that has no file."""
    wiki, cache = tmp_path / "wiki", tmp_path / "state" / "catalog.sqlite"
    (wiki / "people").mkdir(parents=True)
    (wiki / "people" / "Ada.md").write_text(render({"title": "Ada", "type": "person"}, "x"))
    mine = Catalog.scan(wiki, cache)
    planned = Entry("Bo", "people/Bo.md", "Bo", "person", sources=("S",))
    mine.put(planned)
    mine.put(Entry("Ada", "people/Ada.md", "Ada", "person", ("Lovelace",), sources=("S",)))
    assert mine.lookup("Bo") == planned and mine.lookup("Lovelace") is not None
    assert [e.stem for e in mine.related("Bo")] == ["Ada"]
    assert mine.counts() == {"person": 2} and sum(n for n, _ in mine.index_groups().values()) == 2
    other = Catalog.scan(wiki, cache)  # another process, or the next run after a crash
    assert other.lookup("Bo") is None and other.lookup("Lovelace") is None
    assert other.counts() == {"person": 1}
