"""The offline extractive engine: people, concepts, facts, identity, merging, determinism.

Unit cases use short sample texts written for these tests. The corpus tests read the real
newsletters in ../shared/corpus (never copied here) and skip when that folder is absent.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from llmwiki.engines import Candidate, Extraction, Fact, KnownFact, Mention, SourceDoc, Usage
from llmwiki.engines.extractive.engine import ExtractiveEngine
from llmwiki.normalize import normalize_markdown
from llmwiki.readers import read_source

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
LABELS = Path(__file__).resolve().parent / "data" / "corpus_people.json"
ENGINE = ExtractiveEngine()

# words too generic to ever be a concept page
GENERIC_WORDS = re.findall(
    r"\w+",
    """
models model building agents agent ai llm llms ml data code learning research tools tool
papers paper videos video system systems training reasoning context attention
performance tasks task week weekly resources resource transformers transformer benchmark
benchmarks framework frameworks approach approaches results result problem problems work
workflow engineering production deployment inference scaling compute memory tokens token
language users people things time way architecture evaluation development
""",
)

SAMPLE = (
    "Notes From the Retrieval Workshop\n"
    "Subscribe to our newsletter for more notes like these!\n"
    "Dr. Maria Gonzalez leads the search group at Fernwood Labs. "
    "She opened the day with a survey of retrieval methods.\n"
    "Retrieval-Augmented Generation (RAG) pairs a search index with a language model, "
    "so answers can cite documents. "
    "Gonzalez said that RAG fails quietly when the index goes stale.\n"
    "Group Relative Policy Optimization (GRPO) came up in the afternoon. "
    "GRPO trains a policy without a value network, which keeps memory use low.\n"
    "Tomasz Nowak argues that tinyvec, a vector store of 900 lines, is enough for most teams. "
    "Nowak benchmarked tinyvec against larger stores on 12 datasets.\n"
    "The Pareto Frontier Of Retrieval\n"
    "Welch Labs walks through the Pareto Frontier of cost against recall. "
    "Red Hat engineers showed their serving stack.\n"
    "Thanks for reading! Share it with a friend.\n"
)


def doc_of(text: str, name: str = "sample.md") -> SourceDoc:
    return SourceDoc(name=name, text=text, sha256="0" * 64, title=text.splitlines()[0])


def norm(name: str) -> str:
    return re.sub(r"[\W_]+", "", name.casefold())


def names_of(mention: Mention) -> list[str]:
    return [mention.name, *mention.aliases]


def people(extraction: Extraction) -> list[Mention]:
    return [m for m in extraction.mentions if m.kind == "person"]


def concepts(extraction: Extraction) -> list[Mention]:
    return [m for m in extraction.mentions if m.kind == "concept"]


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def corpus_files() -> list[Path]:
    files = sorted(CORPUS.glob("*.txt")) if CORPUS.is_dir() else []
    if not files:
        pytest.skip(f"shared corpus not found at {CORPUS} (only present in the dev workspace)")
    return files


def corpus_doc(path: Path) -> SourceDoc:
    text = path.read_text(encoding="utf-8")
    return SourceDoc(name=path.name, text=text, sha256="", title=text.splitlines()[0])


# --- the protocol ----------------------------------------------------------------------------


def test_engine_shape_and_zero_usage() -> None:
    extraction = ENGINE.extract(doc_of(SAMPLE), [])
    assert ENGINE.name == "extractive"
    assert extraction.title == "Notes From the Retrieval Workshop"
    assert extraction.usage == Usage()
    assert ENGINE.estimate(doc_of(SAMPLE)) == Usage()
    assert ENGINE.merge("X", [], [Fact("A fact.", "A fact.")], "S").usage == Usage()


def test_every_quote_is_verbatim_source_text() -> None:
    doc = doc_of(SAMPLE)
    extraction = ENGINE.extract(doc, [])
    facts = [*extraction.claims, *(f for m in extraction.mentions for f in m.facts)]
    assert facts
    for fact in facts:
        assert fact.quote, fact
        assert squash(fact.quote) in squash(doc.text), fact.quote


def test_summary_and_claims_skip_boilerplate_and_headings() -> None:
    extraction = ENGINE.extract(doc_of(SAMPLE), [])
    assert extraction.summary
    texts = [extraction.summary, *(c.statement for c in extraction.claims)]
    for text in texts:
        assert "newsletter" not in text.lower()
        assert "thanks for reading" not in text.lower()
        assert "The Pareto Frontier Of Retrieval" not in text
    assert 1 <= len(extraction.claims) <= 8


def test_a_note_is_summed_up_by_its_own_opening_first_person_and_all() -> None:
    note = normalize_markdown(
        "# Retrying uploads with Orbweave\n\n"
        "I wanted my nightly backups to survive a flaky network, so I tried Orbweave's retry "
        "option like this:\n\n"
        "```\norbweave push --retry 3 backups/\n```\n"
        "But the second attempt failed with an error about a stale upload token:\n\n"
        "2. Delete the stale token file from the cache folder before you try again.\n"
    )
    summary = ENGINE.extract(doc_of(note), []).summary
    assert summary.startswith("I wanted my nightly backups to survive a flaky network")
    assert summary.endswith("like this…")  # it introduced code: the opening stops there
    assert "second attempt" not in summary and "Delete the stale" not in summary
    steps = normalize_markdown("# Steps\n\n1. Open the settings panel and find the sync tab.\n")
    assert "Open the settings" not in ENGINE.extract(doc_of(steps), []).summary


# --- people ----------------------------------------------------------------------------------


def test_people_from_evidence_not_from_headlines() -> None:
    extraction = ENGINE.extract(doc_of(SAMPLE), [])
    found = {m.name for m in people(extraction)}
    assert found == {"Maria Gonzalez", "Tomasz Nowak"}


def test_surname_resolves_to_full_name() -> None:
    text = (
        "Notes on small trainers\n"
        "Karpathy's new trainer fits in a single file.\n"
        "Andrej Karpathy released the trainer with a short essay about education.\n"
        "Later in the week, Karpathy said the code is meant to be read, not deployed.\n"
    )
    extraction = ENGINE.extract(doc_of(text), [])
    matching = [m for m in extraction.mentions if "karpathy" in [norm(n) for n in names_of(m)]]
    assert len(matching) == 1
    person = matching[0]
    assert person.name == "Andrej Karpathy"
    assert person.kind == "person"
    assert "Karpathy" in person.aliases
    statements = [f.statement for f in person.facts]
    assert any(s.startswith("Later in the week, Karpathy said") for s in statements)
    assert any(s.startswith("Karpathy's new trainer") for s in statements)
    assert person.description.startswith("Andrej Karpathy released")


def test_every_full_name_gets_its_surname_as_alias() -> None:
    extraction = ENGINE.extract(doc_of(SAMPLE), [])
    for person in people(extraction):
        assert person.name.split()[-1] in person.aliases


def test_two_people_sharing_a_surname_keep_it_unaliased() -> None:
    text = (
        "Two deans\n"
        "Jeff Dean explained sparse models to the audience.\n"
        "James Dean explained something else entirely.\n"
        "Dean said the talk ran long.\n"
    )
    found = {m.name: m for m in people(ENGINE.extract(doc_of(text), []))}
    assert set(found) == {"Jeff Dean", "James Dean"}
    assert all("Dean" not in m.aliases for m in found.values())


# --- concepts --------------------------------------------------------------------------------


def test_acronym_definition_is_one_mention_with_both_names() -> None:
    extraction = ENGINE.extract(doc_of(SAMPLE), [])
    for long, short in [
        ("Group Relative Policy Optimization", "GRPO"),
        ("Retrieval-Augmented Generation", "RAG"),
    ]:
        matching = [
            m
            for m in concepts(extraction)
            if {norm(long), norm(short)} & set(map(norm, names_of(m)))
        ]
        assert len(matching) == 1, (short, matching)
        assert {norm(long), norm(short)} <= set(map(norm, names_of(matching[0])))
        assert len(matching[0].facts) >= 2


def test_coined_lowercase_name_and_generic_words() -> None:
    text = (
        "Small tools\n"
        "https://github.com/example/tinyvec\n"
        "tinyvec stores vectors in a flat file and loads them lazily.\n"
        "The models in the study used tinyvec for every agent, and building it took a week.\n"
    )
    extraction = ENGINE.extract(doc_of(text), [])
    names = [norm(n) for m in concepts(extraction) for n in names_of(m)]
    assert names.count("tinyvec") == 1
    assert not set(names) & {norm(w) for w in GENERIC_WORDS}


def test_known_titles_win_their_spelling_and_add_mentions() -> None:
    text = (
        "Index notes\n"
        "The team compared Nanoindex with a plain inverted index on two workloads.\n"
        "NANOINDEX was faster on short queries, and nanoindex kept memory flat.\n"
        "Hybrid search helps when queries mix keywords and meaning.\n"
    )
    extraction = ENGINE.extract(doc_of(text), ["NanoIndex", "Hybrid Search"])
    by_key = {norm(m.name): m for m in extraction.mentions}
    assert by_key["nanoindex"].name == "NanoIndex"
    assert by_key["hybridsearch"].name == "Hybrid Search"
    assert by_key["hybridsearch"].facts


# --- identity --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "aliases", "title", "candidate_aliases", "expected"),
    [
        ("SWE-bench", "concept", (), "SWE bench", (), True),
        ("swe bench", "concept", (), "SWE-Bench", (), True),
        ("RAG", "concept", (), "Retrieval-Augmented Generation", (), True),
        ("Retrieval Augmented Generation", "concept", (), "RAG", (), True),
        ("Group Relative Policy Optimization", "concept", (), "GRPO", (), True),
        ("GRPO", "concept", (), "PPO", (), False),
        ("Karpathy", "person", (), "Andrej Karpathy", (), True),
        ("Andrej Karpathy", "person", ("Karpathy",), "Andrej Karpathy", (), True),
        ("Jeff Dean", "person", ("Dean",), "James Dean", ("Dean",), False),
        ("Jeff Dean", "person", (), "Jeff Deane", (), False),
        ("Dean", "person", (), "Deanna Smith", (), False),
        ("Pareto frontier", "concept", (), "Pareto Frontier", (), True),
        ("Pareto frontier", "concept", (), "Pareto principle", (), False),
        ("nanochat", "concept", (), "microGPT", ("nanoGPT",), False),
        ("Paul Graham", "person", (), "Paul Graham", (), True),
        ("Paul Graham", "concept", (), "Paul Graham", (), False),
    ],
)
def test_same_entity_rules(
    name: str,
    kind: str,
    aliases: tuple[str, ...],
    title: str,
    candidate_aliases: tuple[str, ...],
    expected: bool,
) -> None:
    mention = Mention(name, kind, aliases=aliases)  # type: ignore[arg-type]
    candidate_kind = "person" if kind == "person" or title == "Paul Graham" else "concept"
    candidate = Candidate(title, candidate_kind, candidate_aliases)
    assert ENGINE.same_entity(mention, candidate).same is expected


# --- merging ---------------------------------------------------------------------------------


def test_merge_keeps_only_facts_the_page_lacks() -> None:
    known = [
        KnownFact('"[[Tinyvec|tinyvec]] stores vectors in a flat file." — [[Notes]]', "Notes"),
        KnownFact("[[Maria Gonzalez]] leads the search group.", "Notes"),
    ]
    new = [
        Fact("tinyvec stores vectors in a flat file"),
        Fact("Maria Gonzalez leads the search group!"),
        Fact("tinyvec loads vectors lazily."),
        Fact("TINYVEC loads vectors lazily"),
    ]
    merge = ENGINE.merge("tinyvec", known, new, "Other notes")
    assert [f.statement for f in merge.new_facts] == ["tinyvec loads vectors lazily."]
    assert merge.contradictions == ()


def contradictions_between(old: str, new: str, old_source: str = "Source A") -> list[str]:
    merge = ENGINE.merge("Topic", [KnownFact(old, old_source)], [Fact(new, new)], "Source B")
    return [c.reasoning for c in merge.contradictions]


def test_numeric_contradiction_same_measure_different_number() -> None:
    merge = ENGINE.merge(
        "tinyvec",
        [KnownFact("tinyvec is 243 lines of Python.", "Source A", "2026-01-01")],
        [Fact("tinyvec is 200 lines of Python.", "tinyvec is 200 lines of Python.")],
        "Source B",
    )
    assert len(merge.contradictions) == 1
    contradiction = merge.contradictions[0]
    assert contradiction.kind == "factual"
    assert contradiction.existing.source == "Source A"
    assert "243 lines" in contradiction.reasoning and "200 lines" in contradiction.reasoning


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Errors grow 17x with more agents.", "Errors grow 17.2x with more agents."),
        ("The model scores 74% on SWE-bench.", "The model scores 74.4% on SWE-bench."),
        ("The model scores 74% on SWE-bench.", "The model scores 11% on FeatureBench."),
        ("Claude scores 74% on SWE-bench.", "Gemini scores 70% on SWE-bench."),
        ("The library was released in 2024.", "The library was released in 2025."),
        ("The store holds about 300 vectors.", "The store holds 500 vectors."),
        ("The index covers 12 datasets.", "The index took 40 minutes to build."),
        ("Training took 5 to 15 days.", "Training took 20 days."),
    ],
)
def test_no_contradiction_when_numbers_agree_or_measure_different_things(
    old: str, new: str
) -> None:
    assert contradictions_between(old, new) == []


def test_no_contradiction_with_the_same_source_or_an_uncited_fact() -> None:
    same = ENGINE.merge(
        "t",
        [KnownFact("tinyvec is 243 lines.", "Source B")],
        [Fact("tinyvec is 200 lines.")],
        "Source B",
    )
    uncited = ENGINE.merge(
        "t", [KnownFact("tinyvec is 243 lines.", "")], [Fact("tinyvec is 200 lines.")], "Source B"
    )
    assert same.contradictions == () and uncited.contradictions == ()


def test_contradiction_found_through_wikilink_markup() -> None:
    assert contradictions_between("[[tinyvec|Tinyvec]] is 243 lines.", "Tinyvec is 200 lines.")


# --- determinism and threads ------------------------------------------------------------------


_DUMP = """
import sys
from pathlib import Path
from llmwiki.engines import SourceDoc
from llmwiki.engines.extractive.engine import ExtractiveEngine
from llmwiki.readers import read_source
for arg in sys.argv[1:]:
    text = Path(arg).read_text(encoding="utf-8")
    doc = SourceDoc(name=Path(arg).name, text=text, sha256="", title=text.splitlines()[0])
    print(repr(ExtractiveEngine().extract(doc, ["Pareto frontier", "Hybrid Search"])))
"""


def dump_in_subprocess(paths: Sequence[Path], seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO / "src")}
    result = subprocess.run(
        [sys.executable, "-c", _DUMP, *map(str, paths)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


# a phrase of the title written two ways, once each: a tie that a set's order used to break
TIE = (
    "Tips for the Orbweave scheduler\n\nThe Orbweave's scheduler runs every job twice. Each "
    "night the Orbweave scheduler sleeps for an hour.\n"
)


def test_output_is_identical_across_hash_seeds(tmp_path: Path) -> None:
    sample = tmp_path / "sample.md"
    sample.write_text(SAMPLE, encoding="utf-8")
    tie = tmp_path / "tie.md"
    tie.write_text(TIE, encoding="utf-8")
    paths = [sample, tie]
    if CORPUS.is_dir():
        paths += sorted(CORPUS.glob("*.txt"))
    first = dump_in_subprocess(paths, "1")
    second = dump_in_subprocess(paths, "4242")
    assert first.count("Extraction(") == len(paths)
    assert first == second
    assert "name='Orbweave scheduler'" in first  # the plain form, not the possessive


def test_thread_safe_shared_instance() -> None:
    docs = [doc_of(SAMPLE), doc_of(SAMPLE.replace("Tomasz", "Marek"))] * 8
    expected = [ENGINE.extract(d, []) for d in docs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda d: ENGINE.extract(d, []), docs))
    assert got == expected


# --- the real corpus --------------------------------------------------------------------------


def load_labels() -> dict[str, dict[str, list[str]]]:
    data = json.loads(LABELS.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def test_people_precision_and_recall_on_corpus() -> None:
    files = corpus_files()
    labels = load_labels()
    assert {f.name for f in files} == set(labels), "label every corpus document"
    hits = total = correct = predicted = 0
    problems: list[str] = []
    for path in files:
        wanted = labels[path.name]["people"]
        found = people(ENGINE.extract(corpus_doc(path), []))
        found_names = {norm(n) for m in found for n in names_of(m)}
        for name in wanted:
            total += 1
            if norm(name) in found_names:
                hits += 1
            else:
                problems.append(f"{path.name}: missed {name}")
        wanted_keys = {norm(n) for n in wanted}
        for mention in found:
            predicted += 1
            if norm(mention.name) in wanted_keys:
                correct += 1
            else:
                problems.append(f"{path.name}: not a labelled person: {mention.name}")
        not_people = {norm(n) for n in labels[path.name]["not_people"]}
        assert not {norm(m.name) for m in found} & not_people
    recall = hits / total
    precision = correct / predicted if predicted else 0.0
    report = (
        f"people recall {recall:.1%} ({hits}/{total}), "
        f"precision {precision:.1%} ({correct}/{predicted}); {problems}"
    )
    print(report)
    assert recall >= 0.9, report
    assert precision >= 0.9, report


def union_groups(mentions: Iterable[Mention]) -> list[set[str]]:
    """Concept mentions across documents, grouped when any of their names match."""
    groups: list[set[str]] = []
    for mention in mentions:
        keys = {norm(n) for n in names_of(mention)}
        merged = [g for g in groups if g & keys]
        for group in merged:
            groups.remove(group)
            keys |= group
        groups.append(keys)
    return groups


def test_named_concepts_on_corpus() -> None:
    files = corpus_files()
    extractions = [ENGINE.extract(corpus_doc(p), []) for p in files]
    all_concepts = [m for e in extractions for m in concepts(e)]
    groups = union_groups(all_concepts)
    report: list[str] = []
    for target in ["microGPT", "nanochat", "FeatureBench", "SWE-bench", "GRPO", "RAG"]:
        key = norm(target)
        containing = [g for g in groups if key in g]
        per_doc = [
            sum(1 for m in concepts(e) if key in {norm(n) for n in names_of(m)})
            for e in extractions
        ]
        report.append(f"{target}: {len(containing)} group(s), per document {per_doc}")
        assert len(containing) == 1, report
        assert max(per_doc) == 1, report
        for extraction in extractions:
            assert not any(key in {norm(n) for n in names_of(m)} for m in people(extraction))
    print("; ".join(report))
    generic = {norm(w) for w in GENERIC_WORDS}
    names = [n for m in all_concepts for n in names_of(m)]
    assert not [n for n in names if norm(n) in generic]
    print(f"{len(all_concepts)} concept mentions: {sorted({m.name for m in all_concepts})}")


def test_corpus_quotes_are_verbatim_and_facts_capped() -> None:
    for path in corpus_files():
        doc = corpus_doc(path)
        extraction = ENGINE.extract(doc, [])
        source = squash(doc.text)
        assert extraction.summary and len(extraction.claims) <= 8
        for mention in extraction.mentions:
            assert len(mention.facts) <= 8
            assert "\n" not in mention.description
            for fact in mention.facts:
                assert squash(fact.quote) in source, (mention.name, fact.quote)


def test_hard_wrapped_paragraphs_are_read_as_sentences() -> None:
    from llmwiki.engines.extractive.text import unwrap

    text = (
        "# Title\n\nAda Lovelace wrote the first program for the Analytical Engine,\nand "
        "she described it in\nnotes that were published\nby Charles Babbage.\n\n"
        "- a list item\n- another\nA new line. Next\nline starts a paragraph? No:\n"
        "lowercase continues.\n"
    )
    assert unwrap(text) == [
        "# Title",
        "",
        "Ada Lovelace wrote the first program for the Analytical Engine, and she described it "
        "in notes that were published by Charles Babbage.",
        "",
        "- a list item",
        "- another",
        "A new line. Next line starts a paragraph? No:",
        "lowercase continues.",
    ]


# --- classes of real-world error (#13), on invented text -----------------------------------

JUNK_POST = (
    "Lanterns for Notebooks\n"
    "Quillbeam is a rendering library for notebooks, and Quillbeam renders cells fast. "
    "I've found that Quillbeam handles 500 x 87k cells without trouble. "
    "Set beta1 and input_1 before the first run, then read amd64 builds of Quillbeam. "
    "The weights F0, F1 and F2 feed the layer, while F1 and F2 feed the next one. "
    "Each run writes quillbeam-overview-v2.png and part-2-intro-notes to disk. "
    "It needs 12 MB BY default TO start, and I'm told MB counts grow.\n"
)


def test_junk_classes_never_become_pages() -> None:
    names = {m.name for m in ENGINE.extract(doc_of(JUNK_POST), ["X"]).mentions}
    assert "Quillbeam" in names
    junk = {"X", "x", "I've", "I'm", "beta1", "input_1", "amd64", "F0", "F1", "F2", "MB", "BY",
            "TO", "quillbeam-overview-v2.png", "part-2-intro-notes"}  # fmt: skip
    assert not names & junk, names & junk


def test_one_and_two_character_names_make_no_page() -> None:
    text = (
        "Notes on Bucketstore\n"
        "Bucketstore copies files to S3 every night, and S3 keeps them for a year. "
        "The S3 bill stayed under ten dollars, even on an M1 laptop where M1 builds are slow. "
        "Then Bucketstore logs the C-C and C-H bond counts, and C-C counts grow each run. "
        "Now Bucketstore keeps a KV store beside the archive, and KV reads take a millisecond.\n"
    )
    names = {m.name for m in ENGINE.extract(doc_of(text), []).mentions}
    assert "Bucketstore" in names
    assert not names & {"S3", "M1", "C-C", "C-H", "KV"}, names


def test_a_line_ending_on_a_colon_announces_no_name() -> None:
    text = (
        "Fernlight Notes\n"
        "Fernlight: a tiny static site builder\n"
        "Fernlight reads a folder of notes and writes a site in one pass.\n"
        "Returning:\n"
        "- the built pages and a sitemap\n"
        "And found this:\n"
        "- a second copy of every page\n"
    )
    names = {m.name for m in ENGINE.extract(doc_of(text), []).mentions}
    assert "Fernlight" in names
    assert not names & {"Returning", "And found this"}, names


def test_a_quoted_word_describing_a_noun_is_no_coined_name() -> None:
    text = (
        "Drawing Loops\n"
        'This is called an "unfolded" view, where each step of the loop gets its own box. '
        "The boxes are drawn left to right, one per step of the loop.\n"
        'We use a trick we call "ink lens" to read the boxes, and ink lens is cheap.\n'
    )
    names = {m.name.lower() for m in ENGINE.extract(doc_of(text), []).mentions}
    assert "unfolded" not in names
    assert "ink lens" in names


def test_a_link_word_used_as_a_common_noun_is_no_concept() -> None:
    text = (
        "Moving Photos\n"
        "I copied the photos to a bucket with https://github.com/someone/fernpipe first. "
        "Then fernpipe uploaded everything to that bucket overnight, see "
        "https://storage.example.com/my-photo-bucket/index and "
        "https://viewer.example.com/?install=fernpipe-plugin for the viewer.\n"
        "Later fernpipe checked the bucket again, and I had to install nothing else.\n"
        "The viewer asks you to install a plugin, which fernpipe does for you.\n"
    )
    names = {m.name for m in ENGINE.extract(doc_of(text), []).mentions}
    assert "fernpipe" in names
    assert not names & {"bucket", "install"}, names


def test_a_link_naming_its_project_makes_a_concept_stop_words_and_owner_and_all(
    tmp_path: Path,
) -> None:
    note = tmp_path / "note.md"
    note.write_text(
        "# Loading feeds into a database\n\n"
        "Thanks to [quill-to-sqlite](https://example.org/tools/quill-to-sqlite) I keep every "
        "feed in one file. Search runs through "
        "[acme/quill-search-all](https://github.com/acme/quill-search-all) now.\n\n"
        "Each night I [tx/push](https://example.org/testnet/tx/push) the changes, and the "
        "[up-to-date](https://example.org/up-to-date) copy goes to a backup.\n",
        encoding="utf-8",
    )
    names = {m.name for m in ENGINE.extract(read_source(note), []).mentions}
    assert {"quill-to-sqlite", "quill-search-all"} <= names, names
    assert not names & {"push", "tx/push", "up-to-date"}, names


def test_a_button_clicked_or_shown_in_a_screenshot_is_no_concept() -> None:
    note = normalize_markdown(
        "# Signing the Orbweave helper on a Mac\n\n"
        "The first run of the helper is blocked by the system.\n\n"
        "![Security panel: Orbweave Helper was blocked. Button: Allow Anyway. "
        "Other Options: Show Details](shot.png)\n\n"
        'Click "Allow Anyway" and run the helper again. If it is blocked once more, '
        'click "Allow Anyway" a second time and press the Show Details button.\n'
    )
    names = {m.name for m in ENGINE.extract(doc_of(note), []).mentions}
    assert not names & {"Allow Anyway", "Allow", "Show Details", "Other Options"}, names


def test_a_short_name_in_the_title_is_a_tool_when_the_code_runs_it() -> None:
    note = normalize_markdown(
        "# Back-dating Zed commits based on file dates\n\n"
        "## A script that back-dates Zed commits\n\n"
        "Short version: to back-date Zed commits you set two variables before the commit:\n\n"
        "```\nzed commit --date 2020-01-01 -m 'old work'\n```\n"
        "The Data folder keeps the history.\n\n```\ndata = load()\n```\n"
    )
    names = {m.name for m in ENGINE.extract(doc_of(note), []).mentions}
    assert "Zed" in names, names
    assert "Data" not in names  # an assignment in the code is no command, "Data" a word


def test_a_company_suffix_and_a_sample_prompt_name_no_person() -> None:
    text = (
        "Image Tools\n"
        "The founders were acquired by Brambly Co last spring, and Brambly Co kept the team.\n"
        "Here is one I liked.\n"
        "Imagegen prompt: a portrait of the space pilot Mr. James Vale peering through a "
        "visor, blue lighting, stars reflected on the glass, James Vale smiles at the camera\n"
        "Helena Quenzel said the prompt took an hour to write.\n"
    )
    people = {m.name for m in ENGINE.extract(doc_of(text), []).mentions if m.kind == "person"}
    assert people == {"Helena Quenzel"}, people


def test_people_need_evidence_not_capitals() -> None:
    text = (
        "Trying Out Lanternkit\n"
        "Lanternkit Lite runs in the browser, and the lite build needs no server at all. "
        "Lanternkit Lite explains errors inline, which helps beginners a great deal. "
        "Hello Lanternkit is the greeting the sample app prints, says the readme.\n"
        "| Braund, Mr. Owen Harris | 22 | 3 |\n"
        "| Cumings, Mrs. John Bradley | 38 | 1 |\n"
        "Margarethe Quenzel wrote the first version, and later Quenzel said it took a month.\n"
    )
    people = {m.name for m in ENGINE.extract(doc_of(text), []).mentions if m.kind == "person"}
    assert people == {"Margarethe Quenzel"}


def test_a_place_named_for_a_saint_and_a_thing_after_initials_name_no_person() -> None:
    text = (
        "Field Notes\n"
        "Every morning the bot posts the readings for the San Francisco Bay Area. "
        "The Santa Monica Pier station sends its own at six.\n"
        "The widget ships as an ES Module, so the page imports it directly.\n"
        "KJ Varela said the readings arrive late on Sundays.\n"
    )
    people = {m.name for m in ENGINE.extract(doc_of(text), []).mentions if m.kind == "person"}
    assert people == {"KJ Varela"}, people


def test_a_name_linked_to_its_own_profile_is_a_person(tmp_path: Path) -> None:
    post = tmp_path / "post.md"
    post.write_text(
        "# Notes on the Quillbeam tutorial\n\n"
        "Quillbeam renders notebooks as slides.\n\n"
        "Thanks to [Odile Varenne](https://twitter.com/OdileVarenne), "
        "[Tavish Quorn](https://x.com/quorn_t) and the [Lantern Works](https://twitter.com/"
        "acme) team for their feedback. See also [Dev Slides](https://github.com/devslides).\n",
        encoding="utf-8",
    )
    mentions = ENGINE.extract(read_source(post), []).mentions
    people = {m.name for m in mentions if m.kind == "person"}
    assert people == {"Odile Varenne", "Tavish Quorn"}, people  # handles spell the names


def test_a_person_in_a_long_line_that_ends_with_a_colon_is_found() -> None:
    text = (
        "Selfie Notes\n"
        "The rule of thumb breaks with the famous group selfie taken by Helena Ferreira and "
        "others at the awards, yet the classifier still rates it highly, which is strange:\n"
        "- first point\n"
        "Ferreira said the photo was taken in one go.\n"
    )
    people = {m.name for m in ENGINE.extract(doc_of(text), []).mentions if m.kind == "person"}
    assert "Helena Ferreira" in people


@pytest.mark.parametrize(
    "line",
    [
        "How does this work? Marek Olsztyn explains:",
        "Marek Olsztyn sent a pull request with this version:",
    ],
)
def test_a_short_sentence_introducing_a_quote_or_code_is_prose(line: str) -> None:
    text = f"Shell notes\n\nQuoting is hard in bash.\n\n{line}\n\n    echo 'done'\n"
    people = {m.name for m in ENGINE.extract(doc_of(text), []).mentions if m.kind == "person"}
    assert "Marek Olsztyn" in people


def test_a_tool_written_as_code_in_prose_is_a_concept() -> None:
    text = (
        "Copying Tables\n"
        "I moved the tables over with `table-shuttle` in one go. "
        "The `table-shuttle` command reads a config and writes a new database file. "
        "Run `ls -la` afterwards to check the sizes.\n"
    )
    names = {m.name for m in ENGINE.extract(doc_of(text), []).mentions}
    assert "table-shuttle" in names


def test_a_constant_or_a_class_written_as_code_is_no_concept() -> None:
    text = (
        "Reading Scanned Pages\n"
        "The scanner returns blocks of three types: `LINE`, `WORD` and `PAGEX`. "
        "The `PAGEX` blocks hold no text, and a `ScanBlock` holds the `LINE` ones. "
        "I converted the output with `geoconv2x` before loading it: `geoconv2x` keeps "
        "the scores.\n\n"
        "```\ngeoconv2x -f out.json scans/\n```\n"
        "Each `LINE` block has a confidence score, and GRPO ranked them.\n"
    )
    names = {m.name for m in ENGINE.extract(doc_of(text), []).mentions}
    assert not names & {"LINE", "WORD", "PAGEX", "ScanBlock"}, names
    assert "geoconv2x" in names  # a program the document runs is a tool, code or not


def test_links_are_never_glued_into_a_word_nor_made_for_short_names() -> None:
    from llmwiki.content import Linker

    linker = Linker({"GPT": "GPT", "X": "X", "Go": "Go", "repo": "repo", "Quillbeam": "Quillbeam"})
    text = (
        "GPT-3 beats x86 at 500 x 87k in Go, with git-filter-repo and repo.py; GPT and Quillbeam."
    )
    linked = linker.linkify(text)
    assert linked.startswith("GPT-3 beats x86 at 500 x 87k in Go, with git-filter-repo and repo.py")
    assert "[[GPT]] and [[Quillbeam]]." in linked
    assert "[[X" not in linked and "[[Go" not in linked


def test_no_link_is_made_inside_inline_code() -> None:
    from llmwiki.content import Linker

    linker = Linker({"LINE": "LINE", "Quillbeam": "Quillbeam"})
    # Obsidian shows a link inside `code` as its brackets: the code stays as written
    linked = linker.linkify("Types: `LINE` and ``a ` LINE``; Quillbeam reads LINE blocks.")
    assert linked == "Types: `LINE` and ``a ` LINE``; [[Quillbeam]] reads [[LINE]] blocks."


def test_a_lead_says_what_the_entity_is_and_never_opens_on_a_pronoun() -> None:
    text = (
        "Rendering Notes\n"
        "Quillbeam draws every cell twice when the notebook scrolls quickly. "
        "It emphasizes Quillbeam's speed over its memory use in every release. "
        "In the end, Quillbeam is a rendering library for notebooks written in Rust.\n"
        "Lanternkit came later. He said Lanternkit was faster on large notebooks.\n"
    )
    found = {m.name: m for m in ENGINE.extract(doc_of(text), []).mentions}
    lead = found["Quillbeam"].description
    assert lead == "In the end, Quillbeam is a rendering library for notebooks written in Rust."
    assert not found.get("Lanternkit") or not found["Lanternkit"].description.startswith("He ")


def test_names_a_writer_uses_as_names_are_concepts_and_words_are_not() -> None:
    text = (
        "Serving Notebooks\n"
        "We deploy the app on Vantora, and Vantora restarts it after each push. "
        "Install it with table-shuttle first. Then run table-shuttle again for each new file. "
        "The output is Simplified, though the simplified view hides some columns. "
        "Pre-trained weights load fast, and the pre-trained model is small.\n"
    )
    names = {m.name for m in ENGINE.extract(doc_of(text), []).mentions}
    assert {"Vantora", "table-shuttle"} <= names
    assert not names & {"Simplified", "pre-trained", "Pre-trained"}


def test_a_frontmatter_title_counts_as_the_documents_title() -> None:
    text = "We tried Vantora last week and Vantora kept every build green for a month.\n"
    doc = SourceDoc("p.md", text, "", "Deploying with Vantora")
    names = {m.name for m in ENGINE.extract(doc, []).mentions}
    assert "Vantora" in names


def test_a_figure_under_a_heading_that_names_the_thing_is_compared(tmp_path: Path) -> None:
    """Section context (#13.4): the second source gives its figure only under the heading
    "Quillbeam"; the sentence itself never names it."""
    from conftest import drop, run

    from llmwiki.vault import init_vault

    vault = init_vault(tmp_path / "kb")[0]
    drop(
        vault,
        "a.md",
        "# Quillbeam release\n\nQuillbeam is a rendering library for notebooks. "
        "Quillbeam draws 400 cells per second on a laptop.\n",
    )
    run(vault, ENGINE)
    drop(
        vault,
        "b.md",
        "# Rendering tools compared\n\nSeveral renderers were measured on one laptop.\n\n"
        "## Quillbeam\n\nIt draws 250 cells per second on a laptop, the slowest here.\n\n"
        "## Lanternkit\n\nLanternkit draws 900 cells per second on a laptop.\n",
    )
    run(vault, ENGINE)
    page = (vault.wiki / "concepts" / "Quillbeam.md").read_text(encoding="utf-8")
    assert "It draws 250 cells per second" in page
    assert "[!warning] Contradiction" in page
    assert "900" not in page  # the next section is about something else


def test_names_listed_beside_a_person_are_people_and_products_are_not() -> None:
    text = (
        "Conference Notes\n"
        "I shared the stage with the speakers Helena Moraes, Oduya Kestrel and Farrin Obadike "
        "at the spring meeting in the old theatre downtown.\n"
        "Helena Moraes said the talks ran long.\n"
        "Vantora Museums hosts the photos, and the museums list grows each week.\n"
        "Vantora Lite explains errors inline, and the full Vantora runs on a server.\n"
    )
    people = {m.name for m in ENGINE.extract(doc_of(text), []).mentions if m.kind == "person"}
    assert {"Helena Moraes", "Oduya Kestrel", "Farrin Obadike"} <= people
    assert not people & {"Vantora Museums", "Vantora Lite"}


def test_participles_and_url_parts_are_not_concepts() -> None:
    from llmwiki.engines.extractive.junk import is_junk

    assert is_junk("Illustrated") and is_junk("Simplified") and is_junk("https")
    assert not is_junk("Quillbeam") and not is_junk("Ted") and is_junk("S3")


@pytest.mark.parametrize(
    ("token", "junk"),
    [
        ("mnQxaVkC35ezZSgvn8fhXEa9QTHSUtPfzQ", True),  # an address, a key: case flips all along
        ("0LSAhwbo21RaZ+8", True),  # base64
        ("xwE/Az9zrjBIphAcBb3F6JVqxf46", True),
        ("nanoGPT", False),
        ("GoogLeNet", False),
        ("Llama3.1-70B-Instruct", False),
        ("DeepSeek-R1-Distill-Qwen-7B", False),
        ("SmolLM2-1.7B", False),
    ],
)
def test_a_key_or_a_hash_is_no_name(token: str, junk: bool) -> None:
    from llmwiki.engines.extractive.junk import is_junk

    assert is_junk(token) is junk


def test_a_two_character_name_is_named_after_the_proper_noun_before_it() -> None:
    text = (
        "Backups\n"
        "We keep every backup in Fernway S3, and S3 costs us little. "
        "Fernway S3 stores the files in three regions, and the S3 bill arrives monthly. "
        "Restoring from S3 took an hour last time.\n"
    )
    mentions = {m.name: m for m in ENGINE.extract(doc_of(text), []).mentions}
    assert "S3" not in mentions  # too short to be a page or a link by itself
    assert "S3" in mentions["Fernway S3"].aliases  # named after its proper noun
