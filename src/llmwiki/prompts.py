"""Prompt templates: the package's defaults, overridden file by file by a vault's prompts/.

Templates are `string.Template` text (`$name` placeholders) so JSON examples in them need no
escaping. `conventions.md` is the user's steering file: it goes into every system prompt.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from string import Template

PACKAGE_PROMPTS = "prompts"


def default_names() -> list[str]:
    """File names of the templates the package ships."""
    folder = resources.files("llmwiki").joinpath(PACKAGE_PROMPTS)
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".md"))


@cache  # the package's files do not change while it runs; a vault's are read each time
def read_default(name: str) -> str:
    return resources.files("llmwiki").joinpath(PACKAGE_PROMPTS, name).read_text(encoding="utf-8")


class Prompts:
    """Loads templates, preferring `<vault>/prompts/NAME` over the packaged default."""

    def __init__(self, vault_prompts: Path | None = None) -> None:
        self._dir = vault_prompts

    def text(self, name: str) -> str:
        if self._dir is not None:
            override = self._dir / name
            if override.is_file():
                return override.read_text(encoding="utf-8")
        return read_default(name)

    def render(self, name: str, **values: str) -> str:
        """Fill `$name` placeholders; unknown `$words` in a user's template are left as they are."""
        return Template(self.text(name)).safe_substitute(values)

    def system(self, name: str, **values: str) -> str:
        """A system prompt: the conventions file followed by the named template."""
        return self.text("conventions.md").rstrip() + "\n\n" + self.render(name, **values)
