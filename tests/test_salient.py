"""Names a short text gives once: surnames cited or referred back to, capitalised names in
mid-sentence, product spellings, the tools a title names. Sample texts are written for
these tests; none comes from the corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmwiki.engines import SourceDoc
from llmwiki.engines.extractive.engine import ExtractiveEngine
from llmwiki.engines.extractive.spelling import link_names, url_words
from llmwiki.normalize import link_targets, read_code
from llmwiki.readers import read_source

ENGINE = ExtractiveEngine()


def extract(text: str) -> tuple[set[str], set[str]]:
    doc = SourceDoc(name="note.md", text=text, sha256="0" * 64, title=text.splitlines()[0])
    found = ENGINE.extract(doc, [])
    people = {m.name for m in found.mentions if m.kind == "person"}
    concepts = {m.name for m in found.mentions if m.kind == "concept"}
    return people, concepts


def test_a_surname_cited_with_et_al_is_a_person() -> None:
    people, concepts = extract(
        "Notes on attention\n\n"
        "The first attention model came from Vandermolen et al. in a short paper. "
        "A later variant by De Kesteren et al. scored every position.\n"
    )
    assert {"Vandermolen", "De Kesteren"} <= people
    assert not {"Vandermolen", "De Kesteren"} & concepts


def test_a_name_written_with_accents_is_one_word_and_a_person() -> None:
    people, concepts = extract(
        "Chat demo\n\n"
        "Today a demo by Ondřej Žára showed up on the front page, and Žára explained it.\n"
    )
    assert "Ondřej Žára" in people
    assert not {c for c in concepts if "Ond" in c or c == "ra"}


def test_a_bare_name_referred_to_as_he_or_she_is_a_person_but_not_in_a_story() -> None:
    essay = (
        "Why pictures are hard\n\n"
        "You recognise Pellworth from the few pixels of his face. "
        "The photo shows that Pellworth has his foot on the scale. "
        "Nobody in the room noticed Pellworth's foot.\n"
    )
    people, _ = extract(essay)
    assert "Pellworth" in people
    story = (
        "A short story\n\n"
        "Ardith sank into her chair. Ardith opened the console. "
        "The console greeted Ardith with her schedule, and Ardith's day began. "
        "Ardith read it twice. Later Brannoc waved at her, and Brannoc's badge blinked.\n"
        "Ardith smiled. Then Brannoc left with his coffee, and Brannoc closed his door.\n"
    )
    people, _ = extract(story)
    assert not {"Ardith", "Brannoc"} & people  # characters of a story are not people


def test_names_written_once_are_concepts_from_their_spelling() -> None:
    _, concepts = extract(
        "Hosting a static site\n\n"
        "I posted the first version to Lantern Forum and got useful replies. "
        "The files are served from Quarry Pages at no cost. "
        "Analytics come from a tiny script called PixelMint that I wrote in an evening.\n"
    )
    assert {"Lantern Forum", "Quarry Pages", "PixelMint"} <= concepts


def test_titles_of_works_classes_and_people_are_not_names_written_once() -> None:
    _, concepts = extract(
        "Reading list\n\n"
        "See Small Nets are Easily Broken for the details of the attack. "
        "The loader raises `ParseFailure` when a row has a `RowId` of zero.\n"
        "Thanks to Marguerite Oyelaran for her notes.\n\n"
        "```python\n"
        "raise ParseFailure(RowId)\n"
        "```\n"
    )
    assert not {"Easily Broken", "Small Nets", "ParseFailure", "RowId"} & concepts
    assert "Marguerite Oyelaran" not in concepts


def test_a_tool_the_title_names_and_the_code_runs_is_a_concept() -> None:
    _, concepts = extract(
        "Using quillsync from the command line\n\n"
        "I wanted to copy a folder with quillsync without the desktop app. "
        "The trick is that quillsync reads its settings from the environment.\n\n"
        "```bash\n"
        "quillsync --dry-run ~/notes remote:notes\n"
        "```\n"
    )
    assert "quillsync" in concepts


def test_a_word_of_the_title_that_no_code_runs_is_no_concept() -> None:
    _, concepts = extract(
        "Breakfast with avocado sauce\n\n"
        "Blend one avocado with lime and salt. "
        "The sauce keeps for a day, and avocado browns after that. "
        "Spread avocado sauce on warm tortillas.\n"
    )
    assert "avocado" not in {c.lower() for c in concepts}


def test_an_everyday_acronym_a_note_is_about_is_a_concept_but_not_a_field() -> None:
    _, concepts = extract(
        "Escaping SQL in shell scripts\n\n"
        "Quoting SQL for the command line is fiddly. "
        "Every SQL string needs its single quotes doubled before it goes into the URL.\n"
    )
    assert "SQL" in concepts
    _, concepts = extract(
        "What LLMs changed this year in AI\n\n"
        "Most AI labs shipped two models. LLMs now write most boilerplate. "
        "AI spending doubled, and LLMs got cheaper to serve.\n"
    )
    assert not {"AI", "LLMs", "LLM"} & concepts


def test_read_code_finds_commands_packages_and_identifiers() -> None:
    code = read_code(
        "Run `nullglob` first.\n\n"
        "```\n"
        "$ gdb -p 1234\n"
        "sudo quillsync --all\n"
        "python -c 'import boto3'\n"
        "pip install sqlite-utils\n"
        "```\n"
    )
    assert {"nullglob", "gdb", "quillsync", "python", "boto3", "sqlite-utils"} <= code.commands
    assert "p" not in code.commands  # a flag is no command
    assert {"gdb", "boto3", "quillsync"} <= code.identifiers


def test_a_link_that_names_its_target_names_a_project(tmp_path: Path) -> None:
    links = link_targets(
        "Built with [quill-export](https://github.com/someone/quill-export) and "
        "[the docs](https://example.com/docs/commit/events), see ![a chart](chart.png)."
    )
    assert links == (
        ("quill-export", "https://github.com/someone/quill-export"),
        ("the docs", "https://example.com/docs/commit/events"),
    )
    # the words of a path are not names; a link's text that is its target's name is
    assert link_names(links) == {"quill-export"}
    note = tmp_path / "release.md"
    note.write_text(
        "# Release notes\n\nThis release moves the exporter into "
        "[quill-export](https://github.com/someone/quill-export), which has its own tests.\n",
        encoding="utf-8",
    )
    doc = read_source(note)
    assert "](" not in doc.text and doc.links == links[:1]
    found = ENGINE.extract(doc, [])
    assert "quill-export" in {m.name for m in found.mentions if m.kind == "concept"}


def test_a_heading_that_names_a_term_the_text_uses_is_a_concept() -> None:
    _, concepts = extract(
        "Training, gently\n\n"
        "We start from random weights and take small steps.\n\n"
        "### The Step Budget\n\n"
        "The step budget caps how far one update moves. "
        "A larger step budget trains faster, and a smaller step budget is safer.\n\n"
        "### Next Steps\n\n"
        "Try it yourself. The next steps are up to you.\n"
    )
    assert "step budget" in {c.lower() for c in concepts}
    assert "next steps" not in {c.lower() for c in concepts}  # said once more: no term


def test_a_word_of_the_language_capitalised_twice_mid_sentence_is_a_name() -> None:
    _, concepts = extract(
        "Command line tools\n\n"
        "I built the command line interface with Anchor, which handles the options. "
        "The nice thing about Anchor is that the help text writes itself.\n"
        "Open the settings, go to Security & Privacy > General, and press Allow. "
        "Then click Continue, and click Continue again on Layer 2 and Layer 3.\n"
        "The form has three buttons: Cancel, Publish and Preview, and I use Publish and "
        "Preview the most, with CSS Natalie wrote.\n"
    )
    assert "Anchor" in concepts
    assert not {"Privacy", "Continue", "Layer", "Allow", "Publish", "CSS Natalie"} & concepts


def test_a_name_the_title_gives_is_kept_whatever_its_shape() -> None:
    _, concepts = extract(
        "Serving sitemap.xml from a worker\n\n"
        "Crawlers ask for `sitemap.xml` first, so the worker answers it from memory. "
        "The worker builds `sitemap.xml` from the list of pages once a day.\n"
    )
    assert "sitemap.xml" in concepts
    _, concepts = extract(
        "Notes on the crawler\n\n"
        "Crawlers ask for `sitemap.xml` first, so the worker answers it from memory. "
        "The worker builds `sitemap.xml` from the list of pages once a day.\n"
    )
    assert "sitemap.xml" not in concepts  # a file name elsewhere is no page


def test_a_slug_lends_its_first_word_as_a_name_not_its_descriptors() -> None:
    words = url_words(
        ("https://registry.example.org/terrain-tiles/", "https://github.com/h/quillbox-notes/")
    )
    assert {"terrain-tiles", "quillbox"} <= words
    assert not {"tiles", "notes"} & words


def test_only_the_parts_of_a_link_that_can_name_a_project_lend_words() -> None:
    words = url_words(
        (
            "https://quake.example.gov/earthquakes/feed/v1/summary.json",  # a site's filing
            "https://github.com/h/quillbox/releases/tag/v2",  # owner and project only
            "https://db.example.com/data?sql=select+distance+from+places",  # a program's input
            "https://pypi.org/project/tern-utils/",  # the package on a registry
            "layout.html",  # a file, though spelled like a host
        )
    )
    assert {"quake", "quillbox", "tern-utils", "db"} <= words
    assert not {"earthquakes", "feed", "releases", "tag", "select", "distance", "layout"} & words


# (what the case shows, text, names that must be concepts, names that must not)
ONCE = [
    (
        "a JavaScript library is a name, not a file",
        "Debugging the console\n\nThe app runs on Node.js, so the debugger attaches to "
        "Node.js directly. The page also loads bundle.js from the server.\n",
        {"Node.js"},
        {"bundle.js"},
    ),
    (
        "a short title the text uses again names the note's subject",
        "Quince fizz\n\nThis drink is best in autumn.\n\n"
        "A quince fizz in a tall glass, with foam on top\n\n"
        "Shake the syrup with ice and top it with soda water.\n",
        {"Quince fizz"},
        set(),
    ),
    (
        "a title phrase written once as a name",
        "Listing the files uploaded to Cloud Depot\n\n"
        "Every build uploads its sources, and I wanted to see them.\n"
        "Cloud Depot keeps them in a bucket named after the project.\n",
        {"Cloud Depot"},
        {"Listing the files", "Files uploaded"},
    ),
    (
        "a title with a possessive",
        "Marlowe's Fizz\n\n"
        "Everyone asks for a Marlowe's fizz at parties, and it takes two minutes.\n",
        {"Marlowe's Fizz"},
        set(),
    ),
    (
        "an HTTP header, not a hyphenated given name",
        "Caching pages at the edge\n\nThe worker sets a long Cache-Control header on every "
        "page. I learned this from a talk by Mei-Lin, who runs the team.\n",
        {"Cache-Control"},
        {"Mei-Lin"},
    ),
    (
        "a name before a kind of thing, not a label's verb",
        "Shipping the app\n\nEvery build runs in a Tinderbox VM that boots in a second. "
        "To set it up, open the panel and Configure DNS for the domain.\n",
        {"Tinderbox"},
        {"Configure"},
    ),
    (
        "a company written once mid-sentence",
        "Previewing branches\n\n"
        "I use Claude Code on the web, Anthropic's hosted agent, to write these previews.\n",
        {"Anthropic"},
        set(),
    ),
    (
        "a coined name with a version, not a word or an acronym with a number",
        "Two columns\n\nFor the header image I used PixelForge 3 with a short prompt. "
        "Then I hit Panel 2 and Add 1.5 more margin, per the NT 10.0 notes.\n",
        {"PixelForge 3"},
        {"Panel 2", "Add 1.5", "NT 10.0"},
    ),
    (
        "a lower-case heading does not make a name a word",
        "Highlighting code\n\n"
        "I added syntax highlighting to pages rendered with Quillmark this morning.\n\n"
        "## loading two quillmark extensions\n\n"
        "Both extensions register themselves when the page loads.\n",
        {"Quillmark"},
        set(),
    ),
    (
        "a plural or a word of writing about programs in the title is no tool's name",
        "Listing tables and parameters with quillsync\n\n"
        "I wanted every table quillsync knows about, with the parameter each one takes.\n\n"
        "```bash\nquillsync --list\ntables = read()\nparameters = spec()\n```\n",
        {"quillsync"},
        {"tables", "parameters"},
    ),
    (
        "a word of the language quoted alone is discussed, not coined",
        'Asking around\n\nI asked what people mean by the term "agents" with respect to '
        "chat tools. Most said a loop that calls tools.\n",
        set(),
        {"agents"},
    ),
    (
        "an inflected word capitalised where a linked title starts is no name",
        "Brewfile notes\n\nI wrote about Packaging a Rust tool for Brewfile last year. "
        "Since Packaging a Rust tool for Brewfile came out, the packaging story got simpler.\n",
        set(),
        {"Packaging"},
    ),
]


@pytest.mark.parametrize(
    ("text", "wanted", "unwanted"), [case[1:] for case in ONCE], ids=[case[0] for case in ONCE]
)
def test_names_a_short_text_gives_once(text: str, wanted: set[str], unwanted: set[str]) -> None:
    _, concepts = extract(text)
    assert wanted <= concepts, wanted - concepts
    assert not unwanted & concepts


def test_a_version_of_a_page_the_wiki_has_is_that_page() -> None:
    text = "Release notes\n\nPriya Raman spoke about PixelForge 3 at the meetup.\n"
    doc = SourceDoc(name="n.md", text=text, sha256="0" * 64, title="Release notes")
    names = {m.name for m in ENGINE.extract(doc, ["PixelForge"]).mentions}
    assert "PixelForge 3" not in names and "PixelForge" in names
