"""What code checks in an overview the LLM engine wrote, before it reaches a page (#14).

A model summarising fifty facts can invent a figure, cite a source the page never had, or link
a page that does not exist; a reader cannot tell such a sentence from a grounded one. So every
sentence must name the sources it rests on, and code verifies the claim against the page's own
facts: each cited source is one the facts cite, each number and quoted phrase appears in a fact
from a cited source (or is that source's date), and each link resolves. The functions here are
pure: the ingest pipeline supplies the facts and the page lookup.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from llmwiki.engines import KnownFact, OverviewSentence
from llmwiki.identity import fact_key
from llmwiki.pages import inert_line, inert_text, parse_links, unlink

MIN_SENTENCES = 1  # a page with one fact has one thing to say (the prompt asks for 2 to 6)
MAX_SENTENCES = 6
MAX_FACTS = 40  # facts one rewrite sees at most, whatever the page holds
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_QUOTE = re.compile(r"[\"“]([^\"”]+)[\"”]")


def select_facts(facts: Sequence[KnownFact], limit: int = MAX_FACTS) -> list[KnownFact]:
    """At most `limit` facts, in page order: the most-cited (a statement several sources make)
    first, then the newest; the input is bounded whatever the page's length."""
    if len(facts) <= limit:
        return list(facts)
    cited: dict[str, int] = {}
    for fact in facts:
        cited[fact_key(fact.text)] = cited.get(fact_key(fact.text), 0) + 1
    ranked = sorted(
        range(len(facts)),
        key=lambda i: (cited[fact_key(facts[i].text)], facts[i].date, i),
        reverse=True,
    )
    return [facts[i] for i in sorted(ranked[:limit])]


def check(
    sentences: Sequence[OverviewSentence],
    facts: Sequence[KnownFact],
    exists: Callable[[str], bool],
) -> list[str]:
    """The problems of a rewrite, each a line the model can act on; empty when it may be written.
    `exists` says whether a link target names a page of the wiki."""
    problems: list[str] = []
    if not MIN_SENTENCES <= len(sentences) <= MAX_SENTENCES:
        problems.append(f"write {MIN_SENTENCES} to {MAX_SENTENCES} sentences, not {len(sentences)}")
    by_source: dict[str, list[KnownFact]] = {}
    for fact in facts:
        if fact.source:
            by_source.setdefault(fact.source.casefold(), []).append(fact)
    for n, sentence in enumerate(sentences, 1):
        where = f"sentence {n}"
        if not sentence.text.strip():
            problems.append(f"{where} is empty")
            continue
        if not sentence.sources:
            problems.append(f"{where} cites no source")
        grounds: list[KnownFact] = []
        for source in sentence.sources:
            cited = by_source.get(source.strip().casefold())
            if cited is None:
                problems.append(f"{where} cites {source!r}, which no fact of the page cites")
            else:
                grounds += cited
        evidence = " ".join(f"{f.text} {f.date}" for f in grounds)
        plain = unlink(sentence.text)
        numbers = {_digits(m) for m in _NUMBER.findall(evidence)}
        for number in dict.fromkeys(_NUMBER.findall(plain)):
            if _digits(number) not in numbers:
                problems.append(f"{where} states {number}, which no fact of its sources states")
        said = " ".join(unlink(evidence).casefold().split())
        for quoted in dict.fromkeys(_QUOTE.findall(plain)):
            if " ".join(quoted.casefold().split()) not in said:
                problems.append(f'{where} quotes "{quoted}", which no fact of its sources says')
        for link in parse_links(sentence.text):
            if not exists(link.target):
                problems.append(f"{where} links [[{link.target}]], which is not a page")
    return problems


def render(sentences: Sequence[OverviewSentence], link_of: Callable[[str], str]) -> str:
    """One paragraph; every sentence ends with links to the sources it rests on (`link_of`
    turns a cited source's title into its link)."""
    out = []
    for n, sentence in enumerate(sentences):
        # the first starts the paragraph, where a leading "#", ">" or "-" would be markup
        text = (inert_text if n else inert_line)(" ".join(sentence.text.split()))
        end = "." if text.endswith(".") else ""
        cites = ", ".join(dict.fromkeys(link_of(s) for s in sentence.sources))
        out.append(f"{text.removesuffix('.')} ({cites}){end}")
    return " ".join(out)


def _digits(number: str) -> str:
    """A number compared by its digits: "12,000" and "12000" are the same figure."""
    return number.replace(",", "")
