"""Plain text -> sentences and word tokens, for the extractive engine.

Every sentence keeps its verbatim text, so facts quoted from it are found in the source again.
Lines are classified because newsletters and notes mix prose with headings, bullet fragments,
bare links and promotional boilerplate, and only prose makes good facts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llmwiki.engines.extractive.lexicon import ABBREVIATIONS, COMMON_WORDS
from llmwiki.normalize import is_caption

TITLE, HEADING, BULLET, PROSE = "title", "heading", "bullet", "prose"
CAPTION = "caption"  # an image's description (`llmwiki.normalize.is_caption`)

URL_RE = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|io|ai|dev|co|html|edu|gov|app)\b(?:/\S*)?"
)
# A word: letters (of any script: Ondřej, Žára) and digits, with inner dots, hyphens,
# underscores or apostrophes (GPT-5.2, don't) and pluses (C++).
WORD_RE = re.compile(r"[^\W_](?:[^\W_]|\+|[.\-_'’](?=[^\W_]))*")
_BULLET_CHARS = "•·-*–—▪►▸✓✔"
_LABEL_RE = re.compile(r"^[^\w\"“'‘(\[]*(?:\d+\.\s+)?(?:[A-Z][\w&/ ]{0,24}:\s+)?")
NUMBERED_RE = re.compile(r"^\d{1,2}[.)]\s+")  # a numbered list item: "2. Open the …"
_CLAUSE_START = re.compile(r"[:—–•|;]|\s-\s")
_SENTENCE_END = re.compile(r"[.!?…]+[\"”’)\]]*\s+")
_BOILERPLATE_RE = re.compile(
    r"subscri|newsletter|thanks for reading|share it with|please share|leave a review|"
    r"review on amazon|grab my|my (?:first |new )?book|drop a comment|\bdm me\b|i[’']m teaching|"
    r"new here|hey there|caught my attention|\btl;?dr\b|weekly dose|sift through the noise|"
    r"full experience|world of difference|really appreciate|sign up|sponsor|follow me|"
    r"click here|read more|most valuable ai resources|paid subscri|unsubscribe|"
    r"advertis|promo code|discount",
    re.IGNORECASE,
)
_PERSONAL_RE = re.compile(
    r"\b(?:I|I[’']m|I[’']ve|I[’']d|I[’']ll|[Mm]y|[Mm]e|[Ww]e[’']ll|[Ww]e[’']re|[Uu]s)\b"
)


@dataclass(frozen=True)
class Token:
    text: str  # the word, without a possessive 's
    start: int  # offsets in the sentence's scan text
    end: int
    possessive: bool
    initial: bool  # first word of a sentence or clause, capitalised by convention
    joined: bool  # separated from the previous token by plain spaces only


@dataclass(frozen=True)
class Sentence:
    text: str  # verbatim slice of the document
    body: str  # text without bullet marks and a leading "Label: " (still verbatim)
    index: int
    kind: str  # title | heading | bullet | prose | caption
    boilerplate: bool  # promotion, greetings, sign-offs: never a fact or a mention
    personal: bool  # the author speaking in the first person: not a key claim
    section: int  # index of the heading that opens this sentence's section, -1 before any
    scan: str  # body with links blanked out, same length
    tokens: tuple[Token, ...]

    @property
    def words(self) -> int:
        return len(self.tokens)


@dataclass(frozen=True)
class Document:
    sentences: tuple[Sentence, ...]
    urls: tuple[str, ...]


def parse(text: str) -> Document:
    sentences: list[Sentence] = []
    urls: list[str] = []
    section = -1
    for number, raw in enumerate(unwrap(text)):
        line = raw.strip()
        if not line:
            continue
        urls.extend(m.group(0) for m in URL_RE.finditer(line))
        first = not sentences and number == 0 and len(line) <= 200
        if is_caption(line):
            # its names count as mentions; it says nothing of its own: no fact, lead or heading
            sentences.append(_sentence(line, len(sentences), CAPTION, section))
            continue
        kind = TITLE if first else _line_kind(line)
        if kind is None:
            continue
        if kind == HEADING:
            section = len(sentences)
        pieces = [line] if kind in (TITLE, HEADING) else split_sentences(line)
        for piece in pieces:
            sentences.append(_sentence(piece, len(sentences), kind, section))
    return Document(tuple(sentences), tuple(urls))


def title_words(doc: Document) -> frozenset[str]:
    """The words of the document's title, in lower case."""
    return frozenset(t.text.lower() for s in doc.sentences if s.kind == TITLE for t in s.tokens)


_MARKER_RE = re.compile(r"^(?:#|[-*+•·–—▪►▸>|]\s|\d{1,2}[.)]\s|```|<)")
_CONTINUES_RE = re.compile(
    r"(?:,|;|-|\b(?:a|an|the|and|or|but|of|to|with|by|in|for|on|at|from|as|that|which|who))$",
    re.IGNORECASE,
)


def unwrap(text: str) -> list[str]:
    """Logical lines: a paragraph hard-wrapped over several lines (as markdown and e-mail
    often are) becomes one line, so sentences are not cut at the wrap. A line continues the
    previous one only when the previous one stops mid-sentence and the line starts in
    lower case, or the previous one ends on a comma or a word like "by" or "the"; headings,
    list items and paragraph breaks always start a new line."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if lines and line and lines[-1] and not _MARKER_RE.match(line):
            previous = lines[-1]
            ends_sentence = previous.rstrip('"”’)]').endswith((".", "!", "?", ":", "…"))
            if (
                not previous.startswith("#")
                and not ends_sentence
                and not URL_RE.fullmatch(line)
                and (line[0].islower() or _CONTINUES_RE.search(previous))
            ):
                lines[-1] = f"{previous} {line}"
                continue
        lines.append(line)
    return lines


def _line_kind(line: str) -> str | None:
    if URL_RE.sub("", line).strip(" |\t") in ("", "GitHub", "Github", "Link", "PDF"):
        return None
    first = line[0]
    if line.startswith("#"):
        return HEADING
    if first in _BULLET_CHARS and len(line) > 1 and line[1] in " \t":
        return BULLET
    stripped = NUMBERED_RE.sub("", line)
    symbolic = not (first.isalnum() or first in "\"“'‘([")
    if symbolic and re.match(r"^\W+\s*\w[\w ]{0,20}:\s", line):
        return BULLET
    words = len(stripped.split())
    end = stripped.rstrip('"”’)] ')[-1:] if stripped else ""
    if end in (".", "!", "…"):
        return BULLET if symbolic else PROSE
    if end == "?":
        return HEADING if words <= 12 else PROSE
    if end == ":" and (words >= 6 or _SENTENCE_END.search(stripped)):
        # "Jan Doe submitted a pull request with this version:", "Why? Jan Doe explains:":
        # a sentence that introduces a list or a quote, where a headline stops short
        return BULLET if symbolic else PROSE
    if words <= 20:
        return HEADING
    return BULLET if symbolic else PROSE


def split_sentences(line: str) -> list[str]:
    """Split a line at sentence ends, keeping each piece verbatim."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(line):
        end = match.end()
        if end >= len(line):
            break
        nxt = line[end]
        if nxt.islower():
            # a sentence may open with a lowercase name ("forkd applies ..."), not a common word
            word = re.match(r"[\w-]+", line[end:])
            if word is None or word.group(0) in COMMON_WORDS or len(word.group(0)) < 3:
                continue
        elif not (nxt.isupper() or nxt.isdigit() or nxt in "\"“‘'(["):
            continue
        before = line[start : match.start()].rsplit(None, 1)
        last = before[-1].lower().rstrip(".") if before else ""
        if line[match.start()] == "." and (last in ABBREVIATIONS or len(last) == 1):
            continue
        pieces.append(line[start : match.start() + len(match.group(0).rstrip())])
        start = end
    pieces.append(line[start:])
    return [p.strip() for p in pieces if p.strip()]


def _sentence(text: str, index: int, kind: str, section: int) -> Sentence:
    body = text
    if kind in (BULLET, HEADING, TITLE):
        prefix = _LABEL_RE.match(text)
        cut = prefix.end() if prefix and kind == BULLET else _symbol_prefix(text)
        body = text[cut:] or text
        if kind == HEADING:
            body = NUMBERED_RE.sub("", body) or body
    scan = URL_RE.sub(lambda m: " " * len(m.group(0)), body)
    return Sentence(
        text=text,
        body=body,
        index=index,
        kind=kind,
        boilerplate=bool(_BOILERPLATE_RE.search(text)),
        personal=bool(_PERSONAL_RE.search(text)),
        section=section,
        scan=scan,
        tokens=tokenize(scan),
    )


def _symbol_prefix(text: str) -> int:
    i = 0
    while i < len(text) and not (text[i].isalnum() or text[i] in "\"“'‘(["):
        i += 1
    return i


def tokenize(scan: str) -> tuple[Token, ...]:
    tokens: list[Token] = []
    prev_end = 0
    prev_possessive = False
    for match in WORD_RE.finditer(scan):
        word = match.group(0)
        possessive = word.endswith(("'s", "’s")) and len(word) > 2
        if possessive:
            word = word[:-2]
        gap = scan[prev_end : match.start()]
        initial = not tokens or (
            gap != " " and (bool(_CLAUSE_START.search(gap)) or gap.rstrip().endswith("."))
        )
        joined = bool(tokens) and not prev_possessive and gap.strip() == "" and gap != ""
        tokens.append(Token(word, match.start(), match.end(), possessive, initial, joined))
        prev_end = match.end()
        prev_possessive = possessive
    return tuple(tokens)


def heading_subject(heading: str) -> str:
    """What a heading names ("Quillbeam: a lantern for notebooks" -> "Quillbeam"), or "" when
    it is longer than a name."""
    head = heading.split(":", 1)[0] if ":" in heading else heading
    head = head.strip().rstrip("?!.")
    return head if 0 < len(head.split()) <= 4 else ""


def section_sentences(doc: Document, heading: int, limit: int = 2) -> list[Sentence]:
    """The first prose sentences of the section that `heading` (a sentence's index) opens."""
    found: list[Sentence] = []
    for sentence in doc.sentences[heading + 1 :]:
        if sentence.section != heading or len(found) >= limit:
            break
        if sentence.kind == PROSE and not sentence.boilerplate:
            found.append(sentence)
    return found
