"""Names that need no repetition to count, found from how the writer spells them or where
they put them:
- in a running sentence: a run of capitalised words ("hosted on GitHub Pages", "the Web
  Application Firewall"), a product's spelling (DeepMind, Node.js, Cache-Control), a lone
  capitalised word that is not vocabulary ("deployed to Heroku"), a word of the language
  capitalised twice ("Click", the library), a package the text links or installs;
- in the title: a tool the code runs (pytest, boto3), an everyday acronym a note is about
  (SQL), a phrase the text uses again ("wildcard DNS"), or the whole of a short title (Pisco
  sour);
- in a heading: a term the section goes on to use ("The Learning Rate").

Repetition is the evidence `concepts` asks of everything else. A short note names its subject
once or twice, so there the evidence is the spelling or the place: nobody capitalises "Hacker
News" mid-sentence, or writes a word in a title, by accident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llmwiki.engines.extractive.lexicon import (
    CALENDAR,
    COMMON_WORDS,
    FIELDS,
    FIRST_NAMES,
    GENERIC_PHRASE_WORDS,
    STOPWORDS,
)
from llmwiki.engines.extractive.spelling import (
    ACRONYM,
    CAMEL,
    common_use,
    everyday,
    hyphenated_name,
    in_backticks,
    interface_label,
    name_like,
    on_screen,
    singular,
)
from llmwiki.engines.extractive.text import HEADING, PROSE, TITLE, Document, Sentence, Token
from llmwiki.identity import concept_key
from llmwiki.normalize import Code

TITLE_BONUS = 2  # a name in the title is what the document is about
MAX_NAME_WORDS = 4  # a longer run of capitals mid-sentence is the title of a work
_PRODUCT = re.compile(r"[A-Z][a-z]*[A-Z][A-Za-z]*|[A-Z][a-z]+\.js")  # DeepMind, NeXT, Node.js
_HEADER = re.compile(r"[A-Z][a-z]+(?:-[A-Z][a-z]+)+")  # an HTTP header: Cache-Control
_LOWER_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


@dataclass
class Salient:
    name: str
    count: int  # mentions outside the title
    position: int  # first sentence
    bonus: int  # what the spelling or the place says: more for the title


def _capitalised(token: Token) -> bool:
    word = token.text
    return (
        word[:1].isupper()
        and len(word) > 1
        and word.lower() not in STOPWORDS
        and not any(c.isdigit() for c in word)
    )


def _headline(sentence: Sentence) -> bool:
    """Mostly capitalised words: a title quoted or linked in a list ("Easily Fooled")."""
    capitals = sum(1 for t in sentence.tokens if t.text[:1].isupper())
    return capitals * 2 > len(sentence.tokens)


def _capital_runs(sentence: Sentence, person_words: frozenset[str]) -> list[list[Token]]:
    """Runs of two to four capitalised words inside a running sentence."""
    tokens = sentence.tokens
    found: list[list[Token]] = []
    run: list[Token] = []

    def close() -> None:
        if not 2 <= len(run) <= MAX_NAME_WORDS or any(t.possessive for t in run):
            return  # a possessive belongs to a person's or a work's name: "Tunney's"
        if run[0].initial and not CAMEL.search(run[0].text):
            return  # capitalised by position: "Cloud Run" opening a sentence says nothing
        if any(t.text.lower() in FIRST_NAMES or t.text in person_words for t in run):
            return  # a person, or one beside a name ("CSS Natalie"): `names` weighs those
        first, last = tokens.index(run[0]), tokens.index(run[-1])
        if _bridged(tokens, first, last):
            return
        if on_screen(tokens, first, last):
            return  # 'click "Allow Anyway"', "the Save Draft button": a label on a screen
        if all(t.text.lower() in GENERIC_PHRASE_WORDS or ACRONYM.fullmatch(t.text) for t in run):
            return  # "AI Agents", "API Keys"
        found.append(list(run))

    for token in tokens:
        if _capitalised(token):
            if run and token.joined and not run[-1].possessive:
                run.append(token)
                continue
            close()
            run = [token]
        else:
            close()
            run = []
    close()
    return found


_BRIDGES = frozenset({"a", "an", "the", "of", "on", "in", "to", "for", "with", "is", "are", "at"})


def _bridged(tokens: tuple[Token, ...], first: int, last: int) -> bool:
    """The run is a piece of a title in Title Case, which small words join to more capitals:
    "Running Docker on an M1 Mac", "Neural Networks are Easily Fooled"."""
    for step, end in ((-1, first), (1, last)):
        i = end + step
        while 0 <= i < len(tokens) and tokens[i].text.lower() in _BRIDGES:
            i += step
        if i != end + step and 0 <= i < len(tokens) and tokens[i].text[:1].isupper():
            return True
    return False


_KINDS = frozenset({"vm", "dns", "api", "cli", "sdk", "ui", "db", "os", "ide", "cdn"})


def _head_name(word: str) -> bool:
    """A name in front of a kind of thing, not a verb of a label ("Configure DNS")."""
    return name_like(word) and not word.lower().endswith(("ate", "ize", "ise", "ify", "ure"))


def _spelled_as_product(word: str) -> bool:
    if _PRODUCT.fullmatch(word):
        return not ACRONYM.fullmatch(word)
    # a header's name is made of words of the language; "Fei-Fei" is a given name
    return bool(_HEADER.fullmatch(word)) and any(
        part.lower() in COMMON_WORDS for part in word.split("-")
    )


def _lone_capitals(sentence: Sentence) -> set[int]:
    """Capitalised words inside the sentence with no capitalised word beside them."""
    tokens = sentence.tokens
    found: set[int] = set()
    for i, token in enumerate(tokens):
        before = i > 0 and token.joined and tokens[i - 1].text[:1].isupper()
        after = i + 1 < len(tokens) and tokens[i + 1].joined and tokens[i + 1].text[:1].isupper()
        if token.text[:1].isupper() and not (token.initial or before or after):
            found.add(i)
    return found


_EVERYDAY = re.compile(r"[A-Z][a-z]{2,}")


def _lone_name(sentence: Sentence, i: int, everyday: bool = False) -> bool:
    """A capitalised word alone in a sentence that is a name, not a plural ("Rules"), a
    nationality ("Peruvian"), a word opening a quotation ("Okay, ..."), a button ("click
    Save", "the Continue button"), a menu or a numbered label. With `everyday`, a word of
    the language capitalised ("Click", the library) counts too."""
    tokens, word = sentence.tokens, sentence.tokens[i].text
    if everyday:
        low = word.lower()
        if not _EVERYDAY.fullmatch(word) or low in STOPWORDS | FIRST_NAMES | CALENDAR:
            return False
    elif not name_like(word):
        return False
    if word.endswith(("s", "ian", "ese", "ish")) and not word.endswith("ss"):
        return False
    if sentence.scan[tokens[i].start - 1 : tokens[i].start] in "\"“‘'(":
        return False
    return not interface_label(sentence, i)


def _alone(doc: Document) -> frozenset[str]:
    """Capitalised words the text also uses on their own, not beside another capitalised
    word: "Django" and "SQL" both alone make "Django SQL" two names side by side."""
    return frozenset(
        sentence.tokens[i].text
        for sentence in doc.sentences
        if sentence.kind == PROSE  # a heading capitalises every word
        for i in _lone_capitals(sentence)
    )


class _Found:
    """The names found so far, by key, with their counts and bonuses."""

    def __init__(self) -> None:
        self.names: dict[str, Salient] = {}
        self.pairs: set[str] = set()  # runs whose every word the text also uses alone

    def add(self, name: str, sentence: Sentence, count: int = 1, bonus: int = 1) -> None:
        key = concept_key(name)
        seen = self.names.get(key)
        if seen is None:
            self.names[key] = Salient(name, count, sentence.index, bonus)
        else:
            seen.count += count
            seen.bonus = max(seen.bonus, bonus)

    def result(self) -> list[Salient]:
        # once "Django SQL" and elsewhere "Django" and "SQL": two names side by side
        return [s for key, s in self.names.items() if key not in self.pairs or s.count > 1]


def find_salient(
    doc: Document,
    person_words: frozenset[str],
    code: Code,
    linked: frozenset[str],
    lowercase: frozenset[str],
) -> list[Salient]:
    """Names evident from their spelling or from their place, with how often the text uses
    them; `concepts` decides which become pages. `code`, `linked` (the names the links point
    to) and `lowercase` (`spelling.written_lower`) tell a tool's name from a word of the
    language and from an identifier."""
    found = _Found()
    index = _Words(doc)
    _in_sentences(doc, person_words, code, linked, lowercase, found)
    title = next((s for s in doc.sentences if s.kind == TITLE), None)
    if title is not None:
        _in_title(doc, title, index, person_words, code, found)
    for form, count in _heading_phrases(doc, index, person_words):
        found.add(form, doc.sentences[0], count, TITLE_BONUS)
    return found.result()


def _in_sentences(
    doc: Document,
    person_words: frozenset[str],
    code: Code,
    linked: frozenset[str],
    lowercase: frozenset[str],
    found: _Found,
) -> None:
    alone = _alone(doc)
    everyday: dict[str, list[Sentence]] = {}  # words of the language capitalised alone
    for sentence in doc.sentences:
        if sentence.boilerplate or sentence.kind != PROSE or _headline(sentence):
            continue
        for run in _capital_runs(sentence, person_words):
            name = sentence.scan[run[0].start : run[-1].end]
            found.add(name, sentence)
            if all(t.text in alone for t in run):
                found.pairs.add(concept_key(name))
            head, last = run[0].text, run[-1].text
            if len(run) == 2 and last.lower() in _KINDS and _head_name(head):
                found.add(head, sentence)  # "a Firecracker VM": the name, and the kind
        single = _lone_capitals(sentence)
        for i, token in enumerate(sentence.tokens):
            word = token.text
            if (word in linked and hyphenated_name(word, linked=True)) or (
                word in code.commands and hyphenated_name(word)
            ):
                found.add(word, sentence)  # a package the text links or installs
            if word in person_words or word in code.identifiers or in_backticks(sentence, token):
                continue  # a class or a field of a program ("TypeError", "PassengerId") is code
            if _spelled_as_product(word):
                found.add(word, sentence)
            elif i in single and _lone_name(sentence, i) and word.lower() not in lowercase:
                found.add(word, sentence)  # "deployed to Heroku": capitalised only as a name
            elif i in single and word.lower() in COMMON_WORDS and _lone_name(sentence, i, True):
                everyday.setdefault(word, []).append(sentence)  # "Click", the library
    for word, sentences in everyday.items():
        if len(sentences) >= 2:  # a word of the language capitalised twice mid-sentence
            found.add(word, sentences[0], len(sentences))


def _in_title(
    doc: Document,
    title: Sentence,
    index: _Words,
    person_words: frozenset[str],
    code: Code,
    found: _Found,
) -> None:
    for word in _title_words(title, code.commands):
        uses = [(s, i) for s in doc.sentences if s is not title for i in _uses(s, word)]
        if any(common_use(s.tokens, i) for s, i in uses):
            continue  # "the bucket", "a commit": vocabulary, never a tool's name
        # the code runs it, or the text writes it as a name: "SQL", `dclient`, "Electron"
        named = (len(uses) >= 2 and word.isupper()) or any(
            in_backticks(s, s.tokens[i])
            or (s.tokens[i].text[:1].isupper() and not s.tokens[i].initial)
            for s, i in uses
        )
        if word.lower() in code.commands or named:
            found.add(word, title, len(uses), TITLE_BONUS)
    for form, count in _title_phrases(title, index, person_words):
        found.add(form, title, count, TITLE_BONUS)
    subject = _title_as_name(title, index, person_words)
    if subject is not None:
        found.add(subject[0], title, subject[1], TITLE_BONUS)


def _title_phrases(
    title: Sentence, index: _Words, person_words: frozenset[str]
) -> list[tuple[str, int]]:
    """Phrases of the title that the text uses too, in any case ("Wildcard DNS and SSL on
    Fly", then "configure wildcard DNS"), as the text writes them, with their count: what the
    document is about. A phrase inside a longer one found is part of it."""
    words = [t for t in title.tokens if not any(c.isdigit() for c in t.text)]
    found: list[tuple[str, int]] = []
    taken: set[int] = set()  # title words inside a phrase found
    for n in (3, 2):
        for start in range(len(words) - n + 1):
            gram = words[start : start + n]
            low = [t.text.lower() for t in gram]
            if set(range(start, start + n)) <= taken or not all(t.joined for t in gram[1:]):
                continue
            if any(w in STOPWORDS for w in low) or low[0].endswith(("ing", "ed")):
                continue  # "tacos with eggs", "running OCR": a clause, not a name
            if all(w in COMMON_WORDS or w in GENERIC_PHRASE_WORDS for w in low):
                continue
            if any(t.text in person_words for t in gram):
                continue
            forms = _said(index, [singular(w) for w in low])
            # once is enough where the text writes it as a name ("wildcard DNS", "Cloud Build")
            if len(forms) >= 2 or any(_capitals_inside(f) for f in forms):
                found.append((_usual(forms), len(forms)))
                taken.update(range(start, start + n))
    return found


def _heading_phrases(
    doc: Document, index: _Words, person_words: frozenset[str]
) -> list[tuple[str, int]]:
    """Headings that name a term the section goes on to use ("### The Learning Rate", then
    "a learning rate of 0.01" and "the learning rate"), as the text writes it, with its count:
    a concept the document teaches, though no capital marks it."""
    found: dict[str, tuple[str, int]] = {}
    for sentence in doc.sentences:
        if sentence.kind != HEADING or sentence.boilerplate:
            continue
        words = [t.text for t in sentence.tokens]
        if words and words[0].lower() in ("the", "a", "an"):
            words = words[1:]
        low = [w.lower() for w in words]
        if not 2 <= len(words) <= 3 or any(w in STOPWORDS or not w.isalpha() for w in low):
            continue
        if any(w in person_words for w in words):
            continue
        forms = _said(index, [singular(w) for w in low])
        # everyday words ("learning rate", "next steps") must come back more often to be a term
        if len(forms) >= (3 if all(w in COMMON_WORDS for w in low) else 2):
            found.setdefault(" ".join(low), (_usual(forms), len(forms)))
    return list(found.values())


def _title_as_name(
    title: Sentence, index: _Words, person_words: frozenset[str]
) -> tuple[str, int] | None:
    """A title of two or three words that the text uses again is the name of what the note
    is about ("Pisco sour", then "a pisco sour is..."), with its count."""
    words = [t.text for t in title.tokens]
    low = [w.lower() for w in words]
    if not 2 <= len(words) <= 3 or any(w in STOPWORDS or not w.isalpha() for w in low):
        return None
    if all(w in COMMON_WORDS for w in low) or any(w in person_words for w in words):
        return None
    forms = _said(index, [singular(w) for w in low], skip=(TITLE,))  # a caption counts
    return (title.scan[title.tokens[0].start : title.tokens[-1].end], len(forms)) if forms else None


def _capitals_inside(form: str) -> bool:
    """A capital past the first letter: "Cloud Build", "wildcard DNS", not "Breakfast tacos"."""
    return any(c.isupper() for c in form[1:])


class _Words:
    """Each sentence's words in singular lower case, worked out once per document for the
    phrase searches of `_said`."""

    def __init__(self, doc: Document) -> None:
        self.sentences = [
            (sentence, [singular(t.text) for t in sentence.tokens])
            for sentence in doc.sentences
            if not sentence.boilerplate
        ]


def _usual(forms: list[str]) -> str:
    """The form the text writes most, a plain one before a possessive ("Quillbeam render"
    before "Quillbeam's render"), then the first: never the order of a set, which changes from
    one run to the next."""
    return max(forms, key=lambda f: (forms.count(f), "'" not in f and "’" not in f))


def _said(index: _Words, key: list[str], skip: tuple[str, ...] = (TITLE, HEADING)) -> list[str]:
    """Each place the text writes the words `key` (singular, lower case), as written, outside
    sentences of the kinds `skip` (by default its title and headings)."""
    forms: list[str] = []
    n = len(key)
    for sentence, singulars in index.sentences:
        if sentence.kind in skip or key[0] not in singulars:
            continue
        tokens = sentence.tokens
        for i in range(len(tokens) - n + 1):
            # "Tommy's margarita": a possessive's "'s" joins its words like a space
            joined = all(tokens[j].joined or tokens[j - 1].possessive for j in range(i + 1, i + n))
            if singulars[i : i + n] == key and joined:
                forms.append(sentence.scan[tokens[i].start : tokens[i + n - 1].end])
    return forms


def _title_words(title: Sentence, commands: frozenset[str]) -> list[str]:
    """Names in the title that repetition alone would not make a page: lower-case names that
    are not vocabulary (boto3, nullglob, pytest), a capitalised one the code runs (Docker, and
    Git however short), and an everyday acronym (SQL, CSS) that a note is about."""
    words: list[str] = []
    for token in title.tokens:
        word = token.text
        low = word.lower()
        if word[:1].isupper() and word[1:] == low[1:] and low in commands and not everyday(word):
            words.append(word)  # "Rewriting Git commits", `git commit` in the code
            continue
        if ACRONYM.fullmatch(word):
            # "SQL", "CSS", but not a field ("AI") or a class of things ("LLMs", "GPUs")
            if len(word) > 2 and not word.endswith("s") and word.lower() not in FIELDS:
                words.append(word)
            continue
        if name_like(word) and word.lower() not in COMMON_WORDS:
            words.append(word)  # "Docker" in the title, `docker ps` in the code
            continue
        if not _LOWER_NAME.fullmatch(word) or len(word) < 3:
            continue
        if all(everyday(p) for p in word.split("-")):
            continue
        words.append(word)
    return words


def _uses(sentence: Sentence, word: str) -> list[int]:
    return [i for i, t in enumerate(sentence.tokens) if t.text == word]
