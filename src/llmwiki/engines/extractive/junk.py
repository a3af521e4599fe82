"""Names that never make a page, whatever the document: classes of junk, not a list of cases.

Real articles are full of tokens shaped like names that are not: one or two letters (`X` in
"500 x 87k", `C4`, `IP`, the `F0`, `F1` of a formula: a label, a variable or an abbreviation
too short to name one thing across documents), a function word in capitals (`BY`, `TO`), a
unit (`MB`), a contraction (`I've`), a code identifier (`beta1`, `input_1`, `amd64`), an image
file or a URL slug (`ranking-v2.png`, `part-2-intro-notes`), markup (`Div class`).
"""

from __future__ import annotations

import re
from itertools import pairwise


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_FUNCTION_WORDS = _words(
    """
    a an as at be by do he if in is it me my no of on or so to up us we am are was i you she
    they them his her its our the and but not for
    """
)
_UNITS = _words("kb mb gb tb pb kib mib gib tib ms ns hz khz mhz ghz px pt em rem dpi fps kcal")
_MARKUP = _words("div span img src href iframe px rgb rgba nbsp mdc alt")
_CONTRACTION = re.compile(r"[A-Za-z]+['’](?:ve|m|re|ll|d|t|s)", re.IGNORECASE)
_CODE = re.compile(
    r"[a-z]+\d+"  # beta1, amd64, i386
    r"|\w*_\w*"  # snake_case
    r"|\w+\(\)"  # a call
    r"|[a-z]+(?:\.[a-z]+)+"  # dotted attribute access: response.json
    r"|x[0-9a-f]{2}"  # escaped bytes
)
_FILE = re.compile(r".+\.(?:png|jpe?g|gif|svg|webp|bmp|pdf|mp4|html?|php|py|js|json|ya?ml|txt)")
_LIBRARY = re.compile(r"[A-Z][A-Za-z0-9]*\.js")  # Node.js, Three.js: a name, not a file
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+){2,}")  # part-2-intro-notes, ip-172-31-26-179
_BROKEN = re.compile(r"[\"“”<>={}\[\]]|(?:^|\s)['‘’]|['‘’](?:\s|$)")
_URL_PARTS = _words("http https www com org html")
_INFLECTED = re.compile(r"[A-Z][a-z]+ed")


def is_junk(name: str, title_words: frozenset[str] = frozenset()) -> bool:
    """True when `name` belongs to a class of tokens that is never a page's subject. A word
    of the document's title (`text.title_words`) is its subject whatever its shape (boto3,
    robots.txt), unless it is one or two letters."""
    name = name.strip()
    letters = re.sub(r"\W", "", name)
    low = name.lower()
    if len(letters) <= 2 or low in _FUNCTION_WORDS or low in _UNITS:
        return True
    if low in title_words:
        return False
    if _CONTRACTION.fullmatch(name) or _CODE.fullmatch(name):
        return True
    if _FILE.fullmatch(low) and not _LIBRARY.fullmatch(name):
        return True
    if _SLUG.fullmatch(name) and any(c.isdigit() for c in name):
        return True
    if low in _URL_PARTS or (_INFLECTED.fullmatch(name) and len(name) > 5):
        return True  # "https", and a capitalised participle: "Illustrated", "Simplified"
    if _random_id(name):
        return True  # a key, a hash or a request ID: mnNcaVkC35ezZSgvn8, 0LSAhwbo21RaZ+8
    if _BROKEN.search(name) or name.count("(") != name.count(")"):
        return True  # a piece of code or a cut quotation: rg ' (, x = "
    words = re.findall(r"[a-z]+", low)
    return any(w in _MARKUP for w in words) and len(words) <= 3


def _random_id(name: str) -> bool:
    """A token no one names a thing with: ten characters or more with digits among them,
    and base64's "+" or "/" or a case that flips between letters again and again (a name
    flips it a few times at most: nanoGPT, GoogLeNet, GPT2-XL)."""
    if len(name) < 10 or " " in name or not any(c.isdigit() for c in name):
        return False
    flips = sum(a.isupper() != b.isupper() for a, b in pairwise(name) if (a + b).isalpha())
    return bool(re.search(r"[a-z]", name)) and ("+" in name or "/" in name or flips >= 6)
