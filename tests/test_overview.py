"""The overview an entity page opens with (#14): compiled from the page's facts, rewritten after
every source that touches the page, and left alone once a person edits it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import NO_LLM, SAMPLES, drop, run

from llmwiki import overview
from llmwiki.engines.extractive import ExtractiveEngine
from llmwiki.errors import UsageError
from llmwiki.manifest import Manifest
from llmwiki.pages import read, render, section_lines
from llmwiki.refresh import refresh
from llmwiki.render import defining_fact
from llmwiki.status import vault_status
from llmwiki.vault import Vault

ENGINE = ExtractiveEngine()


@pytest.fixture
def samples(vault: Vault) -> Vault:
    for sample in SAMPLES:
        shutil.copy(sample, vault.inbox / sample.name)
    assert run(vault, ENGINE).ok
    return vault


def page(vault: Vault, rel: str) -> tuple[dict[str, object], str]:
    found = read(vault.wiki / rel)
    return found.meta, found.body


def headings(body: str) -> list[str]:
    return [line[3:] for line in body.split("\n") if line.startswith("## ")]


def test_the_overview_defines_the_subject_then_compiles_what_the_wiki_knows(
    samples: Vault,
) -> None:
    meta, body = page(samples, "concepts/KV-Lite.md")
    text, _ = overview.split(body)
    # the lead is the fact that says what KV-Lite is, not the first one that names it
    assert text.startswith("KV-Lite is a cache compression method")
    assert "Mentioned in 2 sources, 2025-03-02 to 2025-06-10." in text
    assert "Most often cited with [[" in text
    assert "1 contradiction is open" in text
    assert meta["overview"] == overview.fingerprint(text)
    assert headings(body) == ["Facts", "Contradictions", "Related"]


def test_a_person_edit_survives_later_ingests_is_listed_and_refresh_rewrites_it(
    samples: Vault,
) -> None:
    path = samples.wiki / "people" / "Priya Raman.md"
    found = read(path)
    _, rest = overview.split(found.body)
    mine = "Priya leads the memory team at Northwind Lab; I met her in Lisbon."
    path.write_text(render(found.meta, f"{mine}\n\n{rest}"), encoding="utf-8")
    for n in range(3):
        drop(samples, f"more-{n}.md", f"# Update {n}\n\nPriya Raman spoke about KV-Lite {n}.\n")
        assert run(samples, ENGINE).ok
        _, body = page(samples, "people/Priya Raman.md")
        assert overview.split(body)[0] == mine
        assert f"KV-Lite]] {n}." in "\n".join(section_lines(body, "Facts"))  # facts still arrive
    assert vault_status(samples, Manifest.load(samples)).overview_edited == ("Priya Raman",)

    report = refresh(samples, "Priya Raman")
    _, body = page(samples, "people/Priya Raman.md")
    assert report.changed and report.kept
    assert overview.split(body)[0].startswith("Priya Raman, a researcher at [[Northwind Lab]]")
    assert mine in "\n".join(section_lines(body, "Notes"))  # nothing a person wrote is lost
    assert vault_status(samples, Manifest.load(samples)).overview_edited == ()
    assert "refresh | Priya Raman" in samples.log.read_text(encoding="utf-8")
    assert not refresh(samples, "Raman").changed  # by alias, and nothing left to do


def test_a_lead_from_before_overviews_is_the_engines_unless_a_person_changed_it(
    samples: Vault,
) -> None:
    path = samples.wiki / "concepts" / "Lighthouse.md"
    found = read(path)
    meta = {k: v for k, v in found.meta.items() if k != "overview"}
    _, rest = overview.split(found.body)
    old_lead = str(meta["summary"])
    path.write_text(render(meta, f"{old_lead}\n\n{rest}"), encoding="utf-8")
    assert not overview.edited_by_hand(meta, f"{old_lead}\n\n{rest}")
    changed = "Lighthouse is the suite I trust most."
    assert overview.edited_by_hand(meta, f"{changed}\n\n{rest}")


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (["Ada Lovelace wrote notes.", "Ada Lovelace was an English mathematician."], 1),
        (['"Ada Lovelace (born 1815) was a mathematician." '], 0),
        (["[[Ada Lovelace]], a mathematician, wrote the first program."], 0),
        (["Lovelace is the subject of a play."], 0),  # an alias
        (["She was a mathematician.", "Ada Lovelace met Babbage."], None),  # no referent
        (["Ada Lovelace is known for her notes."], None),  # says what she did, not what she is
    ],
)
def test_the_defining_fact(facts: list[str], expected: int | None) -> None:
    found = defining_fact(["Ada Lovelace", "Lovelace"], facts)
    assert found == (None if expected is None else facts[expected].strip().strip('"'))


def test_refresh_refuses_what_has_no_overview(samples: Vault) -> None:
    with pytest.raises(UsageError, match="source page"):
        refresh(samples, "Why Evaluation Is Hard")
    with pytest.raises(UsageError, match="no page named"):
        refresh(samples, "Nobody At All")


def test_wiki_refresh_on_the_command_line(samples: Vault) -> None:
    wiki = [sys.executable, "-m", "llmwiki", "--vault", str(samples.root)]
    env = {**NO_LLM, "PATH": "/usr/bin:/bin"}
    # the first refresh may reorder "Most often cited with": a later page of the same ingest
    # changed how specific each neighbour is; the second finds nothing left to do
    for _ in range(2):
        done = subprocess.run(
            [*wiki, "refresh", "KV-Lite"], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    assert "already current" in done.stdout
    bad = subprocess.run([*wiki, "refresh", "Nobody"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "no page named" in bad.stderr
    assert Path(samples.wiki / "concepts" / "KV-Lite.md").is_file()


def test_compiling_again_never_repeats_the_compiled_sentences() -> None:
    from llmwiki.catalog import Catalog
    from llmwiki.render import refresh_overview

    body = (
        "Zed helps people find things.\n\n## Facts\n\n- Zed helps. — [[Some Source]]\n\n"
        "## Contradictions\n\n> [!warning] Contradiction c0ffee123 (factual)\n"
        "> [[Some Source]]: Zed has 3 users.\n> [[Other Source]]: Zed has 5 users.\n"
    )
    meta: dict[str, object] = {"title": "Zed", "type": "concept", "sources": []}
    first_meta, first_body, first = refresh_overview(meta, body, Catalog(), "Zed", force=True)
    _, again_body, again = refresh_overview(first_meta, first_body, Catalog(), "Zed", force=True)
    assert (
        first.text == "Zed helps people find things. 1 contradiction is open (see Contradictions)."
    )
    assert again.text == first.text and again_body == first_body


def test_a_placeholder_lead_gives_way_to_what_a_later_source_said() -> None:
    from llmwiki.catalog import Catalog
    from llmwiki.render import refresh_overview

    body = "**Zed** is a concept mentioned in [[First Source]].\n\n## Facts\n\n"
    body += "- Berg said Zed ships weekly. — [[Second Source]]\n"
    meta: dict[str, object] = {"title": "Zed", "type": "concept", "sources": []}
    _, _, kept = refresh_overview(meta, body, Catalog(), "Zed", force=True)
    assert kept.text == "**Zed** is a concept mentioned in [[First Source]]."
    meta["summary"] = "Berg said Zed ships weekly."
    _, _, better = refresh_overview(meta, body, Catalog(), "Zed", force=True)
    assert better.text == "Berg said Zed ships weekly."
