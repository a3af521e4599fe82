"""Finding and rewriting `[[links]]` in a page file's text, as Obsidian reads them.

Reading a link (its parts, its target, how it is rendered) is pages.py's; this module is about
a whole file: which links in it count (none inside code), and how to rewrite some of them while
keeping every other byte, in the body and in the frontmatter alike. The graph reads links
through it; `wiki merge` and `wiki lint --fix` rewrite them through it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from llmwiki.errors import PageError
from llmwiki.pages import LINK_RE, display_text, link_target, parse, render

# Obsidian does not read links inside code, so neither do we.
CODE_RE = re.compile(r"^(`{3,}|~{3,})[^\n]*\n.*?^\1[ \t]*$|`[^`\n]+`", re.MULTILINE | re.DOTALL)
_FRONTMATTER_RE = re.compile(r"\A---[ \t]*\r?\n(?:.*?\r?\n)?---[ \t]*(?=\r?\n|\Z)", re.DOTALL)


def link_matches(text: str) -> Iterator[re.Match[str]]:
    """The wikilinks of `text` that Obsidian treats as links (not those inside code)."""
    masked = CODE_RE.sub(_blank, text) if "`" in text or "~~~" in text else text
    # masking keeps offsets, so each match's span is also its span in `text`
    yield from LINK_RE.finditer(masked)


def _blank(match: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", match.group())


def link_targets(text: str, skip_code: bool = True) -> list[str]:
    """The targets of the links in `text`, in order (those in code are skipped, as Obsidian
    does, unless `skip_code` is False: frontmatter values have no code)."""
    if skip_code and ("`" in text or "~~~" in text):
        return [m.group(1).strip() for m in link_matches(text)]
    return [groups[0].strip() for groups in LINK_RE.findall(text)]


def replace_links(text: str, replace: Callable[[re.Match[str]], str | None]) -> str:
    """`text` with each link (outside code) for which `replace` returns a new link rewritten,
    and everything else byte for byte as it was."""
    pieces: list[str] = []
    at = 0
    for match in link_matches(text):
        new = replace(match)
        if new is not None and new != match.group():
            pieces += [text[at : match.start()], new]
            at = match.end()
    pieces.append(text[at:])
    return "".join(pieces)


def rewrite_links(text: str, replace: Callable[[re.Match[str]], str | None]) -> str:
    """A whole page file with its links rewritten as `replace_links` does. Links in the
    frontmatter are rewritten in the parsed YAML values, so quoting stays valid, and the
    frontmatter is re-rendered only when one of them changes (it is kept as it is when it
    cannot be parsed)."""
    head, rest = split_frontmatter(text)
    body = replace_links(rest, replace)
    if "[[" in head:
        try:
            meta = parse(text, Path("page.md")).meta
        except PageError:
            return head + body
        new_meta = _map_strings(meta, lambda s: LINK_RE.sub(lambda m: replace(m) or m.group(), s))
        if new_meta != meta:
            head = frontmatter_block(new_meta)
    return head + body


def relink(match: re.Match[str], stem: str, display: str = "") -> str:
    """The link `match` pointed at the file `stem`, keeping its heading and the text it
    showed (its display part, else `display`, else its old target)."""
    embed = "!" if match.group().startswith("!") else ""
    heading = match.group(2) or ""
    shown = (match.group(3) or "").strip() or display or match.group(1).strip()
    target = link_target(stem)
    suffix = "" if shown == target else f"|{display_text(shown)}"
    return f"{embed}[[{target}{heading}{suffix}]]"


def _map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    return value


def frontmatter_block(meta: Mapping[str, Any]) -> str:
    """The `---` ... `---` block pages.render writes for `meta`, without the body."""
    return render(meta, "").rstrip("\n")


def split_frontmatter(text: str) -> tuple[str, str]:
    """(the `---` block, everything after it), so a fix can replace one and keep the other."""
    match = _FRONTMATTER_RE.match(text)
    if match is None:
        return "", text
    return match.group(), text[match.end() :]
