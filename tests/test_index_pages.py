"""A large index is split into parts by initial letters; a change rewrites only its part, the
parts are never pages, and lint keeps them in step (#16)."""

from __future__ import annotations

import random

import pytest
from conftest import SAMPLES, drop, run

from llmwiki import index_pages
from llmwiki.catalog import Catalog
from llmwiki.engines.extractive.engine import ExtractiveEngine
from llmwiki.entries import Entry
from llmwiki.identity import fold_name
from llmwiki.lint import lint
from llmwiki.pages import parse_links, render
from llmwiki.scan import walk
from llmwiki.vault import Vault

WORDS = [
    "sparse",
    "sparrow",
    "spectral",
    "stream",
    "stable",
    "alpha",
    "beta",
    "gamma",
    "delta",
    "omega",
    "3d",
    "_under",
]


def concepts(n: int, seed: int = 3) -> list[Entry]:
    rng = random.Random(seed)
    titles = {f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} {i}" for i in range(n)}
    return [Entry(t, f"concepts/{t}.md", t, "concept", summary=f"About {t}.") for t in titles]


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_pages, "MAX_INLINE", 5)
    monkeypatch.setattr(index_pages, "MAX_PART", 8)


@pytest.mark.usefixtures("small_parts")
def test_a_large_type_is_split_by_letters_and_every_page_is_listed_once() -> None:
    entries = concepts(120)
    files = index_pages.render(Catalog(entries))
    index, parts = files.pop("index.md"), files
    assert "## Concepts (120)" in index and len(parts) > 5
    listed = [link.target for text in parts.values() for link in parse_links(text)]
    assert sorted(listed) == sorted(e.stem for e in entries)
    # index.md links every part by its name, and part names differ however a disk folds case
    linked = [link.target for link in parse_links(index)]
    assert sorted(f"index/{t}.md" for t in linked) == sorted(parts)
    assert len({fold_name(p) for p in parts}) == len(parts)
    for text in parts.values():  # split until small, unless the titles share every letter
        rows = [line for line in text.split("\n") if line.startswith("- ")]
        assert len(rows) <= index_pages.MAX_PART or len({r[4:8].casefold() for r in rows}) == 1


def test_a_small_wiki_keeps_the_whole_index_in_index_md() -> None:
    files = index_pages.render(Catalog(concepts(40)))
    assert list(files) == ["index.md"]
    assert len(parse_links(files["index.md"])) == 40


@pytest.mark.usefixtures("small_parts")
def test_one_new_page_rewrites_only_its_part_and_index_md(vault: Vault) -> None:
    catalog = Catalog(concepts(120))
    assert len(index_pages.write(vault, catalog)) > 5
    assert index_pages.write(vault, catalog) == []  # nothing changed, nothing written
    title = "Omega sparse 999"
    catalog.put(Entry(title, f"concepts/{title}.md", title, "concept"))
    changed = [p.relative_to(vault.wiki).as_posix() for p in index_pages.write(vault, catalog)]
    assert len(changed) == 2 and changed[0] == "index.md", changed
    assert title in (vault.wiki / changed[1]).read_text(encoding="utf-8")
    # within one run (one IndexFiles), as an ingest of many sources writes it
    files = index_pages.IndexFiles(vault)
    assert files.write(catalog) == []
    for n in range(30):  # enough "Omega" lines to split that part by one more letter
        more = f"Omega stream {n}"
        catalog.put(Entry(more, f"concepts/{more}.md", more, "concept"))
        files.write(catalog)
    assert files.render(catalog) == index_pages.render(catalog)
    assert index_pages.stale(vault, catalog) == []  # every file as a fresh render gives it


def test_parts_are_not_pages_and_lint_keeps_them_in_step(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_pages, "MAX_INLINE", 2)
    for sample in SAMPLES:
        drop(vault, sample.name, sample.read_bytes())
    run(vault, ExtractiveEngine())
    parts = index_pages.existing_parts(vault)
    assert parts, "the sample wiki has more than 2 people"
    assert not [rel for rel in walk(vault.wiki).pages if rel.startswith("index/")]
    assert all(f.code != "stale-index" for f in lint(vault).findings)
    # a part edited by hand, and one left from an earlier index
    parts[0].write_text("# mine\n", encoding="utf-8")
    leftover = parts[0].with_name("Index - Concepts - Zz.md")
    leftover.write_text("# old\n", encoding="utf-8")
    stale = {f.page: f.message for f in lint(vault).findings if f.code == "stale-index"}
    assert set(stale) == {f"index/{parts[0].name}", f"index/{leftover.name}"}
    assert "left from an earlier index" in stale[f"index/{leftover.name}"]
    fixed = {f.page for f in lint(vault, fix=True).fixed}
    assert {f"index/{parts[0].name}", f"index/{leftover.name}"} <= fixed
    assert not leftover.exists()
    assert all(f.code != "stale-index" for f in lint(vault).findings)


def test_no_page_takes_a_part_name() -> None:
    taken = "Index - Concepts - S"
    assert Catalog().free_stem(taken, "concept") == f"{taken} (concept)"
    assert Catalog().free_stem("Index - of things", "concept") == "Index - of things"


@pytest.mark.usefixtures("small_parts")
def test_a_new_run_renders_again_only_the_parts_whose_pages_changed(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = vault.folder("concept")
    for e in concepts(120):
        (folder / f"{e.stem}.md").write_text(render({"title": e.title, "type": "concept"}, "x"))
    assert index_pages.IndexFiles(vault).write(Catalog.load(vault))
    rendered: list[str] = []
    real = index_pages._render_parts

    def spy(kind: str, rows: list[index_pages.Row]) -> list[tuple[str, int, str]]:
        rendered.append(rows[0][0][:1])
        return real(kind, rows)

    monkeypatch.setattr(index_pages, "_render_parts", spy)
    assert index_pages.IndexFiles(vault).write(Catalog.load(vault)) == []
    assert rendered == []  # nothing changed: not one part rendered
    # a page edited in Obsidian: its initial's part alone, and index.md if its count moved
    page = next(folder.glob("Omega*.md"))
    page.write_text(render({"title": page.stem, "type": "concept", "summary": "New."}, "x"))
    changed = index_pages.IndexFiles(vault).write(Catalog.load(vault))
    assert rendered == ["o"] and len(changed) == 1
    assert changed[0].name.startswith("Index - Concepts - O")
    # a part someone removed is written again, though its pages did not change
    part = next((vault.wiki / "index").glob("Index - Concepts - B*.md"))
    part.unlink()
    assert index_pages.IndexFiles(vault).write(Catalog.load(vault)) == [part]
    assert index_pages.stale(vault, Catalog.load(vault)) == []
