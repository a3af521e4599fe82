"""Quality of the embedded engine on real documents, scored against a gold file.

    .venv/bin/python bench/quality.py FOLDER [FOLDER ...] --gold GOLD.json [--annotated]

Copies the documents of each FOLDER into a fresh vault, ingests them with the extractive engine
and scores the wiki against the gold (the shape of ../shared/corpus/gold.json: one object per
set, named like the folder, mapping a file name to its `people`, `concepts`, `not_people`).
`--annotated` ingests only the files the gold describes (for a folder annotated in part).

It prints people precision and recall (all and central), central-concept recall, concept pages
per document, known non-people given person pages, a count for each junk class, links that do
not resolve by Obsidian's rules, `wiki lint`'s exit code and the numeric contradictions found.
Documents the gold does not describe are ingested (they shape the wiki) but not scored for
people and concepts. Nothing here is tuned to a document: the same script scores any set.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any

import frontmatter

from llmwiki.engines.extractive.engine import ExtractiveEngine
from llmwiki.errors import SourceError
from llmwiki.ingest import Options, ingest
from llmwiki.overview import split as split_overview
from llmwiki.pages import LINK_RE
from llmwiki.readers import read_source
from llmwiki.render import defining_fact
from llmwiki.vault import Vault, init_vault

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
GOALS = {
    "people precision": 0.9,
    "central-people recall": 0.9,
    "central-concept recall": 0.85,
    "defining overviews": 0.8,
}
_PRONOUN_START = re.compile(
    r"^(?:\*\*[^*]*\*\*\s+)?(?:He|She|They|It|His|Her|Their|Its|This|These|Those|We|I)\b"
)
_CONTRACTION = re.compile(r"^[A-Za-z]+['’](?:ve|m|s|re|ll|d|t)$")
# markup words no prose name contains ("Div class", "Img src", "mdc-text-amber-700")
_HTML_WORDS = frozenset(
    ["div", "span", "img", "src", "href", "iframe", "px", "rgb", "rgba", "nbsp", "mdc"]
)
_IMAGE = re.compile(r"\.(?:png|jpe?g|gif|svg|webp|bmp)\b|-v\d+$", re.IGNORECASE)
_CODE_ID = re.compile(r"^(?:[a-z]+\d+|[A-Z]\d|[a-z]+_[a-z0-9_]+|\w+\(\)|[a-z]+\.[a-z]+)$")
_ANCHOR = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+){2,}$")
_FILLER = re.compile(r"(?:Concept|Person) mentioned in ")


def _key(name: str) -> str:
    key = re.sub(r"[\W_]+", "", name.casefold())
    return key[:-1] if len(key) > 3 and key.endswith("s") else key


@dataclass
class Page:
    stem: str
    rel: str
    kind: str
    title: str
    aliases: list[str]
    sources: list[str]  # source page stems
    summary: str
    body: str

    @property
    def keys(self) -> set[str]:
        return {_key(n) for n in [self.title, *self.aliases] if _key(n)}


@dataclass
class Score:
    true_people: int = 0
    person_pages: int = 0
    people_found: int = 0
    people_gold: int = 0
    central_people_found: int = 0
    central_people_gold: int = 0
    central_found: int = 0
    central_gold: int = 0
    concepts_found: int = 0
    concepts_gold: int = 0
    not_people: list[str] = field(default_factory=list)
    missed_central: list[str] = field(default_factory=list)
    false_people: list[str] = field(default_factory=list)
    missed_people: list[str] = field(default_factory=list)


def read_pages(wiki: Path) -> dict[str, Page]:
    pages: dict[str, Page] = {}
    for path in sorted(wiki.rglob("*.md")):
        post = frontmatter.loads(path.read_text(encoding="utf-8"))
        meta: dict[str, Any] = dict(post.metadata)
        sources = [
            m.group(1).strip() for s in meta.get("sources") or [] for m in LINK_RE.finditer(str(s))
        ]
        archived = meta.get("archive") or meta.get("file")
        if meta.get("type") == "source" and archived:
            sources = [Path(str(archived)).name]  # a source page names its document
        pages[path.stem] = Page(
            stem=path.stem,
            rel=path.relative_to(wiki).as_posix(),
            kind=str(meta.get("type") or ""),
            title=str(meta.get("title") or path.stem),
            aliases=[str(a) for a in meta.get("aliases") or []],
            sources=sources,
            summary=str(meta.get("summary") or ""),
            body=post.content,
        )
    return pages


def _matches(page: Page, name: str, aliases: Iterable[str] = (), person: bool = False) -> bool:
    wanted = {_key(n) for n in [name, *aliases] if _key(n)}
    if page.keys & wanted:
        return True
    if person:
        # a gold surname-only mention is matched by the full-name page, and the other way round
        gold_last = _key(name.split()[-1]) if name.split() else ""
        title_last = _key(page.title.split()[-1]) if page.title.split() else ""
        if len(name.split()) == 1 or len(page.title.split()) == 1:
            return bool(gold_last) and gold_last == title_last
    return False


def score(pages: dict[str, Page], gold: dict[str, dict[str, Any]]) -> Score:
    result = Score()
    by_file = {p.sources[0]: p.stem for p in pages.values() if p.kind == "source" and p.sources}
    for name, entry in gold.items():
        source = by_file.get(name)
        if source is None:
            continue  # not ingested in this run
        cited = [p for p in pages.values() if source in p.sources and p.kind != "source"]
        people = [p for p in cited if p.kind == "person"]
        concepts = [p for p in cited if p.kind == "concept"]
        gold_people = entry.get("people", [])
        for person in people:
            result.person_pages += 1
            if any(_matches(person, g["name"], person=True) for g in gold_people):
                result.true_people += 1
            else:
                result.false_people.append(f"{person.title}  ({name})")
            if any(_matches(person, n) for n in entry.get("not_people", [])):
                result.not_people.append(f"{person.title}  ({name})")
        for g in gold_people:
            found = any(_matches(p, g["name"], person=True) for p in people)
            result.people_gold += 1
            result.people_found += found
            if not found:
                result.missed_people.append(f"{g['name']}  ({name})")
            if g.get("central"):
                result.central_people_gold += 1
                result.central_people_found += found
        for g in entry.get("concepts", []):
            # a set annotated without `central` marks (short notes) counts every concept
            central = g.get("central", True)
            found = any(_matches(p, g["name"], g.get("aliases", [])) for p in cited)
            result.concepts_gold += 1
            result.concepts_found += found
            if central:
                result.central_gold += 1
                result.central_found += found
                if not found:
                    result.missed_central.append(f"{g['name']}  ({name})")
        del concepts
    return result


_SHOWN_AS_PROJECT = re.compile(
    r"(?:github\.com|gitlab\.com|codeberg\.org)/[\w.-]+/([\w.-]+)"  # a repository
    r"|(?:pypi\.org/project|npmjs\.com/package|crates\.io/crates)/([\w.-]+)"  # a package
)


def project_names(files: Iterable[Path]) -> set[str]:
    """Lower-case words the documents show as a project's name: a repository or a package.
    "headroom" with its GitHub repository is a name the gold of a set without annotations
    (the newsletters) cannot vouch for; it is listed apart from the generic words, not
    hidden. A word in backticks is no such evidence: `items` and `select` are code."""
    names: set[str] = set()
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in _SHOWN_AS_PROJECT.finditer(text):
            names.add(next(g for g in match.groups() if g).lower().removesuffix(".git"))
    return names


def junk(
    pages: dict[str, Page], gold_names: set[str], projects: Collection[str] = ()
) -> dict[str, list[str]]:
    """Pages and links of each known junk class. A name the gold calls a concept is never
    junk (Camera2 is a real name, whatever its shape). One lower-case word is a generic word
    when it is a word of English, unless the documents show it as a project's name
    (`project_names`); one that English does not have (nanochat, gifsicle) is a coined name.
    Both are listed apart from the junk, not hidden."""
    classes: dict[str, list[str]] = {
        name: []
        for name in (
            "one- or two-letter titles",
            "HTML/CSS words and anchors",
            "image file names",
            "contractions",
            "generic words",
            "lower-case project names",
            "coined lower-case words",
            "code identifiers",
            "keys and hashes",
            "pronoun leads",
            "links glued into words",
            "links inside code",
            "short names linked in text",
            "filler index lines",
        )
    }
    for page in pages.values():
        if page.kind not in ("person", "concept"):
            continue
        title = page.title
        known = _key(title) in gold_names
        words = re.findall(r"[\w-]+", title.lower())
        if len(re.sub(r"\W", "", title)) <= 2 and not known:
            classes["one- or two-letter titles"].append(title)
        elif not known and (
            any(w in _HTML_WORDS for w in words)
            or (_ANCHOR.fullmatch(title) and any(c.isdigit() for c in title))
            or "=" in title
        ):
            classes["HTML/CSS words and anchors"].append(title)
        elif _IMAGE.search(title) and not known:
            classes["image file names"].append(title)
        elif _CONTRACTION.fullmatch(title):
            classes["contractions"].append(title)
        elif _CODE_ID.fullmatch(title) and not known:
            classes["code identifiers"].append(title)
        elif _KEY.fullmatch(title) and (_flips(title) >= 6 or "+" in title or "/" in title):
            classes["keys and hashes"].append(title)
        elif page.kind == "concept" and not known and _generic(title):
            if not _english(title):
                classes["coined lower-case words"].append(title)
            elif title.lower() in projects:
                classes["lower-case project names"].append(title)
            else:
                classes["generic words"].append(title)
        lead = page.body.strip().split("\n", 1)[0]
        if _PRONOUN_START.match(lead) or _PRONOUN_START.match(page.summary):
            classes["pronoun leads"].append(title)
    for page in pages.values():
        if page.rel.startswith("log"):
            continue  # the log lists pages; it has no running text
        code = [m.span() for m in _CODE_SPAN.finditer(page.body)]
        for match in LINK_RE.finditer(page.body):
            start, end = match.start(), match.end()
            if any(a < start < b for a, b in code):  # shown as its brackets, not followed
                classes["links inside code"].append(f"{page.stem}: {match.group(0)}")
            # inside a longer token ("[[GPT]]-3", "x[[86]]"); a dash before a space or another
            # dash ("Inputs-- a") is punctuation, not part of a word
            before = page.body[max(start - 2, 0) : start]
            after = page.body[end : end + 2]
            if re.search(r"(?:\w|\w[-.])$", before) or re.match(r"\w|[-.]\w", after):
                classes["links glued into words"].append(f"{page.stem}: {match.group(0)}{after}")
            target = match.group(1).strip()
            line = page.body[page.body.rfind("\n", 0, start) + 1 : start]
            if len(re.sub(r"\W", "", target)) <= 2 and line.strip() not in ("-", "*"):
                classes["short names linked in text"].append(f"{page.stem}: {match.group(0)}")
    return classes


# a request ID, an address, base64: ten characters or more, digits and lower case among them
_KEY = re.compile(r"(?=.*\d)(?=.*[a-z])[\w+/=-]{10,}")


def _flips(token: str) -> int:
    """How often the case changes between two letters side by side."""
    return sum(a.isupper() != b.isupper() for a, b in pairwise(token) if (a + b).isalpha())


_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")  # an inline code span, on one line

_DAYS = re.compile(
    r"(?:mon|tues|wednes|thurs|fri|satur|sun)days?|january|february|march|april|june|july|"
    r"august|september|october|november|december",
    re.IGNORECASE,
)


def _generic(title: str) -> bool:
    """Shaped like one everyday word: lower case letters only ("understand"), an inflected
    word capitalised ("Simplified", "Running"), a day or a month. Such a page says nothing
    when the word is one of English (`_english`)."""
    word = title.strip()
    if " " in word or not word.isalpha():
        return False
    if word.islower() or _DAYS.fullmatch(word):
        return True
    return word[1:].islower() and word.lower().endswith(("ed", "ing", "ly"))


@cache
def _english_words() -> frozenset[str]:
    """symspellpy's English word list: 82,765 words with their inflections, from Google Books
    counts and a spelling dictionary (so "screenshots" and "diff" are in it), and made apart
    from the engine's own lexicon."""
    try:
        words = resources.files("symspellpy") / "frequency_dictionary_en_82_765.txt"
        text = words.read_text(encoding="utf-8")
    except (ImportError, OSError):
        sys.exit("bench/quality.py needs symspellpy's word list: .venv/bin/pip install -e '.[dev]'")
    return frozenset(line.split(" ", 1)[0] for line in text.splitlines())


def _english(word: str) -> bool:
    """A word of the language, not a name coined for a project."""
    return _DAYS.fullmatch(word) is not None or word.lower() in _english_words()


def broken_links(pages: dict[str, Page], wiki: Path) -> list[str]:
    """Links that name no file by Obsidian's rules: the target is a file name (or a path in
    the vault) without `.md`, matched without regard to case."""
    names = {p.stem.casefold() for p in pages.values()}
    paths = {p.rel[:-3].casefold() for p in pages.values()}
    others = {f.name.casefold() for f in wiki.rglob("*") if f.is_file()}
    broken = []
    for page in pages.values():
        if page.rel.startswith("log"):
            continue  # the log lists pages; it has no running text
        for match in LINK_RE.finditer(page.body):
            target = match.group(1).strip()
            if target.lower().endswith(".md"):
                target = target[:-3]
            folded = target.casefold()
            if not target or folded in names or folded in paths or folded in others:
                continue
            broken.append(f"{page.rel}: [[{match.group(1)}]]")
    return broken


def contradictions(wiki: Path) -> list[str]:
    path = wiki / "contradictions.md"
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if "- " in line]


def index_filler(wiki: Path) -> list[str]:
    found = []
    # index.md, and the parts of a large index (wiki/index/)
    for path in sorted([*wiki.glob("index*.md"), *wiki.glob("index/*.md")]):
        found.extend(
            line for line in path.read_text(encoding="utf-8").splitlines() if _FILLER.search(line)
        )
    return found


_SENTENCE = re.compile(r"(?<=[.!?])[\"”’)]*\s+(?=[\"“(\[A-Z0-9])")


def defining_leads(pages: dict[str, Page], vault: Vault) -> tuple[int, int]:
    """(entity pages whose overview opens with a defining sentence, entity pages whose
    sources contain one): #14's "opens with a defining sentence on 80% of the pages"."""
    texts: dict[str, list[str]] = {}

    def sentences(source_stem: str) -> list[str]:
        if source_stem not in texts:
            page = pages.get(source_stem)
            archived = page.sources[0] if page and page.sources else ""
            try:
                text = read_source(vault.raw / archived).text if archived else ""
            except (SourceError, OSError):
                text = ""
            texts[source_stem] = [
                s.strip()
                for paragraph in text.split("\n")
                if paragraph.strip() and not paragraph.startswith("#")
                for s in _SENTENCE.split(paragraph)
            ]
        return texts[source_stem]

    opening = possible = 0
    for page in pages.values():
        if page.kind not in ("person", "concept"):
            continue
        names = [page.title, page.stem, *page.aliases]
        found = [s for stem in page.sources for s in sentences(stem)]
        if defining_fact(names, found) is None:
            continue
        possible += 1
        lead = split_overview(page.body)[0].split(" Mentioned in ", 1)[0]
        opening += defining_fact(names, [lead]) is not None
    return opening, possible


def lint_exit(root: Path) -> int:
    env = {**os.environ, "WIKI_MODEL": "", "OPENAI_BASE_URL": "", "OPENAI_API_KEY": ""}
    done = subprocess.run(
        [sys.executable, "-m", "llmwiki", "lint"],
        cwd=root,
        env=env,
        capture_output=True,
        check=False,
    )
    return done.returncode


def _ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def _line(label: str, value: float, goal: float | None = None, fmt: str = ".2f") -> str:
    text = f"  {label:<34} {value:{fmt}}"
    if goal is not None:
        text += f"   (goal ≥ {goal:{fmt}})" if goal else "   (goal 0)"
    return text


def load_gold(path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """The gold's sets: set name (a folder's name) -> file name -> annotations."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_") and isinstance(v, dict)}


def chosen_files(
    folders: Sequence[Path], sets: dict[str, dict[str, dict[str, Any]]], annotated: bool
) -> list[Path]:
    """The documents of each folder; with `annotated`, only those the gold describes in a
    folder that has a gold set (a folder without one, like the newsletters, comes whole)."""
    files = []
    for folder in folders:
        described = sets.get(folder.name)
        for f in sorted(folder.iterdir()):
            if not f.is_file() or f.suffix not in (".md", ".txt", ".html"):
                continue
            if f.name == "README.md" or (annotated and described and f.name not in described):
                continue
            files.append(f)
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, help="folders of documents")
    parser.add_argument("--gold", type=Path, default=CORPUS / "gold.json")
    parser.add_argument(
        "--annotated", action="store_true", help="ingest only the files the gold describes"
    )
    parser.add_argument("--keep", type=Path, help="build the vault here and keep it")
    parser.add_argument("--verbose", "-v", action="store_true", help="list every miss")
    args = parser.parse_args(argv)
    folders: list[Path] = args.folders or [CORPUS, CORPUS / "blogs", CORPUS / "til"]
    if not args.gold.exists() or not all(f.is_dir() for f in folders):
        print(f"skipped: no gold at {args.gold} or a folder is missing (dev workspace only)")
        return 0
    sets = load_gold(args.gold)
    gold = {name: entry for entries in sets.values() for name, entry in entries.items()}
    files = chosen_files(folders, sets, args.annotated)
    gold_names = {
        _key(n)
        for entry in gold.values()
        for c in entry.get("concepts", [])
        for n in [c["name"], *c.get("aliases", [])]
    }
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="wiki-quality-"))
    try:
        if work.exists() and any(work.iterdir()):
            print(f"{work} is not empty; give --keep an empty or new folder")
            return 2
        vault = init_vault(work)[0]
        for f in files:
            shutil.copyfile(f, vault.inbox / f.name)
        start = time.perf_counter()
        report = ingest(vault, ExtractiveEngine(), Options(today=date(2026, 1, 15)))
        seconds = time.perf_counter() - start
        pages = read_pages(vault.wiki)
        s = score(pages, gold)
        classes = junk(pages, gold_names, project_names(files))
        broken = broken_links(pages, vault.wiki)
        found = contradictions(vault.wiki)
        classes["filler index lines"] = index_filler(vault.wiki)
        code = lint_exit(vault.root)
        concept_pages = sum(1 for p in pages.values() if p.kind == "concept")
        person_pages = sum(1 for p in pages.values() if p.kind == "person")
        docs = report.count("ingested")
        scored = sum(
            1
            for p in pages.values()
            if p.kind == "source" and p.sources[:1] and p.sources[0] in gold
        )
        print(
            f"{docs} documents ingested in {seconds:.1f} s, {report.count('failed')} failed "
            f"({scored} scored against the gold)"
        )
        print(f"{person_pages} person pages, {concept_pages} concept pages")
        print("people")
        print(_line("precision", _ratio(s.true_people, s.person_pages), GOALS["people precision"]))
        print(_line("recall (all)", _ratio(s.people_found, s.people_gold)))
        print(
            _line(
                "recall (central)",
                _ratio(s.central_people_found, s.central_people_gold),
                GOALS["central-people recall"],
            )
        )
        print(_line("known non-people as people", len(s.not_people), 0, "d"))
        print("concepts")
        print(
            _line(
                "central-concept recall",
                _ratio(s.central_found, s.central_gold),
                GOALS["central-concept recall"],
            )
        )
        print(_line("concept recall (all)", _ratio(s.concepts_found, s.concepts_gold)))
        print(_line("concept pages per document", concept_pages / max(docs, 1)))
        gold_per_doc = sum(len(e.get("concepts", [])) for e in gold.values()) / max(len(gold), 1)
        print(_line("gold concepts per document", gold_per_doc))
        projects = classes.pop("lower-case project names")
        coined = classes.pop("coined lower-case words")
        print("junk (goal 0 in every class)")
        for name, items in classes.items():
            sample = ", ".join(items[:6])
            print(f"  {name:<34} {len(items):d}" + (f"   e.g. {sample}" if items else ""))
        print("  not junk: one lower-case word that English does not have, or that names a")
        print("  repository or package of the documents")
        print(f"  {'lower-case project names':<34} {len(projects):d}   {', '.join(projects[:12])}")
        print(f"  {'coined lower-case words':<34} {len(coined):d}   {', '.join(coined[:12])}")
        print("wiki")
        print(_line("broken links", len(broken), 0, "d"))
        print(f"  {'wiki lint exit code':<34} {code}   (goal 0)")
        print(f"  {'numeric contradictions found':<34} {len(found)}")
        opening, possible = defining_leads(pages, vault)
        print("overviews")
        print(
            _line(
                "open with a defining sentence",
                _ratio(opening, possible),
                GOALS["defining overviews"],
            )
            + f"   ({opening} of {possible} pages whose sources hold one)"
        )
        for line in found[:10]:
            print(f"    {line[:160]}")
        if args.verbose:
            for label, items in (
                ("non-people as people", s.not_people),
                ("false people", s.false_people),
                ("missed people", s.missed_people),
                ("missed central concepts", s.missed_central),
                ("broken links", broken),
            ):
                print(f"{label} ({len(items)}):")
                for item in items:
                    print(f"    {item}")
            listed = {
                **classes,
                "lower-case project names": projects,
                "coined lower-case words": coined,
            }
            for name, items in listed.items():
                print(f"{name} ({len(items)}): {', '.join(items)}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
