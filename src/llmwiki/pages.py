"""Pages: frontmatter + markdown body, wikilinks, and titles turned into safe file names.

A page's file name is its link target (Obsidian resolves `[[Name]]` by file name), so titles are
turned into names that every OS and Obsidian accept; the real title stays in the frontmatter.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

# Obsidian and the common file systems reject these in file names / link targets.
# ` too: a code span inside [[...]] makes Obsidian and other parsers disagree on the link
_FORBIDDEN = re.compile(r'[/\\:*?"<>|#^\[\]`\x00-\x1f\x7f]')
# Windows' device names (Python 3.13's ntpath.isreserved list), also with spaces before a dot
_WINDOWS_RESERVED = re.compile(
    r"^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³]) *(\..*)?$", re.IGNORECASE
)
_DROPPED_CATEGORIES = frozenset({"So", "Cs", "Co", "Cn", "Cf"})
MAX_NAME_BYTES = 120  # well under the 255-byte limit, leaving room for " (2).md" and temp names

# [[target]], [[target|display]], [[target#heading|display]]; also embeds ![[...]].
LINK_RE = re.compile(r"!?\[\[([^\[\]|#\n]*)(#[^\[\]|\n]*)?(?:\|([^\[\]\n]*))?\]\]")

META_ORDER = ("title", "type", "aliases", "summary", "sources", "tags", "created", "updated")
# Properties written as YAML dates (unquoted), so Obsidian and Dataview type them as dates;
# in memory they stay ISO strings, which is what the rest of the package compares.
DATE_KEYS = ("created", "updated", "published")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def safe_name(title: str) -> str:
    """A file name stem for `title`: no path separators, nothing Obsidian or Windows rejects,
    no leading dots, at most MAX_NAME_BYTES bytes, never empty."""
    text = unicodedata.normalize("NFC", title)
    # Emoji and other pictographs make awkward file names (and some sync tools choke on them)
    text = "".join(
        " " if unicodedata.category(c) in _DROPPED_CATEGORIES or "\ufe00" <= c <= "\ufe0f" else c
        for c in text
    )
    text = _FORBIDDEN.sub(" ", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    if len(text.encode("utf-8")) > MAX_NAME_BYTES:
        cut = text.encode("utf-8")[:MAX_NAME_BYTES].decode("utf-8", errors="ignore")
        # end on a whole word ("Edition 12", not "Edition 1") unless that loses too much
        word_end = cut.rsplit(" ", 1)[0]
        text = word_end if len(word_end) >= len(cut) * 0.6 else cut
    text = text.strip(" .")
    # Obsidian reads a trailing ".md" in a link as the extension: a file "notes.md.md" is
    # out of reach of [[notes.md]], which opens "notes.md" instead
    while text.casefold().endswith(".md"):
        text = text[:-3].strip(" .")
    if not text:
        return "Untitled"
    if _WINDOWS_RESERVED.match(text):
        # Windows reserves the device name whatever the extension: "con.txt" too
        base, dot, rest = text.partition(".")
        text = f"{base}_{dot}{rest}"
    return text


def link_target(stem: str) -> str:
    """What a link writes to reach the file `stem`.md: the name itself, unless the name ends
    in ".md" (only files from before names were kept clear of that), which Obsidian would
    take for the extension; then the full file name."""
    return f"{stem}.md" if stem.casefold().endswith(".md") else stem


def display_text(text: str) -> str:
    """Text that can sit in a link's display part or a bullet without breaking link syntax."""
    text = text.replace("[", "(").replace("]", ")").replace("|", "/").replace("`", "'")
    return re.sub(r"\s+", " ", text).strip()


# Obsidian syntax that source text must not trigger: %% starts a comment that hides the rest
# of the page, == a highlight, " ^id" a block id and [^1] a footnote, ![ an embed (a remote
# image), <tag> HTML, $ math, #word a tag. Escaped with a backslash, as Obsidian documents;
# code spans are left alone (there a backslash would show).
_INLINE_SYNTAX = re.compile(
    r"(?<!\\)(?:%%|==|!\[|<(?=[A-Za-z/!?])|\$)"
    r"|(?<![^\s\[])\^(?=[\w-])|(?<![^\s(])#(?=[\w/-]*[^\W\d])"
)
_CODE_SPAN = re.compile(r"(`+)[^`].*?(?<!`)\1(?!`)")
# ...and at the start of a line: a heading, a quote, a list item
_LINE_SYNTAX = re.compile(r"^(?:#|>|[-+*](?=\s|$)|\d+[.)](?=\s|$))")


def inert_text(text: str) -> str:
    """`text` (one line, from a source or an engine) escaped so that Obsidian shows it as the
    text it is, wherever it sits in a line. Idempotent: a line read back from a page and
    escaped again is unchanged."""
    out: list[str] = []
    at = 0
    for code in _CODE_SPAN.finditer(text):
        out += [_escape(text[at : code.start()]), code.group()]
        at = code.end()
    out.append(_escape(text[at:]))
    return "".join(out)


def _escape(text: str) -> str:
    return _INLINE_SYNTAX.sub(lambda m: "".join("\\" + c for c in m.group()), text)


def inert_line(text: str) -> str:
    """`inert_text` for text that starts a line (or a bullet's content), where a leading
    `#`, `>`, `-` or `1.` would make a heading, a quote or a list of it."""
    text = inert_text(text)
    match = _LINE_SYNTAX.match(text)
    if match is None:
        return text
    at = match.end() - 1  # "1." escapes its dot, the others their one character
    return text[:at] + "\\" + text[at:]


_TAG_SPACE = re.compile(r"\s+")
_TAG_DROPPED = re.compile(r"[^\w/-]")


def obsidian_tag(text: str) -> str:
    """`text` as a tag Obsidian accepts ("" when nothing is left): no `#`, spaces as `-`,
    only letters, digits, `_`, `-` and `/` (nesting), never purely numeric (Obsidian
    ignores `#2024`, so it becomes `_2024`)."""
    tag = _TAG_SPACE.sub("-", text.strip().lstrip("#").strip())
    tag = _TAG_DROPPED.sub("", tag)
    tag = re.sub(r"/+", "/", re.sub(r"-+", "-", tag)).strip("/-")
    if tag and not re.search(r"[^\d/]", tag):
        tag = "_" + tag
    return tag


@dataclass(frozen=True)
class Link:
    target: str
    heading: str
    display: str


def parse_links(text: str) -> list[Link]:
    return [
        Link(m.group(1).strip(), (m.group(2) or "")[1:], (m.group(3) or "").strip())
        for m in LINK_RE.finditer(text)
    ]


def render_link(stem: str, display: str = "") -> str:
    """`[[stem]]`, or `[[stem|display]]` when the text shown differs from the file name."""
    target = link_target(stem)
    shown = display_text(display) if display else stem
    if shown == target:
        return f"[[{target}]]"
    return f"[[{target}|{shown}]]"


def unlink(text: str) -> str:
    """Replace every wikilink by the text Obsidian shows for it."""
    return LINK_RE.sub(lambda m: (m.group(3) or m.group(1)).strip(), text)


@dataclass
class Page:
    """A page as it is on disk. `meta` is the frontmatter, `body` the markdown after it."""

    path: Path
    meta: dict[str, Any] = field(default_factory=dict)
    body: str = ""

    @property
    def stem(self) -> str:
        return self.path.stem

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or self.path.stem)

    @property
    def type(self) -> str:
        return str(self.meta.get("type") or "")

    @property
    def aliases(self) -> list[str]:
        return as_list(self.meta.get("aliases"))

    def render(self) -> str:
        return render(self.meta, self.body)


def as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [str(v) for v in value if v is not None and str(v) != ""]
    return [str(value)]


def _plain(value: Any) -> Any:
    """YAML turns `2026-01-05` into a date; pages keep plain strings so output is stable."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def parse(text: str, path: Path) -> Page:
    from llmwiki.yaml_header import load  # YAML's libraries load only when a page is read

    metadata, content = load(text, path)
    meta = {str(k): _plain(v) for k, v in metadata.items()}
    return Page(path=path, meta=meta, body=content)


def read(path: Path) -> Page:
    return parse(path.read_text(encoding="utf-8"), path)


def _as_date(value: Any) -> Any:
    """An ISO day as a date (written unquoted); anything else as it is, so a value a user
    typed that is no date is kept rather than lost."""
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


def render(meta: Mapping[str, Any], body: str) -> str:
    """Frontmatter in a fixed key order (known keys first, then the rest as found) + body."""
    ordered = {k: meta[k] for k in META_ORDER if k in meta}
    ordered.update({k: v for k, v in meta.items() if k not in ordered})
    for key in DATE_KEYS:
        if key in ordered:
            ordered[key] = _as_date(ordered[key])
    from llmwiki.yaml_header import dump

    head = dump(ordered)
    return f"---\n{head}---\n\n{body.strip()}\n"


# --- sections -------------------------------------------------------------------------------

_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def section_heading(line: str) -> str | None:
    """The name of the `## section` that `line` starts, or None: the one reading of a section
    heading that section_span, merge and every other reader of sections share."""
    match = _HEADING_RE.match(line)
    return match.group(2) if match and len(match.group(1)) == 2 else None


def section_span(body: str, heading: str) -> tuple[int, int] | None:
    """Line range [start, end) of the `## heading` section's content (after its heading line)."""
    lines = body.split("\n")
    start = None
    for i, line in enumerate(lines):
        match = _HEADING_RE.match(line)
        if not match:
            continue
        if start is not None and len(match.group(1)) <= 2:
            return start, i
        if (
            start is None
            and len(match.group(1)) == 2
            and match.group(2).casefold() == heading.casefold()
        ):
            start = i + 1
    return (start, len(lines)) if start is not None else None


def section_lines(body: str, heading: str) -> list[str]:
    span = section_span(body, heading)
    if span is None:
        return []
    return body.split("\n")[span[0] : span[1]]


def append_to_section(body: str, heading: str, new_lines: list[str], before: str = "Notes") -> str:
    """Add lines at the end of `## heading`, creating the section (before `## before`, or at the
    end) if the page has none. Nothing already in the body is changed."""
    if not new_lines:
        return body
    lines = body.rstrip("\n").split("\n")
    span = section_span(body.rstrip("\n"), heading)
    if span is None:
        block = ["", f"## {heading}", "", *new_lines, ""]
        anchor = section_span(body.rstrip("\n"), before)
        if anchor is None:
            return "\n".join(lines + block).strip("\n") + "\n"
        at = anchor[0] - 1  # the `## before` heading line
        return "\n".join(lines[:at] + block[1:] + lines[at:]).strip("\n") + "\n"
    start, end = span
    # insert after the section's last non-blank line, keeping the blank line before the next heading
    insert_at = end
    while insert_at > start and not lines[insert_at - 1].strip():
        insert_at -= 1
    # an empty section keeps one blank line under its heading
    new_block = ["", *new_lines] if insert_at == start else new_lines
    out = lines[:insert_at] + new_block + lines[insert_at:]
    return "\n".join(out).strip("\n") + "\n"


def replace_section(
    body: str, heading: str, new_lines: list[str], before: str = "Notes", move: bool = False
) -> str:
    """Set the content of `## heading` (a section code owns) to `new_lines`, creating it
    before `## before` (or at the end) when there is none; with `move`, an existing section
    also moves there. Nothing else changes."""
    span = section_span(body.rstrip("\n"), heading)
    if span is not None and move:
        lines = body.rstrip("\n").split("\n")
        start, end = span
        body = "\n".join(lines[: start - 1] + lines[end:]).strip("\n") + "\n"
        span = None
    if span is None:
        return append_to_section(body, heading, new_lines, before) if new_lines else body
    lines = body.rstrip("\n").split("\n")
    start, end = span
    tail = ["", *lines[end:]] if end < len(lines) else []
    out = [*lines[:start], "", *new_lines, *tail]
    return "\n".join(out).strip("\n") + "\n"
