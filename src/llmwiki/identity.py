"""The rules of identity: when two names are one name, two pages one entity, two bullets one fact.

Every part of the package that asks "is this the same?" asks here: the catalog looking a
mention up and choosing candidates, the extractive engine confirming them, lint flagging likely
duplicates, `wiki merge`, search and ask. While each kept its own copy, the copies drifted, and
ingest could write two pages that its own lint then flagged as one.

The same name (`normalize_key`): case, accents, spaces and punctuation do not count.
    "GPT-4" = "gpt 4",  "José" = "Jose",  "SWE-bench" = "swe bench"
The same file (`fold_name`): how macOS, Windows and Obsidian compare file names, case and
Unicode normalisation ignored but every other character kept ("GPT-4" and "GPT 4" are two files).

The same entity (`same_entity`); the rules apply in this order:
1. Two full names with different first names are two people, whatever else they share (an
   alias "Dean"): "John Smith" ≠ "Jane Smith", "Jeff Dean" ≠ "James Dean", "J. Smith" ≠
   "John Smith" (an initial is not a first name: nothing tells John from Jane). A first name
   written two ways is one: "Geoff Hinton" = "Geoffrey Hinton" (a short form of four letters
   or more, two or more letters shorter: not "Paul" and "Paula"), "Fahd" = "Fahad" (one
   letter more inside the name: not "Alan" and "Alana").
2. A name both have (title, file name or alias) makes them one, whatever kind an engine
   guessed for each: "GPT-4" = "gpt 4" (one name), "Mercury" the person = "Mercury" the
   concept (one page named "Mercury" can only be one of them).
3. Otherwise a person is never a concept: kinds must agree (an unknown kind agrees with any).
4. A person's bare surname is that person: "Hinton" = "Geoffrey Hinton" = "Hinton's";
   "Bankman-Fried" = "Sam Bankman-Fried", but "Fried" ≠ "Sam Bankman-Fried" (a hyphenated
   surname is one word), and "Sam Altman" ≠ "Sam Bankman-Fried" (a shared first name is not).
5. A concept and its acronym are one: "RAG" = "Retrieval-Augmented Generation",
   "RLHF" = "Reinforcement Learning from Human Feedback" (small words may be skipped),
   "MoE" = "Mixture-of-Experts", "LLMs" = "Large Language Model" (a plural s). The short form
   must be written as an acronym: capitals ("RAG", "GRPO"), at most one small letter second
   ("LoRA", "MoE"), digits ("FP8") and a plural s.
6. A concept's plural is the concept: "Transformers" = "Transformer", "LLMs" = "LLM".
7. Names spelled almost alike (difflib ratio at least 0.9) are one: "Geoffrey E. Hinton" =
   "Geoffrey Hinton", "Kubernets" = "Kubernetes". But names with other numbers never are:
   "Gemini 1.5 Pro" ≠ "Gemini 2.5 Pro", "GPT-4" ≠ "GPT-5"; and in names of as many words,
   every word must be near its counterpart, a person's at 0.9: "Andrej Roth" ≠ "Andrej Toth"
   (a surname one letter off is as often another family as a typo).

`similarity` scores how close two names are, for choosing which pages to put to an engine
as candidates; the verdict is `same_entity`'s (or the LLM's). `fact_key` is a fact's identity:
its wording with its citation, links, case and punctuation aside.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from llmwiki.pages import unlink

# The size of the caches of what a name gives (its key, words, parts, initials). A command
# asks again about the names of one source or one pair; a loop over every page asks each once.
# At 100,000 pages, caches of 65,536 held 47 MB of names lint asked about once.
NAME_CACHE = 8192

NEAR = 0.9  # two names whose keys are at least this alike are spelled almost alike
NEAR_WORD = 0.8  # in two concept names of as many words, each differing word at least this near
MIN_SHORT_FORM = 4  # letters of a first name's short form: "Geoff", "Chris"; not "Sam", "Al"
MIN_NEAR_KEY = 5  # shorter names are too short to compare by spelling ("GPT-4" vs "GPT-5")
MAX_ACRONYM_WORDS = 10  # nobody abbreviates a longer name
# small words an acronym may skip ("Reinforcement Learning from Human Feedback": RLHF)
CONNECTORS = frozenset(
    ("a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to", "with")
)
# What follows a name in a sentence that says what the named thing is: "X is a…", "X was
# the…", "X, a researcher at Y, …", "X (born 1947) is…". The extractive engine leads a page
# with such a sentence, and an overview opens with one (render.defining_fact).
DEFINING = re.compile(
    r"^(?:\s*\([^()]{1,80}\))?"
    r"(?:\s+(?:is|are|was|were)\s+(?:a|an|the|one)\b|,\s+(?:a|an|the)\s[^,]{3,80},)"
)
_NON_WORD = re.compile(r"[\W_]+")
_WORD_SPLIT = re.compile(r"[\s\-_/]+")
_POSSESSIVE = re.compile(r"['’]s$")
_ACRONYM = re.compile(r"[A-Z][A-Za-z]?[A-Z0-9]{1,5}s?")
_CITATION = re.compile(r"\s+—\s+\[\[[^\[\]]*\]\]\s*$")  # the " — [[Source]]" ending a fact
_NUMBER = re.compile(r"\d+")


# --- names ------------------------------------------------------------------------------------


def normalize_key(name: str) -> str:
    """The form names are compared in: case, accents, spaces and punctuation ignored."""
    if name.isascii():  # the common case, without the cost of Unicode decomposition
        return _NON_WORD.sub("", name.casefold())
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _NON_WORD.sub("", text.casefold())


# the keys of the names compared pair by pair (lint compares each name with many others)
_name_key = lru_cache(maxsize=NAME_CACHE)(normalize_key)


def fold_name(name: str) -> str:
    """The form in which macOS and Windows compare file names (case and Unicode
    normalisation ignored, as Obsidian's link resolution does): two names with the same fold
    are one file there, so the wiki never holds both."""
    if name.isascii():
        return name.casefold()
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def concept_key(name: str) -> str:
    """A concept name's key with a plural s ignored ("KV caches" is "KV cache")."""
    key = _name_key(name)
    return key[:-1] if len(key) > 3 and key.endswith("s") else key


@lru_cache(maxsize=NAME_CACHE)
def words(name: str) -> tuple[str, ...]:
    """The normalized words of a name, split at spaces, hyphens, underscores and slashes, each
    without a possessive: "Retrieval-Augmented Generation" -> (retrieval, augmented,
    generation); "Karpathy's" -> (karpathy,)."""
    found = (normalize_key(_POSSESSIVE.sub("", t)) for t in _WORD_SPLIT.split(name))
    return tuple(w for w in found if w)


@lru_cache(maxsize=NAME_CACHE)
def name_parts(name: str) -> tuple[str, ...]:
    """A personal name's parts, split at spaces only: a hyphenated surname is one part
    ("Sam Bankman-Fried" -> (sam, bankmanfried))."""
    found = (normalize_key(_POSSESSIVE.sub("", t)) for t in name.split())
    return tuple(p for p in found if p)


# --- acronyms ---------------------------------------------------------------------------------


def is_acronym(name: str) -> bool:
    """Written as an acronym: "RAG", "GRPO", "LLMs", "LoRA", "FP8" (not "Rag", not "GPT-4")."""
    return _ACRONYM.fullmatch(name) is not None


def acronym_keys(short: str) -> tuple[str, ...]:
    """The keys an acronym stands for: itself, and without a plural s ("LLMs": llms, llm)."""
    key = normalize_key(short)
    return (key, key[:-1]) if short.strip().endswith("s") and len(key) > 2 else (key,)


@lru_cache(maxsize=NAME_CACHE)
def initials(name: str) -> frozenset[str]:
    """The acronyms a name of two or more words abbreviates to, as keys: the first letters of
    all its words, hyphenated parts included ("Retrieval-Augmented Generation": rag); of those
    but the small words ("Reinforcement Learning from Human Feedback": rlhf); and, with three
    letters or more, one letter a hyphenated word ("Generative Pre-trained Transformer": gpt)."""
    all_words = words(name)
    tokens = [k for k in (normalize_key(t) for t in name.split()) if k]
    if len(all_words) < 2 or len(tokens) > MAX_ACRONYM_WORDS:
        return frozenset()
    found = {"".join(w[0] for w in all_words)}
    content = [w for w in all_words if w not in CONNECTORS]
    if len(content) >= 2:
        found.add("".join(w[0] for w in content))
    compounds = "".join(t[0] for t in tokens if t not in CONNECTORS)
    if len(compounds) >= 3:
        found.add(compounds)
    return frozenset(found)


def abbreviates(short: str, long: str) -> bool:
    """`short` is written as an acronym and stands for `long` ("RAG", "Retrieval-Augmented
    Generation")."""
    return is_acronym(short) and _abbreviated(short, long)


# --- people -----------------------------------------------------------------------------------


def different_people(a: str, b: str) -> bool:
    """Two full names with different first names: 'Jeff Dean' and 'James Dean'."""
    pa, pb = name_parts(a), name_parts(b)
    return len(pa) > 1 and len(pb) > 1 and not _one_first_name(a, b)


def _one_first_name(a: str, b: str) -> bool:
    """The first names of two full names are one; a compound first name ("Jean-Luc") has no
    short form: it is one name with "Jean" only when written the same."""
    return _first_names_one(a.split(maxsplit=1)[0], b.split(maxsplit=1)[0])


# kept: lint asks it of every two people who share a surname, and first names recur
@lru_cache(maxsize=131072)
def _first_names_one(first_a: str, first_b: str) -> bool:
    key_a, key_b = name_parts(first_a), name_parts(first_b)
    if "-" in first_a + first_b:
        return key_a == key_b
    return bool(key_a and key_b) and same_first_name(key_a[0], key_b[0])


def same_first_name(a: str, b: str) -> bool:
    """One first name, or one written two ways: a short form of four letters or more that
    leaves at least two letters off ('Geoff' for 'Geoffrey', 'Chris' for 'Christopher', but
    not 'Paul' for 'Paula'), or one letter more inside the name ('Fahd', 'Fahad'; not
    'Alan', 'Alana')."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    if len(short) < MIN_SHORT_FORM:
        return False
    if long.startswith(short):
        return len(long) - len(short) >= 2
    return len(long) == len(short) + 1 and any(
        long[:i] + long[i + 1 :] == short for i in range(1, len(long) - 1)
    )


def first_name_variant(a: str, b: str) -> bool:
    """Two full names alike but for how the first name is written: 'Geoff Hinton' and
    'Geoffrey Hinton', 'Fahd Alhazmi' and 'Fahad Alhazmi'."""
    pa, pb = name_parts(a), name_parts(b)
    return len(pa) == len(pb) > 1 and pa[1:] == pb[1:] and _one_first_name(a, b)


def is_surname_of(short: str, full: str) -> bool:
    """`short` is one word, the last part of the full name `full` ('Hinton', 'Geoffrey
    Hinton')."""
    ps, pf = name_parts(short), name_parts(full)
    return len(ps) == 1 and len(pf) > 1 and ps[0] == pf[-1]


# --- spelling ---------------------------------------------------------------------------------


def could_be_alike(a: str, b: str, least: float) -> bool:
    """False when even difflib's best case (2 * shorter / total) is below `least`."""
    return 2 * min(len(a), len(b)) >= least * (len(a) + len(b))


@lru_cache(maxsize=131072)
def alike(a: str, b: str, least: float) -> bool:
    """difflib's ratio of `a` and `b` is at least `least` (the cheap bounds first). Kept: the
    same two words meet again in many pairs of names (every Quinn, Ana and Hugo Keller)."""
    if not could_be_alike(a, b, least):
        return False
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return matcher.quick_ratio() >= least and matcher.ratio() >= least


@lru_cache(maxsize=NAME_CACHE)
def _spelled(name: str) -> tuple[str, int, tuple[str, ...]]:
    key = normalize_key(name)
    return key, len(key), tuple(_NUMBER.findall(key))


def may_be_near(a: str, b: str) -> bool:
    """The cheap tests of `near`, which most pairs of names fail."""
    (ka, la, numbers_a), (kb, lb, numbers_b) = _spelled(a), _spelled(b)
    if ka == kb or min(la, lb) < MIN_NEAR_KEY or 2 * min(la, lb) < NEAR * (la + lb):
        return False  # the last: even difflib's best case (see could_be_alike) is too low
    return numbers_a == numbers_b  # "Gemini 1.5" is not "Gemini 2.5"


def near(a: str, b: str, person: bool = False) -> bool:
    """Two names spelled almost alike (rule 7 of the module docstring)."""
    if not may_be_near(a, b):
        return False
    wa, wb = words(a), words(b)
    if len(wa) == len(wb) > 1:
        least = NEAR if person else NEAR_WORD
        if not all(x == y or alike(x, y, least) for x, y in zip(wa, wb, strict=True)):
            return False
    return alike(_name_key(a), _name_key(b), NEAR)


def _abbreviated(short: str, long: str) -> bool:
    """`abbreviates` without asking how `short` is written: for scoring, not for a verdict."""
    found = initials(long)
    return any(k in found for k in acronym_keys(short))


def similarity(a: str, b: str) -> float:
    """How close two names are, from 0 to 1: 1 for one name or an acronym of the other, 0.9
    for a bare first or last word of the other ("Karpathy", "Andrej Karpathy"), else
    difflib's ratio of their keys."""
    ka, kb = _name_key(a), _name_key(b)
    if not ka or not kb:
        return 0.0
    if ka == kb or _abbreviated(a, b) or _abbreviated(b, a):
        return 1.0
    wa, wb = words(a), words(b)
    if len(wa) == 1 and len(wb) > 1 and wa[0] in (wb[-1], wb[0]):
        return 0.9
    if len(wb) == 1 and len(wa) > 1 and wb[0] in (wa[-1], wa[0]):
        return 0.9
    return difflib.SequenceMatcher(None, ka, kb, autojunk=False).ratio()


# --- entities ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Same:
    """Why two entities are one: the rule, and the name of each that it matched."""

    rule: str  # name | surname | first name | acronym | plural | spelling
    a: str  # the first entity's name
    b: str  # the second entity's name


def same_entity(
    kind_a: str, names_a: tuple[str, ...], kind_b: str, names_b: tuple[str, ...]
) -> Same | None:
    """Whether two entities are one, by the rules of the module docstring, or None. Each is
    its kind ("person", "concept"; "" when unknown) and its names, its title first."""
    title_a, title_b = names_a[0], names_b[0]
    if "person" in (kind_a, kind_b) and different_people(title_a, title_b):
        return None
    keys_b = {_name_key(n): n for n in reversed(names_b)}
    for name in names_a:
        key = _name_key(name)
        if key and key in keys_b:
            return Same("name", name, keys_b[key])
    if kind_a and kind_b and kind_a != kind_b:
        return None
    kind = kind_a or kind_b
    if kind == "person":
        if is_surname_of(title_a, title_b) or is_surname_of(title_b, title_a):
            return Same("surname", title_a, title_b)
        if first_name_variant(title_a, title_b):
            return Same("first name", title_a, title_b)
    elif kind == "concept":
        for a in names_a:
            for b in names_b:
                if abbreviates(a, b) or abbreviates(b, a):
                    return Same("acronym", a, b)
        for a in names_a:
            for b in names_b:
                if concept_key(a) == concept_key(b) and concept_key(a):
                    return Same("plural", a, b)
    for a in names_a:
        for b in names_b:
            if near(a, b, person=kind == "person"):
                return Same("spelling", a, b)
    return None


# --- facts ------------------------------------------------------------------------------------


def without_citation(text: str) -> str:
    """A fact bullet's text without the " — [[Source]]" that ends it."""
    return _CITATION.sub("", text)


def fact_key(text: str) -> str:
    """Identity of a fact's wording for de-duplication: citation, links, case and punctuation
    ignored ("GPT-4 has 1.8T parameters. — [[S]]" is "gpt4has18tparameters")."""
    return _NON_WORD.sub("", unlink(without_citation(text)).casefold())
