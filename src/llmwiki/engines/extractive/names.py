"""People in a document, found from evidence rather than from capital letters alone.

A capitalised pair is a person when enough independent signals agree: a known given name, a
known family name, a verb of saying or making right after it ("X explains"), a possessive, a
role ("researcher X", "X, CEO of"), recurrence. Headlines and product names fail because one of
their words is everyday vocabulary or names an organisation ("Pareto Frontier", "Welch Labs").
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from llmwiki.engines.extractive.lexicon import (
    AMBIGUOUS_FIRST_NAMES,
    COMMON_WORDS,
    FIRST_NAMES,
    GENERIC_CONCEPTS,
    ORG_WORDS,
    ROLE_AFTER,
    ROLE_BEFORE,
    SAY_VERBS,
    SURNAMES,
)
from llmwiki.engines.extractive.spelling import everyday
from llmwiki.engines.extractive.text import HEADING, TITLE, Document, Sentence, Token
from llmwiki.identity import normalize_key

_NAME_PREFIX = re.compile(r"(?:Mc|Mac|Le|La|De|Di|Da|Du|Van|Von|O['’])(?=[^\W\d_])")
_INITIALS = re.compile(r"[A-Z]{2}")
_ADVERBS = frozenset({"just", "also", "finally", "then", "now", "recently", "famously", "once"})
_LINKS = frozenset({"of", "from", "at"})
_MIN_SCORE = 2
# nouns a product's name modifies and a person's never does
_PRODUCT_NOUNS = frozenset(
    {"site", "website", "app", "apps", "feature", "features", "plugin", "plugins", "library",
     "package", "project", "server", "service", "tool", "tools", "repo", "repository", "api",
     "instance", "extension", "framework", "platform", "database"}
)  # fmt: skip
# a line labelled as a sample ("Midjourney prompt: ... a pilot, Mr. Jon Vale, ...") quotes
# text given to or made by a program: its characters are made up
_SAMPLE = re.compile(
    r"^\W*(?:[\w-]+\s+){0,2}(?:prompts?|input|output|example|sample|completion|response|"
    r"user|assistant)\s*:",
    re.IGNORECASE,
)
# the first word of a place named after a saint or a feature: the given name after it is
# part of the place's name
_PLACE_PREFIXES = frozenset(
    {"San", "Santa", "Santo", "Saint", "St", "Ste", "Fort", "Port", "Mount", "Lake", "Cape",
     "Los", "Las"}
)  # fmt: skip
_GREETINGS = frozenset({"hi", "hello", "hey", "dear", "welcome", "thanks", "goodbye", "bye"})


@dataclass(frozen=True)
class Person:
    name: str
    first: str
    last: str
    surname_alias: bool  # the bare surname refers to this person in this document
    first_alone: bool  # the bare given name refers to this person in this document


@functools.lru_cache(maxsize=8192)
def name_shaped(word: str) -> bool:
    """Shaped like a personal name: Karpathy, LeCun, O'Brien, Jean-Luc."""
    return all(_name_part(part) for part in word.split("-"))


def _name_part(part: str) -> bool:
    """Capitalised letters of any script: Karpathy, Žára, György; LeCun, O'Brien."""
    prefix = _NAME_PREFIX.match(part)
    return _capitalised(part) or (prefix is not None and _capitalised(part[prefix.end() :]))


def _capitalised(word: str) -> bool:
    return len(word) > 1 and word.isalpha() and word[0].isupper() and word[1:].islower()


def _vocabulary(word: str) -> bool:
    return any(part.lower() in COMMON_WORDS for part in word.split("-"))


def _first_score(word: str) -> int:
    low = word.lower()
    if low in AMBIGUOUS_FIRST_NAMES:
        return 1
    if low in FIRST_NAMES:
        return 2
    return 0


def _plausible(first: str, last: str) -> bool:
    """Can this pair be a personal name at all? Vocabulary and organisation words say no."""
    if not name_shaped(last) or last.lower() in ORG_WORDS:
        return False
    if _vocabulary(last) and last.lower() not in SURNAMES:
        return False
    if _INITIALS.fullmatch(first):
        # initials are half the evidence of a given name ("CJ Hess"): a word of the language
        # or of code after them is a thing ("ES Module", "UI Kit")
        return (
            first.lower() not in GENERIC_CONCEPTS
            and first.lower() not in COMMON_WORDS
            and not everyday(last)
        )
    if not name_shaped(first) or first.lower() in ORG_WORDS:
        return False
    return not (_vocabulary(first) and _first_score(first) == 0)


def _runs(sentence: Sentence) -> list[list[int]]:
    """Maximal runs of name-shaped tokens joined by plain spaces, as token indexes."""
    runs: list[list[int]] = []
    current: list[int] = []
    for i, token in enumerate(sentence.tokens):
        shaped = name_shaped(token.text) or bool(_INITIALS.fullmatch(token.text))
        if shaped and current and token.joined:
            current.append(i)
        else:
            if len(current) >= 2:
                runs.append(current)
            current = [i] if shaped else []
        if token.possessive and current:
            if len(current) >= 2:
                runs.append(current)
            current = []
    if len(current) >= 2:
        runs.append(current)
    return runs


def _pairs(sentence: Sentence) -> list[tuple[int, int]]:
    tokens = sentence.tokens
    pairs: list[tuple[int, int]] = []
    for run in _runs(sentence):
        # headline words in front of a name ("Today Jane Doe ...") are not part of it
        while (
            len(run) > 2
            and _first_score(tokens[run[0]].text) == 0
            and tokens[run[0]].text not in _PLACE_PREFIXES
        ):
            run = run[1:]
        if tokens[run[0]].text in _PLACE_PREFIXES:
            continue  # "San Francisco Bay", "Santa Monica Pier": a place, not "Francisco Bay"
        if len(run) == 2:
            pairs.append((run[0], run[1]))
            continue
        for a, b in itertools.pairwise(run):
            if _first_score(tokens[a].text) == 2:
                pairs.append((a, b))
                break
    return pairs


def _context_score(tokens: Sequence[Token], sentence: Sentence, a: int, b: int) -> int:
    score = 0
    last = tokens[b]
    if last.possessive:
        score += 1
    if a > 0 and tokens[a - 1].text.lower() in ROLE_BEFORE:
        score += 1
    elif a > 1 and [t.text.lower() for t in tokens[a - 2 : a]] == ["according", "to"]:
        score += 2
    after = tokens[b + 1 : b + 6]
    if after:
        gap = sentence.scan[last.end : after[0].start]
        nxt = after[0].text.lower()
        if "," in gap and nxt in ROLE_AFTER:
            score += 2
        elif gap.strip() == "" and not last.possessive:
            adverb = nxt in _ADVERBS and len(after) > 1  # "X just said"
            if nxt in SAY_VERBS or (adverb and after[1].text.lower() in SAY_VERBS):
                score += 2
            elif nxt in _LINKS:
                # "Jane Doe of Acme explains": a verb after a short organisation name
                for token in after[1:4]:
                    if token.text.lower() in SAY_VERBS:
                        score += 2
                        break
                    if not token.text[:1].isupper():
                        break
    return score


@dataclass
class _Evidence:
    first: str
    last: str
    score: int
    count: int
    position: int


def find_people(doc: Document, profiles: frozenset[str] = frozenset()) -> list[Person]:
    """People named with a given and a family name, in order of first appearance.
    `profiles` holds names the text links to their owner's profile (`profile_names`)."""
    found: dict[tuple[str, str], _Evidence] = {}
    lower = _lowercase_words(doc)
    solo = _standalone_words(doc)
    in_prose: set[tuple[str, str]] = set()
    products: set[tuple[str, str]] = set()
    for sentence in doc.sentences:
        if sentence.boilerplate or sentence.text.startswith("|") or _SAMPLE.match(sentence.text):
            continue  # a table row is data (a sample's passenger list), not a mention
        tokens = sentence.tokens
        for a, b in _pairs(sentence):
            first, last = tokens[a].text, tokens[b].text
            if not _plausible(first, last) or first.lower() in _GREETINGS:
                continue
            if _vocabulary_in(last, lower) or (_first_score(first) == 0 and first in lower):
                continue  # a word the text also writes in lower case is vocabulary: "Lite"
            if _first_score(first) == 0 and first in solo:
                continue  # "Datasette" alone elsewhere: a product family, not a given name
            if sentence.kind not in (HEADING, TITLE):
                in_prose.add((first, last))
            after = tokens[b + 1] if b + 1 < len(tokens) else None
            if after is not None and after.joined and after.text.lower() in _PRODUCT_NOUNS:
                products.add((first, last))  # "the Niche Museums site", "a Vantora Lite feature"
            evidence = found.get((first, last))
            if evidence is None:
                base = _first_score(first) + (1 if last.lower() in SURNAMES else 0)
                evidence = found[(first, last)] = _Evidence(first, last, base, 0, sentence.index)
            evidence.count += 1
            evidence.score += _context_score(tokens, sentence, a, b)
            if f"{first} {last}" in profiles:
                evidence.score += _MIN_SCORE  # "[Jane Doe](https://twitter.com/janedoe)"
    alone = _bare_names(doc)
    accepted: list[_Evidence] = []
    for evidence in found.values():
        if (evidence.first, evidence.last) not in in_prose:
            continue  # only ever in Title Case headlines: no evidence of a person
        score = evidence.score + (1 if evidence.count > 1 else 0)
        score += alone.get(evidence.last, 0)
        if _INITIALS.fullmatch(evidence.first):
            score += 1  # initials in front ("CJ Hess") are half the evidence of a given name
        if score >= _MIN_SCORE and (evidence.first, evidence.last) not in products:
            accepted.append(evidence)
    _listed_with(doc, found, in_prose, accepted)
    accepted.extend(_surnames_alone(doc, accepted, lower))
    accepted.sort(key=lambda e: e.position)
    people: list[Person] = []
    for evidence in accepted:
        same_last = [e for e in accepted if e.last == evidence.last]
        same_first = [e for e in accepted if e.first == evidence.first]
        people.append(
            Person(
                name=f"{evidence.first} {evidence.last}".strip(),
                first=evidence.first,
                last=evidence.last,
                surname_alias=len(same_last) == 1,
                first_alone=len(same_first) == 1 and _first_score(evidence.first) == 2,
            )
        )
    return people


# where a link goes to a person's own page: the handle is the rest of the address
_PROFILE = re.compile(
    r"https?://(?:www\.)?(?:twitter\.com|x\.com|bsky\.app/profile|linkedin\.com/in|"
    r"[\w.-]+/@)/?([\w.-]+)/?",
    re.IGNORECASE,
)


def profile_names(links: Sequence[tuple[str, str]]) -> frozenset[str]:
    """Names a link takes to their owner's profile, whose handle spells part of the name:
    "[Odile Varenne](https://twitter.com/OdileVarenne)". A writer links a person that way,
    where the name alone ("Tavish Quorn") says nothing a list of given names knows."""
    found: set[str] = set()
    for text, target in links:
        name = " ".join(text.split())
        words = name.split()
        handle = _PROFILE.fullmatch(target.strip())
        if handle is None or not 2 <= len(words) <= 3 or not all(map(name_shaped, words)):
            continue
        folded = normalize_key(handle.group(1))
        if any(len(w) >= 4 and normalize_key(w)[:4] in folded for w in words):
            found.add(name)
    return frozenset(found)


_PARTICLES = frozenset({"De", "Van", "Von", "Le", "La", "Da", "Di", "Du", "Del", "Der", "Den"})
_PRONOUNS = frozenset({"he", "his", "him", "she", "her", "hers"})


def _surnames_alone(
    doc: Document, accepted: Sequence[_Evidence], lower: frozenset[str]
) -> list[_Evidence]:
    """People the text names by surname only, where the text shows they are people: a
    citation ("Sutskever et al.", "De Cao et al.") or a name that does and owns things and is
    then "he" or "she" ("Obama has his foot on the scale"). Capitals alone are never enough."""
    named = {w for e in accepted for w in (e.first, e.last)}
    found: dict[str, _Evidence] = {}
    referred: dict[str, int] = {}  # sentences where a pronoun follows the bare name
    opens: dict[str, int] = {}  # sentences the bare name opens
    within: dict[str, int] = {}  # the bare name inside a sentence
    for sentence in doc.sentences:
        if sentence.boilerplate or _SAMPLE.match(sentence.text):
            continue
        tokens = sentence.tokens
        for i, token in enumerate(tokens):
            word = token.text
            if not name_shaped(word) or word in named or word.lower() in lower:
                continue
            following = [t.text for t in tokens[i + 1 : i + 3]]
            if following == ["et", "al"] and tokens[i + 1].joined:
                if i > 0 and tokens[i - 1].text in _PARTICLES and token.joined:
                    word = f"{tokens[i - 1].text} {word}"
                if word not in found:
                    found[word] = _Evidence("", word, _MIN_SCORE, 1, sentence.index)
            elif token.initial:
                opens[word] = opens.get(word, 0) + 1
            elif not _vocabulary(word):
                within[word] = within.get(word, 0) + 1
                rest = {t.text.lower() for t in tokens[i + 1 :]}
                if rest & _PRONOUNS and not (i + 1 < len(tokens) and tokens[i + 1].initial):
                    referred[word] = referred.get(word, 0) + 1
    # a story's character opens sentence after sentence ("Merus sank into his chair"), and
    # where one is a character, the others referred to as he or she are characters too
    if any(opens.get(word, 0) * 2 > within[word] for word in referred):
        return list(found.values())
    alone = _bare_names(doc)
    for word, count in referred.items():
        # twice referred to as he or she, and once doing or owning something ("Obama's foot")
        if count >= 2 and alone.get(word) == 2 and word not in found:
            position = next(s.index for s in doc.sentences if word in s.scan)
            found[word] = _Evidence("", word, _MIN_SCORE, count, position)
    return list(found.values())


_LIST_GAP = re.compile(r"\s*(?:,|,?\s+and|&)\s*")


def _listed_with(
    doc: Document,
    found: dict[tuple[str, str], _Evidence],
    in_prose: set[tuple[str, str]],
    accepted: list[_Evidence],
) -> None:
    """A name listed beside a person ("the speakers Jane Doe, Ola Nordmann and …") is a
    person too: writers do not mix people and products in one list. Adds to `accepted`."""
    people = {(e.first, e.last) for e in accepted}
    links: list[tuple[tuple[str, str], tuple[str, str]]] = []  # neighbours in a list
    for sentence in doc.sentences:
        tokens = sentence.tokens
        pairs = _pairs(sentence)
        for (a1, b1), (a2, b2) in itertools.pairwise(pairs):
            if _LIST_GAP.fullmatch(sentence.scan[tokens[b1].end : tokens[a2].start]):
                links.append(
                    ((tokens[a1].text, tokens[b1].text), (tokens[a2].text, tokens[b2].text))
                )
    grew = True
    while grew:
        grew = False
        for left, right in links:
            for known, other in ((left, right), (right, left)):
                if known in people and other not in people and other in in_prose:
                    people.add(other)
                    accepted.append(found[other])
                    grew = True


def _vocabulary_in(word: str, lower: frozenset[str]) -> bool:
    """`word`, or its singular ("Museums", "Workers", "Indexes"), is written in lower case in
    the document, or its singular is everyday vocabulary: no surname."""
    low = word.lower()
    if low in lower:
        return True
    if low in SURNAMES or not low.endswith("s"):
        return False
    return any(f in lower or f in COMMON_WORDS for f in (low[:-1], low[:-2]) if len(f) > 2)


def _standalone_words(doc: Document) -> frozenset[str]:
    """Capitalised words used on their own, not followed by another capitalised word: a
    product named alone ("Datasette"), where a given name mostly comes with its surname."""
    found: set[str] = set()
    for sentence in doc.sentences:
        tokens = sentence.tokens
        for i, token in enumerate(tokens):
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            alone = nxt is None or not (nxt.joined and nxt.text[:1].isupper())
            if token.text[:1].isupper() and not token.initial and not token.possessive and alone:
                found.add(token.text)
    return frozenset(found)


def _lowercase_words(doc: Document) -> frozenset[str]:
    """Words the document writes in lower case somewhere: vocabulary, never a name."""
    return frozenset(
        t.text for s in doc.sentences for t in s.tokens if t.text.islower() and t.text.isalpha()
    )


def _bare_names(doc: Document) -> dict[str, int]:
    """Name-shaped words used on their own: 1 when seen, 2 when they say or own something
    ("Hassabis added", "Karpathy's trainer"), the way writers refer back to a person."""
    found: dict[str, int] = {}
    for sentence in doc.sentences:
        if sentence.boilerplate:
            continue
        tokens = sentence.tokens
        for i, token in enumerate(tokens):
            if token.initial or not name_shaped(token.text) or _vocabulary(token.text):
                continue
            before = i > 0 and token.joined and name_shaped(tokens[i - 1].text)
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            after = nxt is not None and nxt.joined and name_shaped(nxt.text)
            if before or (after and not token.possessive):
                continue
            acts = token.possessive or (
                nxt is not None and nxt.joined and nxt.text.lower() in SAY_VERBS
            )
            found[token.text] = max(found.get(token.text, 0), 2 if acts else 1)
    return found


def person_sentences(doc: Document, person: Person) -> list[int]:
    """Indexes of the sentences that name `person` (full name, or the bare surname/given name
    when only this person has it in the document)."""
    hits: list[int] = []
    for sentence in doc.sentences:
        if person.last not in sentence.scan and person.first not in sentence.scan:
            continue
        if any(_names_at(sentence.tokens, i, person) for i in range(len(sentence.tokens))):
            hits.append(sentence.index)
    return hits


def _names_at(tokens: Sequence[Token], i: int, person: Person) -> bool:
    word = tokens[i].text
    if word != person.first and word != person.last:
        return False
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    prev_joined_name = i > 0 and tokens[i].joined and name_shaped(tokens[i - 1].text)
    if word == person.first and nxt is not None and nxt.text == person.last and nxt.joined:
        return True
    next_is_name = (
        nxt is not None and nxt.joined and not tokens[i].possessive and name_shaped(nxt.text)
    )
    if word == person.last and person.surname_alias and not prev_joined_name:
        return not next_is_name
    if word == person.first and person.first_alone and not prev_joined_name:
        return not next_is_name
    return False
