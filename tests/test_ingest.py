"""The ingest pipeline, driven by a scripted engine so every outcome is known in advance."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    SAMPLE_ALIASES,
    SAMPLE_ENTITIES,
    SAMPLES,
    KeywordEngine,
    assert_links_resolve,
    drop,
    run,
    wiki_files,
)

from llmwiki.catalog import Catalog
from llmwiki.engines import Extraction, SourceDoc
from llmwiki.errors import EngineError
from llmwiki.manifest import Manifest
from llmwiki.pages import read, replace_section, section_lines
from llmwiki.status import vault_status
from llmwiki.vault import Vault

ENTITIES = SAMPLE_ENTITIES
ALIASES = SAMPLE_ALIASES


def engine() -> KeywordEngine:
    return KeywordEngine(ENTITIES, ALIASES)


def fill_inbox(vault: Vault) -> None:
    for sample in SAMPLES:
        shutil.copy(sample, vault.inbox / sample.name)


def test_samples_become_a_linked_wiki(vault: Vault) -> None:
    fill_inbox(vault)
    report = run(vault, engine())
    assert report.ok and report.count("ingested") == len(SAMPLES) == 3
    assert list(vault.inbox.iterdir()) == []
    for sample in SAMPLES:
        assert (vault.raw / sample.name).read_bytes() == sample.read_bytes()
    assert len(list((vault.wiki / "sources").glob("*.md"))) == 3
    raman = read(vault.wiki / "people" / "Priya Raman.md")
    assert raman.meta["type"] == "person" and "Raman" in raman.meta["aliases"]
    assert len(raman.meta["sources"]) == 2
    assert len(read(vault.wiki / "people" / "Tomas Berg.md").meta["sources"]) == 3
    assert "[[Small Models, Long Memories]]" in raman.body
    assert (vault.wiki / "concepts" / "Retrieval-Augmented Generation.md").exists()
    assert_links_resolve(vault)
    index = (vault.wiki / "index.md").read_text()
    for page in Catalog.scan(vault.wiki):
        assert index.count(f"[[{page.stem}") == 1, page.stem
    log = (vault.wiki / "log.md").read_text()
    assert log.count("] ingest | ") == 3
    assert report.usage.calls > 0


@pytest.mark.parametrize("jobs", [1, 4])
def test_each_source_is_read_once_look_ahead_included(
    vault: Vault, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    fill_inbox(vault)
    ingest_module = importlib.import_module("llmwiki.ingest")  # `llmwiki.ingest` is the function
    reads: list[str] = []
    real = ingest_module.read_source

    def counting(path: Path, *args: Any, **kwargs: Any) -> SourceDoc:
        reads.append(path.name)
        doc: SourceDoc = real(path, *args, **kwargs)
        return doc

    monkeypatch.setattr(ingest_module, "read_source", counting)
    assert run(vault, engine(), jobs=jobs).count("ingested") == len(SAMPLES)
    assert sorted(reads) == sorted(s.name for s in SAMPLES)


def test_ingesting_again_changes_nothing(vault: Vault) -> None:
    fill_inbox(vault)
    run(vault, engine())
    before = wiki_files(vault)
    fill_inbox(vault)  # the same files again
    drop(vault, "renamed copy.md", SAMPLES[0].read_bytes())
    report = run(vault, engine())
    assert report.count("skipped") == 4 and report.count("ingested") == 0
    assert wiki_files(vault) == before
    assert list(vault.inbox.iterdir()) == []
    assert (vault.raw / "renamed copy.md").read_bytes() == SAMPLES[0].read_bytes()


def test_user_edits_survive_an_update(vault: Vault) -> None:
    drop(vault, "a.md", "# First\n\nTomas Berg built Lighthouse. Berg likes tests.\n")
    run(vault, engine())
    page_path = vault.wiki / "people" / "Tomas Berg.md"
    text = page_path.read_text()
    text = text.replace("Tomas Berg built", "Tomas Berg (my colleague) built")
    text += "\n## Notes\n\nMet him in Oslo. My own words.\n"
    page_path.write_text(text)
    drop(vault, "b.md", "# Second\n\nTomas Berg released Lighthouse 2.\n")
    report = run(vault, engine())
    assert report.results[0].updated == ("Tomas Berg", "Lighthouse")
    after = page_path.read_text()
    assert "Tomas Berg (my colleague) built" in after
    assert after.rstrip().endswith("Met him in Oslo. My own words.")
    assert "released [[Lighthouse]] 2" in after
    assert after.index("[[Lighthouse]] 2") < after.index("## Notes")


def test_locked_page_is_left_alone(vault: Vault) -> None:
    drop(vault, "a.md", "# First\n\nTomas Berg built Lighthouse.\n")
    run(vault, engine())
    page_path = vault.wiki / "people" / "Tomas Berg.md"
    page_path.write_text(
        page_path.read_text().replace("type: person", "type: person\nlocked: true")
    )
    before = page_path.read_bytes()
    drop(vault, "b.md", "# Second\n\nTomas Berg released Lighthouse 2.\n")
    report = run(vault, engine())
    assert page_path.read_bytes() == before
    assert report.results[0].locked == ("Tomas Berg",)
    assert "[[Tomas Berg]]" in (vault.wiki / "sources" / "Second.md").read_text()
    status = vault_status(vault, Manifest.load(vault))
    assert status.not_applied == {"Tomas Berg": ["Second"]}


def test_quotes_not_in_the_source_are_not_written_as_quotes(vault: Vault) -> None:
    drop(vault, "a.md", "# First\n\nTomas Berg built Lighthouse.\n")
    run(vault, KeywordEngine({"Tomas Berg": "person"}, quote_suffix=" He is brilliant."))
    text = (vault.wiki / "people" / "Tomas Berg.md").read_text()
    assert "brilliant" not in text
    assert "Tomas Berg built Lighthouse." in text


def test_surname_is_confirmed_and_two_people_sharing_one_are_kept_apart(vault: Vault) -> None:
    drop(vault, "a.md", "# A\n\nJeff Dean spoke about sparsity.\n")
    run(vault, KeywordEngine({"Jeff Dean": "person"}))
    drop(vault, "b.md", "# B\n\nJames Dean was an actor. Dean said sparsity matters.\n")
    eng = KeywordEngine({"James Dean": "person", "Dean": "person"}, same=[("Dean", "Jeff Dean")])
    run(vault, eng)
    people = sorted(p.stem for p in (vault.wiki / "people").glob("*.md"))
    assert people == ["James Dean", "Jeff Dean"]
    assert "Dean" in read(vault.wiki / "people" / "Jeff Dean.md").meta["aliases"]


def test_engine_failure_leaves_vault_and_inbox_untouched(vault: Vault) -> None:
    drop(vault, "a.md", "# A\n\nTomas Berg built Lighthouse.\n")
    run(vault, engine())
    before = wiki_files(vault)

    class Broken(KeywordEngine):
        def extract(self, doc: SourceDoc, known_titles: object) -> Extraction:
            if doc.name == "bad.md":
                raise EngineError("the model kept returning invalid JSON")
            return super().extract(doc, known_titles)  # type: ignore[arg-type]

    drop(vault, "bad.md", "# Bad\n\nTomas Berg again.\n")
    drop(vault, "good.md", "# Good\n\nLena Okafor studies GRPO.\n")
    report = run(vault, Broken(ENTITIES, ALIASES))
    assert [r.status for r in report.results] == ["failed", "ingested"]
    assert "invalid JSON" in report.results[0].message
    assert (vault.inbox / "bad.md").exists() and not (vault.inbox / "good.md").exists()
    after = wiki_files(vault)
    assert after["wiki/people/Tomas Berg.md"] == before["wiki/people/Tomas Berg.md"]
    assert "wiki/sources/Bad.md" not in after


@pytest.mark.parametrize("content", [b"", b"\x00\x01binary\x00", b"   \n"])
def test_bad_input_goes_to_failed_with_a_reason(vault: Vault, content: bytes) -> None:
    drop(vault, "bad.md", content)
    drop(vault, "photo.jpg", b"\xff\xd8\xff")
    report = run(vault, engine())
    assert report.count("failed") == 2
    assert (vault.failed / "bad.md").read_bytes() == content
    assert (vault.failed / "photo.jpg").exists()
    reason = (vault.failed / "photo.jpg.error.txt").read_text()
    assert "not supported" in reason


def test_dry_run_writes_nothing(vault: Vault) -> None:
    fill_inbox(vault)
    before = sorted(p for p in vault.root.rglob("*"))
    report = run(vault, engine(), dry_run=True)
    assert report.count("planned") == 3 and report.usage.prompt_tokens > 0
    assert sorted(p for p in vault.root.rglob("*")) == before


def test_same_title_from_two_sources_gets_two_pages(vault: Vault) -> None:
    drop(vault, "a.md", "# Weekly\n\nTomas Berg built Lighthouse.\n")
    drop(vault, "b.md", "# Weekly\n\nLena Okafor studies GRPO.\n")
    run(vault, engine())
    assert sorted(p.stem for p in (vault.wiki / "sources").glob("*.md")) == [
        "Weekly",
        "Weekly (source)",
    ]
    assert_links_resolve(vault)


def test_a_note_named_after_its_subject_gives_the_subject_a_page(vault: Vault) -> None:
    drop(vault, "a.md", "# Lighthouse\n\nTomas Berg built Lighthouse.\n")
    drop(vault, "b.md", "# Notes On Why Lighthouse Grew So Fast\n\nLighthouse grew.\n")
    names = {"Lighthouse": "concept", "Notes On Why Lighthouse Grew So Fast": "concept"}
    run(vault, KeywordEngine({**ENTITIES, **names}))
    concepts = sorted(p.stem for p in (vault.wiki / "concepts").glob("*.md"))
    # a short title names the note's subject, which gets its page beside the source page;
    # a headline is only the source page's own name
    assert "Lighthouse (concept)" in concepts
    assert not [c for c in concepts if c.startswith("Notes On")]
    page = read(vault.wiki / "concepts" / "Lighthouse (concept).md")
    assert page.meta["title"] == "Lighthouse" and len(page.meta["sources"]) == 2
    assert_links_resolve(vault)


def test_files_outside_the_inbox_are_copied_not_moved(vault: Vault, tmp_path: Path) -> None:
    outside = tmp_path / "mine.md"
    outside.write_text("# Mine\n\nTomas Berg built Lighthouse.\n")
    from conftest import TODAY

    from llmwiki.ingest import Options, ingest

    report = ingest(vault, engine(), Options(today=TODAY), [outside])  # type: ignore[arg-type]
    assert report.ok and outside.exists()
    assert (vault.raw / "mine.md").read_bytes() == outside.read_bytes()


def test_entity_pages_list_related_pages_by_shared_sources(vault: Vault) -> None:
    fill_inbox(vault)
    run(vault, engine())
    berg = read(vault.wiki / "people" / "Tomas Berg.md")
    related = [line for line in section_lines(berg.body, "Related") if line.startswith("- ")]
    # Lighthouse shares all three of Berg's sources; the others fewer
    assert related[0] == "- [[Lighthouse]]"
    assert "- [[Tomas Berg]]" not in related
    assert len(related) == len(set(related)) >= 4
    assert berg.body.index("## Facts") < berg.body.index("## Related")


def test_replace_section_only_touches_its_section() -> None:
    body = "Lead.\n\n## Facts\n\n- a\n\n## Related\n\n- [[Old]]\n\n## Notes\n\nmine\n"
    out = replace_section(body, "Related", ["- [[New]]"])
    assert out == "Lead.\n\n## Facts\n\n- a\n\n## Related\n\n- [[New]]\n\n## Notes\n\nmine\n"
    assert replace_section("Lead.\n", "Related", []) == "Lead.\n"
    assert replace_section("Lead.\n\n## Related\n\n- x\n", "Related", ["- y"]) == (
        "Lead.\n\n## Related\n\n- y\n"
    )
