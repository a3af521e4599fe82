"""Compare the HTML readers on generated pages: BeautifulSoup heuristics vs trafilatura.

The shared corpus is markdown, and no page may be fetched from the web here, so the pages are
generated (seeded, reproducible) in the layouts real sites use: semantic <article>/<main>,
div soup with class names only, a <main> that also holds a sidebar and comments, several
<article> teasers around the story, and a bare body. Each page carries an article of known
sentences and boilerplate of known sentences: navigation, a cookie banner, share buttons,
related links, a newsletter box, comments, a footer and scripts.

Per extractor it reports article recall (share of the article's sentences kept) and leak
(share of boilerplate sentences kept), over all pages and per layout, and the time per page.

    python bench/html_extractors.py [--pages 200] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup

from llmwiki.readers import html as html_reader

SUBJECTS = ["The team", "Priya Raman", "The new cache", "Our benchmark", "The city council"]
SUBJECTS += ["A second study", "The compiler", "Tomas Berg", "The harbour authority"]
VERBS = ["measured", "reported", "rebuilt", "questioned", "replaced", "published", "doubled"]
OBJECTS = ["the write path", "its energy use", "the nightly compaction", "the old ferry route"]
OBJECTS += ["every cold start", "the annual budget", "the reading list", "a tiny parser"]
TAILS = ["after three months of tests", "without any new hardware", "to everyone's surprise"]
TAILS += ["in a report released on Tuesday", "while the servers were idle", "twice in a row"]

BOILER = {
    "nav": ["Home", "Archive of every post", "About this newsletter", "Subscribe now"],
    "cookie": [
        "We use cookies to personalise content and ads and to analyse our traffic.",
        "By clicking accept all you agree to the storing of cookies on your device.",
    ],
    "share": ["Share on social media", "Copy link to this story"],
    "related": [
        "Related: why small models keep winning benchmarks",
        "Related: ten tips for faster builds you can try today",
    ],
    "newsletter": ["Get the weekly digest in your inbox every Friday morning for free."],
    "comments": [
        "Great post, thanks for writing this up so clearly!",
        "I disagree with the second point, it ignores the cost of memory entirely.",
    ],
    "footer": ["Copyright 2025 Small Systems Media. All rights reserved.", "Privacy policy"],
}


def sentence(rng: random.Random) -> str:
    return (
        f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}"
        f" (note {rng.randrange(10_000)})."
    )


@dataclass(frozen=True)
class Page:
    layout: str
    html: str
    article: list[str]
    boilerplate: list[str]


def _boiler(kind: str) -> str:
    items = BOILER[kind]
    if kind == "nav":
        links = "".join(f'<li><a href="/{i}">{t}</a></li>' for i, t in enumerate(items))
        return f"<ul class='menu'>{links}</ul>"
    if kind == "cookie":
        return "".join(f"<p>{t}</p>" for t in items) + "<button>Accept all</button>"
    if kind in ("share", "related"):
        return "<ul>" + "".join(f'<li><a href="/r">{t}</a></li>' for t in items) + "</ul>"
    if kind == "comments":
        return "<h3>Comments</h3>" + "".join(
            f"<div class='comment'><p>{t}</p></div>" for t in items
        )
    return "".join(f"<p>{t}</p>" for t in items)


def make_page(rng: random.Random, layout: str) -> Page:
    paragraphs = [
        [sentence(rng) for _ in range(rng.randint(2, 4))] for _ in range(rng.randint(4, 9))
    ]
    article = [s for p in paragraphs for s in p]
    title = f"Report {rng.randrange(1000)}: {rng.choice(OBJECTS)}"
    body = f"<h1>{title}</h1><p class='byline'>By Lena Okafor</p>" + "".join(
        f"<p>{' '.join(p)}</p>" for p in paragraphs
    )
    b = {k: _boiler(k) for k in BOILER}
    cookie = f"<div id='cookie-banner' class='cookie-consent'>{b['cookie']}</div>"
    script = "<script>var tracker = 'analytics pixel loaded';</script>"
    if layout == "semantic":
        html = (
            f"<header><nav>{b['nav']}</nav></header>{cookie}<main><article>{body}"
            f"<div class='share'>{b['share']}</div></article>"
            f"<aside>{b['related']}{b['newsletter']}</aside>"
            f"<section id='comments'>{b['comments']}</section></main><footer>{b['footer']}</footer>"
        )
    elif layout == "divs":
        html = (
            f"<div class='header'><div class='menu'>{b['nav']}</div></div>{cookie}"
            f"<div class='wrapper'><div class='post-content'>{body}</div>"
            f"<div class='share-buttons'>{b['share']}</div><div class='sidebar'>{b['related']}"
            f"{b['newsletter']}</div><div class='comments'>{b['comments']}</div></div>"
            f"<div class='footer'>{b['footer']}</div>"
        )
    elif layout == "main-with-extras":
        html = (
            f"<nav>{b['nav']}</nav>{cookie}<main><div class='post'>{body}</div>"
            f"<div class='share'>{b['share']}</div><div class='related'>{b['related']}</div>"
            f"<div class='newsletter'>{b['newsletter']}</div>"
            f"<div class='comments'>{b['comments']}</div></main><footer>{b['footer']}</footer>"
        )
    elif layout == "teasers":
        teasers = "".join(
            f"<article class='teaser'><h2><a href='/t'>{t}</a></h2></article>"
            for t in BOILER["related"]
        )
        html = (
            f"<nav>{b['nav']}</nav>{cookie}<article class='story'>{body}</article>{teasers}"
            f"<div class='newsletter'>{b['newsletter']}</div>"
            f"<section class='comments'>{b['comments']}</section><footer>{b['footer']}</footer>"
        )
    else:  # bare: everything straight in <body>
        html = (
            f"{b['nav']}{cookie}{body}{b['share']}{b['related']}{b['newsletter']}"
            f"{b['comments']}{b['footer']}"
        )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title} | Small Systems"
        f"</title>{script}</head><body>{html}{script}</body></html>"
    )
    boilerplate = [t for items in BOILER.values() for t in items]
    return Page(layout, page, article, [*boilerplate, "analytics pixel loaded"])


def old_reader(html: str) -> str:
    return html_reader.html_text(BeautifulSoup(html, "html.parser"))


def new_reader(html: str) -> str:
    return html_reader.read(Path("page.html"), html.encode("utf-8"))[0]


LAYOUTS = ["semantic", "divs", "main-with-extras", "teasers", "bare"]


def score(reader: Callable[[str], str], pages: list[Page]) -> dict[str, tuple[float, float]]:
    per: dict[str, list[tuple[float, float]]] = {}
    for page in pages:
        text = " ".join(reader(page.html).split())
        recall = sum(s in text for s in page.article) / len(page.article)
        leak = sum(s in text for s in page.boilerplate) / len(page.boilerplate)
        per.setdefault(page.layout, []).append((recall, leak))
    out = {
        k: (statistics.mean(r for r, _ in v), statistics.mean(lk for _, lk in v))
        for k, v in per.items()
    }
    every = [x for v in per.values() for x in v]
    out["all"] = (statistics.mean(r for r, _ in every), statistics.mean(lk for _, lk in every))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pages = [make_page(rng, LAYOUTS[i % len(LAYOUTS)]) for i in range(args.pages)]
    print(f"{len(pages)} generated pages, {len(LAYOUTS)} layouts")
    print(f"{'reader':14} {'layout':18} {'recall':>7} {'leak':>7}")
    for name, reader in (("beautifulsoup", old_reader), ("trafilatura", new_reader)):
        started = time.perf_counter()
        results = score(reader, pages)
        per_page = (time.perf_counter() - started) / len(pages) * 1000
        for layout, (recall, leak) in results.items():
            print(f"{name:14} {layout:18} {recall:7.1%} {leak:7.1%}")
        print(f"{name:14} {'time per page':18} {per_page:6.1f} ms")


if __name__ == "__main__":
    main()
