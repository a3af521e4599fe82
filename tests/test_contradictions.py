"""Contradictions: on the page, in the register, resolvable, never duplicated."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from click.testing import CliRunner
from conftest import SAMPLES, KeywordEngine, drop, run, wiki_files

from llmwiki import contradictions
from llmwiki.cli import cli
from llmwiki.engines import Contradiction, Fact, KnownFact, Merge
from llmwiki.pages import read
from llmwiki.vault import Vault

OLD = "---\ntitle: Old report\npublished: 2025-03-02\n---\nKV-Lite cuts memory by 40 percent.\n"
NEW = "---\ntitle: New report\npublished: 2025-06-10\n---\nKV-Lite cuts memory by 55 percent.\n"


class NumberEngine(KeywordEngine):
    """Flags a contradiction when a new fact and a known one carry different percentages."""

    def merge(
        self, title: str, known: Sequence[KnownFact], new: Sequence[Fact], source: str
    ) -> Merge:
        contradictions = []
        for fact in new:
            for old in known:
                a = re.findall(r"(\d+) percent", fact.statement)
                b = re.findall(r"(\d+) percent", old.text)
                if a and b and a != b:
                    contradictions.append(Contradiction(old, fact, "changed_over_time", "40 vs 55"))
        return Merge(tuple(new), tuple(contradictions))


def ingest_both(vault: Vault) -> None:
    drop(vault, "1-old.md", OLD)
    run(vault, NumberEngine({"KV-Lite": "concept"}))
    drop(vault, "2-new.md", NEW)
    run(vault, NumberEngine({"KV-Lite": "concept"}))


def test_contradiction_is_on_the_page_and_in_the_register(vault: Vault) -> None:
    ingest_both(vault)
    page = read(vault.wiki / "concepts" / "KV-Lite.md")
    assert page.meta["contradictions"] == 1
    callout = [line for line in page.body.split("\n") if line.startswith(">")]
    assert callout[0].startswith("> [!warning] Contradiction c")
    assert "[[Old report]] (2025-03-02)" in callout[1] and "40 percent" in callout[1]
    assert "[[New report]] (2025-06-10)" in callout[2] and "55 percent" in callout[2]
    register = (vault.wiki / "contradictions.md").read_text()
    assert "## Open (1)" in register and "[[KV-Lite]]" in register
    assert "[[Old report]]" in register and "[[New report]]" in register
    # both claims are kept as facts: nothing silently overwritten or dropped
    assert "40 percent" in page.body.split("## Contradictions")[0]
    assert "55 percent" in page.body.split("## Contradictions")[0]


def test_agreeing_sources_raise_nothing(vault: Vault) -> None:
    drop(vault, "1-old.md", OLD)
    drop(vault, "2-same.md", OLD.replace("Old report", "Same report"))
    run(vault, NumberEngine({"KV-Lite": "concept"}))
    assert "contradictions" not in read(vault.wiki / "concepts" / "KV-Lite.md").meta
    assert not (vault.wiki / "contradictions.md").exists()


def test_resolve_survives_reingest_and_is_not_raised_again(vault: Vault) -> None:
    ingest_both(vault)
    [item] = contradictions.scan(vault)
    env = {"WIKI_VAULT": str(vault.root), "WIKI_MODEL": "", "OPENAI_BASE_URL": ""}
    runner = CliRunner()
    out = runner.invoke(cli, ["contradictions", "--json"], env=env)
    assert out.exit_code == 0 and json.loads(out.output)[0]["id"] == item.id
    out = runner.invoke(
        cli, ["contradictions", "resolve", item.id, "--note", "v2 is newer"], env=env
    )
    assert out.exit_code == 0, out.output
    page = read(vault.wiki / "concepts" / "KV-Lite.md")
    assert page.meta["contradictions"] == 0
    register = (vault.wiki / "contradictions.md").read_text()
    assert "## Open (0)" in register and "## Resolved (1)" in register and "v2 is newer" in register
    before = wiki_files(vault)
    # the same disagreement arriving again (same content under another name: skipped; and the
    # same claim from the same source page re-merged) is not raised again
    drop(vault, "again.md", NEW)
    run(vault, NumberEngine({"KV-Lite": "concept"}))
    assert wiki_files(vault) == before
    out = runner.invoke(cli, ["contradictions", "resolve", item.id, "--note", "x"], env=env)
    assert out.exit_code == 2 and "already resolved" in out.output
    out = runner.invoke(cli, ["contradictions"], env=env)
    assert "No open contradictions" in out.output


def test_a_rerun_after_lost_state_adds_nothing(vault: Vault) -> None:
    """A run killed after writing pages but before saving its manifest is completed exactly
    once by the next run: same source page, no duplicate fact, no duplicate contradiction."""
    ingest_both(vault)
    before = {k: v for k, v in wiki_files(vault).items() if not k.endswith("log.md")}
    manifest = vault.state / "manifest.jsonl"
    lines = manifest.read_text().splitlines(keepends=True)
    manifest.write_text("".join(x for x in lines if json.loads(x)["title"] != "New report"))
    drop(vault, "2-new.md", NEW)
    report = run(vault, NumberEngine({"KV-Lite": "concept"}))
    assert report.results[0].status == "ingested" and report.results[0].contradictions == 0
    after = {k: v for k, v in wiki_files(vault).items() if not k.endswith("log.md")}
    assert after == before


def test_manifest_is_rebuilt_from_source_pages(vault: Vault) -> None:
    ingest_both(vault)
    before = wiki_files(vault)
    (vault.state / "manifest.jsonl").unlink()
    drop(vault, "copy.md", OLD)
    report = run(vault, NumberEngine({"KV-Lite": "concept"}))
    assert report.results[0].status == "skipped"
    assert wiki_files(vault) == before


def test_extractive_engine_flags_the_samples_changed_number(vault: Vault) -> None:
    """The repo's own samples: an older article says 40 percent, a newer one 55 percent."""
    import shutil

    from llmwiki.engines.extractive.engine import ExtractiveEngine

    for sample in SAMPLES:
        shutil.copy(sample, vault.inbox)
    report = run(vault, ExtractiveEngine())
    assert [r.contradictions for r in report.results] == [0, 1, 0]  # one, though on two pages
    items = contradictions.scan(vault)
    assert len({c.id for c in items}) == 1
    claims = items[0].claims
    assert "[[Small Models, Long Memories]] (2025-03-02)" in claims[0] and "40 percent" in claims[0]
    assert "[[Notes from the Open Models Meetup]] (2025-06-10)" in claims[1]
    assert "55 percent" in claims[1]
    register = (vault.wiki / "contradictions.md").read_text()
    assert "## Open (1)" in register and "[[KV-Lite]]" in register


def test_extractive_engine_sees_no_contradiction_in_agreeing_numbers(vault: Vault) -> None:
    from llmwiki.engines.extractive.engine import ExtractiveEngine

    drop(
        vault,
        "1.md",
        "---\npublished: 2025-01-01\n---\n# One\n\nThe FooNet model runs "
        "17x faster than the baseline on the Bar benchmark.\n",
    )
    drop(
        vault,
        "2.md",
        "---\npublished: 2025-02-01\n---\n# Two\n\nThe FooNet model runs "
        "17.2x faster than the baseline on the Bar benchmark.\n",
    )
    run(vault, ExtractiveEngine())
    assert contradictions.scan(vault) == []
