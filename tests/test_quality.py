"""Related ranking, leads and the quality evaluation (#13.7, 13.8, 13.9). Invented data; the
corpus run skips when ../shared is absent."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from conftest import NO_LLM

from llmwiki.catalog import Catalog
from llmwiki.entries import Entry

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"


def _entry(stem: str, kind: str, *sources: str) -> Entry:
    return Entry(stem, f"{kind}s/{stem}.md", stem, kind, sources=sources)


def test_related_prefers_specific_sources_over_a_page_every_source_cites() -> None:
    # "Aardvark Hub" (sorts first) is cited by all ten sources; "Quillbeam" shares only the
    # one narrow source with "Lanternkit"
    entries = [_entry(f"S{i}", "source") for i in range(10)]
    entries.append(_entry("Aardvark Hub", "concept", *(f"S{i}" for i in range(10))))
    entries.append(_entry("Lanternkit", "concept", "S0", "S1"))
    entries.append(_entry("Quillbeam", "concept", "S1"))
    catalog = Catalog(entries)
    related = [e.stem for e in catalog.related("Lanternkit")]
    assert related[0] == "Quillbeam", related
    assert "Aardvark Hub" in related


def _scorer() -> ModuleType:
    sys.path.insert(0, str(REPO / "bench"))
    try:
        return importlib.import_module("quality")
    finally:
        sys.path.remove(str(REPO / "bench"))


def test_a_generic_word_is_one_of_english_and_a_name_english_lacks_is_coined(
    tmp_path: Path,
) -> None:
    quality = _scorer()
    titles = ("tables", "Clicked", "quorblint", "lantern", "Quorblint Hub")
    pages = {t: quality.Page(t, f"concepts/{t}.md", "concept", t, [], [], "", "") for t in titles}
    doc = tmp_path / "note.md"
    doc.write_text("The code is at https://github.com/someone/lantern and nowhere else.\n")
    classes = quality.junk(pages, set(), quality.project_names([doc]))
    assert classes["generic words"] == ["tables", "Clicked"]
    assert classes["coined lower-case words"] == ["quorblint"]
    assert classes["lower-case project names"] == ["lantern"]
    # a word the gold calls a concept is no junk of any class
    known = quality.junk(pages, {quality._key("tables")}, ())
    assert known["generic words"] == ["Clicked", "lantern"]


def _quality(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "quality.py"), *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **NO_LLM},
    )
    return done.stdout


def _figure(output: str, label: str) -> str:
    match = re.search(rf"^\s+{re.escape(label)}\s+(\S+)", output, re.MULTILINE)
    assert match, (label, output)
    return match.group(1)


def test_quality_script_scores_a_folder_against_a_gold_file(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "lantern.md").write_text(
        "# Lanternkit: a notebook renderer\n\n"
        "Lanternkit is a notebook renderer written by Helena Quenzel. Quenzel said that "
        "Lanternkit renders 400 cells per second. Lanternkit keeps every cell in memory.\n",
        encoding="utf-8",
    )
    gold = tmp_path / "gold.json"
    entry = {
        "people": [{"name": "Helena Quenzel", "central": True}, {"name": "Ada Vexley"}],
        "concepts": [{"name": "Lanternkit", "aliases": [], "central": True}],
        "not_people": ["Notebook Renderer"],
    }
    gold.write_text(json.dumps({"_about": "invented", "notes": {"lantern.md": entry}}))
    out = _quality(str(folder), "--gold", str(gold), "--keep", str(tmp_path / "vault"))
    assert _figure(out, "precision") == "1.00"
    assert _figure(out, "recall (all)") == "0.50"  # the invented second person is missed
    assert _figure(out, "central-concept recall") == "1.00"
    assert _figure(out, "known non-people as people") == "0"
    assert _figure(out, "broken links") == "0"
    assert _figure(out, "wiki lint exit code") == "0"


def test_quality_on_the_corpus_blogs_has_no_junk_of_the_fixed_classes(tmp_path: Path) -> None:
    if not (CORPUS / "gold.json").exists():
        pytest.skip(f"shared corpus not found at {CORPUS} (only present in the dev workspace)")
    out = _quality(str(CORPUS / "blogs"), "--gold", str(CORPUS / "gold.json"))
    for label in ("contractions", "code identifiers", "image file names", "broken links"):
        assert _figure(out, label) == "0", (label, out)
