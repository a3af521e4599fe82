"""`wiki add`: URLs served by a loopback HTTP server this test starts, files and stdin."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import frontmatter
import httpx2
import pytest
from click.testing import CliRunner, Result
from conftest import NO_LLM
from test_sources import make_pdf

from llmwiki import clip
from llmwiki.cli import cli
from llmwiki.errors import ClipError
from llmwiki.readers import read_source
from llmwiki.vault import Vault, init_vault

# A 1x1 PNG and another, different one: content-addressed names must differ
PNG_A = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63"
    "f8cfc0f01f0005000201a5b1e8a10000000049454e44ae426082"
)
PNG_B = PNG_A[:-12] + b"\x00\x00\x00\x00IEND\xaeB`\x82" + b"\x00"

ARTICLE = """<!doctype html><html><head><meta charset="utf-8">
<title>How KV-Lite Keeps Phones Fast | Small Systems</title>
<meta name="author" content="Priya Raman">
<meta property="article:published_time" content="2025-03-04T10:00:00Z">
<meta property="og:site_name" content="Small Systems">
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/archive">Archive of every post</a></li>
<li><a href="/about">About this newsletter</a></li></ul></nav>
<div id="cookie-banner" class="cookie-consent">We use cookies to personalise ads. Accept all
cookies to continue reading this site.</div>
<article><h1>How KV-Lite Keeps Phones Fast</h1>
<p>Priya Raman built KV-Lite, a key-value store that runs on a phone. It keeps every write in
an append-only log and compacts the log at night, while the phone charges.</p>
<figure><img src="/img/log.png" alt="The write log"><figcaption>The write log</figcaption>
</figure>
<p>Compaction matters for battery life: Tomas Berg measured that an uncompacted log doubles the
time a cold start takes on a three-year-old phone, and triples it on older ones.</p>
<p><img src="img/chart.png" alt="Cold start times"></p>
<p>The store now ships in two apps, and its authors plan a version for smart watches next
year, where memory is tighter still and every write costs power.</p>
</article>
<section class="comments"><h3>Comments</h3><p>Great post! Cheap watches at example dot com.</p>
</section>
<footer>Copyright 2025 Small Systems. All rights reserved.</footer>
<script>document.write("tracking pixel")</script></body></html>"""

LATIN1 = """<html><head><title>Crème brûlée au café</title></head><body><article>
<h1>Crème brûlée au café</h1>
<p>Le café crème de la brasserie est célèbre: une façade naïve, un goût déjà connu.</p>
<p>La recette demande des oeufs frais, du sucre et une crème très épaisse, cuite au four.</p>
</article></body></html>"""

PAGES: dict[str, tuple[int, str, bytes]] = {
    "/article.html": (200, "text/html; charset=utf-8", ARTICLE.encode("utf-8")),
    "/img/log.png": (200, "image/png", PNG_A),
    "/img/chart.png": (200, "image/png", PNG_B),
    "/paper.pdf": (
        200,
        "application/pdf",
        make_pdf(["Lena Okafor wrote GRPO notes.", "They cover reward models."], "GRPO Notes"),
    ),
    "/latin1.html": (200, "text/html; charset=ISO-8859-1", LATIN1.encode("latin-1")),
    "/photo.png": (200, "image/png", PNG_A),
    "/forbidden": (403, "text/html", b"<h1>Forbidden</h1>"),
}


class Handler(BaseHTTPRequestHandler):
    seen_agents: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Handler.seen_agents.append(self.headers.get("User-Agent", ""))
        path = self.path.split("?")[0]
        if path == "/old-address":
            self._redirect("/article.html")
        elif path == "/loop":
            self._redirect("/loop")
        elif path == "/never":
            time.sleep(3)  # longer than the test's timeout
            self._redirect("/article.html")
        elif path == "/huge":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()  # no length: the cap must hold while reading
            try:
                for _ in range(200):
                    self.wfile.write(b"<p>" + b"x" * 1000 + b"</p>")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading at its cap, as it should
        elif path in PAGES:
            status, kind, body = PAGES[path]
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404)

    def _redirect(self, to: str) -> None:
        self.send_response(302)
        self.send_header("Location", to)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def kb(tmp_path: Path) -> Vault:
    vault = init_vault(tmp_path / "kb")[0]
    # 0.1 MB: the /huge page is 0.2 MB
    with (vault.root / "wiki.toml").open("a", encoding="utf-8") as toml:
        toml.write("\nmax_file_mb = 0.1\n")
    return vault


def add(vault: Vault, *args: str, stdin: str | None = None) -> Result:
    env = {**NO_LLM, "WIKI_ENGINE": "extractive"}
    return CliRunner().invoke(
        cli, ["--vault", str(vault.root), "add", "--timeout", "1", *args], env=env, input=stdin
    )


def source_pages(vault: Vault) -> list[Path]:
    return sorted((vault.wiki / "sources").glob("*.md"))


def test_article_clip_keeps_text_metadata_and_images(kb: Vault, site: str) -> None:
    result = add(kb, f"{site}/article.html", "--no-ingest")
    assert result.exit_code == 0, result.output
    (clipped,) = kb.inbox.glob("*.md")
    post = frontmatter.load(clipped)
    assert post["source"] == f"{site}/article.html"
    assert post["title"] == "How KV-Lite Keeps Phones Fast"
    assert post["author"] == "Priya Raman"
    assert str(post["published"]) == "2025-03-04"
    assert post["site"] == "Small Systems"
    assert str(post["clipped"]) == "2026-01-15"
    text = post.content
    assert "append-only log" in text and "smart watches" in text
    for boilerplate in ("cookies", "Archive of every post", "Cheap watches", "Copyright"):
        assert boilerplate not in text, boilerplate
    assert "tracking pixel" not in text
    # the original response, byte for byte, in raw/clips/
    (raw,) = (kb.raw / "clips").iterdir()
    assert raw.read_bytes() == ARTICLE.encode("utf-8") and raw.suffix == ".html"
    # two images, downloaded into wiki/assets/ and embedded where they stood
    assert len(post["images"]) == 2
    for name in post["images"]:
        assert (kb.wiki / name).read_bytes() in (PNG_A, PNG_B)
        assert f"![[{name}]]" in text
    assert {(kb.wiki / n).read_bytes() for n in post["images"]} == {PNG_A, PNG_B}
    assert all(agent.startswith("llm-wiki/") for agent in Handler.seen_agents)


def test_clip_is_ingested_and_its_images_embed_on_the_source_page(kb: Vault, site: str) -> None:
    result = add(kb, f"{site}/article.html")
    assert result.exit_code == 0, result.output
    assert not list(kb.inbox.glob("*.md"))  # ingested: moved to raw/
    (page,) = source_pages(kb)
    post = frontmatter.load(page)
    assert post["url"] == f"{site}/article.html" and post["site"] == "Small Systems"
    embeds = re.findall(r"!\[\[([^\]|]+)\]\]", post.content)
    assert len(embeds) == 2
    for target in embeds:
        # Obsidian resolves a path in an embed from the vault's root: wiki/
        assert (kb.wiki / target).is_file()
        assert (kb.wiki / target).resolve().is_relative_to(kb.wiki.resolve())


def test_same_url_twice_ingests_once(kb: Vault, site: str) -> None:
    assert add(kb, f"{site}/article.html").exit_code == 0
    again = add(kb, f"{site}/article.html")
    assert again.exit_code == 0, again.output
    assert "already clipped" in again.output
    assert len(source_pages(kb)) == 1
    assert not list(kb.inbox.glob("*.md"))
    assert len(list((kb.raw / "clips").iterdir())) == 1


def test_redirect_is_followed_and_the_final_address_kept(kb: Vault, site: str) -> None:
    result = add(kb, f"{site}/old-address", "--no-ingest", "--no-images")
    assert result.exit_code == 0, result.output
    (clipped,) = kb.inbox.glob("*.md")
    post = frontmatter.load(clipped)
    assert post["source"] == f"{site}/article.html"
    assert "images" not in post and "![[" not in post.content
    assert not (kb.wiki / "assets").exists()


def test_redirect_loop_stops_at_the_limit(kb: Vault, site: str) -> None:
    result = add(kb, f"{site}/loop")
    assert result.exit_code == 1
    assert "redirects more than 5 times" in result.output
    assert not list(kb.inbox.iterdir()) or list(kb.inbox.glob("*.md")) == []


def test_pdf_url_goes_to_the_pdf_reader(kb: Vault, site: str) -> None:
    result = add(kb, f"{site}/paper.pdf")
    assert result.exit_code == 0, result.output
    (page,) = source_pages(kb)
    post = frontmatter.load(page)
    assert post["title"] == "GRPO Notes" and post["url"] == f"{site}/paper.pdf"
    (raw,) = (kb.raw / "clips").iterdir()
    assert raw.suffix == ".pdf" and raw.read_bytes() == PAGES["/paper.pdf"][2]


def test_non_utf8_charset_is_decoded(kb: Vault, site: str) -> None:
    result = add(kb, f"{site}/latin1.html", "--no-ingest")
    assert result.exit_code == 0, result.output
    (clipped,) = kb.inbox.glob("*.md")
    post = frontmatter.load(clipped)
    assert post["title"] == "Crème brûlée au café"
    assert "façade naïve" in post.content and "crème très épaisse" in post.content
    assert "\ufffd" not in post.content


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/missing", ["404", "does not exist", "check the address"]),
        ("/forbidden", ["403", "save the page from a browser"]),
        ("/never", ["did not answer in time", "try again later"]),
        ("/huge", ["larger than the 0.1 MB limit", "max_file_mb"]),
        ("/photo.png", ["not a page", "image/png", "wiki add` the file"]),
    ],
)
def test_failures_say_what_happened_and_what_to_do(
    kb: Vault, site: str, path: str, words: list[str]
) -> None:
    started = time.monotonic()
    result = add(kb, f"{site}{path}")
    assert time.monotonic() - started < 2.5  # the page that never answers is given up on
    assert result.exit_code == 1
    for word in words:
        assert word in result.output, (word, result.output)
    # nothing half-made: no clip, no archive, no page
    assert not list(kb.inbox.glob("*.md"))
    assert not (kb.raw / "clips").exists()
    assert not source_pages(kb)


def test_tls_failure_is_named(kb: Vault, site: str) -> None:
    # https to a server that speaks plain HTTP: the handshake fails, as with a bad certificate
    result = add(kb, site.replace("http://", "https://") + "/article.html")
    assert result.exit_code == 1
    assert "TLS" in result.output and "secure connection" in result.output


def test_dns_failure_is_named() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("[Errno -2] Name or service not known", request=request)

    http = clip.client(clip.Limits(), transport=httpx2.MockTransport(refuse))
    with pytest.raises(ClipError, match=r"could not be found \(DNS\); check the spelling"):
        clip.fetch(http, "https://no-such-host.invalid/x", clip.Limits())


def test_a_missing_image_is_skipped_not_fatal(kb: Vault, site: str) -> None:
    PAGES["/one-bad-image.html"] = (
        200,
        "text/html",
        ARTICLE.replace("/img/log.png", "/img/gone.png").encode("utf-8"),
    )
    result = add(kb, f"{site}/one-bad-image.html", "--no-ingest")
    assert result.exit_code == 0, result.output
    assert "1 not downloaded" in result.output
    post = frontmatter.load(next(kb.inbox.glob("*.md")))
    assert len(post["images"]) == 1


def test_add_files_copies_them_into_the_inbox_and_ingests(kb: Vault, tmp_path: Path) -> None:
    mine = tmp_path / "notes.md"
    mine.write_text("# KV-Lite notes\n\nPriya Raman built KV-Lite.\n", encoding="utf-8")
    result = add(kb, str(mine))
    assert result.exit_code == 0, result.output
    assert mine.exists()  # the user's file stays where it was
    assert (kb.raw / "notes.md").read_bytes() == mine.read_bytes()
    assert len(source_pages(kb)) == 1


def test_add_stdin_with_a_title(kb: Vault) -> None:
    result = add(kb, "-", "--title", "Piped thought", "--no-ingest", stdin="Tomas Berg said hi.\n")
    assert result.exit_code == 0, result.output
    post = frontmatter.load(kb.inbox / "Piped thought.md")
    assert post["title"] == "Piped thought" and post.content.strip() == "Tomas Berg said hi."
    empty = add(kb, "-", stdin="  \n")
    assert empty.exit_code == 1 and "standard input was empty" in empty.output


def test_add_a_missing_file_says_so(kb: Vault, tmp_path: Path) -> None:
    result = add(kb, str(tmp_path / "nope.md"))
    assert result.exit_code == 1 and "is not a file" in result.output


def test_inbox_html_drops_banners_and_comments_in_a_page_without_semantic_tags(
    tmp_path: Path,
) -> None:
    # div soup: nothing says which div is the article (the old heuristics kept everything)
    page = ARTICLE.replace("<nav>", "<div class='menu'>").replace("</nav>", "</div>")
    page = page.replace("<article>", "<div class='post-body'>").replace("</article>", "</div>")
    page = page.replace("<footer>", "<div class='foot'>").replace("</footer>", "</div>")
    path = tmp_path / "saved.html"
    path.write_text(page, encoding="utf-8")
    doc = read_source(path)
    assert "append-only log" in doc.text and "smart watches" in doc.text
    for boilerplate in ("cookies", "Archive of every post", "Cheap watches", "Copyright"):
        assert boilerplate not in doc.text, boilerplate
    assert doc.title == "How KV-Lite Keeps Phones Fast"
    assert doc.meta["author"] == "Priya Raman" and doc.meta["published"] == "2025-03-04"
