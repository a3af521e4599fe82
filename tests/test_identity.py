"""The rules of identity (llmwiki.identity), pinned by a table of name pairs.

Each pair is "same" or "different", and the table is checked against both callers that decide
it in practice: ingest (a mention resolved against the catalog, confirmed by the extractive
engine) and lint (two pages flagged as likely duplicates). They must agree with the table, and
so with each other: ingest never writes two pages its own lint calls one, and lint never calls
one what ingest keeps apart.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import replace
from pathlib import Path

import pytest

from llmwiki.catalog import Catalog
from llmwiki.content import Grounder
from llmwiki.duplicates import Duplicate, duplicates
from llmwiki.engines import Extraction, Mention
from llmwiki.engines.extractive.engine import ExtractiveEngine
from llmwiki.entries import Entry
from llmwiki.identity import (
    abbreviates,
    fact_key,
    fold_name,
    initials,
    normalize_key,
    same_entity,
    similarity,
)
from llmwiki.lint import lint
from llmwiki.pages import render, safe_name
from llmwiki.resolve import Resolver
from llmwiki.vault import Vault

SAME, DIFFERENT = True, False
P, C = "person", "concept"
FOLDER = {P: "people", C: "concepts"}

# (name, kind, name, kind, same?): the first is the mention, the second the page, and then
# the other way round
PAIRS = [
    # one name: case, spaces, punctuation and accents do not count
    ("Andrej Karpathy", P, "andrej karpathy", P, SAME),
    ("GPT-4", C, "gpt 4", C, SAME),
    ("José Valim", P, "Jose Valim", P, SAME),
    ("Zoë Chen", P, "ZOE CHEN", P, SAME),
    ("Mercury", P, "Mercury", C, SAME),  # one name is one page, whatever kind was guessed
    # a person's bare surname, possessive or hyphenated
    ("Hinton", P, "Geoffrey Hinton", P, SAME),
    ("Hinton's", P, "Geoffrey Hinton", P, SAME),
    ("Bankman-Fried", P, "Sam Bankman-Fried", P, SAME),
    ("Fried", P, "Sam Bankman-Fried", P, DIFFERENT),
    ("Hinton", P, "Hinton Theory", C, DIFFERENT),  # a person is not a concept
    # two full names with different first names are two people
    ("John Smith", P, "Jane Smith", P, DIFFERENT),
    ("Jeff Dean", P, "James Dean", P, DIFFERENT),
    ("J. Smith", P, "John Smith", P, DIFFERENT),  # an initial tells John from no one
    ("Jean-Luc Picard", P, "Jean Picard", P, DIFFERENT),
    ("Sam Altman", P, "Sam Bankman-Fried", P, DIFFERENT),  # a shared first name is not enough
    ("Geoff Hinton", P, "Geoffrey Hinton", P, SAME),  # a short form of the first name
    ("Fahd Alhazmi", P, "Fahad Alhazmi", P, SAME),  # a first name spelled two ways
    ("Marc Garcia", P, "Alex Garcia", P, DIFFERENT),
    ("Paul Smith", P, "Paula Smith", P, DIFFERENT),  # one letter more is another name
    ("Alan Turing", P, "Alana Turing", P, DIFFERENT),
    ("Chris Olah", P, "Christopher Olah", P, SAME),
    # spelling: a middle initial, a possessive; a surname one letter off is another family
    ("Geoffrey E. Hinton", P, "Geoffrey Hinton", P, SAME),
    ("Andrej Karpathy's", P, "Andrej Karpathy", P, SAME),
    ("Andrej Roth", P, "Andrej Toth", P, DIFFERENT),
    # acronyms, written as acronyms
    ("RAG", C, "Retrieval-Augmented Generation", C, SAME),
    ("RLHF", C, "Reinforcement Learning from Human Feedback", C, SAME),
    ("LLMs", C, "Large Language Model", C, SAME),
    ("MoE", C, "Mixture-of-Experts", C, SAME),
    ("GPT", C, "Generative Pre-trained Transformer", C, SAME),
    ("Rag", C, "Retrieval-Augmented Generation", C, DIFFERENT),  # a word, not an acronym
    ("SMS", C, "Sparse Model", C, DIFFERENT),  # a capital S is a letter, not a plural
    ("IP", C, "Invisible pseudo-element", C, DIFFERENT),  # a hyphenated word gives its parts
    # plurals and possessives of concepts
    ("Transformers", C, "Transformer", C, SAME),
    ("LLMs", C, "LLM", C, SAME),
    ("Kubernetes Engines", C, "Kubernetes Engine", C, SAME),
    ("OpenAI's", C, "OpenAI", C, SAME),
    # other numbers, other things; a longer name is not its first word
    ("Gemini 1.5 Pro", C, "Gemini 2.5 Pro", C, DIFFERENT),
    ("GPT-4", C, "GPT-5", C, DIFFERENT),
    ("Gemini", C, "Gemini Pro", C, DIFFERENT),
    ("Python", C, "Pythonic code", C, DIFFERENT),
]
FORWARD = [pytest.param(a, ka, b, kb, same, id=f"{a}|{b}") for a, ka, b, kb, same in PAIRS]
BACKWARD = [pytest.param(b, kb, a, ka, same, id=f"{b}|{a}") for a, ka, b, kb, same in PAIRS]
BOTH_WAYS = FORWARD + BACKWARD


def test_the_table_is_large_enough() -> None:
    assert len(PAIRS) >= 25
    assert {same for *_, same in PAIRS} == {SAME, DIFFERENT}


@pytest.mark.parametrize(("a", "kind_a", "b", "kind_b", "same"), BOTH_WAYS)
def test_the_rule(a: str, kind_a: str, b: str, kind_b: str, same: bool) -> None:
    assert (same_entity(kind_a, (a,), kind_b, (b,)) is not None) is same


@pytest.mark.parametrize(("a", "kind_a", "b", "kind_b", "same"), BOTH_WAYS)
def test_ingest_resolves_a_mention_by_the_table(
    tmp_path: Path, a: str, kind_a: str, b: str, kind_b: str, same: bool
) -> None:
    """A mention named `a` is the existing page `b` (found by exact name, or offered as a
    candidate and confirmed by the extractive engine), or a new page."""
    page = Entry(safe_name(b), f"{FOLDER[kind_b]}/{safe_name(b)}.md", b, kind_b)
    resolver = Resolver(tmp_path / "wiki", ExtractiveEngine(), Catalog([page]), jobs=1)
    mention = Mention(a, kind_a)  # type: ignore[arg-type]
    extraction = Extraction("A source", "", (), (mention,))
    plans = resolver.resolve(extraction, Grounder(""), "A source").plans
    assert len(plans) == 1
    assert (plans[0].stem == page.stem) is same, plans[0]


def test_ingest_keeps_two_people_apart_whatever_alias_they_share(tmp_path: Path) -> None:
    james = Entry("James Dean", "people/James Dean.md", "James Dean", P, ("Dean",))
    resolver = Resolver(tmp_path / "wiki", ExtractiveEngine(), Catalog([james]), jobs=1)
    mentions = (Mention("Jeff Dean", P, aliases=("Dean",)),)
    plans = resolver.resolve(Extraction("S", "", (), mentions), Grounder(""), "S").plans
    assert [p.stem for p in plans] == ["Jeff Dean"]  # a new page, not James Dean's


@pytest.mark.parametrize(("a", "kind_a", "b", "kind_b", "same"), PAIRS)
def test_lint_flags_a_duplicate_by_the_table(
    vault: Vault, a: str, kind_a: str, b: str, kind_b: str, same: bool
) -> None:
    stems = [safe_name(a), safe_name(b)]
    if fold_name(stems[0]) == fold_name(stems[1]):
        stems[1] += " (2)"  # one file name on macOS and Windows: give the second another
    write_source(vault)
    for stem, title, kind in zip(stems, (a, b), (kind_a, kind_b), strict=True):
        path = vault.wiki / FOLDER[kind] / f"{stem}.md"
        meta = {"title": title, "type": kind, "sources": ["[[S]]"]}
        path.write_text(render(meta, "From [[S]]."), encoding="utf-8")
    flagged = [f for f in lint(vault).findings if f.code == "duplicate"]
    assert bool(flagged) is same, flagged


def write_source(vault: Vault) -> None:
    path = vault.wiki / "sources" / "S.md"
    path.write_text(render({"title": "S", "type": "source"}, "A source."), encoding="utf-8")


# --- the parts --------------------------------------------------------------------------------


def test_normalize_key_ignores_case_punctuation_accents() -> None:
    assert normalize_key("SWE-bench") == normalize_key("swe bench") == "swebench"
    assert normalize_key("Łukasz") != ""
    assert normalize_key("José") == normalize_key("jose")


def test_a_file_name_fold_keeps_punctuation() -> None:
    assert fold_name("GPT-4") == fold_name("gpt-4") != fold_name("GPT 4")
    assert fold_name("Cafe\u0301") == fold_name("CAFÉ")  # decomposed and composed é


def test_initials_and_abbreviations() -> None:
    assert initials("Retrieval-Augmented Generation") == {"rag"}
    assert initials("Reinforcement Learning from Human Feedback") == {"rlfhf", "rlhf"}
    assert "gpt" in initials("Generative Pre-trained Transformer")
    assert initials("Transformer") == frozenset()
    assert abbreviates("RAGs", "Retrieval-Augmented Generation")
    assert not abbreviates("rag", "Retrieval-Augmented Generation")


def test_similarity_scores_candidates() -> None:
    assert similarity("RAG", "Retrieval-Augmented Generation") == 1.0
    assert similarity("Karpathy", "Andrej Karpathy") == 0.9
    assert similarity("Andrej", "Andrej Karpathy") == 0.9  # a candidate, not a verdict
    assert similarity("", "x") == 0.0
    assert 0.9 < similarity("Transformers", "Transformer") < 1.0


def test_same_entity_says_why() -> None:
    names = ("Andrej Karpathy", "Andrej Karpathy", "AK")
    same = same_entity(P, ("Karpathy",), P, names)
    assert same is not None and (same.rule, same.a, same.b) == ("surname", "Karpathy", names[0])
    same = same_entity(P, ("Andrej K.", "AK"), P, names)
    assert same is not None and same.rule == "name" and same.a == same.b == "AK"
    # whatever alias they share, Jeff Dean is not James Dean
    assert same_entity(P, ("Jeff Dean", "Dean"), P, ("James Dean", "Dean")) is None


def test_a_misspelt_single_word_is_for_lint_to_find(vault: Vault) -> None:
    """The rule says "Kubernets" is "Kubernetes" (rule 7), and lint finds the pair. Ingest
    offers an engine only candidates sharing a word, an acronym or a plural with the mention,
    so that the cost of a mention does not grow with the wiki: it does not find this one."""
    assert same_entity(C, ("Kubernets",), C, ("Kubernetes",)) is not None
    catalog = Catalog([Entry("Kubernetes", "concepts/Kubernetes.md", "Kubernetes", C)])
    assert catalog.candidates("Kubernets", C) == []
    write_source(vault)
    for title in ("Kubernets", "Kubernetes"):
        meta = {"title": title, "type": C, "sources": ["[[S]]"]}
        (vault.wiki / "concepts" / f"{title}.md").write_text(render(meta, "From [[S]]."))
    assert [f.page for f in lint(vault).findings if f.code == "duplicate"]


# --- lint's likely duplicates: every pair, without comparing every pair ----------------------

_SYLLABLES = "ka lo mi ra ve ne do su ta ri en or al is um ba ce fi go hu ste pli kro dra"
_SHAPES = ("{}", "{} {}", "{} {} {}", "{}-{}", "{} {}s", "{} {} 2", "{}-{} 3.5")


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES.split()) for _ in range(rng.randint(1, 5))).capitalize()


def _typo(rng: random.Random, name: str) -> str:
    """`name` with a letter changed, added or dropped, at its start, middle, end or anywhere."""
    if len(name) < 2:
        return name
    at = rng.choice((0, len(name) // 2, len(name) - 1, rng.randrange(len(name))))
    letter = rng.choice("aeioukrst")
    edit = rng.choice(("change", "add", "drop"))
    if edit == "change":
        return name[:at] + letter + name[at + 1 :]
    return name[:at] + letter + name[at:] if edit == "add" else name[:at] + name[at + 1 :]


def _variant(rng: random.Random, name: str, kind: str) -> str:
    """Another name for, or near, `name`: typos, a plural, a possessive, another number, a
    middle initial, a bare surname, an acronym."""
    roll = rng.random()
    if roll < 0.5:
        for _ in range(rng.choice((1, 1, 2, 3))):
            name = _typo(rng, name)
        return name
    words = name.split()
    if roll < 0.6:
        return f"{name}s" if kind == C else f"{name}'s"
    if roll < 0.7:
        return (
            re.sub(r"\d", lambda m: str((int(m[0]) + 1) % 10), name)
            if any(c.isdigit() for c in name)
            else f"{name} {rng.randint(1, 9)}"
        )
    if roll < 0.8 and len(words) > 1:
        return words[-1] if kind == P else "".join(w[0] for w in words).upper()
    if roll < 0.9 and len(words) > 1:
        return f"{words[0]} {rng.choice('ABCDE')}. {' '.join(words[1:])}"
    return name.replace(" ", "-") if rng.random() < 0.5 else name.lower()


def _made_up_wiki(seed: int, size: int) -> list[Entry]:
    """`size` people and concepts with made-up names, half of them near another's: typos at
    the start, middle and end, plurals, numbers, several words; some with aliases."""
    rng = random.Random(seed)
    kinds: dict[str, str] = {}
    while len(kinds) < size:
        if kinds and rng.random() < 0.5:
            base, kind = rng.choice(list(kinds.items()))
            title = _variant(rng, base, kind).strip(" -.'")
        else:
            kind = rng.choice((P, C))
            shape = "{} {}" if kind == P else rng.choice(_SHAPES)
            title = shape.format(*(_word(rng) for _ in range(shape.count("{}"))))
        if normalize_key(title):
            kinds.setdefault(title, kind)
    entries, stems = [], set()
    for title, kind in kinds.items():
        # a file name is a name too, and one renamed or retitled by hand is another name
        stem = safe_name(title if rng.random() < 0.8 else _variant(rng, title, kind)) or "x"
        while fold_name(stem) in stems:
            stem += " (2)"  # what ingest does with a file name taken on macOS and Windows
        stems.add(fold_name(stem))
        aliases = tuple(_variant(rng, title, kind) for _ in range(rng.choice((0, 0, 0, 1, 2))))
        entries.append(Entry(stem, f"{FOLDER[kind]}/{stem}.md", title, kind, aliases))
    return entries


def _all_pairs(entries: list[Entry]) -> set[tuple[str, str]]:
    """The pairs `same_entity` calls one, each pair of pages put to it."""
    names = {e.stem: tuple(dict.fromkeys(e.names)) for e in entries}
    return {
        (min(a.stem, b.stem), max(a.stem, b.stem))
        for a, b in itertools.combinations(entries, 2)
        if same_entity(a.type, names[a.stem], b.type, names[b.stem])
    }


def test_lint_finds_every_pair_the_rules_call_one() -> None:
    """`duplicates` asks `same_entity` about few pairs of pages, not all of them: the pairs it
    finds are the pairs all of them give, on names made to be near each other."""
    entries = _made_up_wiki(16, 900)
    found = {
        (min(d.keep.stem, d.other.stem), max(d.keep.stem, d.other.stem))
        for d in duplicates(entries, {})
    }
    expected = _all_pairs(entries)
    assert len(expected) > 300  # the names are near enough to test something
    assert found == expected, (sorted(expected - found)[:10], sorted(found - expected)[:10])


@pytest.mark.parametrize("seed", [3, 17])
def test_pairs_sought_again_only_for_changed_pages_are_the_pairs_of_a_full_run(
    seed: int,
) -> None:
    """Lint keeps the pairs it found and, after pages were renamed, given aliases, added or
    removed, seeks pairs only for those pages: the result is the full run's, reasons and
    the page to keep included."""
    rng = random.Random(seed)
    before = _made_up_wiki(seed, 600)
    sources = {e.stem: rng.randint(0, 3) for e in before}
    kept = [
        (min(d.keep.stem, d.other.stem), max(d.keep.stem, d.other.stem), d.reason)
        for d in duplicates(before, sources)
    ]
    others = _made_up_wiki(seed + 1000, 80)  # new pages, some near the old ones by chance
    after, changed = [], set()
    for entry in before:
        roll = rng.random()
        if roll < 0.03:
            changed.add(entry.stem)  # removed
            continue
        if roll < 0.08:  # renamed, or given an alias near another page
            near_one = rng.choice(before)
            title = _variant(rng, near_one.title, near_one.type).strip(" -.'") or entry.title
            entry = replace(entry, title=title, aliases=(*entry.aliases, near_one.title))
            changed.add(entry.stem)
        after.append(entry)
    taken = {fold_name(e.stem) for e in after}
    for entry in others:
        if fold_name(entry.stem) not in taken:
            after.append(entry)
            changed.add(entry.stem)
    sources.update({e.stem: rng.randint(0, 3) for e in others})

    def seen(found: list[Duplicate]) -> list[tuple[str, str, str]]:
        return [(d.keep.stem, d.other.stem, d.reason) for d in found]

    full = seen(duplicates(after, sources))
    assert len(kept) > 100 and len(full) > 100  # enough pairs to test something
    assert seen(duplicates(after, sources, changed, kept)) == full


def test_a_near_pair_among_many_names_alike_is_found() -> None:
    """More than 200 names start with one word: a near pair among them is found all the same
    (lint once skipped such crowds, and with them the pair)."""
    rng = random.Random(200)
    titles = {f"Adaptive {_word(rng)}" for _ in range(300)} | {"Adaptive Kubernetes"}
    assert len(titles) > 200
    titles.add("Adaptive Kubernets")
    entries = [Entry(t, f"concepts/{t}.md", t, C) for t in sorted(titles)]
    pairs = {frozenset((d.keep.stem, d.other.stem)) for d in duplicates(entries, {})}
    assert {"Adaptive Kubernetes", "Adaptive Kubernets"} in pairs


# --- facts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("GPT-4 has 1.8T parameters.", "gpt-4 has 1.8t parameters"),
        ("Karpathy built nanochat. — [[Some Source]]", "Karpathy built nanochat."),
        ("[[Andrej Karpathy|Karpathy]] built [[nanochat]].", "Karpathy built nanochat"),
        ('"A quoted sentence."', "A quoted sentence"),
    ],
)
def test_one_fact(a: str, b: str) -> None:
    assert fact_key(a) == fact_key(b) != ""


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("GPT-4 has 1.8T parameters.", "GPT-4 has 1.7T parameters."),
        ("Karpathy built nanochat.", "Karpathy built nanochat, then microGPT."),
        # the citation is the source, not the fact: the same words from another source are
        # the same fact, but a mid-sentence link is part of the wording
        ("It cites — [[A]] and more.", "It cites and more."),
    ],
)
def test_two_facts(a: str, b: str) -> None:
    assert fact_key(a) != fact_key(b)


def test_a_fact_key_ignores_only_a_trailing_citation_and_is_stable() -> None:
    # contradiction ids hash fact keys: the key of a plain sentence must not change
    assert fact_key("Lighthouse draws 400 cells per second.") == "lighthousedraws400cellspersecond"
    assert fact_key("Café — [[S]]") == "café"  # accents kept: ids of existing pages stay put
