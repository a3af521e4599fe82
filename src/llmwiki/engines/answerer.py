"""The Answerer protocol of `wiki ask`, and the values that cross it, which both answerers
implement: the extractive one (`engines.extractive.answerer`) and the LLM one
(`engines.llm.answerer`).

It lives apart from `llmwiki.ask` (retrieval, link checking, saving) so that an answerer
depends only on what it is given, never on the code that calls it: `ask` imports the answerers'
protocol, and no answerer imports `ask`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from llmwiki.engines.base import Usage
from llmwiki.pages import display_text, render_link

__all__ = [
    "BULLET_RE",
    "NOT_COVERED",
    "TRIMMED_MARK",
    "Answer",
    "Answerer",
    "ContextPage",
    "render_block",
]

NOT_COVERED = "The wiki does not cover this question: none of its pages answers it."
TRIMMED_MARK = "\n[…]"  # ends a page's text cut to fit the budget
BULLET_RE = re.compile(r"^(?:[-*+]|\d+[.)])\s+")  # a list item: pages' facts, answers' passages

_TAG_RE = re.compile(r"</?\s*(?:page|pages|question)\b[^>]*>", re.IGNORECASE)


@dataclass(frozen=True)
class ContextPage:
    """A page as an answerer sees it: `text` is its summary and body, trimmed to the budget."""

    stem: str
    title: str
    type: str
    text: str
    aliases: tuple[str, ...] = ()
    trimmed: bool = False
    neighbour: bool = False  # linked from a best hit rather than matched by the question


@dataclass(frozen=True)
class Answer:
    text: str
    usage: Usage = field(default_factory=Usage)
    cut_off: str = ""  # why the answer stopped before the model finished it ("" when it did)


@runtime_checkable
class Answerer(Protocol):
    """Writes an answer from the supplied pages only.

    An answerer that streams passes each piece of text to `on_token` as it comes; what it
    passed, joined, must then be its answer's text. One that does not stream never calls it.
    """

    name: str

    def answer(
        self,
        question: str,
        pages: Sequence[ContextPage],
        on_token: Callable[[str], None] | None = None,
    ) -> Answer: ...


def render_block(page: ContextPage) -> str:
    """A page as it goes into a prompt; the budget counts exactly this text."""
    text = _TAG_RE.sub("", page.text).strip()
    return (
        f"<page>\nLink: {render_link(page.stem)}\nTitle: {display_text(page.title)}\n"
        f"Type: {page.type or 'page'}\n\n{text}\n</page>"
    )
