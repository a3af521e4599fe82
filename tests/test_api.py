"""The library surface: what `from llmwiki import ...` offers a script, the same functions the
commands call, and a package that loads them only when asked (so `wiki search` starts fast)."""

from __future__ import annotations

import dataclasses
import importlib
import json
import shutil
import subprocess
import sys
import types
from pathlib import Path

from conftest import NO_LLM, SAMPLES, TODAY

import llmwiki
from llmwiki import (
    Options,
    ask,
    find_vault,
    graph,
    ingest,
    init_vault,
    lint,
    load_config,
    merge,
    open_answerer,
    open_engine,
    search_pages,
)


def test_a_script_runs_the_commands_work_through_the_library(tmp_path: Path) -> None:
    init_vault(tmp_path / "kb")
    vault = find_vault(tmp_path / "kb")
    assert vault is not None
    for sample in SAMPLES:
        shutil.copy(sample, vault.inbox)
    config = load_config(vault.root, env={})
    engine = open_engine(config, vault.prompts, vault.state)
    report = ingest(vault, engine, Options.from_config(config, today=TODAY))
    assert report.ok and report.count("ingested") == len(SAMPLES)
    assert lint(vault).pages > len(SAMPLES)
    assert graph(vault).stats.pages > len(SAMPLES)
    assert search_pages(vault, "Priya Raman", limit=3)[0].title == "Priya Raman"
    answer = ask(vault, open_answerer(config, vault.prompts), "Who is Priya Raman?", today=TODAY)
    assert "Priya Raman" in answer.citations
    merged = merge(vault, "Priya Raman", "Tomas Berg", TODAY)
    assert merged.removed and not (vault.wiki / "people" / "Tomas Berg.md").exists()


def test_options_from_a_config_are_what_wiki_ingest_starts_from(tmp_path: Path) -> None:
    vault, _ = init_vault(tmp_path / "kb")
    (vault.root / "wiki.toml").write_text("[wiki]\njobs = 3\nmax_file_mb = 2\n")
    options = Options.from_config(load_config(vault.root, env={}), today=TODAY)
    assert options == Options(today=TODAY, jobs=3, max_bytes=2_000_000, max_candidates=30)
    assert dataclasses.replace(options, dry_run=True).jobs == 3


def test_functions_keep_their_names_when_their_modules_are_imported() -> None:
    for name, module in (
        ("ingest", "llmwiki.ingest"),
        ("ask", "llmwiki.ask"),
        ("lint", "llmwiki.lint"),
        ("graph", "llmwiki.graph"),
    ):
        assert isinstance(importlib.import_module(module), types.ModuleType)
        value = getattr(llmwiki, name)
        assert callable(value) and not isinstance(value, types.ModuleType), name
    assert set(llmwiki.__all__) <= set(dir(llmwiki))


def imported_by(*code: str) -> set[str]:
    """The llmwiki modules (and heavy libraries) a fresh interpreter has loaded after `code`."""
    script = "\n".join(
        [
            "import sys",
            *code,
            "names = [m for m in sys.modules if m.split('.')[0] in "
            "('llmwiki', 'networkx', 'openai', 'pydantic', 'httpx', 'mcp')]",
            "print(__import__('json').dumps(names))",
        ]
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=NO_ENV
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


NO_ENV = {**NO_LLM, "PATH": "/usr/bin:/bin"}


def test_importing_the_package_or_the_cli_loads_no_command_s_core() -> None:
    loaded = imported_by("import llmwiki", "import llmwiki.cli")
    assert "llmwiki.ingest" not in loaded and "llmwiki.catalog" not in loaded, loaded
    assert not {"networkx", "openai", "pydantic", "httpx", "mcp"} & loaded


def test_wiki_search_loads_the_search_index_and_not_ingest_graph_or_llm(tmp_path: Path) -> None:
    vault, _ = init_vault(tmp_path / "kb")
    loaded = imported_by(
        "from llmwiki.cli import main",
        f"sys.argv = ['wiki', '--vault', {str(vault.root)!r}, 'search', 'x', '--json']",
        "try:\n    main()\nexcept SystemExit:\n    pass",
    )
    assert "llmwiki.search" in loaded
    heavy = {"llmwiki.ingest", "llmwiki.graph", "llmwiki.engines.llm", "networkx", "openai"}
    assert not heavy & loaded, heavy & loaded
