"""Likely duplicates for `wiki lint`: pairs of person or concept pages that may be one entity.

Whether two pages are one is decided by `llmwiki.identity.same_entity`, the rule by which the
extractive engine confirms that a mention is an existing page, so lint flags what ingest
would have merged and nothing it keeps apart on purpose. What this module adds is which pairs
to ask about without comparing every page with every other: pages sharing a name (or a
concept's singular), an acronym and its expansion, a surname and a full name, and, for
spelling, pages sharing a word or the first or last four letters of a name. The work grows
with the size of those groups, not with the square of the wiki.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations

from llmwiki.catalog import Entry
from llmwiki.identity import (
    MIN_NEAR_KEY,
    Same,
    acronym_keys,
    concept_key,
    different_people,
    first_name_variant,
    initials,
    is_acronym,
    may_be_near,
    name_parts,
    near,
    normalize_key,
    same_entity,
    words,
)

MAX_BLOCK = 200  # a spelling block this large is a common word; its pairs are covered by others
_KINDS = ("person", "concept")


@dataclass(frozen=True)
class Duplicate:
    keep: Entry  # the page to keep: the longer name (full name, expansion), then more sources
    other: Entry
    reason: str  # why they may be one, for the finding's message


def duplicates(entries: Iterable[Entry], sources: Mapping[str, int]) -> list[Duplicate]:
    """The likely duplicate pairs among the people and concepts of `entries`, sorted by their
    file names; `sources` counts the sources each page cites (by file name), to choose the
    page to keep."""
    pages = {e.stem: e for e in entries if e.type in _KINDS}
    names = {stem: _names(e) for stem, e in pages.items()}
    found: list[Duplicate] = []
    for a, b in sorted(_pairs(pages)):
        first, second = pages[a], pages[b]
        same = same_entity(first.type, names[a], second.type, names[b])
        if same is None:
            continue
        keep, other = sorted(
            (first, second), key=lambda e: (-len(words(e.title)), -sources.get(e.stem, 0), e.stem)
        )
        found.append(Duplicate(keep, other, _reason(same, first, second)))
    return found


def _two_people(a: Entry, b: Entry) -> bool:
    """The first rule of `same_entity`, which most pairs of people fail (John and Jane Smith):
    tested before the pair is put to it at all."""
    return "person" in (a.type, b.type) and different_people(a.title, b.title)


def _names(entry: Entry) -> tuple[str, ...]:
    return tuple(dict.fromkeys((entry.title, entry.stem, *entry.aliases)))


def _reason(same: Same, first: Entry, second: Entry) -> str:
    if same.rule == "name":
        for name, entry in ((same.a, first), (same.b, second)):
            if name in entry.aliases and normalize_key(name) not in (
                normalize_key(entry.title),
                normalize_key(entry.stem),
            ):
                return f'"{name}" is an alias of [[{entry.stem}]]'
        return f'both are named "{first.title}"'
    if same.rule == "surname":
        short, full = (same.a, same.b) if len(name_parts(same.a)) == 1 else (same.b, same.a)
        return f'"{short}" is the surname of {full}'
    if same.rule == "first name":
        return f'"{same.a}" and "{same.b}" differ only in how the first name is written'
    if same.rule == "acronym":
        short, long = (same.a, same.b) if is_acronym(same.a) else (same.b, same.a)
        return f'"{short}" abbreviates "{long}"'
    if same.rule == "plural":
        return f'"{same.a}" and "{same.b}" differ only by a plural'
    return f'"{same.a}" and "{same.b}" are spelled almost alike'


def _pairs(pages: Mapping[str, Entry]) -> set[tuple[str, str]]:
    """The pairs of pages worth asking `same_entity` about, each as (smaller, larger) stem."""
    pairs: set[tuple[str, str]] = set()

    def group(stems: Iterable[str]) -> None:
        for a, b in combinations(sorted(set(stems)), 2):
            if not _two_people(pages[a], pages[b]):  # many people share an alias "Smith"
                pairs.add((a, b))

    def probe(stem: str, others: Iterable[str]) -> None:
        for other in others:
            if other != stem:
                pairs.add((min(stem, other), max(stem, other)))

    by_key: dict[str, list[str]] = defaultdict(list)  # a name, and a concept's singular
    expansions: dict[str, list[str]] = defaultdict(list)
    surnames: dict[str, list[str]] = defaultdict(list)
    for entry in pages.values():
        for name in _names(entry):
            by_key[normalize_key(name)].append(entry.stem)
            if entry.type == "concept":
                by_key["singular:" + concept_key(name)].append(entry.stem)
                for acronym in initials(name):
                    expansions[acronym].append(entry.stem)
        parts = name_parts(entry.title)
        if entry.type == "person" and len(parts) > 1:
            surnames[parts[-1]].append(entry.stem)
    for key, stems in by_key.items():
        if key not in ("", "singular:"):
            group(stems)
    for stems in surnames.values():  # "Geoff Hinton" and "Geoffrey Hinton"
        for a, b in combinations(sorted(stems), 2):
            if first_name_variant(pages[a].title, pages[b].title):
                pairs.add((a, b))
    for entry in pages.values():
        if entry.type == "concept":
            for name in _names(entry):
                if is_acronym(name):
                    for key in acronym_keys(name):
                        probe(entry.stem, expansions.get(key, ()))
        parts = name_parts(entry.title)
        if entry.type == "person" and len(parts) == 1:
            probe(entry.stem, surnames.get(parts[0], ()))
    pairs |= _spelling_pairs(pages)
    return pairs


def _spelling_pairs(pages: Mapping[str, Entry]) -> set[tuple[str, str]]:
    """Pairs with names spelled almost alike, compared only within blocks of names sharing a
    word, or the first or last four letters of their keys (a plural, a typo)."""
    names: list[tuple[str, Entry]] = []
    blocks: dict[str, list[int]] = defaultdict(list)
    in_blocks: list[set[str]] = []  # each name's blocks
    for entry in pages.values():
        for text in dict.fromkeys((entry.title, *entry.aliases)):
            key = normalize_key(text)
            if len(key) < MIN_NEAR_KEY:
                continue
            names.append((text, entry))
            mine = {*(f"w:{w}" for w in words(text)), f"p:{key[:4]}", f"s:{key[-4:]}"}
            in_blocks.append(mine)
            for block in mine:
                blocks[block].append(len(names) - 1)
    pairs: set[tuple[str, str]] = set()
    for block, members in blocks.items():
        if len(members) > MAX_BLOCK:
            continue
        for i, j in combinations(members, 2):
            (text_a, a), (text_b, b) = names[i], names[j]
            if a.stem == b.stem or a.type != b.type or not may_be_near(text_a, text_b):
                continue
            # a pair that shares several blocks is compared in the first of them only
            # (a set of the pairs compared grew past a gigabyte at 100,000 pages)
            shared = in_blocks[i] & in_blocks[j]
            if len(shared) > 1 and min(s for s in shared if len(blocks[s]) <= MAX_BLOCK) != block:
                continue
            if not _two_people(a, b) and near(text_a, text_b, person=a.type == "person"):
                pairs.add((min(a.stem, b.stem), max(a.stem, b.stem)))
    return pairs
