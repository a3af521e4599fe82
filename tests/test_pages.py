from pathlib import Path

import pytest

from llmwiki.pages import (
    append_to_section,
    normalize_key,
    parse,
    parse_links,
    render,
    render_link,
    safe_name,
    section_lines,
    unlink,
)
from llmwiki.vault import Vault, VaultError


@pytest.mark.parametrize(
    "title",
    [
        "../../etc/passwd",
        "CON",
        "con.txt",
        "a/b",
        "x" * 300,
        "é" * 300,
        "..",
        "",
        "a:b*c?d",
        "[[x]]|#^",
        "/abs/path",
        "nul",
        "LPT1",
        " . hidden",
        "\x00evil\nname",
    ],
)
def test_safe_name_stays_a_plain_file_name(title: str, tmp_path: Path) -> None:
    name = safe_name(title)
    assert name and "/" not in name and "\\" not in name and not name.startswith(".")
    assert len(name.encode("utf-8")) <= 120
    assert name.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "LPT1", "COM1"}
    assert not any(c in name for c in '/\\:*?"<>|#^[]\n\x00')
    wiki = tmp_path / "wiki"
    target = (wiki / "concepts" / f"{name}.md").resolve()
    assert target.is_relative_to(wiki.resolve())


def test_safe_name_keeps_letters_and_drops_pictographs() -> None:
    assert safe_name("Karpathy's microGPT - 📚 The Tokenizer #18") == (
        "Karpathy's microGPT - The Tokenizer 18"
    )
    assert safe_name("Łukasz Kaiser: Ünïcode") == "Łukasz Kaiser Ünïcode"
    long = "A very long newsletter title about many things, " * 3 + "Edition 12"
    assert safe_name(long).endswith("long newsletter") and len(safe_name(long).encode()) <= 120


def test_vault_refuses_writes_outside(tmp_path: Path) -> None:
    vault = Vault(tmp_path)
    with pytest.raises(VaultError):
        vault.write_text(tmp_path / ".." / "escape.md", "x")
    assert not (tmp_path.parent / "escape.md").exists()


def test_links_parse_and_render() -> None:
    links = parse_links("See [[Andrej Karpathy|Karpathy]], [[GRPO#Method]] and ![[img.png]].")
    assert [(x.target, x.heading, x.display) for x in links] == [
        ("Andrej Karpathy", "", "Karpathy"),
        ("GRPO", "Method", ""),
        ("img.png", "", ""),
    ]
    assert render_link("Andrej Karpathy", "Karpathy") == "[[Andrej Karpathy|Karpathy]]"
    assert render_link("GRPO", "GRPO") == "[[GRPO]]"
    assert render_link("A", "x|y]") == "[[A|x/y)]]"
    assert unlink("a [[B|c]] [[D]]") == "a c D"


def test_normalize_key_ignores_case_punctuation_accents() -> None:
    assert normalize_key("SWE-bench") == normalize_key("swe bench") == "swebench"
    assert normalize_key("Łukasz") != ""
    assert normalize_key("José") == normalize_key("jose")


def test_frontmatter_round_trip_keeps_dates_as_text() -> None:
    text = render(
        {"title": "X", "type": "concept", "created": "2026-01-05", "sources": ["[[S]]"]}, "Body."
    )
    page = parse(text, Path("X.md"))
    assert page.meta["created"] == "2026-01-05"
    assert page.meta["sources"] == ["[[S]]"]
    assert render(page.meta, page.body) == text


def test_append_to_section_only_adds_lines() -> None:
    body = "Lead.\n\n## Facts\n\n- one\n\nuser line\n\n## Notes\n\nmine\n"
    out = append_to_section(body, "Facts", ["- two"])
    assert out == "Lead.\n\n## Facts\n\n- one\n\nuser line\n- two\n\n## Notes\n\nmine\n"
    assert section_lines(out, "Notes") == ["", "mine", ""]
    created = append_to_section("Lead.\n\n## Notes\n\nmine\n", "Facts", ["- a"])
    assert created == "Lead.\n\n## Facts\n\n- a\n\n## Notes\n\nmine\n"
    assert append_to_section("Lead.", "Facts", ["- a"]) == "Lead.\n\n## Facts\n\n- a\n"


def test_only_the_llm_modules_talk_to_the_llm() -> None:
    """One place talks to the LLM: the llm*.py modules are the only ones importing openai."""
    import re

    from conftest import REPO

    for module in sorted((REPO / "src" / "llmwiki").glob("*.py")):
        if not module.name.startswith("llm"):
            text = module.read_text(encoding="utf-8")
            assert not re.search(r"^\s*(import|from) openai", text, re.M), module.name
