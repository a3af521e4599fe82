"""Markdown as people publish it -> prose plus structure, before any engine reads it.

Blog posts and notes carry embedded HTML (`<style>` blocks, `<img>` tags, `<div class=…>`),
link URLs, image embeds, math, footnote markers and template tags. None of that is content: it
costs an LLM tokens and gives the extractive engine junk names ("Div class", "…-v2.png").
`normalize_markdown` keeps the text a reader sees: link text, image alt text, the text inside
inline tags, headings with their sections, and code blocks (an LLM may need them, and the
source page keeps them). `prose_only` then blanks code for the extractive engine, which must
never mine names from it; a tool name written as code in a sentence (`sqlite-utils`) stays.

Both are pure functions of their input, with no state, so the same file always gives the same
text.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_FENCE = re.compile(r"^(\s*(?:>\s*)*)(`{3,}|~{3,})")  # in a blockquote too
_DROP_BLOCKS = re.compile(
    r"<(style|script|noscript|svg)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)
_IMG_TAG = re.compile(r"<img\b[^>]*?>", re.IGNORECASE | re.DOTALL)
_ALT = re.compile(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_SUP_FOOTNOTE = re.compile(r"<sup\b[^>]*>\s*\[?\d{1,3}\]?\s*</sup>", re.IGNORECASE)
# tags that end a block of text: their place becomes a line break, so words do not run together
_BLOCK_TAG = re.compile(
    r"</?(?:p|div|br|hr|li|ul|ol|table|tr|td|th|h[1-6]|blockquote|figure|figcaption|section|"
    r"article|header|footer|center|dl|dt|dd|pre)\b[^>]*>",
    re.IGNORECASE,
)
_ANY_TAG = re.compile(r"</?[A-Za-z][\w:-]*(?:\s[^<>]*)?/?>")
_IMAGE_EMBED = re.compile(r"!\[([^\]]*)\]\((?:[^()\s]|\([^()]*\))*(?:\s+\"[^\"]*\")?\)")
_WIKI_IMAGE = re.compile(r"!\[\[[^\]]*\]\]")
_LINK = re.compile(r"(?<!!)\[([^\]\n]+)\]\((?:[^()\s]|\([^()]*\))*(?:\s+\"[^\"]*\")?\)")
_LINK_TARGET = re.compile(r"(?<!!)\[([^\]\n]+)\]\(\s*<?([^()\s>]+)")
_REF_LINK = re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]")
_REF_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+\S+.*$")
_FOOTNOTE_MARK = re.compile(r"\[\^[^\]\s]+\](?!:)")
_FOOTNOTE_DEF = re.compile(r"^\s{0,3}\[\^[^\]\s]+\]:\s*")
_DISPLAY_MATH = re.compile(r"\$\$.+?\$\$|\\\[.+?\\\]", re.DOTALL)
_INLINE_MATH = re.compile(r"\\\((.+?)\\\)|(?<![\w$\\])\$(?=\S)([^$\n]{1,200}?)(?<=\S)\$(?![\w$])")
_TEMPLATE = re.compile(
    r"\{%.*?%\}|\{\{.*?\}\}|^\s*\{:[^}\n]*\}\s*$|\{:\s*[.#][^}\n]*\}", re.DOTALL | re.MULTILINE
)
_BARE_ANGLE_URL = re.compile(r"<(https?://[^>\s]+)>")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# a tool or package name written as code in prose: sqlite-utils, datasette, s3-credentials
_CODE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*")


def normalize_markdown(text: str) -> str:
    """Readable markdown: HTML reduced to its text, links to their text, images to their alt
    text, math, footnote markers and template tags removed. Fenced code is left as it is;
    indented code is fenced (see `_fence_indented`)."""
    out: list[str] = []
    for is_code, chunk in _split_fences(_fence_indented(text)):
        out.append(chunk if is_code else _clean_prose(chunk))
    return _tidy("".join(out))


def link_targets(text: str) -> tuple[tuple[str, str], ...]:
    """The (text, target) of each markdown link of `text`, in order: normalize_markdown
    keeps only the text."""
    return tuple((m.group(1), m.group(2)) for m in _LINK_TARGET.finditer(text))


def prose_only(text: str) -> str:
    """`text` without code: fenced blocks become blank lines (so line structure and section
    boundaries stay), inline code becomes its name when it is one word-like name, else a
    space."""
    out: list[str] = []
    for is_code, chunk in _split_fences(text):
        if is_code:
            out.append("\n" * chunk.count("\n"))
        else:
            out.append(_CODE_SPAN.sub(_code_span, chunk))
    return "".join(out)


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COMMAND = re.compile(
    r"\b(?:import|from|install|add)\s+([a-z][a-z0-9]*(?:[-_][a-z0-9]+)*)"
    r"|^\s*(?:[$%>!]\s*)?(?:sudo\s+)?([a-z][a-z0-9]*(?:[-_][a-z0-9]+)*)(?=\s|$)",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Code:
    """What a document's code says about its words."""

    commands: frozenset[str] = frozenset()  # programs and packages it runs or loads
    identifiers: frozenset[str] = frozenset()  # every word in it


NO_CODE = Code()


_GAP = r"\s*(?:`[^`\n]+`\s*)*"  # between two words of a sentence: the code taken out, if any


def with_code(sentence: str, text: str) -> str:
    """`sentence`, read in `prose_only(text)`, as `text` writes it: the inline code that
    prose_only took out put back ("runs it with and waits" -> "runs it with `Popen()` and
    waits"), so that a quote is the writer's words. As it is when none was taken out."""
    words = sentence.split()
    if not words or "`" not in text or sentence in text:
        return sentence
    found = re.search(_GAP.join(re.escape(word) for word in words), text)
    return " ".join(found.group().split()) if found else sentence


def read_code(text: str) -> Code:
    """The code of `text` (blocks and inline spans). A command is the first word of a line
    ("pytest -k", "$ gdb -p 1") or the word after import or install: a tool's name shows up
    there, where a word of the language seldom does."""
    code = [chunk for is_code, chunk in _split_fences(text) if is_code]
    code.extend(m.group(2) for m in _CODE_SPAN.finditer(text))
    commands: set[str] = set()
    identifiers: set[str] = set()
    for chunk in code:
        for match in _COMMAND.finditer(chunk):
            commands.add(match.group(1) or match.group(2))
        identifiers.update(_IDENTIFIER.findall(chunk))
    return Code(frozenset(commands), frozenset(identifiers))


def _code_span(match: re.Match[str]) -> str:
    inner = match.group(2).strip()
    # a name with a digit glued on (beta1, input_1) or any punctuation is an identifier
    if _CODE_NAME.fullmatch(inner) and not re.search(r"[a-z]\d+$", inner) and len(inner) > 2:
        return f"`{inner}`"  # the backticks tell the engine the writer marked it as a name
    return " "


def _split_fences(text: str) -> list[tuple[bool, str]]:
    """The text cut into (is_code, chunk) pieces at fenced code blocks (in a blockquote
    too); an unclosed fence runs to the end, as markdown renders it."""
    pieces: list[tuple[bool, str]] = []
    buffer: list[str] = []
    fence, quoted = "", False
    for line in text.splitlines(keepends=True):
        match = _FENCE.match(line)
        if fence and quoted and not line.lstrip().startswith(">"):
            pieces.append((True, "".join(buffer)))  # a fence in a quote ends with the quote
            buffer, fence = [], ""
        if not fence and match:
            quoted = ">" in match.group(1)
            if buffer:
                pieces.append((False, "".join(buffer)))
            buffer, fence = [line], match.group(2)[0] * len(match.group(2))
            continue
        buffer.append(line)
        if fence and match and match.group(2).startswith(fence) and not line[match.end() :].strip():
            pieces.append((True, "".join(buffer)))
            buffer, fence = [], ""
    if buffer:
        pieces.append((bool(fence), "".join(buffer)))
    return pieces


_HTML_BLOCK = re.compile(
    r"^\s*<(?:p|div|figure|table|section|article|ul|ol|li|h[1-6]|blockquote|pre)\b",
    re.IGNORECASE | re.MULTILINE,
)
_LIST_ITEM = re.compile(r"^\s{0,3}(?:[-*+]|\d{1,9}[.)])\s")
_QUOTED = re.compile(r"^\s{0,3}>\s?")


def _fence_indented(text: str) -> str:
    """`text` with its indented code blocks fenced: lines indented by four spaces or a tab
    after a blank line (in a blockquote too), unless they go on with a list item. Not in a
    document whose blocks are HTML (a Jekyll post's `<p>` and `<div>`): there the indent is
    the nesting of its tags, which markdown processors like kramdown read as HTML."""
    if _HTML_BLOCK.search(text):
        return text
    out: list[str] = []
    for is_code, chunk in _split_fences(text):
        if is_code:
            out.append(chunk)
            continue
        block: list[str] = []
        blank, in_list = True, False
        for line in [*chunk.splitlines(keepends=True), ""]:  # "": the end, to close a block
            quoted = _QUOTED.match(line)
            content = line[quoted.end() :] if quoted else line
            empty = not content.strip()
            indented = not empty and content.startswith(("    ", "\t"))
            if indented and (block or (blank and not in_list)):
                block.append(content.removeprefix("\t").removeprefix("    ").rstrip("\n"))
                continue
            if block and (not empty or not line):  # a blank line may be inside the code
                while block and not block[-1].strip():
                    block.pop()
                out.append("```\n" + "\n".join(block) + "\n```\n\n")
                block = []
            if block:
                block.append("")
                continue
            out.append(line)
            if not empty:  # a list goes on after a blank line only indented
                in_list = bool(_LIST_ITEM.match(content)) or (in_list and not blank)
            blank = empty
    return "".join(out)


def _alt_text(match: re.Match[str]) -> str:
    alt = _ALT.search(match.group(0))
    return f" {_image_alt((alt.group(1) or alt.group(2) or '') if alt else '')} "


# An image's alt text, marked until the lines are known: alone on its line it is a caption
_ALT_MARK = "\x01"
_CAPTION = re.compile(f"([ \\t]*){_ALT_MARK}([^{_ALT_MARK}]*){_ALT_MARK}\\s*")


def _image_alt(alt: str) -> str:
    """The alt text, marked; none when it is a file's name ("chart-v2.png",
    "Orbweave_settings_panel", a screenshot's default)."""
    alt = " ".join(alt.split())
    if not alt or re.search(r"\.\w{2,4}$", alt) or (" " not in alt and "_" in alt):
        return ""
    return f"{_ALT_MARK}{alt}{_ALT_MARK}"


# what a caption becomes: an LLM reads it as the image's description, and the extractive
# engine skips it (`is_caption`)
IMAGE_CAPTION = re.compile(r"\(Image: [^\n]*\)")


def _caption(line: str) -> str:
    """A line that is only an image's alt text describes the image. Said as such, it is no
    heading ("Screenshot of the settings" heads no section) and no statement of the text."""
    alone = _CAPTION.fullmatch(line)
    if alone is None:
        return line.replace(_ALT_MARK, "")
    indent, text = alone.groups()
    return f"{indent}(Image: {text})"


def is_caption(line: str) -> bool:
    """A line that only describes an image (`_caption`): a screenshot's description is not
    what the document says, so no fact, lead or heading is taken from it."""
    return IMAGE_CAPTION.fullmatch(line.strip()) is not None


def _clean_prose(text: str) -> str:
    # code spans are protected: `<div>` or `$x$` inside backticks are what the writer typed
    spans: list[str] = []

    def hold(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"\x00{len(spans) - 1}\x00"

    text = _CODE_SPAN.sub(hold, text)
    text = _DROP_BLOCKS.sub(" ", text)
    text = _SUP_FOOTNOTE.sub("", text)
    text = _IMG_TAG.sub(_alt_text, text)
    text = _BLOCK_TAG.sub("\n", text)
    text = _BARE_ANGLE_URL.sub(r"\1", text)
    text = _ANY_TAG.sub("", text)
    text = _TEMPLATE.sub("", text)
    text = _DISPLAY_MATH.sub(" ", text)
    text = _INLINE_MATH.sub(" ", text)
    text = _WIKI_IMAGE.sub("", text)
    text = _IMAGE_EMBED.sub(lambda m: _image_alt(m.group(1)), text)
    text = _LINK.sub(lambda m: m.group(1), text)
    text = _REF_LINK.sub(lambda m: m.group(1), text)
    text = _FOOTNOTE_MARK.sub("", text)
    lines = []
    for line in text.split("\n"):
        if _REF_DEFINITION.match(line):
            continue
        lines.append(_caption(_FOOTNOTE_DEF.sub("", line)))
    text = html.unescape("\n".join(lines))
    return re.sub("\x00(\\d+)\x00", lambda m: spans[int(m.group(1))], text)


def _tidy(text: str) -> str:
    """Spaces left by removed markup squeezed (outside code), at most one blank line."""
    out: list[str] = []
    for is_code, chunk in _split_fences(text):
        if is_code:
            out.append(chunk)
            continue
        lines = [re.sub(r"(?<=\S)[ \t]{2,}", " ", line).rstrip() for line in chunk.split("\n")]
        out.append("\n".join(lines))
    return re.sub(r"\n{3,}", "\n\n", "".join(out)).strip("\n")


MAX_TITLE = 150
_HEADING_LINE = re.compile(r"^#{1,6}\s+(.+?)\s*#*$")
_DATE_PREFIX = re.compile(r"^\d{4}[-_]\d{2}[-_]\d{2}[-_]?")
_FILE_LIKE = re.compile(r"^[\w.+-]+\.[A-Za-z0-9]{1,5}$|^[\w+]+(?:[-_][\w+]+)+$")


def reads_as_title(line: str) -> bool:
    """A line a writer would set as a title: short, not a sentence, not markup or a file
    name."""
    line = line.strip()
    if not line or len(line) > MAX_TITLE or len(line.split()) > 16:
        return False
    if line[0] in "<[!|`>{$*-" or line.endswith((".", ",", ";", ":")):
        return False
    return not _FILE_LIKE.match(line) and any(c.isalpha() for c in line)


def readable_stem(stem: str) -> str:
    """A file name made readable: no date prefix, separators as spaces ("2024-05-01-my_post"
    -> "My post")."""
    name = _DATE_PREFIX.sub("", stem)
    name = re.sub(r"[-_]+|(?<=[a-z])\.(?=[a-z])", " ", name).strip() or stem
    return name[:1].upper() + name[1:]


def cut_title(title: str, limit: int = MAX_TITLE) -> str:
    """`title` on one line, at most `limit` characters, cut between words (never inside a
    word or a number)."""
    title = " ".join(title.split())
    if len(title) <= limit:
        return title
    cut = title[: limit + 1].rsplit(" ", 1)[0] if " " in title[:limit] else title[:limit]
    return cut.rstrip(" ,;:-–—") + "…"


def choose_title(found: str, text: str, stem: str) -> str:
    """The title, in this order: the title the file gives itself (frontmatter, a title
    element, document properties: taken as written, a final period and all), the first
    heading, a first line that reads as a title, then the file name made readable. A title
    never looks like a file name."""
    if _usable_title(found):
        return cut_title(found)
    first = ""
    for line in prose_only(text).splitlines():
        heading = _HEADING_LINE.match(line.strip())
        if heading and reads_as_title(heading.group(1)):
            return cut_title(heading.group(1))
        if line.strip() and not first:
            first = line.strip()
    if reads_as_title(first):
        return cut_title(first)
    # a long first line that is no sentence (a newsletter's headline of 20 words) still
    # says more than a file name
    if _usable_title(first) and not first.endswith((".", ",", ";", ":", "?", "!")):
        return cut_title(first)
    return cut_title(readable_stem(stem))


def _usable_title(text: str) -> bool:
    text = text.strip()
    return (
        bool(text)
        and not _FILE_LIKE.match(text)
        and text[0] not in "<[!|`{"
        and any(c.isalpha() for c in text)
    )
