"""`wiki search`: ranked pages from the full-text index, no LLM, nothing else on stdout."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import NO_LLM, SAMPLES

from llmwiki.cli import cli
from llmwiki.vault import init_vault


def _wiki(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=NO_LLM)


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("search") / "kb"
    vault = init_vault(root)[0]
    for sample in SAMPLES:
        shutil.copy(sample, vault.inbox / sample.name)
    assert _wiki("--vault", str(root), "ingest").exit_code == 0
    return str(root)


def test_json_hits_are_ranked_and_carry_title_type_snippet_score(kb: str) -> None:
    result = _wiki("--vault", kb, "search", "KV-Lite inference memory", "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)  # stdout is the JSON and nothing else
    assert hits[0]["title"] == "KV-Lite" and hits[0]["link"] == "[[KV-Lite]]"
    for hit in hits:
        assert set(hit) == {"title", "link", "type", "path", "score", "snippet", "matched", "terms"}
        assert hit["type"] in {"person", "concept", "source", "answer"}
        assert isinstance(hit["score"], float) and hit["snippet"]
    ranks = [(-h["matched"], -h["score"]) for h in hits]
    assert ranks == sorted(ranks)
    assert result.stderr == ""  # no "no LLM configured" notice: search never uses one


def test_type_and_limit(kb: str) -> None:
    result = _wiki("--vault", kb, "search", "Raman", "--type", "source", "--json")
    hits = json.loads(result.stdout)
    assert hits and {h["type"] for h in hits} == {"source"}
    one = json.loads(_wiki("--vault", kb, "search", "Raman", "--limit", "1", "--json").stdout)
    assert len(one) == 1 and one[0]["title"] == "Priya Raman"


def test_plain_output(kb: str) -> None:
    result = _wiki("--vault", kb, "search", "Tomas Berg")
    assert result.exit_code == 0
    first, snippet = result.stdout.split("\n")[:2]
    assert first.split()[1:] == ["person", "Tomas", "Berg", "[[Tomas", "Berg]]"]
    assert "Berg" in snippet


def test_no_match_prints_no_hit(kb: str) -> None:
    result = _wiki("--vault", kb, "search", "capital of Mongolia", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    plain = _wiki("--vault", kb, "search", "capital of Mongolia")
    assert plain.stdout == "" and "No page matches" in plain.stderr


def test_bad_options_are_refused(kb: str, tmp_path: Path) -> None:
    assert _wiki("--vault", kb, "search", "x", "--type", "secret").exit_code == 2
    assert _wiki("--vault", kb, "search", "x", "--limit", "0").exit_code == 2
    result = _wiki("--vault", str(tmp_path), "search", "x")
    assert result.exit_code == 2 and "wiki init" in result.stderr
