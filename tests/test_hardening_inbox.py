"""Issue 12, the inbox side: what a hostile or careless inbox file must not do to a run.

Links out of the vault, impossible dates, names at the file system's limit, hidden files and
decompression or nesting bombs. Each bad file ends in inbox/failed/ with its reason (or, for a
hidden file, is listed as ignored), and the run goes on with the next file.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import NO_LLM, REPO, SAMPLE_ENTITIES, TODAY, KeywordEngine, drop, run
from test_sources import make_docx, make_epub, make_pdf

from llmwiki.cli import cli
from llmwiki.engines import Extraction, SourceDoc
from llmwiki.errors import SourceError
from llmwiki.ingest import Options, ingest
from llmwiki.manifest import Manifest
from llmwiki.readers import iso_date, read_source
from llmwiki.status import vault_status
from llmwiki.vault import Vault

SECRET = "TOP-SECRET-7f3a9c outside the vault: Priya Raman's password is hunter2."
GOOD = "Priya Raman built KV-Lite. Tomas Berg tested it."


class RecordingEngine(KeywordEngine):
    """Remembers every text it was asked to read, including prefetched ones."""

    def __init__(self) -> None:
        super().__init__(SAMPLE_ENTITIES)
        self.texts: list[str] = []

    def extract(self, doc: SourceDoc, known_titles: Sequence[str]) -> Extraction:
        self.texts.append(doc.text)
        return super().extract(doc, known_titles)


def vault_bytes(vault: Vault) -> bytes:
    """Every regular file in the vault, links not followed."""
    return b"\n".join(
        p.read_bytes() for p in sorted(vault.root.rglob("*")) if p.is_file() and not p.is_symlink()
    )


# --- item 2: symbolic links -----------------------------------------------------------------


@pytest.mark.parametrize("jobs", [1, 4])
def test_a_link_out_of_the_vault_is_quarantined_unread(
    vault: Vault, tmp_path: Path, jobs: int
) -> None:
    outside = tmp_path / "elsewhere" / "secret.txt"
    outside.parent.mkdir()
    outside.write_text(SECRET)
    drop(vault, "a.txt", GOOD)  # ingested first, so the link is looked ahead at with jobs > 1
    (vault.inbox / "p.txt").symlink_to(outside)
    engine = RecordingEngine()
    report = run(vault, engine, jobs=jobs)
    assert [(r.file, r.status) for r in report.results] == [
        ("a.txt", "ingested"),
        ("p.txt", "failed"),
    ]
    assert not any("TOP-SECRET" in text for text in engine.texts)
    moved = vault.failed / "p.txt"
    assert moved.is_symlink() and os.readlink(moved) == str(outside)  # the link, not the file
    assert outside.read_text() == SECRET
    note = (vault.failed / "p.txt.error.txt").read_text()
    assert "outside the vault" in note and "copy it into inbox/" in note
    assert b"TOP-SECRET" not in vault_bytes(vault)
    assert not list(vault.inbox.glob("*.txt"))


def test_a_link_chain_that_leaves_the_vault_is_refused(vault: Vault, tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text(SECRET)
    hop = vault.root / "notes" / "hop.txt"  # inside the vault, but itself a link out
    hop.parent.mkdir()
    hop.symlink_to(outside)
    (vault.inbox / "p.txt").symlink_to(hop)
    report = run(vault, RecordingEngine())
    assert report.results[0].status == "failed"
    assert b"TOP-SECRET" not in vault_bytes(vault)


def test_a_link_inside_the_vault_is_read_and_only_the_link_leaves(vault: Vault) -> None:
    kept = vault.root / "notes" / "kv.txt"
    kept.parent.mkdir()
    kept.write_text(GOOD)
    (vault.inbox / "kv.txt").symlink_to(Path("..") / "notes" / "kv.txt")
    report = run(vault, RecordingEngine())
    assert report.results[0].status == "ingested"
    assert not os.path.lexists(vault.inbox / "kv.txt")  # the link left the inbox...
    assert kept.read_text() == GOOD  # ...its target stayed
    archived = vault.raw / "kv.txt"
    assert not archived.is_symlink() and archived.read_text() == GOOD


def test_a_named_file_outside_the_inbox_is_still_read(tmp_path: Path) -> None:
    # `wiki ingest ~/file` is the user's own choice; the link rule is for what lands in the inbox
    outside = tmp_path / "mine.txt"
    outside.write_text(GOOD)
    link = tmp_path / "link.txt"
    link.symlink_to(outside)
    assert read_source(link).text == GOOD
    with pytest.raises(SourceError, match="outside the vault"):
        read_source(link, within=[tmp_path / "vault"])


def test_a_link_loop_in_the_inbox_is_quarantined(vault: Vault) -> None:
    loop = vault.inbox / "loop.txt"
    loop.symlink_to("loop.txt")
    drop(vault, "b.txt", GOOD)
    # named on the command line: a loop is not a file, so the inbox scan never offers it
    report = ingest(vault, RecordingEngine(), Options(today=TODAY), [loop, vault.inbox / "b.txt"])
    assert [r.status for r in report.results] == ["failed", "ingested"]
    assert (vault.failed / "loop.txt").is_symlink()
    assert "cannot read it" in (vault.failed / "loop.txt.error.txt").read_text()


# --- item 5: one bad file never stops a run -------------------------------------------------

BAD_DATE = """---
title: Notes with a bad date
published: 2025-02-30
---
Priya Raman built KV-Lite.
"""


def test_an_impossible_date_quarantines_the_file_and_the_run_goes_on(vault: Vault) -> None:
    drop(vault, "a-bad-date.md", BAD_DATE)
    drop(vault, "b-good.txt", GOOD)
    report = run(vault, RecordingEngine())
    assert [(r.file, r.status) for r in report.results] == [
        ("a-bad-date.md", "failed"),
        ("b-good.txt", "ingested"),
    ]
    note = (vault.failed / "a-bad-date.md.error.txt").read_text()
    assert "impossible date" in note and "published: 2025-02-30" in note and "line 3" in note
    assert (vault.failed / "a-bad-date.md").read_text() == BAD_DATE
    # the next run does not meet it again
    assert run(vault, RecordingEngine()).results == ()


@pytest.mark.parametrize(
    "header",
    ["updated: 2025-13-45", "when: 2025-01-01 25:00:00", "date: 0000-01-01"],
)
def test_every_impossible_timestamp_is_a_source_error(tmp_path: Path, header: str) -> None:
    path = tmp_path / "n.md"
    path.write_text(f"---\n{header}\n---\nText.\n")
    with pytest.raises(SourceError, match="impossible date"):
        read_source(path)


def test_a_header_python_frontmatter_cannot_take_is_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "n.md"
    path.write_text("---\n2025-01-01: a date as a key\n---\nText.\n")
    assert "Text." in read_source(path).text


@pytest.mark.parametrize("value", ["2025-02-30", "2025-13-01", "2025/00/10", "0000-01-01"])
def test_iso_date_leaves_out_a_date_that_does_not_exist(value: str) -> None:
    assert iso_date(value) == ""
    assert iso_date(value + "T10:00:00Z") == ""


def test_a_page_meta_date_that_does_not_exist_is_left_out(tmp_path: Path) -> None:
    page = '<html><head><meta property="article:published_time" content="2025-02-30">'
    page += "<title>T</title></head><body><p>Priya Raman built KV-Lite.</p></body></html>"
    path = tmp_path / "p.html"
    path.write_text(page)
    assert "published" not in read_source(path).meta
    assert iso_date("2024-02-29") == "2024-02-29"


# --- item 7: names at the file system's limit -----------------------------------------------


@pytest.mark.parametrize("stem", ["a" * 251, "é" * 125, "long." + "x" * 245])
def test_a_name_at_the_limit_is_quarantined_with_its_note(vault: Vault, stem: str) -> None:
    name = stem + ".txt" if not stem.startswith("long.") else stem
    assert len(name.encode()) >= 246
    drop(vault, name, bytes(range(256)) * 8)  # binary: rejected
    drop(vault, "z.txt", GOOD)
    report = run(vault, RecordingEngine())
    assert {r.file: r.status for r in report.results} == {name: "failed", "z.txt": "ingested"}
    moved = [p for p in vault.failed.iterdir() if not p.name.endswith(".error.txt")]
    assert len(moved) == 1 and moved[0].read_bytes() == bytes(range(256)) * 8
    note = moved[0].with_name(moved[0].name + ".error.txt")
    assert len(note.name.encode()) <= 255
    assert f"In the inbox this file was named: {name}" in note.read_text()
    if name.endswith(".txt"):
        assert moved[0].suffix == ".txt"
    # a second file of the same name gets a numbered name, still within the limit
    drop(vault, name, b"\x00\x01" * 100)
    run(vault, RecordingEngine())
    assert len([p for p in vault.failed.iterdir() if p.name.endswith(".error.txt")]) == 2


def test_a_long_name_taken_in_raw_gets_a_hashed_name_within_the_limit(vault: Vault) -> None:
    name = "n" * 251 + ".txt"
    drop(vault, name, GOOD)
    run(vault, RecordingEngine())
    drop(vault, name, "Tomas Berg tested KV-Lite again.")
    report = run(vault, RecordingEngine())
    assert report.results[0].status == "ingested", report.results[0].message
    names = sorted(p.name for p in vault.raw.iterdir())
    assert len(names) == 2 and all(len(n.encode()) <= 255 for n in names)
    assert names[0].endswith(".txt") and "-" in names[0]


# --- item 19: hidden files are listed as ignored --------------------------------------------


def test_hidden_files_are_listed_as_ignored(vault: Vault) -> None:
    for name in (".foo.txt", "..txt", ".notes.md", ".DS_Store", "paper.pdf.part"):
        drop(vault, name, GOOD)
    drop(vault, "real.txt", GOOD)
    status = vault_status(vault, Manifest.load(vault))
    assert status.pending == ("real.txt",)
    assert status.ignored == ("..txt", ".foo.txt", ".notes.md")
    result = CliRunner().invoke(cli, ["--vault", str(vault.root), "status"], env=NO_LLM)
    assert result.exit_code == 0
    assert "1 pending, 0 failed, 3 ignored" in result.output
    assert "ignored: .foo.txt (hidden or temporary; rename it to ingest it)" in result.output
    run(vault, RecordingEngine())
    assert (vault.inbox / ".foo.txt").exists()  # ignored means left alone


# --- item 18: the throughput benchmark finds the corpus or says it did not ------------------

BENCH = REPO / "bench" / "extractive_throughput.py"


def bench(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), "--repeat", "1", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **NO_LLM},
        check=False,
    )


def test_the_benchmark_without_a_corpus_fails_and_says_why(tmp_path: Path) -> None:
    done = bench(BENCH, "--corpus", str(tmp_path / "nowhere"))
    assert done.returncode != 0
    assert "no corpus" in done.stderr and str(tmp_path / "nowhere") in done.stderr


def test_the_benchmark_finds_shared_beside_a_linked_clone(tmp_path: Path) -> None:
    # a clone reached through a link (as in a workspace of linked checkouts): ../shared is
    # beside the path the user ran, not beside where the link leads
    real = tmp_path / "disk" / "wiki" / "bench"
    real.mkdir(parents=True)
    (real / BENCH.name).write_bytes(BENCH.read_bytes())
    work = tmp_path / "work"
    work.mkdir()
    (work / "wiki").symlink_to(real.parent)
    corpus = work / "shared" / "corpus"
    corpus.mkdir(parents=True)
    (corpus / "000_note.txt").write_text("A Note\n\n" + GOOD)
    done = bench(work / "wiki" / "bench" / BENCH.name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 documents" in done.stdout


# --- item 3: decompression and nesting bombs ------------------------------------------------
# Each bomb is a small file that unpacks or parses to far more; each must be rejected with its
# reason, within seconds (measured in the closing note, not asserted here).

PARAGRAPH = b"<w:p><w:r><w:t>Priya Raman built KV-Lite again.</w:t></w:r></w:p>"


def inflated_zip(original: bytes, member: str, unit: bytes, size: int) -> bytes:
    """`original` (a DOCX or EPUB) with `unit` repeated to `size` bytes inside the body of
    `member`, written in pieces so the test never holds the whole expansion."""
    source = zipfile.ZipFile(io.BytesIO(original))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info.filename)
            if not info.filename.endswith(member):
                archive.writestr(info, data)
                continue
            marker = b"<w:body>" if b"<w:body>" in data else b"<body>"
            head, _, tail = data.partition(marker)
            with archive.open(info.filename, "w", force_zip64=True) as stream:
                stream.write(head + marker)
                chunk = unit * (1_000_000 // len(unit))
                for _ in range(size // len(chunk)):
                    stream.write(chunk)
                stream.write(tail)
    return out.getvalue()


def pdf_with_content(stream: bytes) -> bytes:
    """A one-page PDF whose content stream is `stream`, deflated."""
    packed = zlib.compress(stream, 9)
    pdf = make_pdf(["x"])
    start = pdf.index(b"5 0 obj")
    end = pdf.index(b"endobj", start) + len(b"endobj")
    body = b"5 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream\nendobj" % (
        len(packed),
        packed,
    )
    pdf = pdf[:start] + body + pdf[end:]
    # the cross-reference table's offsets no longer hold; pypdf rebuilds it, as for any
    # PDF edited by hand
    return pdf


BOMBS = {
    "expands.docx": (
        lambda: inflated_zip(make_docx(), "document.xml", PARAGRAPH, 100_000_000),
        "more than 64 MB of markup",
    ),
    "elements.docx": (
        lambda: inflated_zip(make_docx(), "document.xml", b"<w:p/>", 6_000_000),
        "more than 500,000 elements",
    ),
    "expands.epub": (
        lambda: inflated_zip(make_epub(), "one.xhtml", b"<p>Priya Raman.</p>", 100_000_000),
        "more than 64 MB of markup",
    ),
    "deep.html": (lambda: b"<html><body>" + b"<div>" * 20_000 + b"text", "nest more than"),
    "deeper.html": (lambda: b"<html><body>" + b"<div>" * 200_000 + b"text", "nest more than"),
    "many.html": (lambda: b"<p><b>x</b></p>" * 300_000, "more than 500,000 elements"),
    "stream.pdf": (
        lambda: pdf_with_content(b"0 0 Td " * 10_000_000),
        "more than 64 MB of content",
    ),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_a_bomb_is_rejected_with_its_reason(tmp_path: Path, name: str) -> None:
    make, reason = BOMBS[name]
    path = tmp_path / name
    path.write_bytes(make())
    assert path.stat().st_size < 5_000_000  # far under max_file_mb, which cannot catch it
    with pytest.raises(SourceError) as caught:
        read_source(path, max_bytes=50_000_000)
    assert reason in str(caught.value) and "too large to read safely" in str(caught.value)


def test_a_bomb_goes_to_failed_and_the_run_goes_on(vault: Vault) -> None:
    drop(vault, "a-deep.html", b"<html><body>" + b"<div>" * 200_000 + b"text")
    drop(vault, "b-good.txt", GOOD)
    report = run(vault, RecordingEngine())
    assert [r.status for r in report.results] == ["failed", "ingested"]
    assert "nest more than" in (vault.failed / "a-deep.html.error.txt").read_text()


def test_a_long_page_of_many_paragraphs_is_read_whole(tmp_path: Path) -> None:
    # 20,000 sibling paragraphs: each tree edit scanned the siblings, minutes in all
    page = "<html><body><main>" + "".join(f"<p>Point {i}.</p>" for i in range(20_000))
    path = tmp_path / "long.html"
    tail = "<pre>a\nb</pre><ul><li>x</li></ul><table><tr><td>1</td><td>2</td></tr></table>"
    path.write_text(page + tail + "</main>")
    text = read_source(path).text
    assert text.startswith("Point 0.\n\nPoint 1.") and "Point 19999." in text
    assert text.endswith("a\nb\n\n- x\n\n1 | 2")


def test_a_long_word_document_is_read_in_time(tmp_path: Path) -> None:
    # some 30,000 paragraphs: looking each one's style up by name took 3 ms apiece
    path = tmp_path / "long.docx"
    path.write_bytes(inflated_zip(make_docx(), "document.xml", PARAGRAPH, 2_000_000))
    doc = read_source(path)
    assert doc.title == "Quarterly Notes"
    assert doc.text.count("Priya Raman built KV-Lite again.") == 2 * (1_000_000 // len(PARAGRAPH))


class Swapping(KeywordEngine):
    """Points the inbox link somewhere else while the source is being extracted."""

    def __init__(self, link: Path, elsewhere: Path) -> None:
        super().__init__(SAMPLE_ENTITIES)
        self.link, self.elsewhere = link, elsewhere

    def extract(self, doc: SourceDoc, known_titles: Sequence[str]) -> Extraction:
        self.link.unlink()
        self.link.symlink_to(self.elsewhere)
        return super().extract(doc, known_titles)


def test_a_link_swapped_after_it_was_read_is_not_archived(vault: Vault, tmp_path: Path) -> None:
    inside = vault.root / "notes" / "a.md"
    inside.parent.mkdir()
    inside.write_text("# A\n\nTomas Berg built Lighthouse.\n")
    secret = tmp_path / "secret.md"
    secret.write_text("# Secret\n\nhunter2 is the password.\n")
    link = vault.inbox / "a.md"
    link.symlink_to(inside)
    report = run(vault, Swapping(link, secret))
    assert report.count("failed") == 1 and "not read" in report.results[0].message
    assert link.is_symlink()  # still in the inbox, to be tried again
    assert not any(b"hunter2" in p.read_bytes() for p in vault.raw.rglob("*") if p.is_file())
