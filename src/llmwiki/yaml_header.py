"""Frontmatter as YAML: read fast, written the same way every time.

Apart from pages.py so that a command that reads no page (a warm `wiki search`) does not
import PyYAML and python-frontmatter, a sixth of its start-up.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import frontmatter
import yaml
from frontmatter.default_handlers import YAMLHandler

from llmwiki.errors import PageError

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # as pages.py reads a date


class _FastYAML(YAMLHandler):
    """python-frontmatter's YAML handler on libyaml's C loader when PyYAML has it: the same
    safe YAML, several times faster, which matters when a command reads every page."""

    def split(self, text: str) -> tuple[str, str]:
        # python-frontmatter, given a handler, splits at the first two `---` lines wherever
        # they are: a document without frontmatter but with two rules (`---`, a table's
        # `-----`) would lose everything above the second as "frontmatter". Only a block
        # at the very start is frontmatter; ValueError tells the parser there is none.
        if not self.detect(text):
            raise ValueError("no frontmatter")
        fm, content = super().split(text)
        return fm, content

    def load(self, fm: str, **kwargs: object) -> Any:
        simple = simple_yaml(fm)
        if simple is not None:
            return simple
        return yaml.load(fm, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


_KEY_LINE = re.compile(r"([A-Za-z_][\w-]*):(?: (.*))?")
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_NOT_SIMPLE = object()


def simple_yaml(text: str) -> dict[str, Any] | None:
    """The frontmatter this package writes (`key: scalar` lines and `- item` lists of
    scalars), parsed as YAML would, several times faster; None for anything else, which
    then goes to the YAML parser. Reading every page of a large wiki is dominated by this."""
    meta: dict[str, Any] = {}
    key = None  # the key whose list items may follow
    for line in text.strip("\n").split("\n"):
        if line.startswith("- ") and key is not None:
            item = _simple_scalar(line[2:])
            if item is _NOT_SIMPLE:
                return None
            if meta[key] is None:
                meta[key] = []
            meta[key].append(item)
            continue
        match = _KEY_LINE.fullmatch(line)
        if match is None or match.group(1) in meta:
            return None
        name, rest = match.group(1), match.group(2)
        if rest is None:
            meta[name], key = None, name  # YAML: null, unless list items follow
            continue
        value = [] if rest == "[]" else _simple_scalar(rest)
        if value is _NOT_SIMPLE:
            return None
        meta[name], key = value, None
    return meta


def _simple_scalar(text: str) -> Any:
    if text.startswith("'"):
        inner = text[1:-1]
        if len(text) < 2 or not text.endswith("'") or "'" in inner.replace("''", ""):
            return _NOT_SIMPLE
        return inner.replace("''", "'")
    if text.startswith('"'):
        inner = text[1:-1]
        if len(text) < 2 or not text.endswith('"') or '"' in inner or "\\" in inner:
            return _NOT_SIMPLE
        return inner
    if not text or text != text.strip() or text[0] in "-?:,[]{}#&*!|>%@`" or ": " in text:
        return _NOT_SIMPLE
    if " #" in text or text.endswith(":"):
        return _NOT_SIMPLE
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if _ISO_DAY.fullmatch(text):
        # YAML's timestamp: a date, or an error for an impossible one, which the YAML parser
        # reports
        try:
            return date.fromisoformat(text)
        except ValueError:
            return _NOT_SIMPLE
    if _INT.fullmatch(text):
        return int(text)
    # what YAML would read as null, a float, a date, yes/no/on/off: leave to the YAML parser
    if lowered in ("null", "~", "yes", "no", "on", "off", "y", "n") or text[0].isdigit():
        return _NOT_SIMPLE
    if lowered.lstrip("+-.").startswith(("inf", "nan")) or text[0] in "+.":
        return _NOT_SIMPLE
    return text


FAST_YAML = _FastYAML()


def load(text: str, path: Path) -> tuple[dict[str, Any], str]:
    """A page file's frontmatter and body, or PageError naming `path`."""
    try:
        post = frontmatter.loads(text, handler=FAST_YAML)
    except yaml.YAMLError as exc:
        raise PageError(f"{path}: the frontmatter is not valid YAML ({exc})") from None
    except (ValueError, OverflowError) as exc:
        # YAML's date type: `updated: 2025-13-45` is valid syntax but no date
        raise PageError(f"{path}: the frontmatter holds an impossible value ({exc})") from None
    return dict(post.metadata), post.content


class _Dumper(yaml.SafeDumper):
    """Writes links in frontmatter double-quoted: YAML's single-quoted style would write
    "[[O'Neil]]" as '[[O''Neil]]', a link text tools that read the raw file get wrong."""


# libyaml's emitter, five times faster: rendering frontmatter was a fifth of an ingest
class _CDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if value.startswith("[[") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)
_CDumper.add_representer(str, _represent_str)


def dump(meta: dict[str, Any]) -> str:
    """YAML for `meta`, keys in the order given, links double-quoted, one value per line."""
    options: dict[str, Any] = {
        "sort_keys": False,
        "allow_unicode": True,
        "default_flow_style": False,
        "width": 1000,
    }
    text: str = yaml.dump(meta, Dumper=_CDumper, **options)
    if "\\" in text:
        # libyaml escapes what PyYAML writes as it is (an emoji becomes "\U0001F389"); a
        # backslash anywhere sends the page to PyYAML's emitter, so every page reads the same
        text = yaml.dump(meta, Dumper=_Dumper, **options)
    return text
