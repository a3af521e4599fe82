"""Likely duplicates for `wiki lint`: pairs of person or concept pages that may be one entity.

Whether two pages are one is decided by `llmwiki.identity.same_entity`, the rule by which the
extractive engine confirms that a mention is an existing page, so lint flags what ingest
would have merged and nothing it keeps apart on purpose. What this module adds is which pairs
to ask about without comparing every page with every other: pages sharing a name (or a
concept's singular), an acronym and its expansion, a surname and a full name, and, for
spelling, pages whose names share a piece at about the same place and most of their letters,
as every pair `near` accepts does. The work grows with the size of those groups, not with the
square of the wiki.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from itertools import combinations

import numpy

from llmwiki.entries import ENTITY_TYPES, Entry
from llmwiki.identity import (
    MIN_NEAR_KEY,
    NEAR,
    Same,
    acronym_keys,
    concept_key,
    different_people,
    first_name_variant,
    initials,
    is_acronym,
    name_parts,
    near,
    normalize_key,
    same_entity,
    words,
)

_Part = tuple[int, int, int]  # of the spelling index: (key length, edits, piece number)


@dataclass(frozen=True)
class Duplicate:
    keep: Entry  # the page to keep: the longer name (full name, expansion), then more sources
    other: Entry
    reason: str  # why they may be one, for the finding's message


def duplicates(
    entries: Iterable[Entry],
    sources: Mapping[str, int],
    changed: Collection[str] | None = None,
    kept: Iterable[tuple[str, str, str]] = (),
) -> list[Duplicate]:
    """The likely duplicate pairs among the people and concepts of `entries`, sorted by their
    file names; `sources` counts the sources each page cites (by file name), to choose the
    page to keep.

    Whether two pages are one depends on those two pages alone. So, given the pairs found
    before (`kept`: first stem, second stem, reason) and the pages whose names or type
    changed since, or that came or went (`changed`), only pairs with a changed page are
    sought again; the kept pairs of unchanged pages stand."""
    pages = {e.stem: e for e in entries if e.type in ENTITY_TYPES}
    found: list[tuple[Entry, Entry, str]] = []
    for a, b in sorted(_pairs(pages, changed)):
        first, second = pages[a], pages[b]
        same = same_entity(first.type, _names(first), second.type, _names(second))
        if same is not None:
            found.append((first, second, _reason(same, first, second)))
    if changed is not None:
        found += [
            (pages[a], pages[b], reason)
            for a, b, reason in kept
            if a in pages and b in pages and a not in changed and b not in changed
        ]

    def rank(e: Entry) -> tuple[int, int, str]:
        return (-len(words(e.title)), -sources.get(e.stem, 0), e.stem)

    found.sort(key=lambda f: (f[0].stem, f[1].stem))
    ranked = [(sorted((a, b), key=rank), reason) for a, b, reason in found]
    return [Duplicate(keep, other, reason) for (keep, other), reason in ranked]


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


def _pairs(pages: Mapping[str, Entry], only: Collection[str] | None = None) -> set[tuple[str, str]]:
    """The pairs of pages worth asking `same_entity` about, each as (smaller, larger) stem;
    with `only`, just those with a page of `only`."""
    pairs: set[tuple[str, str]] = set()
    if only is not None and not only:
        return pairs  # nothing changed: no page to seek pairs for

    def group(stems: Iterable[str]) -> None:
        for a, b in combinations(sorted(set(stems)), 2):
            if only is not None and a not in only and b not in only:
                continue
            if not _two_people(pages[a], pages[b]):  # many people share an alias "Smith"
                pairs.add((a, b))

    def probe(stem: str, others: Iterable[str]) -> None:
        for other in others:
            if other != stem and (only is None or stem in only or other in only):
                pairs.add((min(stem, other), max(stem, other)))

    # with `only`, the groups hold just the keys its pages have (or must be probed by): at
    # 100,000 pages, every group of every page took 100 MB to find the pairs of a few
    wanted = None if only is None else _Wanted.of(pages[s] for s in only if s in pages)
    by_key: dict[str, list[str]] = defaultdict(list)  # a name, and a concept's singular
    expansions: dict[str, list[str]] = defaultdict(list)
    surnames: dict[str, list[str]] = defaultdict(list)
    rests: dict[tuple[str, ...], list[str]] = defaultdict(list)  # all but the first name
    rows = _Rows([], [], [])  # what spelling compares
    acronyms: list[tuple[str, str]] = []  # (page, a name of it that is an acronym)
    for entry in pages.values():
        for name in _names(entry):
            key = normalize_key(name)
            keys = [key]
            if len(key) >= MIN_NEAR_KEY:
                rows.keys.append(key)
                rows.names.append(name)
                rows.entries.append(entry)
            if entry.type == "concept":
                keys.append("singular:" + concept_key(name))
                for acronym in initials(name):
                    if wanted is None or acronym in wanted.expansions:
                        expansions[acronym].append(entry.stem)
                if is_acronym(name) and (
                    wanted is None or wanted.expansions.intersection(acronym_keys(name))
                ):
                    acronyms.append((entry.stem, name))
            for k in keys:
                if wanted is None or k in wanted.keys:
                    by_key[k].append(entry.stem)
        parts = name_parts(entry.title) if entry.type == "person" else ()
        if len(parts) > 1:
            if wanted is None or parts[-1] in wanted.surnames:
                surnames[parts[-1]].append(entry.stem)
            if wanted is None or parts[1:] in wanted.rests:
                rests[parts[1:]].append(entry.stem)
    for key, stems in by_key.items():
        if key not in ("", "singular:"):
            group(stems)
    # "Geoff Hinton" and "Geoffrey Hinton": the rest of the name is the same (by far fewer
    # pairs to try than all who share a surname)
    for stems in rests.values():
        if only is not None and not any(s in only for s in stems):
            continue
        for a, b in combinations(sorted(stems), 2):
            if only is not None and a not in only and b not in only:
                continue
            if first_name_variant(pages[a].title, pages[b].title):
                pairs.add((a, b))
    for stem, name in acronyms:
        for key in acronym_keys(name):
            probe(stem, expansions.get(key, ()))
    for entry in pages.values():
        if entry.type == "person" and len(parts := name_parts(entry.title)) == 1:
            probe(entry.stem, surnames.get(parts[0], ()))
    if wanted is None:
        return pairs | _spelling_pairs(rows)
    return pairs | _spelled_like(rows, wanted.keys, only or ())


@dataclass(frozen=True)
class _Rows:
    """Every name of every page (the file name too: `same_entity` compares it), one row
    each: its key, the name, its page. Lists: a dict by key was three times the memory."""

    keys: list[str]
    names: list[str]
    entries: list[Entry]


@dataclass(frozen=True)
class _Wanted:
    """The keys by which pages may pair with a few given pages: their names and concept
    singulars, the acronyms their names expand or are (`initials`, `acronym_keys`), the
    surnames of their people and the names those of one word may be, and the rest of their
    people's names after the first."""

    keys: frozenset[str]
    expansions: frozenset[str]
    surnames: frozenset[str]
    rests: frozenset[tuple[str, ...]]

    @classmethod
    def of(cls, entries: Iterable[Entry]) -> _Wanted:
        keys: set[str] = set()
        expansions: set[str] = set()
        surnames: set[str] = set()
        rests: set[tuple[str, ...]] = set()
        for entry in entries:
            for name in _names(entry):
                keys.add(normalize_key(name))
                if entry.type == "concept":
                    keys.add("singular:" + concept_key(name))
                    expansions.update(initials(name))
                    if is_acronym(name):
                        expansions.update(acronym_keys(name))
            parts = name_parts(entry.title) if entry.type == "person" else ()
            if parts:
                surnames.add(parts[-1])  # one word: the surname it may be
            if len(parts) > 1:
                rests.add(parts[1:])
        return cls(frozenset(keys), frozenset(expansions), frozenset(surnames), frozenset(rests))


def _spelling_pairs(rows: _Rows) -> set[tuple[str, str]]:
    """Pairs with names spelled almost alike (rule 7 of `llmwiki.identity`). A name is put
    to `near` only with the names one of its pieces finds (`_probes`) that also have enough
    of its letters (`_letters`): every name it may be near, and in practice few others."""
    named: dict[str, list[tuple[str, Entry]]] = defaultdict(list)  # the names with each key
    for key, name, entry in zip(rows.keys, rows.names, rows.entries, strict=True):
        named[key].append((name, entry))
    keys = sorted(named, key=len)  # numbered: a list is read much faster than a dict
    letters = _letters(keys)
    index: dict[_Part, dict[str, list[int]]] = defaultdict(dict)  # a piece -> keys with it
    pairs: set[tuple[str, str]] = set()
    for number, key in enumerate(keys):  # the shorter keys are in the index when one probes
        mine = letters[number]
        for common, probes in _probes(len(key)):  # the keys of one length, and their pieces
            found: set[int] = set()
            for part, first, last, length in probes:
                pieces = index.get(part)
                if pieces:
                    for at in range(first, last + 1, 2):
                        found.update(pieces.get(key[at : at + length], ()))
            for other in found:
                if (letters[other] & mine).bit_count() >= common:
                    pairs |= _spelled_alike(named[keys[other]], named[key])
        for part, start, length in _pieces(len(key)):
            index[part].setdefault(key[start : start + length], []).append(number)
    return pairs


def _spelled_like(
    rows: _Rows, wanted: Collection[str], only: Collection[str]
) -> set[tuple[str, str]]:
    """The pairs with names spelled almost alike that have a page of `only`, whose keys are
    `wanted`: each is put to `near` with every name of a length it may be near that has
    enough of its letters, counted for all names at once (a necessary condition, as in
    `_spelling_pairs`, so none is missed). For a few pages, far cheaper than the index."""
    if not rows.keys:
        return set()
    counts, lengths = _letter_counts(rows.keys)
    mine: dict[str, list[int]] = defaultdict(list)  # a wanted key -> its rows
    for row, key in enumerate(rows.keys):
        if key in wanted:
            mine[key].append(row)
    top = int(lengths.max())
    pairs: set[tuple[str, str]] = set()
    for key, own in mine.items():
        la = len(key)
        # the letters in common a key of each length needs; lengths never near need more
        # than any key has
        need = numpy.full(top + 1, la + top + 1)
        for lb in range(MIN_NEAR_KEY, len(need)):
            if lb in _lengths(la) or la in _lengths(lb):
                need[lb] = _common(min(la, lb), max(la, lb))
        shared = numpy.minimum(counts, counts[own[0]]).sum(axis=1)
        theirs = [(rows.names[r], rows.entries[r]) for r in own]
        for other in numpy.flatnonzero(shared >= need[lengths]).tolist():
            if rows.keys[other] != key:  # one key: the pages are paired by name
                name = [(rows.names[other], rows.entries[other])]
                pairs |= _spelled_alike(name, theirs)
    return {(a, b) for a, b in pairs if a in only or b in only}  # a key is shared by others


def _letter_counts(keys: list[str]) -> tuple[numpy.ndarray, numpy.ndarray]:
    """How often each letter occurs in each key, one row per key (the letters past the 36
    of a-z0-9 share a column, which can only count more letters in common, never fewer),
    and each key's length. Worked out a block of keys at a time, to hold little memory."""
    counts = numpy.zeros((len(keys), 37), dtype=numpy.uint16)
    for start in range(0, len(keys), 4096):
        block = keys[start : start + 4096]
        width = max(len(k) for k in block)
        text = "".join(k.ljust(width, "\0") for k in block).encode("utf-32-le")
        codes = numpy.frombuffer(text, dtype=numpy.uint32).reshape(len(block), width)
        column = numpy.full(codes.shape, 36, dtype=numpy.int64)  # another letter
        letters = (codes >= 97) & (codes <= 122)
        digits = (codes >= 48) & (codes <= 57)
        column[letters] = codes[letters] - 97
        column[digits] = codes[digits] - 48 + 26
        column[codes == 0] = 37  # the padding, not counted
        column += 38 * numpy.arange(len(block))[:, None]
        found = numpy.bincount(column.ravel(), minlength=38 * len(block))
        found = numpy.minimum(found, 65535).reshape(len(block), 38)
        counts[start : start + len(block)] = found[:, :37]
    return counts, numpy.array([len(k) for k in keys])


def _spelled_alike(
    names_a: list[tuple[str, Entry]], names_b: list[tuple[str, Entry]]
) -> set[tuple[str, str]]:
    """The pairs of pages among these names that `near` calls spelled almost alike."""
    pairs: set[tuple[str, str]] = set()
    for text_a, a in names_a:
        for text_b, b in names_b:
            if a.stem == b.stem or a.type != b.type or _two_people(a, b):
                continue
            if near(text_a, text_b, person=a.type == "person"):
                pairs.add((min(a.stem, b.stem), max(a.stem, b.stem)))
    return pairs


# Why no near pair is missed. `near` needs difflib's ratio 2M / (la + lb) of the two keys to
# reach NEAR, and difflib's M matching letters are a common subsequence of the keys: so they
# share at least `_common(la, lb)` letters in order, and as many counted with repeats
# (`_letters`). Along that subsequence, the shorter key a becomes b by at most da = la - common
# deletions and db = lb - common insertions, e = da + db edits. Cut a into e + 1 pieces
# (never empty: e is under a quarter of la). Count the edits before each piece less its
# number: 0 or more before the first piece, below 0 past the last, and it falls (by one) only
# across a piece with no edit in it or right after it. So some piece j is whole with exactly
# j edits before it, `ins` of them insertions: it is in b, moved by ins - (j - ins), where
# ins <= db and j - ins <= da. b looks there for it (`_probes`), for every length la.


@cache
def _common(la: int, lb: int) -> int:
    """The fewest letters in common, in order, of two keys difflib calls near (its ratio
    computed as difflib computes it)."""
    return next(m for m in range(la + lb + 1) if 2.0 * m / (la + lb) >= NEAR)


@cache
def _lengths(lb: int) -> tuple[int, ...]:
    """The lengths, at most lb, of the keys a key of lb letters may be near (`may_be_near`)."""
    return tuple(la for la in range(MIN_NEAR_KEY, lb + 1) if 2 * la >= NEAR * (la + lb))


def _cut(la: int, edits: int) -> list[tuple[int, int]]:
    """(start, length) of the edits + 1 pieces a key of la letters is cut into."""
    count = edits + 1
    short, longer = divmod(la, count)  # the last `longer` pieces are a letter longer
    sizes = [short] * (count - longer) + [short + 1] * longer
    return [(sum(sizes[:j]), size) for j, size in enumerate(sizes)]


@cache
def _pieces(la: int) -> tuple[tuple[_Part, int, int], ...]:
    """(part, start, length) of the pieces a key of la letters is indexed by: one cut for
    each number of edits it may be from a key as long or longer."""
    cuts = {la + lb - 2 * _common(la, lb) for lb in range(la, 2 * la) if la in _lengths(lb)}
    return tuple(
        ((la, edits, j), start, length)
        for edits in sorted(cuts)
        for j, (start, length) in enumerate(_cut(la, edits))
    )


@cache
def _probes(lb: int) -> tuple[tuple[int, tuple[tuple[_Part, int, int, int], ...]], ...]:
    """Where a key of lb letters looks for the keys it may be near: for each of their
    lengths, the letters they share at least (`_common`) and their pieces, as (part, first
    offset, last offset, length); the offsets go by two."""
    found = []
    for la in _lengths(lb):
        da, db = la - _common(la, lb), lb - _common(la, lb)
        probes = []
        for j, (start, length) in enumerate(_cut(la, da + db)):
            # j edits before piece j, of which `ins` insertions: it moves by ins - (j - ins)
            low, high = max(0, j - da), min(j, db)
            if low <= high:
                probes.append(((la, da + db, j), start + 2 * low - j, start + 2 * high - j, length))
        found.append((_common(la, lb), tuple(probes)))
    return tuple(found)


def _letters(keys: Iterable[str]) -> list[int]:
    """Each key's letters as bits, one for each letter and each time it occurs, so that
    (x & y).bit_count() is the letters two keys share counted with repeats: at least their
    longest common subsequence, hence at least `_common` for a near pair."""
    runs: dict[str, list[int]] = defaultdict(lambda: [0])  # a letter's bits for n occurrences
    size = 0
    found: list[int] = []
    for key in keys:
        bits = 0
        for letter, times in Counter(key).items():
            run = runs[letter]
            while len(run) <= times:
                run.append(run[-1] | 1 << size)
                size += 1
            bits |= run[times]
        found.append(bits)
    return found
