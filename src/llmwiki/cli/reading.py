"""`wiki search`, `wiki ask` and `wiki graph`: the commands that read the wiki and write
nothing (except an answer that `--save` files)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from llmwiki.cli.common import LOCK_WAIT, State, say_waiting, today


@click.command(name="search")
@click.argument("query")
@click.option(
    "--type",
    "page_type",
    type=click.Choice(["person", "concept", "source", "answer"]),
    default=None,
    help="Only pages of this type.",
)
@click.option(
    "--limit", type=click.IntRange(min=1, max=200), default=10, show_default=True, help="Hits."
)
@click.option("--json", "as_json", is_flag=True, help="Print the hits as a JSON list.")
@click.pass_obj
def search_cmd(state: State, query: str, page_type: str | None, limit: int, as_json: bool) -> None:
    """Ranked pages matching QUERY from the full-text index: no LLM, nothing else printed.

    Each hit: score, type, title and a snippet; --json prints a list of objects with title,
    link, type, path, score, snippet, matched and terms.
    """
    from llmwiki.search_report import search_pages

    hits = search_pages(state.vault(), query, page_type=page_type, limit=limit)
    if as_json:
        click.echo(json.dumps([h.to_dict() for h in hits], indent=2, ensure_ascii=False))
        return
    if not hits:
        click.echo("No page matches.", err=True)
    for hit in hits:
        click.echo(f"{hit.score:7.2f}  {hit.type or 'page':<7}  {hit.title}  {hit.link}")
        if hit.snippet:
            click.echo(f"         {hit.snippet}")


@click.command(name="ask")
@click.argument("question")
@click.option(
    "--save", is_flag=True, help="File the answer as a page in wiki/answers/ when it cites pages."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON: answer, citations, pages, tokens."
)
@click.option(
    "--engine",
    type=click.Choice(["auto", "llm", "extractive"]),
    default=None,
    help="auto (default): the LLM when a model is configured, else extractive.",
)
@click.option("--model", default=None, help="LLM model name (overrides WIKI_MODEL).")
@click.option(
    "--budget",
    type=click.IntRange(min=100),
    default=None,
    help="Tokens of page text the answer may draw on (default 3000).",
)
@click.pass_obj
def ask_cmd(
    state: State,
    question: str,
    save: bool,
    as_json: bool,
    engine: str | None,
    model: str | None,
    budget: int | None,
) -> None:
    """Answer QUESTION from the wiki's pages, citing them as [[links]].

    Only the wiki is searched, never raw/. With an LLM the answer streams as it is written;
    without one, the best matching passages are quoted. Every link printed or saved points at
    an existing page.
    """
    from llmwiki.ask import DEFAULT_BUDGET, ask
    from llmwiki.engines import open_answerer

    vault = state.vault()
    config = state.config(vault, engine=engine, model=model)
    answerer = open_answerer(config, vault.prompts)
    if answerer.name == "extractive" and config.engine == "auto" and not as_json:
        click.echo(
            "No LLM configured: quoting the best matching passages of the wiki. "
            "Set WIKI_MODEL (and OPENAI_API_KEY or OPENAI_BASE_URL) for written answers.",
            err=True,
        )

    def show(text: str) -> None:
        click.echo(text, nl=False)

    state.line_open = not as_json
    result = ask(
        vault,
        answerer,
        question,
        budget_tokens=budget or DEFAULT_BUDGET,
        save=save,
        today=today(),
        on_token=None if as_json else show,
        lock_wait=LOCK_WAIT,
        on_wait=say_waiting,
    )
    state.line_open = False
    if as_json:
        payload = {
            "answer": result.answer,
            "citations": list(result.citations),
            "pages": list(result.pages),
            "tokens": result.usage.total_tokens,
            "saved": result.saved.relative_to(vault.root).as_posix() if result.saved else None,
            "cut_off": result.cut_off,
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    click.echo()
    if result.cut_off:
        click.secho(f"(The answer is incomplete: {result.cut_off}.)", fg="yellow", err=True)
    if result.citations:
        click.echo("\nSources: " + ", ".join(f"[[{stem}]]" for stem in result.citations))
    if result.saved is not None:
        click.echo(f"Saved as {result.saved.relative_to(vault.root).as_posix()}")
    elif result.note:
        click.echo(result.note[0].upper() + result.note[1:] + ".", err=True)


@click.command(name="graph")
@click.argument("page", required=False)
@click.option(
    "--export",
    "export_to",
    type=click.Path(dir_okay=False),
    help="Also write the graph to FILE: .graphml, .json (node-link) or .gexf.",
)
@click.option("--top", type=int, default=10, show_default=True, help="Hubs to list.")
@click.pass_obj
def graph_cmd(state: State, page: str | None, export_to: str | None, top: int) -> None:
    """The link graph: pages, links, components, hubs (PageRank), orphans.

    With PAGE (a title or file name): its links, backlinks and related pages.
    """
    from llmwiki.graph import graph_report

    vault = state.vault()
    report = graph_report(vault, top, page, Path(export_to) if export_to else None)
    s = report.stats
    click.echo(f"Pages: {s.pages}, links: {s.links} ({s.broken} broken)")
    click.echo(f"Components: {s.components} (largest: {s.largest_component} pages)")
    if s.hubs:
        click.echo("Hubs (PageRank):")
        for hub in s.hubs:
            click.echo(f"  {hub.score:.4f}  [[{hub.stem}]]  ({hub.inbound} backlinks)")
    shown = ", ".join(f"[[{o}]]" for o in s.orphans[:20])
    more = f" and {len(s.orphans) - 20} more" if len(s.orphans) > 20 else ""
    click.echo(f"Orphans ({len(s.orphans)}): {shown + more if s.orphans else 'none'}")
    if report.page is not None:
        p = report.page
        for label, stems in (
            ("Links to", p.outgoing),
            ("Linked from", p.incoming),
            ("Related", p.related),
        ):
            click.echo(f"{label}: " + (", ".join(f"[[{x}]]" for x in stems) or "none"))
    if report.exported:
        click.echo(f"Exported to {report.exported}")
