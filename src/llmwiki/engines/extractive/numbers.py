"""Numeric claims and the conservative test for two of them disagreeing.

Two measurements disagree only when they measure the same thing: the same unit, the same words
right before the number (its subject) and right after the unit (what it is of or on), neither is
hedged ("about", "up to", a range), and the values still differ after rounding to the coarser of
the two precisions (17x and 17.2x agree). Anything less certain is not reported: a false
contradiction on a page costs more than a missed one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from llmwiki.engines.extractive.lexicon import STOPWORDS

_NUMBER = re.compile(
    r"(?<![\w.\-/#$€£])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
    r"(?:\s*(%|percent\b|per cent\b|×|x\b|-fold\b|times\b)|([kKMB])\b)?"
)
_WORD = re.compile(r"(?<![\w.])[A-Za-z][\w'’.\-]*[A-Za-z0-9]|(?<![\w.])[A-Za-z](?![\w])")
_CLAUSE_BREAK = re.compile(r"[,;:()\[\]—–]|\s-\s|\b(?:but|while|whereas|versus|vs|and|or)\b")
_HEDGES = frozenset(
    (
        "about", "approximately", "around", "roughly", "nearly", "almost", "over", "under",
        "above", "below", "least", "most", "than", "some", "estimated", "circa", "beyond",
        "within",
    )
)  # fmt: skip
_SCALE = {
    "k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9,
    "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12,
}  # fmt: skip
_TIME_UNITS = frozenset({"year", "month", "day", "week", "hour", "minute", "second"})


@dataclass(frozen=True)
class Measure:
    value: Decimal
    places: int  # digits after the decimal point, for rounding comparisons
    unit: str
    before: tuple[str, ...]  # up to two content words before the number, in its clause
    after: tuple[str, ...]  # up to two content words after the unit, in its clause
    names: tuple[str, ...]  # named things anywhere in the clause (SWE-bench, GPT-5)
    text: str  # the number as written, with its unit


def measures(text: str) -> list[Measure]:
    """Every unhedged number with a unit in `text`."""
    found: list[Measure] = []
    for match in _NUMBER.finditer(text):
        raw, symbol, scale = match.group(1), match.group(2), match.group(3)
        tail = text[match.end() :]
        if re.match(r"\s*(?:[-–]|to)\s*\d", tail) or re.match(r"[+]|[A-Za-z]", tail):
            continue  # a range, "30+", or a number glued to letters (3D, 28th)
        head = text[: match.start()]
        if re.search(r"\d[\w.%]*\s*(?:[-–]|to|and)\s*$", head):
            continue  # the far end of a range ("19 to 34 percent")
        clause_before = _CLAUSE_BREAK.split(head)[-1]
        before_words = [w.lower() for w in _WORD.findall(clause_before)]
        if before_words and (before_words[-1] in _HEDGES or clause_before.rstrip().endswith("~")):
            continue
        if len(before_words) > 1 and " ".join(before_words[-2:]) in ("up to", "more than"):
            continue
        value, places = _value(raw)
        if value is None:
            continue
        after_text = _CLAUSE_BREAK.split(tail)[0]
        after_raw = _WORD.findall(after_text)
        after_words = [w.lower() for w in after_raw]
        unit = _unit(symbol, scale, after_raw)
        if unit is None:
            continue
        if scale:
            value *= Decimal(str(_SCALE[scale]))
        if unit != "%" and unit != "x" and after_words and after_words[0] in _SCALE:
            value *= Decimal(str(_SCALE[after_words.pop(0)]))
            unit = _singular(after_words[0]) if after_words else unit
        if not symbol and after_words:
            after_words = after_words[1:]  # the first word after a bare number is its unit
        if _is_year(raw, unit) or (unit in _TIME_UNITS and not places and value > 1000):
            continue
        found.append(
            Measure(
                value=value,
                places=places,
                unit=unit,
                before=tuple(_content(before_words)[-2:]),
                after=tuple(_content(after_words)[:2]),
                names=_names(_WORD.findall(clause_before), after_raw),
                text=_as_written(match.group(0).strip(), symbol, after_raw),
            )
        )
    return found


def _value(raw: str) -> tuple[Decimal | None, int]:
    try:
        value = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        return None, 0
    places = len(raw.split(".", 1)[1]) if "." in raw else 0
    return value, places


def _unit(symbol: str | None, scale: str | None, after: list[str]) -> str | None:
    if symbol:
        low = symbol.lower()
        if low in ("%", "percent", "per cent"):
            return "%"
        return "x"
    if after:
        word = after[0]  # as written: "3 Think" is a name, "3 tasks" a count
        if word in _SCALE:
            return word
        if word in STOPWORDS or not (word.isalpha() and word.islower()):
            return None
        return _singular(word)
    return scale


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _content(words: list[str]) -> list[str]:
    return [_singular(w) for w in words if w not in STOPWORDS and w not in _HEDGES]


def _as_written(number: str, symbol: str | None, after: list[str]) -> str:
    if symbol or not after:
        return number
    words = after[: 2 if after[0] in _SCALE and len(after) > 1 else 1]
    return " ".join([number, *words])


def _names(before: list[str], after: list[str]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for i, word in enumerate([*before, *after]):
        inner = any(c.isupper() or c.isdigit() for c in word[1:])
        if inner or (word[0].isupper() and i > 0 and i != len(before)):
            found[word.lower()] = None
    return tuple(sorted(found))


def _is_year(raw: str, unit: str) -> bool:
    return len(raw) == 4 and raw.isdigit() and 1900 <= int(raw) <= 2100 and unit not in ("%", "x")


def same_quantity(a: Measure, b: Measure) -> bool:
    """Do `a` and `b` measure the same thing (so a different value is a disagreement)?"""
    if a.unit != b.unit or a.before != b.before or a.after != b.after or a.names != b.names:
        return False
    context = len(a.before) + len(a.after) + (0 if a.unit in ("%", "x") else 1)
    return bool(a.before) and context >= 2


def disagree(a: Measure, b: Measure) -> bool:
    places = min(a.places, b.places)
    quantum = Decimal(1).scaleb(-places)
    return a.value.quantize(quantum, ROUND_HALF_UP) != b.value.quantize(quantum, ROUND_HALF_UP)
