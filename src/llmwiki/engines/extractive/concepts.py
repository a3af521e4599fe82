"""Concepts in a document: coined names, acronyms, versioned names and recurring key phrases.

Evidence decides, not capital letters: a coined spelling (microGPT, SWE-bench, FP8), an acronym
used twice or defined ("Group Relative Policy Optimization (GRPO)"), a name with a version
(DeepSeek V4), a title-case phrase with a proper noun in it (Pareto frontier), a lowercase name
that is also in the document's links (nanochat), or a plain phrase the text keeps coming back to
(context engineering). Generic words never make a page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from llmwiki.engines.extractive.junk import is_junk
from llmwiki.engines.extractive.lexicon import (
    COMMON_WORDS,
    FIRST_NAMES,
    GENERIC_CONCEPTS,
    GENERIC_PHRASE_WORDS,
    STOPWORDS,
)
from llmwiki.engines.extractive.salient import find_salient
from llmwiki.engines.extractive.spelling import (
    ACRONYM,
    CAMEL,
    LOWER_SUFFIXES,
    code_constant,
    code_name,
    coined_form,
    common_use,
    everyday,
    hyphenated_name,
    interface_label,
    is_phrase_word,
    is_proper,
    name_like,
    on_screen,
    singular,
    url_words,
    written_lower,
)
from llmwiki.engines.extractive.text import (
    CAPTION,
    HEADING,
    TITLE,
    Document,
    Sentence,
    Token,
    heading_subject,
    title_words,
)
from llmwiki.identity import CONNECTORS, acronym_keys, concept_key, initials, normalize_key
from llmwiki.normalize import NO_CODE, Code

MAX_CONCEPTS = 20
MAX_PHRASES = 5
# capitals there are the style of a headline or of a screen shown in a screenshot, not evidence
_NOT_RUNNING = (HEADING, TITLE, CAPTION)
_VERSION = re.compile(r"V?\d{1,2}(?:\.\d{1,2})?|R\d")


@dataclass
class Concept:
    name: str
    aliases: list[str] = field(default_factory=list)
    count: int = 0
    position: int = 0
    bonus: int = 0  # defined, or the subject of a heading
    subject_of: list[int] = field(default_factory=list)  # heading sentences it is the subject of
    kind: str = "coined"  # coined | acronym | phrase | name

    @property
    def score(self) -> int:
        return self.count + self.bonus


@dataclass
class _Tally:
    forms: dict[str, int] = field(default_factory=dict)
    count: int = 0
    position: int = -1
    mid_caps: int = 0  # capitalised away from a sentence start, in running text
    title_case: bool = False
    proper_first: bool = False
    kind: str = "coined"

    def add(self, form: str, position: int, weight: int = 1) -> None:
        self.forms[form] = self.forms.get(form, 0) + weight
        self.count += 1
        if self.position < 0:
            self.position = position

    def best_form(self) -> str:
        return max(self.forms.items(), key=lambda item: item[1])[0]


class _Scanner:
    def __init__(self, doc: Document, person_words: frozenset[str], linked: frozenset[str]) -> None:
        self.doc = doc
        self.person_words = person_words
        self.tallies: dict[str, _Tally] = {}
        self.phrases: dict[tuple[str, ...], _Tally] = {}
        self.definitions: dict[str, str] = {}  # acronym -> expansion
        self.url_words = url_words(doc.urls) | linked
        self.lowercase: frozenset[str] = frozenset()  # words the text writes in lower case
        # capitalised words seen only where capitals are the rule (a sentence's first word)
        self.initial_caps: dict[str, list[int]] = {}
        self.headed: set[str] = set()  # of those, the ones in the title or a heading
        self.common_nouns: set[str] = set()  # lower-case words used after "the", "a", ...

    def tally(self, key: str, kind: str) -> _Tally:
        found = self.tallies.get(key)
        if found is None:
            found = self.tallies[key] = _Tally(kind=kind)
        return found

    def scan(self, commands: frozenset[str] = frozenset()) -> None:
        """Tally the names; `commands`, the programs the code runs, are tools (`ogr2ogr`)."""
        lower_counts: dict[str, int] = {}
        for sentence in self.doc.sentences:
            if sentence.boilerplate:
                continue
            self._definitions(sentence)
            tokens = sentence.tokens
            used: set[int] = set()
            for i, token in enumerate(tokens):
                if i in used:
                    continue
                if token.text in self.person_words:
                    used.add(i)
                    continue
                versioned = self._versioned(tokens, i)
                if versioned:
                    self.tally(concept_key(versioned), "name").add(versioned, sentence.index)
                    used.update((i, i + 1))
                    continue
                coined = coined_form(token.text)
                if coined is not None and code_constant(sentence, token, commands):
                    used.add(i)
                elif coined is not None:
                    form, kind = coined
                    self.tally(concept_key(form), kind).add(form, sentence.index)
                    if kind != "acronym":  # acronyms may start a phrase ("KV cache")
                        used.add(i)
                elif code_name(sentence, token):
                    self.tally(concept_key(token.text), "coined").add(token.text, sentence.index)
                    used.add(i)
                elif token.text.islower():
                    lower_counts[token.text] = lower_counts.get(token.text, 0) + 1
                    if common_use(tokens, i):
                        self.common_nouns.add(token.text)
                elif (
                    is_proper(token)
                    and token.text.lower() not in FIRST_NAMES
                    and not interface_label(sentence, i)
                ):
                    tally = self.tally(concept_key(token.text), "name")
                    tally.add(token.text, sentence.index)
                    if sentence.kind not in _NOT_RUNNING:
                        tally.mid_caps += 1
                elif token.initial and name_like(token.text):
                    seen = self.initial_caps.setdefault(token.text, [])
                    seen.append(sentence.index)
                    if sentence.kind in (HEADING, TITLE):
                        self.headed.add(token.text)
            self._phrases(sentence, used)
        self.lowercase = written_lower(self.doc)
        for word, count in lower_counts.items():
            if count >= 2 and (self._lower_coined(word) or hyphenated_name(word)):
                tally = self.tally(concept_key(word), "coined")
                for sentence in self.doc.sentences:
                    if not sentence.boilerplate and any(t.text == word for t in sentence.tokens):
                        tally.add(word, sentence.index)

    def _versioned(self, tokens: tuple[Token, ...], i: int) -> str | None:
        if i + 1 >= len(tokens):
            return None
        head, version = tokens[i], tokens[i + 1]
        if not version.joined or head.possessive or not _VERSION.fullmatch(version.text):
            return None
        word = head.text
        named = coined_form(word) is not None or (
            word[:1].isupper() and word.lower() not in COMMON_WORDS and word.isalpha()
        )
        if not named or word in self.person_words or word.lower() in GENERIC_CONCEPTS:
            return None
        return f"{word} {version.text}"

    def _lower_coined(self, word: str) -> bool:
        # a lowercase word that is not vocabulary but names a repository or page in the links;
        # "the registry", "a bucket" are vocabulary whatever the links say
        if len(word) < 4 or everyday(word) or word.endswith(LOWER_SUFFIXES):
            return False
        return word not in self.common_nouns and word in self.url_words

    def _definitions(self, sentence: Sentence) -> None:
        text = sentence.scan
        for match in re.finditer(r"\(([A-Z][A-Za-z0-9]{1,9})\)", text):
            acronym = match.group(1)
            if not ACRONYM.fullmatch(acronym) and not CAMEL.search(acronym):
                continue
            expansion = _expansion(text[: match.start()], acronym)
            if expansion:
                self.definitions[acronym] = expansion
        for match in re.finditer(r"\b([A-Z][A-Za-z0-9]{1,9}) \(([^()]{5,80})\)", text):
            acronym, inside = match.group(1), match.group(2)
            if ACRONYM.fullmatch(acronym) and _expansion(inside, acronym) == inside.strip():
                self.definitions[acronym] = inside.strip()

    def _phrases(self, sentence: Sentence, used: set[int]) -> None:
        tokens = sentence.tokens
        run: list[int] = []
        for i, token in enumerate(tokens):
            ok = i not in used and is_phrase_word(token)
            if ok and run and token.joined and not tokens[run[-1]].possessive:
                run.append(i)
                continue
            self._run_ngrams(sentence, run)
            run = [i] if ok else []
        self._run_ngrams(sentence, run)

    def _run_ngrams(self, sentence: Sentence, run: list[int]) -> None:
        tokens = sentence.tokens
        for n in (2, 3):
            for start in range(len(run) - n + 1):
                idx = run[start : start + n]
                if on_screen(tokens, idx[0], idx[-1]):
                    continue  # 'click "Allow Anyway"': a button, however often clicked
                words = [tokens[i] for i in idx]
                key = tuple(singular(t.text) for t in words)
                form = sentence.scan[words[0].start : words[-1].end]
                tally = self.phrases.get(key)
                if tally is None:
                    tally = self.phrases[key] = _Tally(kind="phrase")
                running = sentence.kind not in _NOT_RUNNING
                tally.add(form, sentence.index, 2 if running else 1)
                caps = all(t.text[:1].isupper() for t in words)
                if caps:
                    tally.title_case = True
                    if running and not words[0].initial:
                        tally.mid_caps += 1
                if running and is_proper(words[0]):
                    tally.proper_first = True


def _expansion(before: str, acronym: str) -> str:
    """The words just before `acronym` in `before` that it abbreviates, or ""."""
    words = re.findall(r"[A-Za-z][\w'’-]*", before)
    target = acronym_keys(acronym)[-1]  # without a plural s
    for size in range(1, min(len(words), len(target) + 3) + 1):
        tail = words[-size:]
        if tail[0].lower() in CONNECTORS:
            continue
        if target in initials(" ".join(tail)):
            return " ".join(tail)
    return ""


def find_concepts(
    doc: Document,
    person_words: frozenset[str],
    code: Code = NO_CODE,
    linked: frozenset[str] = frozenset(),
    known: frozenset[str] = frozenset(),
) -> list[Concept]:
    """The document's concepts, in order of appearance. `code` (`normalize.read_code`) and
    `linked`, the names its links point to (`spelling.link_names`), tell a tool's name from a
    word of the language and from an identifier; `known` holds the wiki's page names (as
    `identity.normalize_key` writes them)."""
    scanner = _Scanner(doc, person_words, linked)
    scanner.scan(code.commands)
    concepts: dict[str, Concept] = {}
    acronyms = {k: t for k, t in scanner.tallies.items() if t.kind == "acronym"}

    for key, tally in scanner.tallies.items():
        keep = True  # coined names and acronyms: scored below, with heading bonuses
        count = tally.count
        if tally.kind == "name":
            form = tally.best_form()
            # a capitalised word used twice, once mid-sentence, never written in lower case is
            # a name ("Heroku"); "Simplified" is a word, "Packaging" starting a linked title too
            low = form.lower()
            uses = tally.count + len(scanner.initial_caps.get(form, ()))
            named = uses >= 2 and low not in scanner.lowercase
            count = uses if named else count
            inflected = low in scanner.lowercase and low.endswith(("ing", "ed"))
            keep = (tally.mid_caps >= 2 and not inflected) or (
                (named and tally.mid_caps >= 1) or (tally.count >= 2 and " " in form)
            )
        # a coined name with a version ("DALL-E 3", "GPT-4o 2") is a product even named once,
        # unless the wiki has a page for the name without it ("KV-Lite 2" is KV-Lite's)
        coined_version = tally.kind == "name" and _coined_version(tally.best_form(), known)
        if keep or coined_version:
            concepts[key] = Concept(
                tally.best_form(), [], count, tally.position, int(coined_version), [], tally.kind
            )

    for acronym, expansion in scanner.definitions.items():
        key = concept_key(acronym)
        seen = acronyms.get(key) or scanner.tallies.get(key)
        count = seen.count if seen else 1
        position = seen.position if seen else 0
        concepts.pop(key, None)
        exp_key = concept_key(expansion)
        existing = concepts.pop(exp_key, None)
        concept = Concept(expansion, [acronym], count + (existing.count if existing else 0))
        concept.position, concept.bonus, concept.kind = position, 2, "acronym"
        concepts[exp_key] = concept

    _add_phrases(scanner, concepts, acronyms)
    _add_announced(doc, concepts, person_words)
    for salient in find_salient(doc, person_words, code, linked, scanner.lowercase):
        key = concept_key(salient.name)
        if key in concepts:
            concepts[key].bonus += salient.bonus
        else:
            concept = Concept(salient.name, [], salient.count, salient.position, salient.bonus)
            concepts[key] = concept
    for word, opens in scanner.initial_caps.items():
        # "Quillbeam is …" twice and "Quillbeam release" as the title: a name, though it
        # only ever opens a sentence
        key = concept_key(word)
        also = scanner.tallies.get(key)
        count = len(opens) + (also.count if also else 0)
        if (
            word in scanner.headed
            and count >= 3
            and word.lower() not in scanner.lowercase
            and word not in person_words
            and key not in concepts
        ):
            concepts[key] = Concept(word, [], count, min(opens), 0, [], "name")
    _drop_parts(concepts)
    _mark_subjects(doc, concepts)
    ranked = sorted(concepts.values(), key=lambda c: (-c.score, c.position, c.name))
    # junk ("MB", "NOTE", a file name) takes no place a name could have, unless the title
    # gives it (boto3, robots.txt); the engine decides on two letters ("S3": "Amazon S3")
    title = title_words(doc)
    ranked = [c for c in ranked if c.score >= 2 and not _junk(c.name, title)][:MAX_CONCEPTS]
    return sorted(ranked, key=lambda c: (c.position, c.name))


def _coined_version(name: str, known: frozenset[str]) -> bool:
    head, _, version = name.rpartition(" ")
    coined = coined_form(head) if head else None
    if coined is None or coined[1] == "acronym" or normalize_key(head) in known:
        return False  # an acronym with a number is as often a code or a label ("NT 10.0")
    return _VERSION.fullmatch(version) is not None


def _junk(name: str, title: frozenset[str]) -> bool:
    return sum(c.isalnum() for c in name) != 2 and is_junk(name, title)


def _add_phrases(
    scanner: _Scanner, concepts: dict[str, Concept], acronyms: dict[str, _Tally]
) -> None:
    by_initials: dict[str, str] = {}
    for key, tally in acronyms.items():
        by_initials[tally.best_form().upper()] = key
    accepted: list[tuple[tuple[str, ...], _Tally, str]] = []
    plain: list[tuple[tuple[str, ...], _Tally, str]] = []
    for words, tally in scanner.phrases.items():
        if tally.count < 2 or all(w in GENERIC_PHRASE_WORDS for w in words):
            continue
        if words[0].endswith("ly") or words[-1].endswith("ly"):
            continue
        if words[0].split("-")[0] in STOPWORDS:
            continue  # "million-token context", "few-step samplers"
        initials = "".join(w[0] for w in words).upper()
        lead = concept_key(words[0])
        if tally.title_case and initials in by_initials and len(initials) >= 3:
            accepted.append((words, tally, by_initials[initials]))
        elif (tally.title_case and tally.proper_first) or tally.mid_caps >= 2:
            accepted.append((words, tally, ""))
        elif lead in acronyms and tally.count >= acronyms[lead].count:
            # the acronym never appears without this word after it ("KV cache")
            concepts.pop(lead, None)
            accepted.append((words, tally, ""))
        elif tally.count >= 3:
            plain.append((words, tally, ""))
    plain.sort(key=lambda item: (-item[1].count, item[1].position))
    chosen = accepted + plain
    plain_ids = {id(item[1]) for item in plain}
    # a phrase inside a longer accepted phrase that occurs as often is only part of it
    covered: dict[tuple[str, ...], int] = {}
    for words, tally, _ in chosen:
        if len(words) == 3:
            for part in (words[:2], words[1:]):
                covered[part] = max(covered.get(part, 0), tally.count)
    chosen = [item for item in chosen if covered.get(item[0], 0) < item[1].count]
    phrases_taken = 0
    for _words, tally, acronym_key in chosen:
        is_plain = id(tally) in plain_ids
        if is_plain and phrases_taken >= MAX_PHRASES:
            continue
        form = tally.best_form()
        if form[:1].islower():
            form = form[:1].upper() + form[1:]
        key = concept_key(form)
        if key in concepts:
            concepts[key].count += tally.count  # "KV cache" beside "KV-cache"
            continue
        concept = Concept(form, [], tally.count, tally.position, 0, [], "phrase")
        if acronym_key and acronym_key in concepts:
            acronym = concepts.pop(acronym_key)
            concept.aliases.append(acronym.name)
            concept.count += acronym.count
            concept.position = min(concept.position, acronym.position)
        elif acronym_key:
            concept.aliases.append(acronyms[acronym_key].best_form())
        concepts[key] = concept
        phrases_taken += 1 if is_plain else 0


_COINED_QUOTE = re.compile(
    r"\b(?:called|named|dubbed|termed|call|calls|term|known as|coined)\s+(?:the\s+|a\s+|an\s+)?"
    r"[\"“‘']([A-Za-z][\w.+-]*(?:\s[\w.+-]+){0,2})[\"”’']"
)

_ANNOUNCES = re.compile(r"([^:]+):\s+\S*\w")
_NEXT_WORD = re.compile(r" ([a-z][\w-]*)")


def _add_announced(
    doc: Document, concepts: dict[str, Concept], person_words: frozenset[str]
) -> None:
    """Names the writer announces: a heading "Name: what it is" and a coined name in quotes
    ("a trick we call “logit lens”"). Capitals alone say nothing; these forms do."""
    for sentence in doc.sentences:
        if sentence.boilerplate:
            continue
        found: list[str] = []
        # "Name: what it is" says what follows; a line ending on a colon ("Returning:",
        # "And found this:") only introduces a sample, and "dialog:modal" is a selector
        announced = _ANNOUNCES.match(sentence.body) if sentence.kind in (HEADING, TITLE) else None
        if announced:
            head = announced.group(1).strip().strip('*_`"“”')
            words = head.split()
            if (
                0 < len(words) <= 3
                and head[:1].isalpha()
                and not all(everyday(w) for w in words)
                and not any(w in person_words for w in words)
                and not re.search(r"\b(?:part|step|chapter|lesson|update|note)\b", head, re.I)
            ):
                found.append(head)
        for match in _COINED_QUOTE.finditer(sentence.scan):
            # 'called an "unrolled" view' describes; 'the term "agents"' discusses a word
            after = _NEXT_WORD.match(sentence.scan, match.end())
            word = match.group(1)
            lone = word.islower() and " " not in word
            if not (lone and (everyday(word) or (after and after.group(1) not in STOPWORDS))):
                found.append(word)
        for name in found:
            key = concept_key(name)
            concept = concepts.get(key)
            if concept is None:
                concept = concepts[key] = Concept(name, [], 1, sentence.index, 0, [], "name")
            concept.bonus += 2


def _drop_parts(concepts: dict[str, Concept]) -> None:
    """A word seen only as part of a longer concept ("Pareto" in "Pareto frontier") is that
    concept, not one of its own."""
    for key, concept in list(concepts.items()):
        if " " in concept.name or concept.aliases or concept.bonus:
            continue  # a name defined, a heading's subject or in the title stands alone
        for other in concepts.values():
            words = [concept_key(w) for w in other.name.split()]
            if other is not concept and key in words and other.count >= concept.count:
                del concepts[key]
                break


def _mark_subjects(doc: Document, concepts: dict[str, Concept]) -> None:
    """A heading that starts with a concept ("FeatureBench: ...", "microGPT") is about it: the
    concept earns a bonus and the section's first sentences become its facts."""
    for sentence in doc.sentences:
        if sentence.kind != HEADING or sentence.boilerplate:
            continue
        subject = heading_subject(sentence.body)
        if not subject:
            continue
        concept = concepts.get(concept_key(subject))
        if concept is not None and sentence.index not in concept.subject_of:
            concept.subject_of.append(sentence.index)
            concept.bonus += 2
