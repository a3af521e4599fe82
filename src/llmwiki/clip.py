"""`wiki add`: a web page, a file or piped text -> a markdown clip in the inbox.

A URL is fetched with httpx (timeouts, a size cap, a bounded number of redirects, a User-Agent
that says who is asking); the response's content type chooses the reader: HTML through
trafilatura (main text and metadata), PDF, EPUB and DOCX through `llmwiki.readers.html`, plain text
and markdown as they are. What is kept:

- the response, byte for byte, in `raw/clips/<hash>.<ext>` (its hash is how a page already
  clipped is recognised, as inbox files are recognised by theirs);
- the clean markdown in `inbox/`, with frontmatter `source`, `title`, `author`, `published`,
  `site`, `clipped` (and `images`), for ingest to pick up;
- the images of the main text in `wiki/assets/`, inside the folder Obsidian opens, so that the
  embeds on the source page resolve offline.

Every failure is a ClipError whose message says what happened and what to do next.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit

import httpx2 as httpx

from llmwiki.errors import ClipError, SourceError
from llmwiki.pages import render as render_page
from llmwiki.pages import safe_name
from llmwiki.readers import READERS
from llmwiki.vault import Vault, atomic_write

USER_AGENT = "llm-wiki/0.1 (personal knowledge wiki; `wiki add`)"
ASSETS = "assets"  # under wiki/: Obsidian's attachment folder in this vault
CLIPS = "clips"  # under raw/


@dataclass(frozen=True)
class Limits:
    """How far one `wiki add` may go. The size cap applies to a page and to each image."""

    max_bytes: int = 50_000_000
    connect_timeout: float = 10.0
    read_timeout: float = 30.0  # between two reads, not for the whole body
    max_redirects: int = 5
    max_images: int = 30
    images: bool = True


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content_type: str  # lower case, no parameters
    charset: str
    data: bytes


@dataclass(frozen=True)
class Added:
    """What `wiki add` did with one argument."""

    given: str  # the URL, file name or "-"
    inbox: Path | None = None  # the file put in the inbox, None when already clipped
    raw: Path | None = None
    title: str = ""
    images: tuple[str, ...] = ()  # vault-relative paths under wiki/assets/
    skipped_images: int = 0
    already: str = ""  # why nothing was added: the earlier clip of the same content
    notes: tuple[str, ...] = field(default_factory=tuple)


def is_url(text: str) -> bool:
    return urlsplit(text).scheme.lower() in ("http", "https")


def client(limits: Limits, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    timeout = httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout)
    return httpx.Client(
        follow_redirects=True,
        max_redirects=limits.max_redirects,
        timeout=timeout,
        headers={"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
        transport=transport,
    )


def fetch(http: httpx.Client, url: str, limits: Limits, what: str = "the page") -> Fetched:
    """GET `url`, or raise ClipError saying what went wrong and what to do."""
    try:
        with http.stream("GET", url) as response:
            _check_status(response, url)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limits.max_bytes:
                raise ClipError(_too_large(url, int(declared), limits, what))
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limits.max_bytes:  # a server may omit or understate its length
                    raise ClipError(_too_large(url, size, limits, what))
                chunks.append(chunk)
            content_type, charset = _content_type(response.headers.get("content-type", ""))
            return Fetched(str(response.url), content_type, charset, b"".join(chunks))
    except httpx.TooManyRedirects:
        raise ClipError(
            f"{url} redirects more than {limits.max_redirects} times (a redirect loop?); "
            "open it in a browser and add the address it ends at"
        ) from None
    except httpx.TimeoutException:
        raise ClipError(
            f"{url} did not answer in time ({limits.connect_timeout:g} s to connect, "
            f"{limits.read_timeout:g} s between reads); try again later, or save the page "
            "from a browser and `wiki add` the file"
        ) from None
    except httpx.ConnectError as exc:
        raise ClipError(_connect_failure(url, exc)) from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise ClipError(f"{url} is not an address that can be fetched ({exc}); check it") from None
    except httpx.TransportError as exc:
        raise ClipError(
            f"fetching {url} failed ({type(exc).__name__}: {exc}); check the address and "
            "your connection, then try again"
        ) from None


def _check_status(response: httpx.Response, url: str) -> None:
    status = response.status_code
    if status < 400:
        return
    hints = {
        404: "the page does not exist (404 Not Found); check the address",
        410: "the page was removed (410 Gone)",
        401: "it needs a login (401); save the page from a logged-in browser and "
        "`wiki add` the file",
        403: "the server refuses it (403 Forbidden; some sites block programs); save the "
        "page from a browser and `wiki add` the file",
        429: "the server asks to slow down (429 Too Many Requests); try again later",
    }
    hint = hints.get(status) or (
        f"the server failed ({status}); try again later"
        if status >= 500
        else f"the server answered {status} {response.reason_phrase}; check the address"
    )
    raise ClipError(f"{url}: {hint}")


def _connect_failure(url: str, exc: httpx.ConnectError) -> str:
    host = urlsplit(url).hostname or url
    chain: list[BaseException] = [exc]
    while chain[-1].__cause__ is not None or chain[-1].__context__ is not None:
        chain.append(chain[-1].__cause__ or chain[-1].__context__)  # type: ignore[arg-type]
        if len(chain) > 10:
            break
    text = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, ssl.SSLError) for e in chain) or "certificate" in text or "ssl" in text:
        return (
            f"{url}: the secure connection to {host} failed (TLS: {exc}); the site's "
            "certificate may be expired or intercepted. Check the address, the system "
            "clock and any proxy; or save the page from a browser and `wiki add` the file"
        )
    dns_words = ("name or service not known", "nodename nor servname", "getaddrinfo")
    if any(w in text for w in (*dns_words, "name resolution", "no address associated")):
        return (
            f"{url}: the host name {host} could not be found (DNS); check the spelling of "
            "the address and that you are online"
        )
    return (
        f"{url}: could not connect to {host} ({exc}); check the address and that you are "
        "online, or try again later"
    )


def _too_large(url: str, size: int, limits: Limits, what: str) -> str:
    return (
        f"{url}: {what} is larger than the {limits.max_bytes / 1e6:g} MB limit "
        f"({'at least ' if size <= limits.max_bytes * 2 else ''}{size / 1e6:.1f} MB); "
        "raise max_file_mb in wiki.toml, or save a smaller copy and `wiki add` the file"
    )


def _content_type(header: str) -> tuple[str, str]:
    message = Message()
    message["content-type"] = header or "application/octet-stream"
    charset = message.get_param("charset")
    return message.get_content_type().lower(), str(charset or "") if charset else ""


# content type -> the extension whose reader reads it
_BY_TYPE = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "application/pdf": ".pdf",
    "application/epub+zip": ".epub",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/x-markdown": ".md",
}
_IMAGE_TYPES = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/svg+xml": ".svg",
    "image/avif": ".avif",
}


def add_url(
    vault: Vault, url: str, limits: Limits, today: date, http: httpx.Client | None = None
) -> Added:
    """Fetch `url` and put its clip into the inbox (images into wiki/assets/)."""
    own = http is None
    http = http or client(limits)
    try:
        fetched = fetch(http, url, limits)
        ext = _BY_TYPE.get(fetched.content_type) or _sniffed(fetched.data)
        if ext is None:
            raise ClipError(
                f"{url} is not a page: it is {fetched.content_type}, which cannot be read as "
                f"text; if it is a document, download it and `wiki add` the file"
            )
        digest = hashlib.sha256(fetched.data).hexdigest()
        earlier = _earlier_clip(vault, digest)
        if earlier is not None:
            return Added(url, already=earlier.relative_to(vault.root).as_posix())
        if ext == ".html":
            markdown, meta = _read_page(fetched)
        else:
            markdown, meta = _read_document(fetched, ext)
        images: list[str] = []
        skipped = 0
        if ext == ".html":
            markdown, images, skipped = _take_images(vault, http, markdown, limits)
        meta = {"source": url, **meta, "clipped": today.isoformat()}
        if fetched.url != url:
            meta["source"] = fetched.url  # where the redirects ended: the page's own address
        if images:
            meta["images"] = images
        title = str(meta.get("title") or "") or _url_title(fetched.url)
        meta["title"] = title
        # the clip first: the archive copy is what marks a page as clipped, so a failure
        # between the two writes can leave a clip twice, never a page marked but missing
        inbox = _write_inbox(vault, title, meta, markdown)
        raw = vault.raw / CLIPS / f"{digest[:16]}{ext}"
        raw.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(raw, fetched.data)
        return Added(url, inbox, raw, title, tuple(images), skipped)
    finally:
        if own:
            http.close()


def _earlier_clip(vault: Vault, digest: str) -> Path | None:
    folder = vault.raw / CLIPS
    if not folder.is_dir():
        return None
    return next(iter(sorted(folder.glob(f"{digest[:16]}.*"))), None)


def _sniffed(data: bytes) -> str | None:
    """A type for a server that said none or a generic one (application/octet-stream)."""
    head = data[:1024].lstrip().lower()
    if head.startswith(b"%pdf-"):
        return ".pdf"
    if head.startswith((b"<!doctype html", b"<html")):
        return ".html"
    return None


def _read_page(fetched: Fetched) -> tuple[str, dict[str, object]]:
    from llmwiki.readers import html as html_reader

    markup = html_reader.decode_html(fetched.data, fetched.url, fetched.charset)
    extracted = html_reader.extract_page(markup, fetched.url)
    if not extracted.text.strip():
        raise ClipError(
            f"{fetched.url} has no article text that could be found (a page built by "
            "JavaScript, or a login wall?); save it from a browser and `wiki add` the file"
        )
    meta: dict[str, object] = {
        key: value
        for key, value in (
            ("title", extracted.title),
            ("author", extracted.author),
            ("published", extracted.published),
            ("site", extracted.site),
        )
        if value
    }
    return extracted.text, meta


def _read_document(fetched: Fetched, ext: str) -> tuple[str, dict[str, object]]:
    name = Path(urlsplit(fetched.url).path).stem or "download"
    try:
        text, title, found = READERS[ext](Path(name + ext), fetched.data)
    except SourceError as exc:
        raise ClipError(f"{fetched.url}: {exc}") from None
    if ext == ".md":  # a markdown file's own frontmatter was read into `found`
        text = text.strip()
    meta: dict[str, object] = {"title": title} if title else {}
    meta.update({k: v for k, v in found.items() if k in ("author", "published") and v})
    return text, meta


_IMAGE = re.compile(r"!\[([^\]\n]{0,500})\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"\n]*\")?\s*\)")


def _take_images(
    vault: Vault, http: httpx.Client, markdown: str, limits: Limits
) -> tuple[str, list[str], int]:
    """Download the images of the main text into wiki/assets/ and embed them the way
    Obsidian does; an image that cannot be had becomes its alt text."""
    kept: dict[str, str] = {}
    skipped = 0

    def swap(match: re.Match[str]) -> str:
        nonlocal skipped
        alt, src = match.group(1).strip(), match.group(2)
        if src in kept:
            return f"![[{kept[src]}]]"
        if not limits.images or len(kept) >= limits.max_images or not is_url(src):
            skipped += 1
            return alt
        try:
            image = fetch(http, src, limits, "the image")
        except ClipError:
            skipped += 1
            return alt
        ext = _IMAGE_TYPES.get(image.content_type)
        if ext is None:
            skipped += 1
            return alt
        name = f"{hashlib.sha256(image.data).hexdigest()[:16]}{ext}"
        target = vault.wiki / ASSETS / name
        vault.check_inside(target, vault.wiki)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, image.data)
        kept[src] = f"{ASSETS}/{name}"
        return f"![[{kept[src]}]]"

    return _IMAGE.sub(swap, markdown), list(kept.values()), skipped


def _url_title(url: str) -> str:
    parts = urlsplit(url)
    last = Path(parts.path).stem.replace("-", " ").replace("_", " ").strip()
    return last or parts.hostname or "Clipped page"


def _write_inbox(vault: Vault, title: str, meta: dict[str, object], body: str) -> Path:
    """A new file in the inbox, never one that is there already."""
    vault.inbox.mkdir(parents=True, exist_ok=True)
    stem = safe_name(title)[:120].strip(" .") or "Clip"
    data = render_page(meta, body.strip() + "\n").encode("utf-8")
    for candidate in _names(stem, ".md"):
        target = vault.inbox / candidate
        if not target.exists():
            atomic_write(target, data)
            return target
    raise AssertionError("unreachable")


def _names(stem: str, ext: str) -> Iterator[str]:
    yield stem + ext
    n = 2
    while True:
        yield f"{stem} ({n}){ext}"
        n += 1


def add_file(vault: Vault, path: Path) -> Added:
    """Copy a file into the inbox (under a free name); the file itself is left as it is."""
    if not path.is_file():
        raise ClipError(f"{path} is not a file; give a file, a URL, or - for standard input")
    if path.suffix.lower() not in READERS:
        known = ", ".join(sorted(READERS))
        raise ClipError(f"{path.name}: files of type '{path.suffix}' cannot be read; use {known}")
    vault.inbox.mkdir(parents=True, exist_ok=True)
    if path.resolve().parent == vault.inbox.resolve():
        return Added(str(path), path, title=path.stem)  # already in the inbox
    for candidate in _names(path.stem, path.suffix):
        target = vault.inbox / candidate
        if not target.exists():
            # copy to a temp name, then rename: ingest (a watcher) never sees half a file
            atomic_write(target, path.read_bytes())
            shutil.copystat(path, target)
            return Added(str(path), target, title=path.stem)
    raise AssertionError("unreachable")


def add_text(vault: Vault, text: str, title: str, today: date) -> Added:
    """Piped text or markdown into the inbox, with `title` (else its first line)."""
    if not text.strip():
        raise ClipError("standard input was empty; pipe some text into `wiki add -`")
    try:
        body, found_title, found = READERS[".md"](Path("stdin.md"), text.encode("utf-8"))
    except SourceError as exc:
        raise ClipError(str(exc).replace("stdin.md", "standard input", 1)) from None
    chosen = title.strip() or found_title.strip()[:200] or f"Note {today.isoformat()}"
    meta: dict[str, object] = {"title": chosen, "clipped": today.isoformat()}
    meta.update(
        {("source" if k == "url" else k): v for k, v in found.items() if k != "description"}
    )
    inbox = _write_inbox(vault, chosen, meta, body)
    return Added("-", inbox, title=chosen)
