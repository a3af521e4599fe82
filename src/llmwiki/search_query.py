"""What a question asks the search index: its content words and runs of them, quoted so that
no question (quotes, colons, hyphens, `AND`, `*`) can be read as FTS5 query syntax."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_TERMS = 24  # a pasted paragraph must not become a query with hundreds of OR branches
MAX_PHRASE = 4

# Question words and function words: they match nearly every page and rank nothing.
_STOP_TEXT = """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing done down during each else ever
    few for from further get gets got had has have having he her here hers herself him himself
    his how i if in into is it its itself just know let me more most much my myself no nor not
    now of off on once only or other our ours ourselves out over own please same say said says
    she should so some such tell than that the their theirs them themselves then there these
    they this those through to too under until up us very was we were what whats when where
    which while who whom whose why will with would you your yours yourself yourselves
    anything something someone anyone everything thing things wiki page pages
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())

# FTS5's unicode61 tokenizer splits on everything but letters and digits (underscore included).
_WORD_RE = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Query:
    """A question reduced to content words (`terms`) and runs of adjacent ones (`phrases`)."""

    terms: tuple[str, ...]
    phrases: tuple[str, ...] = ()

    @property
    def expression(self) -> str:
        """The FTS5 MATCH expression: every term and phrase quoted, ORed; "" for no term."""
        parts = [quote(t) for t in self.terms] + [quote(p) for p in self.phrases]
        return " OR ".join(parts)


def quote(text: str) -> str:
    # A quoted FTS5 string is never syntax; a quote inside one is written twice.
    return '"' + text.replace('"', '""') + '"'


def fold_word(word: str) -> str:
    text = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in text if not unicodedata.combining(c))


def parse_query(question: str) -> Query:
    """The words of `question` worth searching for, in order, without duplicates."""
    words = [fold_word(w) for w in _WORD_RE.findall(question)]
    # single letters are mostly the debris of "Lambert's" or "U.S."; digits ("OLMo 3") are not
    keep = [not (w in STOP_WORDS or (len(w) == 1 and not w.isdigit())) for w in words]
    terms = list(dict.fromkeys(w for w, k in zip(words, keep, strict=True) if k))[:MAX_TERMS]
    phrases: list[str] = []
    run: list[str] = []
    for word, kept in [*zip(words, keep, strict=True), ("", False)]:
        if kept:
            run.append(word)
            continue
        # Adjacent content words ("Nathan Lambert", "KV-Lite") score again as a phrase, so a
        # page naming the whole thing outranks pages that merely use each word somewhere.
        if len(run) >= 2:
            phrases.append(" ".join(run[:MAX_PHRASE]))
        run = []
    phrases = list(dict.fromkeys(phrases))[: MAX_TERMS // 4]
    return Query(tuple(terms), tuple(phrases))
