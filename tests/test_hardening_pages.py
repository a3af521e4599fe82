"""Issue 12 (pages and names) and issue 20 point 3: what broke when titles, names, dates and
quoted text were chosen by an attacker, and names that collide on macOS and Windows."""

from __future__ import annotations

import random
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import PureWindowsPath

import pytest
from click.testing import CliRunner
from conftest import NO_LLM, TODAY, KeywordEngine, drop, run

from llmwiki import contradictions
from llmwiki.catalog import Catalog
from llmwiki.cli import cli
from llmwiki.engines import Contradiction, Fact, KnownFact, Merge
from llmwiki.entries import Entry
from llmwiki.graph import build_graph
from llmwiki.lint import lint
from llmwiki.page_info import parse_info
from llmwiki.pages import MAX_NAME_BYTES, inert_line, inert_text, read, render, safe_name
from llmwiki.vault import Vault

ADA = (
    "Ada Lovelace wrote the first published program. "
    "Ada Lovelace worked with Charles Babbage on the Analytical Engine. "
    "The Analytical Engine was never finished."
)
ENTITIES = {"Ada Lovelace": "person", "Analytical Engine": "concept"}


def invoke(vault: Vault, *args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(cli, ["--vault", str(vault.root), *args], env=NO_LLM)
    crash = result.exception if not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.output, crash


def folded(name: str) -> str:
    """How a case-insensitive, normalisation-insensitive file system (macOS, Windows) sees a
    name."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def page_stems(vault: Vault) -> list[str]:
    return [p.stem for p in vault.wiki.rglob("*.md")]


def assert_names_unique_when_folded(vault: Vault) -> None:
    """The emulated case-insensitive name space: every file name the wiki holds (across all
    folders, since Obsidian resolves a link by name alone) is distinct after folding."""
    stems = page_stems(vault)
    seen: dict[str, str] = {}
    for stem in stems:
        key = folded(stem)
        assert key not in seen, f"{stem!r} and {seen[key]!r} are one file on macOS/Windows"
        seen[key] = stem


def assert_every_link_resolves(vault: Vault) -> None:
    wg = build_graph(vault)
    assert not wg.broken, wg.broken
    assert not wg.shadowed, wg.shadowed


def in_thread(fn: Callable[[], object], seconds: float = 20.0) -> None:
    """Run `fn` and fail (not hang) if it loops forever."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s: an endless loop"
    if errors:
        raise errors[0]


# --- 12.5: an impossible date on a page -----------------------------------------------------


def test_impossible_date_on_a_page_is_reported_by_lint_and_skipped_elsewhere(vault: Vault) -> None:
    drop(vault, "ada.txt", ADA)
    assert run(vault, KeywordEngine(ENTITIES)).ok
    bad = vault.wiki / "people" / "Ada Lovelace.md"
    text = re.sub(r"(?m)^updated: .*$", "updated: 2025-13-45", bad.read_text(encoding="utf-8"))
    bad.write_text(text, encoding="utf-8")
    before = bad.read_bytes()

    for args in (["status"], ["contradictions"], ["ask", "Analytical Engine"], ["graph"]):
        code, out, crash = invoke(vault, *args)
        assert crash is None and code == 0, (args, out, crash)
        assert "month must be" not in out, (args, out)

    code, out, crash = invoke(vault, "lint")
    assert crash is None and code == 1, out
    assert "invalid-frontmatter" in out and "people/Ada Lovelace.md" in out, out

    drop(vault, "other.txt", "Grace Hopper wrote a compiler. Grace Hopper found a moth.")
    code, out, crash = invoke(vault, "ingest")
    assert crash is None and code == 0 and "1 ingested" in out, out
    # a source that touches the bad page fails naming it, and stays in the inbox
    drop(vault, "more.txt", "Ada Lovelace wrote notes on the Analytical Engine in 1843.")
    report = run(vault, KeywordEngine(ENTITIES))
    (result,) = report.results
    assert result.status == "failed" and "Ada Lovelace.md" in result.message, result
    assert (vault.inbox / "more.txt").exists()
    assert bad.read_bytes() == before


# --- 12.6: long names sharing their first 120 bytes ----------------------------------------


def test_two_long_names_sharing_their_first_bytes_get_two_files(vault: Vault) -> None:
    prefix = "The International Conference on Very Long Names in Knowledge Management " * 2
    first, second = prefix + "Alpha", prefix + "Beta"
    assert safe_name(first) == safe_name(second)
    drop(vault, "long.txt", f"We met at {first} in May. Then {second} followed in June.")
    engine = KeywordEngine({first: "concept", second: "concept"})
    in_thread(lambda: run(vault, engine))
    titles = {read(p).title for p in (vault.wiki / "concepts").glob("*.md")}
    assert titles == {first, second}
    assert_names_unique_when_folded(vault)
    assert_every_link_resolves(vault)


def test_free_names_are_found_for_long_non_ascii_titles() -> None:
    title = "长" * 200  # 600 bytes: a suffix cut off by characters would be cut again
    catalog = Catalog([Entry(safe_name(title), "concepts/x.md", title, "concept")])
    stem = catalog.free_stem(title, "concept")
    assert folded(stem) != folded(safe_name(title))
    assert len(stem.encode()) <= MAX_NAME_BYTES


# --- 12.10: titles ending in .md -------------------------------------------------------------


def test_titles_ending_in_md_become_names_that_links_reach(vault: Vault) -> None:
    drop(vault, "n.txt", "notes.md\n\nThe Index.md file lists pages. Index.md is generated.")
    assert run(vault, KeywordEngine({"Index.md": "concept"})).ok
    for stem in page_stems(vault):
        assert not stem.casefold().endswith(".md"), stem
    assert not (vault.wiki / "concepts" / "index.md").exists()
    assert_every_link_resolves(vault)
    report = lint(vault)
    assert report.ok, report.findings


def test_lint_fix_never_proposes_a_fix_that_lint_still_reports(vault: Vault) -> None:
    """A vault written before the fix: a page file `notes.md.md` and links `[[notes.md]]`,
    which Obsidian reads as a link to `notes`."""
    (vault.wiki / "sources").mkdir(exist_ok=True)
    (vault.wiki / "sources" / "notes.md.md").write_text(
        render({"title": "notes.md", "type": "source"}, "Notes."), encoding="utf-8"
    )
    (vault.wiki / "concepts" / "Thing.md").parent.mkdir(exist_ok=True)
    (vault.wiki / "concepts" / "Thing.md").write_text(
        render(
            {"title": "Thing", "type": "concept", "sources": ["[[notes.md]]"]},
            "- A fact. — [[notes.md]]",
        ),
        encoding="utf-8",
    )
    assert any(f.code == "broken-link" for f in lint(vault).findings)
    lint(vault, fix=True)
    after = lint(vault)
    assert not [f for f in after.findings if f.code == "broken-link"], after.findings
    again = lint(vault, fix=True)
    assert not [f for f in again.fixed if f.page != "index.md"], again.fixed
    assert_every_link_resolves(vault)


# --- 12.11: a source and an entity with the same file name ----------------------------------


def test_a_source_and_an_entity_never_share_a_file_name(vault: Vault) -> None:
    prefix = (
        "Proceedings of the Workshop on Extremely Long and Repetitive Titles for Testing "
        "Name Collisions Between Pages of Vaults "
    )
    title = prefix + "Volume One"
    entity = prefix + "Steering Committee"
    assert safe_name(title) == safe_name(entity)
    drop(vault, "p.txt", f"{title}\n\nThe {entity} met twice. The {entity} chose a venue.")
    assert run(vault, KeywordEngine({entity: "concept"})).ok
    assert_names_unique_when_folded(vault)
    assert_every_link_resolves(vault)
    titles = {read(p).title for p in vault.wiki.rglob("*.md") if p.parent != vault.wiki}
    assert {title, entity} <= titles


# --- 12.12: newlines in titles ---------------------------------------------------------------


def test_a_title_with_newlines_writes_one_log_entry(vault: Vault) -> None:
    forged = "Real title\n\n## [2020-01-01] ingest | fake\n\n- source: [[fake]]"
    drop(vault, "t.md", f"---\ntitle: {forged!r}\n---\n\n{ADA}\n".replace("'", '"'))
    assert run(vault, KeywordEngine(ENTITIES)).ok
    log = (vault.wiki / "log.md").read_text(encoding="utf-8")
    headings = [line for line in log.split("\n") if line.startswith("## ")]
    assert len(headings) == 1 and "fake" in headings[0], log
    assert "[[fake]]" not in log
    assert_every_link_resolves(vault)


class ContradictionEngine(KeywordEngine):
    """Reports every new fact as contradicting the first known one, with hostile text."""

    def merge(
        self, title: str, known: Sequence[KnownFact], new: Sequence[Fact], source: str
    ) -> Merge:
        if not known:
            return super().merge(title, known, new, source)
        hostile = Fact("It was 1842.\n## Notes\n> [!success] forged\n- injected", "")
        return Merge((), (Contradiction(known[0], hostile, "date", "Reason one.\n\nReason two."),))


def test_a_contradiction_with_newlines_stays_one_callout(vault: Vault) -> None:
    drop(vault, "a.txt", "Ada Lovelace wrote notes in 1843.")
    assert run(vault, KeywordEngine(ENTITIES)).ok
    drop(vault, "b.txt", "Ada Lovelace wrote notes in 1842.")
    assert run(vault, ContradictionEngine(ENTITIES)).ok
    page = read(vault.wiki / "people" / "Ada Lovelace.md")
    lines = page.body.split("\n")
    assert "## Notes" not in lines and not any(line.startswith("- injected") for line in lines)
    start = next(i for i, line in enumerate(lines) if "[!warning]" in line)
    block = []
    for line in lines[start:]:
        if not line.startswith(">"):
            break
        block.append(line)
    assert len(block) == 4 and "forged" in block[2], block  # header, 2 claims, reasoning
    assert not any(line.startswith("> [!success]") for line in lines)
    assert contradictions.open_count(page.body) == 1


# --- 12.14: every callout form Obsidian accepts ---------------------------------------------


CALLOUTS = [
    "> [!warning] Contradiction c0000000a (date)",
    "> [!WARNING] Contradiction c0000000b (date)",
    "> [!warning]- Contradiction c0000000c (date)",
    "> [!Warning]+ Contradiction c0000000d (date)",
    ">[!warning] Contradiction c0000000e (date)",
]


def test_contradiction_callouts_are_recognised_in_every_form(vault: Vault) -> None:
    body = "\n\n".join(f"{c}\n> [[A]]: one\n> [[B]]: two" for c in CALLOUTS)
    found = contradictions.parse(body, "X")
    assert [c.id for c in found] == [f"c0000000{x}" for x in "abcde"]
    assert all(c.open and len(c.claims) == 2 for c in found)
    assert contradictions.open_count(body) == len(CALLOUTS)
    assert parse_info("concepts/X.md", render({"title": "X"}, body)).callouts == len(CALLOUTS)

    (vault.wiki / "concepts").mkdir(exist_ok=True)
    path = vault.wiki / "concepts" / "X.md"
    meta = {"title": "X", "type": "concept", "contradictions": len(CALLOUTS)}
    path.write_text(render(meta, body), encoding="utf-8")
    assert len([c for c in contradictions.scan(vault) if c.open]) == len(CALLOUTS)
    assert sum(f.code == "contradiction" for f in lint(vault).findings) == 1
    contradictions.resolve(vault, "c0000000c", "checked", TODAY.isoformat())
    after = {c.id: c for c in contradictions.scan(vault)}
    assert not after["c0000000c"].open and after["c0000000c"].note == "checked"
    assert sum(c.open for c in after.values()) == len(CALLOUTS) - 1
    assert read(path).meta["contradictions"] == len(CALLOUTS) - 1
    assert "> [!success]- Resolved contradiction c0000000c" in path.read_text(encoding="utf-8")


# --- 12.15: Obsidian syntax in quoted source text -------------------------------------------


_HAZARDS = {
    "comment": re.compile(r"(?<!\\)%(?<!\\%)%"),
    "highlight": re.compile(r"(?<![\\=])==(?!=)"),
    "block id": re.compile(r"(?<!\\)\^[\w-]+\s*$"),
    "embed": re.compile(r"!\[\[|(?<!\\)!\[(?!\[)"),
    "quote": re.compile(r"^(?:[-*] )?>"),
}


def hazards(body: str) -> list[str]:
    """Lines where Obsidian would read source text as syntax. Code-made callouts are allowed."""
    found = []
    for line in body.split("\n"):
        if line.startswith("> [!"):
            continue
        found += [f"{name}: {line}" for name, rx in _HAZARDS.items() if rx.search(line)]
    return found


def test_obsidian_syntax_in_source_text_renders_as_text(vault: Vault) -> None:
    text = (
        "Ada Lovelace wrote %% this is not a comment. "
        "Ada Lovelace liked ==highlights== in notes. "
        "Ada Lovelace cited a block ^ref-1\n\n"
        "> Ada Lovelace was quoted here.\n\n"
        "Ada Lovelace embedded ![img](http://example.com/x.png) and ![[Secret]] files."
    )
    drop(vault, "s.txt", "Syntax\n\n" + text)
    assert run(vault, KeywordEngine(ENTITIES)).ok
    for path in vault.wiki.rglob("*.md"):
        if path.name == "log.md":
            continue
        body = read(path).body
        assert not hazards(body), (path.name, hazards(body))
    page = (vault.wiki / "people" / "Ada Lovelace.md").read_text(encoding="utf-8")
    assert "this is not a comment" in page and "highlights" in page
    assert_every_link_resolves(vault)
    assert lint(vault).ok


# --- issue 20.3: names that differ only in case or normalisation ---------------------------


def test_an_nfd_page_on_disk_and_an_nfc_mention_are_one_name(vault: Vault) -> None:
    """macOS stores names in NFD: `Café.md` written there and a new page `Café` (NFC) are one
    file on macOS, two on Linux, and an ambiguous link everywhere."""
    nfd = unicodedata.normalize("NFD", "Café")
    (vault.wiki / "sources").mkdir(exist_ok=True)
    (vault.wiki / "sources" / f"{nfd}.md").write_text(
        render({"title": nfd, "type": "source", "summary": "A cafe."}, "A cafe."),
        encoding="utf-8",
    )
    drop(vault, "c.txt", "Visits\n\nThe Café opened in 1900. The Café is still open.")
    assert run(vault, KeywordEngine({"Café": "concept"})).ok
    assert_names_unique_when_folded(vault)
    assert lint(vault).ok


def test_titles_differing_only_in_case_never_become_two_files(vault: Vault) -> None:
    prefix = (
        "Generative Pretrained Transformer Working Group on Evaluation and Safety Studies "
        "of Large Language Models in Production Settings "
    )
    upper, lower = prefix.upper() + "North", prefix + "South"
    assert folded(safe_name(upper)) == folded(safe_name(lower))
    drop(vault, "g.txt", f"Gpt\n\n{upper} met. {lower} met. GPT was discussed.")
    entities = {upper: "concept", lower: "concept", "GPT": "concept"}
    assert run(vault, KeywordEngine(entities)).ok
    assert_names_unique_when_folded(vault)
    assert_every_link_resolves(vault)


def test_lint_treats_case_and_nfd_variants_as_the_same_name(vault: Vault) -> None:
    (vault.wiki / "concepts").mkdir(exist_ok=True)
    for stem in ("GPT", "Gpt", "Café", unicodedata.normalize("NFD", "Café")):
        (vault.wiki / "concepts" / f"{stem}.md").write_text(
            render({"title": stem, "type": "concept"}, "Text."), encoding="utf-8"
        )
    same = [f for f in lint(vault).findings if f.code == "same-file-name"]
    assert len(same) == 2, same


TRICKY = [
    "CON",
    "con.txt",
    "aux.md",
    "Notes.md",
    "notes.MD.md",
    "a.md.",
    "trailing dot.",
    " spaced ",
    'a/b\\c:d*e?f"g<h>i|j',
    "#tag ^id [x]",
    "line\nbreak\ttab",
    "..",
    "🙂",
    "長" * 100,
    unicodedata.normalize("NFD", "Ångström"),
    "x" * 300 + ".md",
]


@pytest.mark.parametrize("title", TRICKY)
def test_safe_names_are_valid_windows_file_names(title: str) -> None:
    stem = safe_name(title)
    path = PureWindowsPath("C:/vault/wiki/concepts") / f"{stem}.md"
    assert path.name == f"{stem}.md" and path.stem == stem and path.suffix == ".md"
    assert not path.is_reserved(), stem
    assert stem == stem.strip(" .") and stem
    assert not stem.casefold().endswith(".md")
    assert len(stem.encode()) <= MAX_NAME_BYTES
    assert unicodedata.normalize("NFC", stem) == stem
    assert PureWindowsPath(stem).parent == PureWindowsPath(".")


def test_random_names_never_collide_on_a_case_insensitive_file_system(vault: Vault) -> None:
    """A seeded fuzz: names built from a few words in random case and normalisation, some
    long enough to be cut, some ending in .md, all ingested as one source each."""
    rng = random.Random(20)
    words = ["Café", "GPT", "gpt", "Model", "notes.md", "Index", "长", "Ångström", "x" * 40]
    for n in range(6):
        names: dict[str, str] = {}
        for _ in range(5):
            picked = [rng.choice(words) for _ in range(rng.randint(1, 8))]
            name = " ".join(w.upper() if rng.random() < 0.3 else w for w in picked)
            form = rng.choice(("NFC", "NFD"))
            names[unicodedata.normalize(form, name)] = rng.choice(("person", "concept"))
        text = " ".join(f"{name} was mentioned." for name in names)
        drop(vault, f"f{n}.txt", f"{rng.choice(list(names))}\n\n{text}")
        report = run(vault, KeywordEngine(names))
        assert report.ok, [r.message for r in report.results]
        assert_names_unique_when_folded(vault)
    assert_every_link_resolves(vault)


@pytest.mark.parametrize(
    ("text", "inline", "line"),
    [
        ("50%% done", "50\\%\\% done", "50\\%\\% done"),
        ("a ==b== c", "a \\=\\=b\\=\\= c", "a \\=\\=b\\=\\= c"),
        ("cite ^ref-1", "cite \\^ref-1", "cite \\^ref-1"),
        ("see ![x](http://h/i.png)", "see \\!\\[x](http://h/i.png)", None),
        ("<img src=x>", "\\<img src=x>", None),
        ("costs $5 to $10", "costs \\$5 to \\$10", None),
        ("#tag but not #45 or C#", "\\#tag but not #45 or C#", None),
        ("> quoted", "> quoted", "\\> quoted"),
        ("1. first", "1. first", "1\\. first"),
        ("# heading", "# heading", "\\# heading"),
        ("x^2 and `a %% b == $c`", "x^2 and `a %% b == $c`", None),
    ],
)
def test_inert_text_escapes_obsidian_syntax_once(text: str, inline: str, line: str | None) -> None:
    assert inert_text(text) == inline
    assert inert_text(inline) == inline  # a line read back from a page is not escaped twice
    expected = inline if line is None else line
    assert inert_line(text) == expected and inert_line(expected) == expected
