"""`wiki lint` and `wiki merge` on real vaults: fresh ones lint clean, planted problems are
reported, fixes touch only what they fix, and a merge loses no sentence and leaves no link."""

from __future__ import annotations

import importlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import SAMPLE_ALIASES, SAMPLE_ENTITIES, SAMPLES, KeywordEngine, run

from llmwiki.cli import cli
from llmwiki.graph import build_graph
from llmwiki.lint import LintReport, lint
from llmwiki.pages import parse_links, read, render, unlink
from llmwiki.vault import Vault

ENTITIES = SAMPLE_ENTITIES
ALIASES = SAMPLE_ALIASES
ENV = {"WIKI_VAULT": "", "WIKI_MODEL": "", "OPENAI_BASE_URL": "", "SOURCE_DATE_EPOCH": "1768435200"}


def invoke(vault: Vault, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--vault", str(vault.root), *args], env=ENV)
    return result.exit_code, result.output


def sample_wiki(vault: Vault) -> None:
    for sample in SAMPLES:
        shutil.copy(sample, vault.inbox / sample.name)
    assert run(vault, KeywordEngine(ENTITIES, ALIASES)).ok


def write_page(vault: Vault, rel: str, body: str, **meta: Any) -> Path:
    path = vault.wiki / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    kind = {"people": "person", "concepts": "concept", "sources": "source"}[rel.split("/")[0]]
    path.write_text(render({"title": path.stem, "type": kind, **meta}, body), encoding="utf-8")
    return path


def codes(report: LintReport) -> set[tuple[str, str]]:
    return {(f.code, f.page) for f in report.findings}


def describe(report: LintReport) -> str:
    return "\n".join(f"{f.severity} {f.code} {f.page}: {f.message}" for f in report.findings)


# --- a fresh wiki is clean ----------------------------------------------------------------


def test_freshly_ingested_sample_wiki_lints_clean(vault: Vault) -> None:
    sample_wiki(vault)
    report = lint(vault)
    assert report.pages == 10
    assert report.findings == (), describe(report)
    code, out = invoke(vault, "lint")
    assert code == 0 and "0 error(s), 0 warning(s)" in out


def test_freshly_ingested_corpus_lints_clean(vault: Vault, corpus: list[Path]) -> None:
    extractive = pytest.importorskip("llmwiki.engines.extractive.engine")
    for source in corpus:
        shutil.copy(source, vault.inbox / source.name)
    assert run(vault, extractive.ExtractiveEngine()).ok
    report = lint(vault)
    assert report.pages > len(corpus)
    assert report.findings == (), describe(report)
    assert invoke(vault, "lint")[0] == 0


# --- planted problems ---------------------------------------------------------------------


def plant_problems(vault: Vault) -> None:
    sample_wiki(vault)
    okafor = vault.wiki / "people" / "Lena Okafor.md"
    okafor.write_text(okafor.read_text() + "\nShe cites [[Nonexistent Page]].\n")
    write_page(
        vault,
        "concepts/Zebra Theory.md",
        "A theory nobody links to. — [[Why Evaluation Is Hard]]",
        sources=["[[Why Evaluation Is Hard]]"],
    )
    write_page(
        vault,
        "people/Andrej Karpathy.md",
        "**Andrej Karpathy** is a researcher.\n\n## Facts\n\n"
        "- Andrej Karpathy described the LLM wiki. — [[Small Models, Long Memories]]\n",
        sources=["[[Small Models, Long Memories]]"],
    )
    write_page(
        vault,
        "people/Karpathy.md",
        "**Karpathy** is a person mentioned in [[Why Evaluation Is Hard]].\n\n## Facts\n\n"
        "- Karpathy prefers small models. — [[Why Evaluation Is Hard]]\n",
        sources=["[[Why Evaluation Is Hard]]"],
    )
    berg = vault.wiki / "people" / "Tomas Berg.md"
    berg.write_text(berg.read_text() + "\nKnows [[Andrej Karpathy]] and [[Karpathy|AK]].\n")


def test_planted_problems_are_reported_and_exit_1(vault: Vault) -> None:
    plant_problems(vault)
    report = lint(vault)
    found = codes(report)
    assert ("broken-link", "people/Lena Okafor.md") in found
    assert ("orphan", "concepts/Zebra Theory.md") in found
    assert ("duplicate", "people/Karpathy.md") in found
    assert ("stale-index", "index.md") in found
    assert not report.ok
    duplicate = next(f for f in report.findings if f.code == "duplicate")
    assert 'wiki merge "Andrej Karpathy" "Karpathy"' in duplicate.message

    code, out = invoke(vault, "lint")
    assert code == 1
    assert "Errors (1):" in out and "Nonexistent Page" in out and "[orphan]" in out

    code, out = invoke(vault, "lint", "--json")
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False and data["errors"] == 1
    assert {(f["code"], f["page"]) for f in data["findings"]} == found
    assert set(data["findings"][0]) == {"severity", "code", "page", "message"}


def test_invalid_frontmatter_is_an_error(vault: Vault) -> None:
    sample_wiki(vault)
    (vault.wiki / "concepts" / "Broken.md").write_text("---\ntitle: [unclosed\n---\n\nText\n")
    (vault.wiki / "concepts" / "Untyped.md").write_text("---\ntitle: Untyped\n---\n\nText\n")
    (vault.wiki / "concepts" / "Plain.md").write_text("Just text, no frontmatter.\n")
    write_page(vault, "concepts/Scalar.md", "Text", aliases="Sc", sources="[[GRPO]]")
    report = lint(vault)
    bad = {f.page: f.message for f in report.errors if f.code == "invalid-frontmatter"}
    assert set(bad) == {
        "concepts/Broken.md",
        "concepts/Untyped.md",
        "concepts/Plain.md",
        "concepts/Scalar.md",
    }
    assert "YAML" in bad["concepts/Broken.md"]
    assert "`type:` is missing" in bad["concepts/Untyped.md"]
    assert "wiki lint --fix" in bad["concepts/Scalar.md"]


def test_likely_duplicates_and_their_look_alikes(vault: Vault) -> None:
    src = "[[S]]"
    write_page(vault, "sources/S.md", "Names everything below.", type="source")
    for title in (
        "Retrieval-Augmented Generation",
        "RAG",
        "Transformer",
        "Transformers",
        "Gemini 1.5 Pro",
        "Gemini 2.5 Pro",
    ):
        write_page(vault, f"concepts/{title}.md", f"From {src}.", sources=[src])
    for title in ("Jeff Dean", "James Dean", "Andrej Karpathy", "Karpathy"):
        write_page(vault, f"people/{title}.md", f"From {src}.", sources=[src])
    dups = {f.page: f.message for f in lint(vault).findings if f.code == "duplicate"}
    assert set(dups) == {"concepts/RAG.md", "concepts/Transformers.md", "people/Karpathy.md"}
    assert "[[Retrieval-Augmented Generation]]" in dups["concepts/RAG.md"]
    assert "[[Andrej Karpathy]]" in dups["people/Karpathy.md"]


def test_duplicates_are_sought_again_only_for_pages_whose_names_change(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = "[[S]]"
    write_page(vault, "sources/S.md", "Names everyone below.", type="source")
    for title in ("Andrej Karpathy", "Karpathy", "Jeff Dean"):
        write_page(vault, f"people/{title}.md", f"From {src}.", sources=[src])
    searched: list[set[str] | None] = []  # the pages sought again at each lint (None: all)
    module = importlib.import_module("llmwiki.lint")  # `llmwiki.lint` is the API's function
    real = module.duplicates

    def counted(*args: Any) -> Any:
        searched.append(None if args[2] is None else set(args[2]))
        return real(*args)

    monkeypatch.setattr(module, "duplicates", counted)

    def found() -> set[str]:
        return {f.message for f in lint(vault).findings if f.code == "duplicate"}

    first = found()
    assert len(first) == 1 and searched == [None]
    # a body edited: the names are the same, so are the pairs, kept from the last lint
    page = vault.wiki / "people" / "Jeff Dean.md"
    page.write_text(page.read_text() + "\nMore about him.\n")
    assert found() == first and searched[-1] == set()
    # a new alias: that page alone is sought again, and its new pair is there
    write_page(vault, "people/Jeff Dean.md", f"From {src}.", sources=[src], aliases=["Karpathy"])
    assert len(found()) == 2 and searched[-1] == {"Jeff Dean"}
    # a page removed: its pairs go with it and the others stay, with no page sought again
    (vault.wiki / "people" / "Andrej Karpathy.md").unlink()
    assert len(found()) == 1 and searched[-1] == set()


def test_names_used_on_three_pages_without_a_page(vault: Vault) -> None:
    write_page(vault, "sources/S.md", "Mentions [[A]], [[B]], [[C]].", type="source")
    bodies = {
        "A": "Works at Northwind Lab on caches. See [[Ghost Project]]. — [[S]]",
        "B": "Northwind Lab published it last week. See [[Ghost Project]]. — [[S]]",
        "C": "A grant went to Northwind Lab in March. See [[ghost project]]. — [[S]]",
    }
    for name, body in bodies.items():
        # the same sentence copied onto every page is one mention, not three
        copied = "Copied: Orbit Foundry shipped a model."
        write_page(vault, f"concepts/{name}.md", f"{body}\n\n{copied}", sources=["[[S]]"])
    missing = [f.message for f in lint(vault).findings if f.code == "missing-page"]
    assert len(missing) == 2, missing
    assert any("[[Ghost Project]] is linked from 3 pages" in m for m in missing)
    assert any('"Northwind Lab" is mentioned on 3 pages' in m for m in missing)


def test_open_contradictions_are_counted(vault: Vault) -> None:
    sample_wiki(vault)
    page = vault.wiki / "concepts" / "KV-Lite.md"
    page.write_text(
        page.read_text() + "\n## Contradictions\n\n> [!warning] Contradiction c1234abcd (number)\n"
        "> [[Small Models, Long Memories]]: 40%\n> [[Why Evaluation Is Hard]]: 25%\n"
    )
    found = [f for f in lint(vault).findings if f.code == "contradiction"]
    assert [(f.page, f.severity) for f in found] == [("concepts/KV-Lite.md", "warning")]
    assert found[0].message.startswith("1 open contradiction")


# --- fixes --------------------------------------------------------------------------------


def test_fix_points_links_at_file_names_and_changes_nothing_else(vault: Vault) -> None:
    sample_wiki(vault)
    berg = vault.wiki / "people" / "Tomas Berg.md"
    note = "\n## Notes\n\nMet [[Raman]] and [[priya raman|Priya]]; see [[Okafor#Work]].\n"
    berg.write_text(berg.read_text() + note)
    grpo = vault.wiki / "concepts" / "GRPO.md"
    text = grpo.read_text()
    # a hand-edited frontmatter: aliases as a scalar, keys out of order
    grpo.write_text(text.replace("title: GRPO\ntype: concept\n", "type: concept\ntitle: GRPO\n"))
    grpo.write_text(grpo.read_text().replace("aliases: []", "aliases: Group RPO"))
    (vault.wiki / "index.md").write_text("# Index\n\nedited by hand\n")
    before = berg.read_text()

    report = lint(vault, fix=True)
    assert report.findings == (), [f.message for f in report.findings]
    fixed = {f.page: f.message for f in report.fixed}
    assert set(fixed) == {"people/Tomas Berg.md", "concepts/GRPO.md", "index.md"}
    after = berg.read_text()
    assert after.endswith(
        "Met [[Priya Raman|Raman]] and [[Priya Raman|Priya]]; see [[Lena Okafor#Work|Okafor]].\n"
    )
    # nothing but those links changed, and the text shown is what was shown before
    assert after.startswith(before[: -len(note)])
    assert unlink(after) == unlink(before)
    grpo_page = read(grpo)
    assert grpo_page.meta["aliases"] == ["Group RPO"]
    assert list(grpo_page.meta)[:2] == ["title", "type"]
    assert grpo_page.body == read(vault.wiki / "concepts" / "GRPO.md").body
    assert grpo.read_text().split("\n---\n", 1)[1] == text.split("\n---\n", 1)[1]
    assert lint(vault, fix=True).fixed == ()  # nothing left to fix


# --- merge --------------------------------------------------------------------------------


def sentences(text: str) -> set[str]:
    plain = unlink(text.split("\n---\n", 1)[1])
    return {s.strip(" -") for s in re.split(r"(?<=[.!?])\s+|\n", plain) if s.strip(" -#")}


def test_merge_keeps_every_sentence_and_leaves_no_link_to_the_merged_page(vault: Vault) -> None:
    plant_problems(vault)
    keep = vault.wiki / "people" / "Andrej Karpathy.md"
    other = vault.wiki / "people" / "Karpathy.md"
    other.write_text(other.read_text() + "\n## Notes\n\nMy own note on [[Karpathy]].\n")
    (vault.wiki / "concepts" / "GRPO.md").write_text(
        (vault.wiki / "concepts" / "GRPO.md").read_text() + "\nSee [[karpathy#Facts]].\n"
    )
    expected = sentences(keep.read_text()) | sentences(other.read_text())

    code, out = invoke(vault, "merge", "Andrej Karpathy", "Karpathy")
    assert code == 0, out
    assert not other.exists()
    merged = read(keep)
    assert expected <= sentences(keep.read_text()), expected - sentences(keep.read_text())
    assert merged.meta["aliases"] == ["Karpathy"]
    assert merged.meta["sources"] == [
        "[[Small Models, Long Memories]]",
        "[[Why Evaluation Is Hard]]",
    ]
    assert merged.body.count("## Facts") == 1 and "## Notes" in merged.body

    wg = build_graph(vault)
    assert "Karpathy" not in wg.pages and not any(b.target == "Karpathy" for b in wg.broken)
    for path in vault.wiki.rglob("*.md"):
        for link in parse_links(path.read_text()):
            assert link.target.casefold() != "karpathy", f"{path.name}: {link}"
    assert "[[Andrej Karpathy|AK]]" in (vault.wiki / "people" / "Tomas Berg.md").read_text()
    assert "[[Andrej Karpathy#Facts|Karpathy]]" in (vault.wiki / "concepts" / "GRPO.md").read_text()
    assert "] merge | Karpathy -> Andrej Karpathy" in (vault.wiki / "log.md").read_text()
    index = (vault.wiki / "index.md").read_text()
    assert "[[Andrej Karpathy]]" in index and "[[Karpathy]]" not in index
    assert "duplicate" not in {f.code for f in lint(vault).findings}


@pytest.mark.parametrize(
    ("keep", "other", "says"),
    [
        ("Andrej Karpathy", "Nobody Here", "no page named"),
        ("Andrej Karpathy", "andrej karpathy", "same page"),
        ("Andrej Karpathy", "Why Evaluation Is Hard", "source page"),
    ],
)
def test_merge_refuses_and_changes_nothing(vault: Vault, keep: str, other: str, says: str) -> None:
    plant_problems(vault)
    before = {p: p.read_bytes() for p in vault.wiki.rglob("*") if p.is_file()}
    code, out = invoke(vault, "merge", keep, other)
    assert code == 1 and says in out
    assert {p: p.read_bytes() for p in vault.wiki.rglob("*") if p.is_file()} == before
