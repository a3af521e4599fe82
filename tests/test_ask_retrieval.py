"""`wiki ask` finds the page a question is about, however the question is phrased, and still
says "not covered", without an answerer call, on topics the wiki lacks.

The wiki here is made-up documents shaped like the real posts that exposed the old word-count
gate: a page named after a small project, its source page, and many pages sharing the
question's common words."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from llmwiki.ask import ask
from llmwiki.engines.answerer import NOT_COVERED, Answer, ContextPage
from llmwiki.engines.extractive.answerer import ExtractiveAnswerer
from llmwiki.pages import render
from llmwiki.search import SearchIndex
from llmwiki.vault import Vault

FILLER = [
    ("Python", "Python is a programming language; many projects are a few hundred lines of it."),
    ("Lines of code", "Counting lines of code says little about what a program implements."),
    ("Next-word prediction", "Predicting the next word is how most language models train."),
    ("Sampling", "Sampling picks the next word from a distribution instead of the top one."),
    ("Components", "Most programs implement their components in separate files."),
    # the common words of a real wiki are on many of its pages
    *(
        (
            f"Note {n}",
            f"Note {n} found that Python components implement sampling in a few lines; "
            "predicting the next word is instead left to the model.",
        )
        for n in range(9)
    ),
    ("Found", "Found is a word that appears on many pages of this wiki."),
]


def page(vault: Vault, folder: str, title: str, kind: str, body: str, **meta: object) -> None:
    path = vault.wiki / folder / f"{title}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = {"title": title, "type": kind, "aliases": [], "summary": body.split(".")[0]}
    path.write_text(render({**fields, **meta}, body), encoding="utf-8")


@pytest.fixture
def wiki(vault: Vault) -> Vault:
    page(
        vault,
        "concepts",
        "tinyFormer",
        "concept",
        "tinyFormer is a small transformer.\n\n## Facts\n\n"
        "- It implements attention and a tokenizer. — [[Building tinyFormer]]",
        sources=["[[Building tinyFormer]]"],
    )
    page(
        vault,
        "sources",
        "Building tinyFormer",
        "source",
        "A walk through [[tinyFormer]]: its attention, its tokenizer, its training loop.",
    )
    page(
        vault,
        "concepts",
        "Vec2Word",
        "concept",
        "Vec2Word is an embedding model.\n\n## Facts\n\n"
        "- Vec2Word trains with contrastive sampling.",
        aliases=["vec2word model"],
    )
    page(vault, "concepts", "Encoder", "concept", "An encoder maps a sequence to vectors.")
    for title, body in FILLER:
        page(vault, "concepts", title, "concept", body)
    return vault


class Counting:
    """An answerer that records its calls and cites the pages it was given."""

    name = "counting"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def answer(
        self,
        question: str,
        pages: Sequence[ContextPage],
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        self.calls.append([p.stem for p in pages])
        return Answer(" ".join(f"[[{p.stem}]]" for p in pages[:3]))


def test_a_long_question_about_a_titled_page_is_answered_from_it(wiki: Vault) -> None:
    question = "What components does tinyformer implement in its 300 lines of Python?"
    result = ask(wiki, ExtractiveAnswerer(), question)
    assert result.citations and result.citations[0] in ("tinyFormer", "Building tinyFormer")
    counting = Counting()
    ask(wiki, counting, question)
    assert counting.calls[0][0] == "tinyFormer"  # the page it is about comes first


def test_a_question_longer_than_the_page_still_finds_it(wiki: Vault) -> None:
    for question in (
        "Why does vec2word switch to contrastive sampling?",
        "Why does vec2word switch to contrastive sampling instead of predicting the next word?",
    ):
        result = ask(wiki, ExtractiveAnswerer(), question)
        assert result.citations[:1] == ("Vec2Word",), (question, result.answer)


@pytest.mark.parametrize(
    ("question", "stem"),
    [
        ("How big is tinyformer's training loop?", "tinyFormer"),
        ("What do Encoders produce?", "Encoder"),
        ("what is the VEC2WORD MODEL for?", "Vec2Word"),  # an alias, in any case
    ],
)
def test_names_in_possessives_plurals_and_aliases_bring_the_page(
    wiki: Vault, question: str, stem: str
) -> None:
    with SearchIndex(wiki) as index:
        hits = index.search(question)
    named = [h.stem for h in hits if h.named]
    # first among equals: a page holding more of the question (its source) may come first
    assert named == [stem] and stem in [h.stem for h in hits[:2]]


def test_absent_topics_are_not_covered_and_cost_no_answerer_call(wiki: Vault) -> None:
    counting = Counting()
    for question in (
        "What is the capital city of Australia?",
        "How do I repot an orchid without damaging its roots?",
        "Which vitamins are found in spinach?",  # "Found" is a page, but a common word here
        "How many lines of poetry did Homer write?",  # common words of the wiki, no subject
    ):
        result = ask(wiki, counting, question)
        assert result.answer == NOT_COVERED and not result.citations, question
    assert counting.calls == []
