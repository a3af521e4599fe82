"""What an engine's output becomes on a page: grounded quotes, code-made links, fact bullets.

Engines return plain text. Any `[[link]]` they write is flattened, and links are made here, by
code, to pages that exist after the write, so the wiki never holds a phantom link.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from llmwiki.catalog import Catalog
from llmwiki.engines import Fact, KnownFact
from llmwiki.identity import fact_key, without_citation
from llmwiki.pages import inert_line, inert_text, parse_links, render_link, section_lines, unlink

FACTS_HEADING = "Facts"

_QUOTE_CHARS = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u00a0": " ",
    }
)


def _squash(text: str) -> str:
    """The form quotes are checked in: whitespace removed, typographic quotes and dashes
    straightened (models routinely straighten them when copying)."""
    return re.sub(r"\s+", "", text.translate(_QUOTE_CHARS))


class Grounder:
    """Checks that quotes really are in the source text."""

    def __init__(self, source_text: str) -> None:
        self._text = _squash(source_text)

    def contains(self, quote: str) -> bool:
        squashed = _squash(quote)
        return bool(squashed) and squashed in self._text

    def ground(self, fact: Fact) -> Fact:
        """`fact` with its quote dropped unless the quote is verbatim source text."""
        statement = clean(fact.statement)
        quote = clean(fact.quote).strip('"')
        if quote and not self.contains(quote):
            quote = ""
        return Fact(statement=statement or quote, quote=quote)


def clean(text: str) -> str:
    """Engine text -> one line of plain text: links flattened, no markup that breaks a bullet."""
    text = unlink(text)
    text = text.replace("[[", "").replace("]]", "")
    return " ".join(text.split())


class Linker:
    """Turns the first mention of each known name in a text into a link to its page."""

    def __init__(self, names: Mapping[str, str]) -> None:
        # name -> stem; longest names first so "Andrej Karpathy" wins over "Karpathy". One-
        # and two-letter names ("X", "Go") are everywhere in running text as something else.
        usable = {n: s for n, s in names.items() if len(re.sub(r"\W", "", n)) >= 3}
        self._stems = usable
        ordered = sorted(usable, key=lambda n: (-len(n), n))
        # never inside a longer token: not "[[GPT]]-3", "x[[86]]", "git-filter-[[repo]]"
        self._re = (
            re.compile(
                r"(?<![\w\[|])(?<!\w[-.])("
                + "|".join(re.escape(n) for n in ordered)
                + r")(?![\w\]])(?![-.]\w)"
            )
            if ordered
            else None
        )

    def linkify(self, text: str, skip_stem: str = "") -> str:
        if self._re is None:
            return text
        done: set[str] = {skip_stem}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            stem = self._stems[name]
            if stem in done:
                return name
            done.add(stem)
            return render_link(stem, name)

        return self._re.sub(replace, text)


def render_fact(fact: Fact, source_stem: str, linker: Linker, self_stem: str) -> str:
    """A bullet: the statement (or the verbatim quote), then its source as a link. Source
    text is escaped so that it renders as text (see `inert_text`)."""
    whole_quote = bool(fact.quote) and fact_key(fact.quote) == fact_key(fact.statement)
    # unquoted, the statement starts the bullet, where "1. " or "> " would be markup
    escaped = inert_text(fact.statement) if whole_quote else inert_line(fact.statement)
    statement = linker.linkify(escaped, skip_stem=self_stem)
    if whole_quote:
        text = f'"{statement}"'
    elif fact.quote:
        text = f'{statement} ("{inert_text(fact.quote)}")'
    else:
        text = statement
    return f"- {text} — {render_link(source_stem)}"


def known_facts(body: str, catalog: Catalog) -> list[KnownFact]:
    """The bullets of a page's Facts section, each with the source page it cites."""
    facts = []
    for line in section_lines(body, FACTS_HEADING):
        if not line.startswith(("- ", "* ")):
            continue
        source = ""
        date = ""
        for link in reversed(parse_links(line)):
            entry = catalog.get(link.target) or catalog.lookup(link.target)
            if entry is not None and entry.type == "source":
                source, date = entry.title, entry.date
                break
        statement = without_citation(line[2:])
        facts.append(KnownFact(text=unlink(statement).strip(), source=source, date=date))
    return facts


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def one_line(text: str, limit: int = 240) -> str:
    """`text` on one line, cut at a word boundary to at most about `limit` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"
