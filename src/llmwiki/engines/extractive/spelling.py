"""What one word's spelling says about it as a name, for finding concepts: a coined spelling
(microGPT, SWE-bench, FP8), a proper noun that is not vocabulary, a word a key phrase can be
made of, a tool's name written as code, the words of the document's links, how a lower-case
word is used.

These look at a word (or a token and its sentence) alone; `concepts` weighs what they say
across the document.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection

from llmwiki.engines.extractive.lexicon import (
    CODE_HOSTS,
    CODE_WORDS,
    COMMON_WORDS,
    FILE_TYPES,
    FIRST_NAMES,
    GENERIC_CONCEPTS,
    HOST_WORDS,
    HYPHEN_PREFIXES,
    HYPHEN_SUFFIXES,
    REGISTRIES,
    STOPWORDS,
)
from llmwiki.engines.extractive.text import HEADING, TITLE, Document, Sentence, Token

_MEASURE = re.compile(r"\d+(?:[.,]\d+)*[A-Za-z]{0,2}\+?")
ACRONYM = re.compile(r"[A-Z]{2,6}s?")
CAMEL = re.compile(r"[a-z][A-Z]|[A-Z]{2,}[a-z]+[A-Z]?")
LOWER_SUFFIXES = (
    "ing", "tion", "sion", "ness", "ment", "ly", "ed", "ity", "ous", "ive", "able", "ible",
    "al", "er", "ers", "est", "ism", "ist", "ize", "ise", "ful", "less",
)  # fmt: skip


def _strip_suffixes(word: str) -> str:
    parts = word.split("-")
    while len(parts) > 1 and parts[-1].lower() in HYPHEN_SUFFIXES:
        parts.pop()
    return "-".join(parts)


@functools.lru_cache(maxsize=8192)
def coined_form(word: str) -> tuple[str, str] | None:
    """(form, kind) when `word` is spelled like a name nobody writes by accident."""
    word = _strip_suffixes(word)
    if len(word) < 2 or _MEASURE.fullmatch(word) or word.lower() in GENERIC_CONCEPTS:
        return None
    if ACRONYM.fullmatch(word):
        form = word[:-1] if word.endswith("s") else word
        return (form, "acronym") if form.lower() not in GENERIC_CONCEPTS else None
    if len(word) < 3 or not any(c.isalpha() for c in word):
        return None
    parts = word.split("-")
    has_digit = any(c.isdigit() for c in word)
    if CAMEL.search(word) or (has_digit and word[0].isalpha()):
        return word, "coined"
    if len(parts) > 1 and any(ACRONYM.fullmatch(p) for p in parts) and all(parts):
        return word, "coined"
    return None


def is_proper(token: Token) -> bool:
    """A capitalised word that is not vocabulary and not capitalised only by position."""
    word = token.text
    return (
        word[:1].isupper()
        and not token.initial
        and not any(part.lower() in COMMON_WORDS for part in word.split("-"))
        and word.lower() not in GENERIC_CONCEPTS
        and not ACRONYM.fullmatch(word)
    )


def is_phrase_word(token: Token) -> bool:
    word = token.text
    if not word[:1].isalpha() or any(c.isdigit() for c in word):
        return False
    if word.lower() in STOPWORDS:
        return False
    if coined_form(word) is not None and not ACRONYM.fullmatch(word):
        return False
    return len(word) > 2 or word.isupper()


def singular(word: str) -> str:
    low = word.lower()
    if len(low) > 3 and low.endswith("s") and not low.endswith("ss"):
        return low[:-1]
    return low


def everyday(word: str) -> bool:
    """A word of the language, in any case, singular or plural ("tables", "Settings")."""
    low = word.lower()
    return any(w in COMMON_WORDS or w in CODE_WORDS for w in (low, singular(low))) or (
        low in STOPWORDS
    )


def name_like(word: str) -> bool:
    """Capitalised, not vocabulary, not a given name, not an inflected word."""
    low = word.lower()
    return (
        word[:1].isupper()
        and word[1:].islower()
        and word.isalpha()
        and len(word) > 3
        and low not in COMMON_WORDS
        and low not in FIRST_NAMES
        and low not in GENERIC_CONCEPTS
        and not low.endswith(("ing", "ed", "ly", "tion", "ment", "ness", "ies"))
    )


def hyphenated_name(word: str, linked: bool = False) -> bool:
    """A lower-case hyphenated name used in prose: sqlite-utils, s3-credentials. Hyphenated
    vocabulary ("pre-trained", "state-of-the-art", "open-source") is not. A name that a link's
    text gives as its target's (`linked`) may hold stop words: github-to-sqlite."""
    parts = word.split("-")
    if len(parts) < 2 or not all(p.isalnum() for p in parts) or parts[0] in HYPHEN_PREFIXES:
        return False
    if any(p.isdigit() for p in parts) or (not linked and any(p in STOPWORDS for p in parts)):
        return False
    return not all(p in COMMON_WORDS or p in STOPWORDS for p in parts)


def in_backticks(sentence: Sentence, token: Token) -> bool:
    """The writer wrote `token` as code."""
    scan = sentence.scan
    return scan[token.start - 1 : token.start] == "`" == scan[token.end : token.end + 1]


def written_lower(doc: Document) -> frozenset[str]:
    """The words the writer writes in lower case in running text: vocabulary, where a name
    keeps its capital. `markdown` in code is a spelling, and a heading's case is the site's
    style, so neither counts."""
    return frozenset(
        t.text
        for s in doc.sentences
        if s.kind != HEADING and not s.boilerplate
        for t in s.tokens
        if t.text.islower() and not in_backticks(s, t)
    )


_UI_VERBS = frozenset({"click", "clicked", "clicking", "press", "hit", "tap", "select", "choose"})
_UI_LIST = re.compile(r"\b(?:buttons?|tabs?|menus?|options|fields|labels?)\s*:", re.IGNORECASE)
_UI_NOUNS = frozenset({"button", "tab", "menu", "option", "link", "field", "dialog", "screen"})


def interface_label(sentence: Sentence, i: int) -> bool:
    """`sentence.tokens[i]` is a label on a screen, capitalised because the screen is: a
    button ("click Continue", "the Save button", "Buttons: Cancel, Deploy"), a menu path
    ("Security & Privacy > General") or a numbered part ("Layer 0")."""
    tokens = sentence.tokens
    if _UI_LIST.search(sentence.scan, 0, tokens[i].start):
        return True  # "Buttons: Cancel, Save as Draft, Deploy"
    around = sentence.scan[max(tokens[i].start - 3, 0) : tokens[i].end + 3]
    after = tokens[i + 1].text if i + 1 < len(tokens) else ""
    return ">" in around or "&" in around or on_screen(tokens, i, i) or after[:1].isdigit()


def on_screen(tokens: tuple[Token, ...], first: int, last: int) -> bool:
    """The words `tokens[first:last + 1]` are a button or a tab: clicked ('click "Allow
    Anyway"') or named as one ("the Save Draft button"). A menu path or a number after them
    says less of a run than of one word: "Orbweave Cloud Firewall > Rules" is the product's
    own name."""
    before = tokens[first - 1].text.lower() if first > 0 else ""
    after = tokens[last + 1].text.lower() if last + 1 < len(tokens) else ""
    return before in _UI_VERBS or after in _UI_NOUNS


def code_name(sentence: Sentence, token: Token) -> bool:
    """A tool written as code in a sentence ("install `sqlite-utils`"): a hyphenated or
    dotted name in backticks that is not vocabulary. Commands and flags are not names."""
    word = token.text
    if sentence.kind in (HEADING, TITLE) or not ("-" in word or "." in word):
        return False
    parts = re.split(r"[-.]", word.lower())
    return (
        in_backticks(sentence, token)
        and not all(p in COMMON_WORDS for p in parts)
        and len(word) > 3
    )


def code_constant(sentence: Sentence, token: Token, commands: Collection[str] = ()) -> bool:
    """A word written as code that is not a tool's name (nor one of the `commands` the
    document runs): a constant or a class of a program (`LINE`, `BlockType`)."""
    return (
        in_backticks(sentence, token)
        and not code_name(sentence, token)
        and token.text not in commands
    )


def url_words(urls: tuple[str, ...]) -> frozenset[str]:
    """The words of the links that can name a project: the labels of the host, the owner and
    project on a code host, the package on a registry, and elsewhere a path of one part
    ("example.org/terrain-tiles/"). A query is a program's input (`?sql=select ...`), and a
    longer path is the site's own filing ("/earthquakes/feed/", "/releases/tag/")."""
    words: set[str] = set()
    for url in urls:
        match = re.match(r"(\w+://)?([^/?#]*)([^?#]*)(?:\?[^#]*)?(?:#(.*))?", url)
        if match is None:
            continue
        scheme, host, path, fragment = match.groups(default="")
        host = host.lower()
        parts = [re.sub(r"\.\w{1,5}$", "", p) for p in path.split("/") if p]
        labels = host.split(".")
        if host in CODE_HOSTS:
            named = parts[:2]
        elif host in REGISTRIES:
            named = parts[1:2]
        elif not scheme and not parts and labels[-1] in FILE_TYPES:
            named = []
        else:
            named = [*labels[:-1], *(parts if len(parts) == 1 else [])]
        for part in [*named, fragment]:
            # a slug's first word may name the project ("nanochat-students"); its other
            # words describe ("terrain-tiles", "what-is-x")
            part = part.lower()
            if part and part not in HOST_WORDS:
                words.update((part, part.split("-")[0]))
    return frozenset(words)


_URL_PARTS = re.compile(r"(?:\w+://([^/?#]*))?(.*)", re.DOTALL)


def link_names(links: tuple[tuple[str, str], ...]) -> frozenset[str]:
    """The texts of links that name their target, such as "[dclient](…/simonw/dclient)" or
    "[acme/quillbeam](https://github.com/acme/quillbeam)": the name of a project or a page, in
    lower case. A word of a link's path alone ("…/commit/…", "…/events") is mostly
    vocabulary."""
    names: set[str] = set()
    for text, target in links:
        name = text.strip().strip("`").lower()
        parts = _URL_PARTS.fullmatch(target.lower())
        host, path = parts.groups(default="") if parts else ("", target.lower())
        if name and name in re.split(r"[/#?=&]+", path):
            names.add(name)
        elif name.count("/") == 1 and host in CODE_HOSTS and path.startswith(f"/{name}"):
            names.add(name.split("/")[1])
    return frozenset(names)


DETERMINERS = frozenset(
    {"the", "a", "an", "this", "that", "these", "those", "your", "my", "our", "their", "its",
     "his", "her", "some", "any", "each", "every", "another", "no"}
)  # fmt: skip


def common_use(tokens: tuple[Token, ...], i: int) -> bool:
    """`tokens[i]`, a lower-case word, is used as a common noun here: after a determiner, a
    number or a name that modifies it ("the repo", "that bucket", "an S3 bucket", "the Fly
    registry"), and not itself modifying a word after it ("the nanochat repo" names it)."""
    token = tokens[i]
    if i == 0 or not token.joined:
        return False
    before = tokens[i - 1]
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    if nxt is not None and nxt.joined and nxt.text.lower() not in STOPWORDS:
        return False
    low = before.text.lower()
    modifier = (before.text[:1].isupper() and not before.initial) or before.text.isdigit()
    return low in DETERMINERS or modifier
