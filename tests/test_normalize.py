"""The normalising step: markup out, prose and structure kept (#13.1, #13.2). Invented text."""

from __future__ import annotations

from pathlib import Path

from llmwiki.engines import SourceDoc
from llmwiki.engines.extractive.engine import ExtractiveEngine
from llmwiki.engines.extractive.text import CAPTION, parse
from llmwiki.normalize import choose_title, cut_title, normalize_markdown, prose_only, with_code
from llmwiki.readers import read_source

POST = """<style>
.mdc-text-amber-700 { color: #ffa000; }
</style>

## Quillbeam: a lantern for notebooks

Quillbeam renders <span class="mdc-text-amber-700">glowing</span> cells.<sup>1</sup>
<div class="img-div"><img src="/img/quillbeam-overview-v2.png" alt="the Quillbeam overview"/></div>
See [the manual](https://example.org/manual "Manual") and ![](/img/diagram_3.png) for more[^1].
The loss is $$L = \\sum_i x_i^2$$ and the rate is $\\alpha$ here.

```python
beta1 = Quillbeam(input_1)  # Ferdinand Oyelaran wrote this
```

Install it with `pip install quillbeam` or use `lantern-kit` directly.

<script>track("visit")</script>

[^1]: A footnote.
"""


def test_html_is_reduced_to_the_text_a_reader_sees() -> None:
    text = normalize_markdown(POST)
    for junk in (
        "<style",
        "mdc-text",
        "<div",
        "<img",
        "<span",
        "quillbeam-overview-v2.png",
        "diagram_3.png",
        "https://",
        "<script",
        "track(",
        "[^1]",
        "$$",
        "\\alpha",
    ):
        assert junk not in text, junk
    assert "Quillbeam renders glowing cells." in text
    assert "the Quillbeam overview" in text  # alt text stays
    assert "See the manual and  for more" not in text and "See the manual and for more." in text
    assert "## Quillbeam: a lantern for notebooks" in text  # headings stay with their sections


def test_code_stays_for_the_reader_but_not_for_name_mining() -> None:
    text = normalize_markdown(POST)
    assert "beta1 = Quillbeam(input_1)" in text  # kept for the source and the LLM
    prose = prose_only(text)
    assert "beta1" not in prose and "Ferdinand" not in prose and "pip install" not in prose
    assert "lantern-kit" in prose  # a tool name written as code in a sentence is a name
    assert prose.count("\n") == text.count("\n")  # line structure kept


def test_the_extractive_engine_finds_no_name_in_code() -> None:
    text = normalize_markdown(POST)
    found = ExtractiveEngine().extract(SourceDoc("p.md", text, "", "Post"), [])
    names = {m.name for m in found.mentions}
    assert not names & {"beta1", "input_1", "Ferdinand Oyelaran", "Div class", "Img src"}


def test_markup_inside_code_spans_is_left_alone() -> None:
    text = normalize_markdown("Write `<div>` and `$x$` literally.\n")
    assert "`<div>`" in text and "`$x$`" in text


def test_titles_come_in_order_and_never_look_like_file_names() -> None:
    assert choose_title("My Post", "# Other\n", "x") == "My Post"
    assert choose_title("", "Intro line\n\n# Heading here\n", "x") == "Heading here"
    assert choose_title("", "A short title\n\nBody text here.\n", "x") == "A short title"
    body = "This first line is a whole sentence that goes on.\n"
    assert choose_title("", body, "2024-05-01-lantern_notes") == "Lantern notes"
    assert choose_title("lantern-notes.md", "", "lantern-notes") == "Lantern notes"


def test_a_long_title_is_cut_between_words_never_inside_a_number() -> None:
    title = "Scaling " + "lanterns " * 20 + "to 1,234,567 cells"
    cut = cut_title(title, 60)
    assert len(cut) <= 61 and cut.endswith("…")
    assert cut[:-1].split()[-1] in ("lanterns",)
    assert cut_title("x" * 10 + " 1,234,567", 14) == "xxxxxxxxxx…"


def test_the_reader_normalises_markdown_and_takes_the_excerpt(tmp_path: Path) -> None:
    path = tmp_path / "2023-02-03-quill.md"
    path.write_text(
        "---\nlayout: post\nexcerpt: Quillbeam lights notebooks.\n---\n" + POST, encoding="utf-8"
    )
    doc = read_source(path)
    assert "<style" not in doc.text and "beta1" in doc.text
    assert doc.title == "Quillbeam: a lantern for notebooks"
    assert doc.meta["description"] == "Quillbeam lights notebooks."
    found = ExtractiveEngine().extract(doc, [])
    assert found.summary == "Quillbeam lights notebooks."


def test_a_sentence_read_without_its_code_is_quoted_with_it() -> None:
    text = (
        "# Fixtures\n\n"
        "Our harness boots Quillbeam through `subprocess.Popen()` before it polls.\n"
        "Without the `scope` option,\nthe `x`-axis is redrawn.\n\n"
        "```\nquillbeam serve\n```\n"
    )
    prose = prose_only(text)
    assert "through before it" in " ".join(prose.split())  # what names are read in
    for sentence, written in (
        ("Our harness boots Quillbeam through before it polls.", "`subprocess.Popen()`"),
        ("Without the option, the -axis is redrawn.", "the `x`-axis"),
    ):
        assert written in with_code(sentence, text)
    assert with_code("No such sentence here.", text) == "No such sentence here."
    doc = SourceDoc(name="f.md", text=text, sha256="0" * 64, title="Fixtures")
    found = ExtractiveEngine().extract(doc, [])
    said = [found.summary, *(c.statement for c in found.claims)]
    assert any("through `subprocess.Popen()` before" in s for s in said), said


def test_indented_code_is_code_but_a_list_goes_on_and_html_keeps_its_indent() -> None:
    text = (
        "# Tarballs\n\n"
        "Run this in the folder:\n\n"
        "    quillbeam pack --into /srv/QUILLBEAM_OUT.zip notebooks/\n\n"
        "> Or, quoted:\n>\n>     export APPLEIDPASS=secret\n\n"
        "- a list item\n\n"
        "    goes on with Lanternkit, indented\n"
    )
    normal = normalize_markdown(text)
    assert "```\nquillbeam pack --into" in normal
    assert "```\nexport APPLEIDPASS=secret\n```" in normal
    prose = prose_only(normal)
    assert "QUILLBEAM_OUT" not in prose and "APPLEIDPASS" not in prose
    assert "goes on with Lanternkit" in prose  # a list item's second paragraph is prose
    # a post written in HTML blocks indents by its tags' nesting: that is not code
    html = "<div>\n\n    <p>Quillbeam renders notebooks.</p>\n\n</div>\n"
    assert "Quillbeam renders notebooks." in prose_only(normalize_markdown(html))


def test_a_fence_in_a_quote_is_code_until_the_quote_ends() -> None:
    text = (
        "# Exit nodes\n\n"
        "> Output:\n> ```\n> TAILSCALE_AUTHKEY: QUILLBEAM_KEY\n"
        "\nMarek Olsztyn gave me feedback on this, which helped.\n"
    )
    prose = prose_only(normalize_markdown(text))
    assert "QUILLBEAM_KEY" not in prose  # the quoted fence is code, unclosed or not
    assert "Marek Olsztyn gave me feedback" in prose  # the quote ended: prose again


def test_an_image_alone_on_its_line_is_a_caption_and_inside_a_line_its_alt_text() -> None:
    text = normalize_markdown(
        "The dashboard shows the queue.\n\n"
        "![Screenshot of the Orbweave settings with Retry Later selected](a.png)\n\n"
        '<p><img src="b.png" alt="Orbweave_settings_panel"></p>\n\n'
        "It reads ![a small gauge](g.png) at the top.\n"
    )
    lines = text.split("\n")
    assert "(Image: Screenshot of the Orbweave settings with Retry Later selected)" in lines
    assert "It reads a small gauge at the top." in text
    assert "Orbweave_settings_panel" not in text  # a file's name is no description


def test_a_caption_heads_no_section_and_gives_no_fact_or_label_name() -> None:
    text = normalize_markdown(
        "# Orbweave queues\n\n"
        "Orbweave is a job queue for small servers. Orbweave retries a job three times.\n\n"
        "![Orbweave settings panel with the Retry Later button](a.png)\n\n"
        "Orbweave keeps each job in one SQLite table, so a restart loses nothing.\n"
    )
    doc = parse(prose_only(text))
    caption = next(s for s in doc.sentences if "Retry Later" in s.text)
    assert caption.kind == CAPTION
    after = next(s for s in doc.sentences if s.text.startswith("Orbweave keeps"))
    assert after.section != caption.index  # no heading: the section is still the title's
    found = ExtractiveEngine().extract(SourceDoc("o.md", text, "", "Orbweave queues"), [])
    facts = [f.statement for m in found.mentions for f in m.facts]
    assert facts and not any("Retry Later" in f for f in facts)
    assert "Retry Later" not in {m.name for m in found.mentions}
