"""The wiki as Obsidian sees it: the settings `wiki init` writes, typed frontmatter, aliases
and tags, and a third-party vault parser (obsidiantools) reading a built wiki."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import CORPUS, NO_LLM, SAMPLES, TODAY, drop, run

from llmwiki import index_pages
from llmwiki.cli import cli
from llmwiki.engines.extractive.engine import ExtractiveEngine
from llmwiki.lint import lint
from llmwiki.manifest import Manifest
from llmwiki.obsidian import GENERATED, SETTINGS, apply_settings
from llmwiki.pages import obsidian_tag, parse, read, render
from llmwiki.vault import Vault, init_vault


def _init(path: Path) -> str:
    result = CliRunner().invoke(cli, ["init", str(path)], env=NO_LLM)
    assert result.exit_code == 0, result.output
    return result.output


def _settings(vault_root: Path) -> dict[str, Any]:
    folder = vault_root / "wiki" / ".obsidian"
    return {
        p.name: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(folder.glob("*.json"))
        if p.name != "hotkeys.json"  # the damaged file one test leaves there
    }


# --- wiki init -------------------------------------------------------------------------------


def test_init_writes_the_obsidian_settings_on_a_fresh_folder(tmp_path: Path) -> None:
    output = _init(tmp_path / "kb")
    assert _settings(tmp_path / "kb") == SETTINGS
    app, graph, types = (SETTINGS[n] for n in ("app.json", "graph.json", "types.json"))
    assert app["newLinkFormat"] == "shortest" and app["attachmentFolderPath"] == "assets"
    assert {g["query"] for g in graph["colorGroups"]} == {
        "path:people/",
        "path:concepts/",
        "path:sources/",
        "path:answers/",
    }
    assert all(name.removesuffix(".md") in graph["search"] for name in GENERATED)
    assert types["types"]["created"] == "date" and types["types"]["sources"] == "multitext"
    assert types["types"]["aliases"] == "aliases" and types["types"]["tags"] == "tags"
    assert "Obsidian setting added: wiki/.obsidian/app.json: newLinkFormat" in output
    # a second run finds everything in place and adds nothing
    assert "Obsidian setting added" not in _init(tmp_path / "kb")
    assert _settings(tmp_path / "kb") == SETTINGS


def test_init_keeps_the_users_obsidian_settings(tmp_path: Path) -> None:
    folder = tmp_path / "kb" / "wiki" / ".obsidian"
    folder.mkdir(parents=True)
    users = {
        "app.json": {"newLinkFormat": "relative", "vimMode": True},
        "graph.json": {"colorGroups": [{"query": "tag:#mine", "color": {"a": 1, "rgb": 1}}]},
        "types.json": {"types": {"created": "text", "rating": "number"}},
        "appearance.json": {"theme": "obsidian"},
    }
    for name, value in users.items():
        (folder / name).write_text(json.dumps(value), encoding="utf-8")
    (folder / "hotkeys.json").write_text("{not json", encoding="utf-8")

    output = _init(tmp_path / "kb")

    got = _settings(tmp_path / "kb")
    assert (folder / "hotkeys.json").read_text(encoding="utf-8") == "{not json"
    assert got["appearance.json"] == users["appearance.json"]
    # every user setting is unchanged, and ours fill only the gaps
    assert got["app.json"] == {**SETTINGS["app.json"], **users["app.json"]}
    assert got["graph.json"] == {**SETTINGS["graph.json"], **users["graph.json"]}
    assert got["types.json"] == {
        "types": {**SETTINGS["types.json"]["types"], "created": "text", "rating": "number"}
    }
    assert "app.json: newLinkFormat" not in output
    assert "app.json: attachmentFolderPath" in output
    assert "types.json: types: updated" in output
    assert "types.json: types: created" not in output


def test_settings_in_a_file_that_is_not_json_are_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / ".obsidian"
    folder.mkdir()
    (folder / "app.json").write_text("[1, 2", encoding="utf-8")
    report = apply_settings(tmp_path)
    assert (folder / "app.json").read_text(encoding="utf-8") == "[1, 2"
    assert report.skipped and report.skipped[0].startswith("app.json")
    assert "graph.json: colorGroups" in report.added


# --- frontmatter types -------------------------------------------------------------------------


def test_dates_are_yaml_dates_and_quoted_dates_still_read() -> None:
    text = render({"title": "T", "created": "2026-01-05", "updated": "2026-02-01"}, "b")
    assert "\ncreated: 2026-01-05\nupdated: 2026-02-01\n" in text
    import yaml

    assert yaml.safe_load(text.split("---\n")[1])["created"] == date(2026, 1, 5)
    # in memory a date is an ISO string, whichever way the page wrote it
    old = parse("---\ntitle: T\ncreated: '2026-01-05'\n---\n\nb\n", Path("T.md"))
    new = parse(text, Path("T.md"))
    assert old.meta["created"] == new.meta["created"] == "2026-01-05"
    # what a user typed that is no date is kept as it is
    kept = render({"title": "T", "created": "soon", "updated": "2026-02-30"}, "b")
    assert "created: soon" in kept and "updated: '2026-02-30'" in kept


def test_obsidian_tags() -> None:
    assert obsidian_tag("machine learning") == "machine-learning"
    assert obsidian_tag("#c++") == "c"
    assert obsidian_tag("2024") == "_2024"
    assert obsidian_tag("ai/llm") == "ai/llm"
    assert obsidian_tag("  ") == ""
    assert obsidian_tag("Été") == "Été"


def test_source_pages_keep_title_alias_tags_and_archive(vault: Vault) -> None:
    drop(
        vault,
        "q.md",
        "---\ntitle: 'What is RAG? A #1 guide'\ntags: [machine learning, 2024, RAG, rag, source]\n"
        "---\n\nPriya Raman wrote about retrieval. Retrieval-Augmented Generation helps.\n",
    )
    drop(vault, "j.md", "---\ntitle: Plain\ntags: jekyll posts\n---\n\nSome text here.\n")
    run(vault, ExtractiveEngine())
    pages = {p.meta["title"]: p for p in map(read, (vault.wiki / "sources").glob("*.md"))}
    odd, plain = pages["What is RAG? A #1 guide"], pages["Plain"]
    assert odd.stem != odd.title and odd.meta["aliases"] == ["What is RAG? A #1 guide"]
    assert plain.meta["aliases"] == []
    assert odd.meta["tags"] == ["source", "machine-learning", "_2024", "RAG"]
    assert plain.meta["tags"] == ["source", "jekyll", "posts"]
    assert odd.meta["archive"] == "raw/q.md" and "file" not in odd.meta
    assert "\ncreated: 2026-01-15\n" in odd.path.read_text(encoding="utf-8")


def test_a_source_page_links_a_copy_of_its_original(vault: Vault) -> None:
    drop(vault, "clip.md", "---\ntitle: A Clip\n---\n\nPriya Raman wrote about retrieval.\n")
    drop(vault, "notes.txt", "Notes\n\nTomas Berg ran the Lighthouse suite.\n")
    run(vault, ExtractiveEngine())
    copies = {}
    for page in map(read, (vault.wiki / "sources").glob("*.md")):
        target = str(page.meta["original"])
        assert target.startswith("[[assets/originals/") and target.endswith("]]"), target
        copy = vault.wiki / target[2:-2]
        # the bytes of the archive, under the source page's name
        assert copy.read_bytes() == (vault.root / str(page.meta["archive"])).read_bytes()
        assert copy.stem == page.stem
        copies[page.meta["archive"]] = copy
    # a markdown original is not a second note: Obsidian hands `.markdown` to the system's app
    assert copies["raw/clip.md"].name == "A Clip.markdown"
    assert copies["raw/notes.txt"].name == "Notes.txt"
    assert not [p for p in (vault.wiki / "assets").rglob("*.md")]
    assert lint(vault).errors == ()
    # without its copy, the link is broken, and lint says so; raw/ still holds the original
    copies["raw/clip.md"].unlink()
    assert [f.code for f in lint(vault).errors] == ["broken-link"]
    assert (vault.raw / "clip.md").is_file()
    assert lint(vault, fix=True).errors == ()
    assert copies["raw/clip.md"].read_bytes() == (vault.raw / "clip.md").read_bytes()


def test_lint_fix_links_originals_of_pages_written_before_copies(vault: Vault) -> None:
    drop(vault, "clip.md", "---\ntitle: A Clip\n---\n\nPriya Raman wrote about retrieval.\n")
    run(vault, ExtractiveEngine())
    path = vault.wiki / "sources" / "A Clip.md"
    page = read(path)
    (vault.wiki / page.meta["original"][2:-2]).unlink()
    old = {k: v for k, v in page.meta.items() if k != "original"}
    path.write_text(render(old, page.body + "\n\nMy own note."), encoding="utf-8")
    assert lint(vault).errors == ()  # an old page is not wrong, only without the link
    fixed = lint(vault, fix=True).fixed
    assert [f.page for f in fixed] == ["sources/A Clip.md"]
    again = read(path)
    assert again.meta == page.meta and again.body == page.body + "\n\nMy own note."
    assert (vault.wiki / "assets/originals/A Clip.markdown").read_bytes() == (
        vault.raw / "clip.md"
    ).read_bytes()
    assert lint(vault, fix=True).fixed == ()


def test_the_manifest_rebuilds_from_old_pages_with_file(vault: Vault) -> None:
    drop(vault, "a.md", "---\ntitle: A\n---\n\nPriya Raman wrote this.\n")
    run(vault, ExtractiveEngine())
    page = read(vault.wiki / "sources" / "A.md")
    old = {k: v for k, v in page.meta.items() if k != "archive"} | {"file": "raw/a.md"}
    (vault.wiki / "sources" / "A.md").write_text(render(old, page.body), encoding="utf-8")
    assert [r.raw for r in Manifest.rebuild(vault).sources.values()] == ["raw/a.md"]


# --- a third-party parser ----------------------------------------------------------------------

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "date": (date,),
    "multitext": (list,),
    "aliases": (list,),
    "tags": (list,),
    "text": (str,),
}


def _check_with_obsidiantools(wiki: Path, empty: set[str]) -> int:
    """Load `wiki` with obsidiantools and check what Obsidian would show; the page count.
    `empty`: the source pages of sources nothing was extracted from, which have nothing to
    link to."""
    otools = pytest.importorskip("obsidiantools.api")
    parsed = otools.Vault(wiki).connect().gather()
    assert parsed.nonexistent_notes == []
    # obsidiantools looks embeds up by file name only; Obsidian also takes a path from the
    # vault's root (`![[assets/chart.png]]`, as `wiki add` writes them), so those count as found
    media_paths = {p.as_posix() for p in parsed.media_file_index.values()}
    assert [m for m in parsed.nonexistent_media_files if m not in media_paths] == []
    assert all((wiki / p).is_file() for p in media_paths)
    # isolated in the graph as `wiki init` sets it up: without the generated pages
    graph = parsed.graph.copy()
    graph.remove_nodes_from([n.removesuffix(".md") for n in GENERATED])
    isolated = [n for n in graph.nodes if graph.degree(n) == 0]
    assert set(isolated) <= empty, set(isolated) - empty
    types = SETTINGS["types.json"]["types"]
    seen: dict[str, set[str]] = {}
    for note in parsed.md_file_index:
        if note in (n.removesuffix(".md") for n in GENERATED) or note.startswith(
            index_pages.PART_PREFIX
        ):
            continue  # generated, like index.md: no properties
        meta = parsed.get_front_matter(note)
        for key, value in meta.items():
            seen.setdefault(key, set()).add(type(value).__name__)
            if key in types:
                assert isinstance(value, _PY_TYPES[types[key]]), (note, key, value)
        for tag in meta.get("tags", []):
            assert tag == obsidian_tag(tag) and tag, (note, tag)
        assert isinstance(meta["created"], date) and isinstance(meta["updated"], date), note
    # one type per property across all pages (a missing value aside)
    assert {k: v for k, v in seen.items() if len(v - {"NoneType"}) > 1} == {}
    return len(parsed.md_file_index)


def _build(tmp_path: Path, files: list[Path]) -> tuple[Vault, set[str]]:
    """A wiki built from `files`, and the source pages that nothing was extracted from."""
    vault = init_vault(tmp_path / "kb")[0]
    apply_settings(vault.wiki)
    for f in files:
        shutil.copy(f, vault.inbox / f.name)
    report = run(vault, ExtractiveEngine(), today=TODAY)
    assert not [r for r in report.results if r.status == "failed"]
    return vault, {r.page for r in report.results if r.nothing_extracted}


def test_obsidiantools_reads_the_sample_wiki(tmp_path: Path) -> None:
    # a clip as `wiki add` saves it, its image in the shared attachments folder
    clip = tmp_path / "clip.md"
    clip.write_text(
        "---\ntitle: Lighthouse Charts\nimages:\n- assets/lighthouse-chart.png\n---\n\n"
        "Tomas Berg charted the Lighthouse scores.\n",
        encoding="utf-8",
    )
    assets = tmp_path / "kb" / "wiki" / "assets"
    assets.mkdir(parents=True)
    (assets / "lighthouse-chart.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    vault, empty = _build(tmp_path, [*SAMPLES, clip])
    assert empty == set()
    assert _check_with_obsidiantools(vault.wiki, empty) > len(SAMPLES)
    otools = pytest.importorskip("obsidiantools.api")
    embeds = otools.Vault(vault.wiki).connect().embedded_files_index
    assert embeds["Lighthouse Charts"] == ["assets/lighthouse-chart.png"]


def test_obsidiantools_reads_a_wiki_whose_index_is_split(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_pages, "MAX_INLINE", 2)  # as a wiki of thousands of pages
    vault, empty = _build(tmp_path, SAMPLES)
    assert index_pages.existing_parts(vault)
    assert _check_with_obsidiantools(vault.wiki, empty) > len(SAMPLES)


def test_obsidiantools_reads_the_corpus_wiki(tmp_path: Path, corpus: list[Path]) -> None:
    blogs = sorted((CORPUS / "blogs").glob("*.md"))
    vault, empty = _build(tmp_path, corpus + blogs)
    assert len(empty) <= 2  # short posts with no names in them, not a class of failure
    assert _check_with_obsidiantools(vault.wiki, empty) > len(corpus) + len(blogs)
