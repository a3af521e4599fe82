"""The write tools of `wiki mcp`, served only with `allow_write`: ingest a text, add a note,
resolve a contradiction, save an answer. Each takes the vault lock as the CLI does, and answers
bad input (an oversized text, a bad date, a locked page) with a tool error, never a crash.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from llmwiki import contradictions
from llmwiki.ask import DEFAULT_BUDGET
from llmwiki.engines.answerer import Answer, ContextPage
from llmwiki.errors import ContradictionError, EngineError, PageError, VaultError
from llmwiki.ingest import ingest
from llmwiki.mcp_server.base import MAX_QUESTION_CHARS, WRITE_LOCK_WAIT, WikiState, check_size
from llmwiki.pages import append_to_section, read, render, safe_name
from llmwiki.vault import Vault

__all__ = ["MAX_TEXT_CHARS", "WriteTools", "inbox_markdown"]

MAX_TEXT_CHARS = 1_000_000  # ingest_text: a book's worth; more belongs in inbox/ as a file
MAX_NOTE_CHARS = 20_000
MAX_ANSWER_CHARS = 100_000

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class WriteTools(WikiState):
    """The write tools, as methods whose signatures are the tools' schemas."""

    def ingest_text(
        self,
        title: Annotated[str, Field(description="The document's title.")],
        text: Annotated[str, Field(description="The document's text (markdown or plain).")],
        url: Annotated[
            str | None, Field(description="Where it comes from (http or https).")
        ] = None,
        published: Annotated[
            str | None, Field(description="Its publication date, YYYY-MM-DD.")
        ] = None,
    ) -> dict[str, Any]:
        engine, options = self._require_write()
        title = " ".join(title.split())
        if not title:
            raise ToolError("the title is empty")
        check_size("title", title, 300)
        check_size("text", text, MAX_TEXT_CHARS)
        if options.max_bytes is not None and len(text.encode("utf-8")) > options.max_bytes:
            raise ToolError(f"the text is larger than max_file_mb ({options.max_bytes} bytes)")
        if not text.strip():
            raise ToolError("the text is empty")
        if url is not None and not re.match(r"^https?://\S+$", url):
            raise ToolError(f"not an http(s) URL: {url!r}")
        if published is not None and not _valid_date(published):
            raise ToolError(f"the date must be YYYY-MM-DD, got {published!r}")
        # Through the inbox, as a web clipping would arrive, so the pages are exactly those
        # `wiki ingest` makes of the same file.
        path = _free_inbox_path(self.vault, safe_name(title))
        self.vault.write_text(path, inbox_markdown(title, text, url, published))
        try:
            report = ingest(
                self.vault,
                engine,
                replace(options, today=self.today(), lock_wait=WRITE_LOCK_WAIT),
                [path],
            )
        except (EngineError, VaultError, ValueError) as exc:
            raise ToolError(f"{exc} (the text stays in {path.name} in the inbox)") from None
        finally:
            self._wrote()
        (result,) = report.results
        if result.status == "failed":
            raise ToolError(f"ingest failed: {result.message}")
        return {
            "status": result.status,
            "file": result.file,
            "page": f"[[{result.page}]]" if result.page else None,
            "created": [f"[[{s}]]" for s in result.created],
            "updated": [f"[[{s}]]" for s in result.updated],
            "contradictions": result.contradictions,
            "message": result.message or None,
        }

    def add_note(
        self,
        title: Annotated[str, Field(description="The page's title, an alias or its file name.")],
        note: Annotated[str, Field(description="The note (markdown); added as one bullet.")],
    ) -> dict[str, Any]:
        self._require_write()
        check_size("note", note, MAX_NOTE_CHARS)
        lines = [line.rstrip() for line in note.strip().split("\n")]
        if not lines[0]:
            raise ToolError("the note is empty")
        day = self.today().isoformat()
        bullet = [f"- {day}: {lines[0]}", *(f"  {line}" if line else "" for line in lines[1:])]
        try:
            with self.vault.lock(wait=WRITE_LOCK_WAIT):
                entry = self._entry(title)
                path = self.vault.wiki / entry.rel
                try:
                    page = read(path)  # the file as it is now: a user's edit is kept
                except (PageError, UnicodeDecodeError) as exc:
                    raise ToolError(f"{entry.rel} cannot be read ({exc}); fix it first") from None
                if page.meta.get("locked") is True:
                    raise ToolError(f"{entry.rel} is locked (locked: true); edit it by hand")
                body = append_to_section(page.body, "Notes", bullet)
                self.vault.write_text(path, render(page.meta, body))
                self.vault.append_log(
                    [f"## [{day}] note | {entry.title}", "", f"- [[{entry.stem}]]"]
                )
        except VaultError as exc:
            raise ToolError(str(exc)) from None
        finally:
            self._wrote()
        return {"page": f"[[{entry.stem}]]", "path": entry.rel, "added": "\n".join(bullet)}

    def resolve_contradiction(
        self,
        id: Annotated[
            str, Field(description="The contradiction's ID, as `contradictions` lists it.")
        ],
        note: Annotated[str, Field(description="Why it is resolved; kept in the register.")],
    ) -> dict[str, Any]:
        self._require_write()
        check_size("note", note, MAX_NOTE_CHARS)
        if not note.strip():
            raise ToolError("say why it is resolved: the note is empty")
        try:
            item = contradictions.resolve(
                self.vault, id.strip().lower(), note, self.today().isoformat()
            )
        except (ContradictionError, VaultError) as exc:
            raise ToolError(str(exc)) from None
        finally:
            self._wrote()
        return {"id": item.id, "page": f"[[{item.page}]]", "resolved": item.resolved}

    def save_answer(
        self,
        question: Annotated[str, Field(description="The question the answer answers.")],
        answer: Annotated[
            str, Field(description="The answer, citing wiki pages as [[Title]] links.")
        ],
    ) -> dict[str, Any]:
        self._require_write()
        check_size("question", question, MAX_QUESTION_CHARS)
        check_size("answer", answer, MAX_ANSWER_CHARS)
        if not answer.strip():
            raise ToolError("the answer is empty")
        # `ask --save` files the answer: the same retrieval, link checking and page format,
        # with the agent's text standing in for the answerer's.
        try:
            result = self._ask(question, _Fixed(answer), DEFAULT_BUDGET, save=True)
        finally:
            self._wrote()
        if result.saved is None:
            raise ToolError(
                (result.note or "not saved")
                + "; cite pages the wiki has as [[Title]] (search shows their links)"
            )
        return {
            "path": result.saved.relative_to(self.vault.wiki).as_posix(),
            "link": f"[[{result.saved.stem}]]",
            "citations": [f"[[{c}]]" for c in result.citations],
            "answer": result.answer,
        }


class _Fixed:
    """An answerer whose answer is already written (by the calling agent)."""

    name = "agent"

    def __init__(self, text: str) -> None:
        self.text = text

    def answer(
        self,
        question: str,
        pages: Sequence[ContextPage],
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        return Answer(self.text)


def _valid_date(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def inbox_markdown(title: str, text: str, url: str | None, published: str | None) -> str:
    """The inbox file `ingest_text` writes: a markdown web clipping, as Obsidian's Web Clipper
    would save it (title, source, published), so `wiki ingest` reads it the same way."""
    meta: dict[str, Any] = {"title": title}
    if url:
        meta["source"] = url
    if published:
        meta["published"] = published
    return render(meta, text.strip() + "\n")


def _free_inbox_path(vault: Vault, stem: str) -> Path:
    vault.inbox.mkdir(parents=True, exist_ok=True)
    path = vault.inbox / f"{stem}.md"
    n = 2
    while path.exists():  # never overwrite what the user dropped there
        path = vault.inbox / f"{stem} ({n}).md"
        n += 1
    return path
