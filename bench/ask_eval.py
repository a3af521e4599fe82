"""Does `wiki ask` find what the wiki knows? Retrieval quality on the shared corpus.

Builds a wiki from ../shared/corpus/ (the four newsletters, blogs/ and til/) with the embedded
extractive engine, or reuses one (`--wiki DIR`, kept by `--keep DIR`), then puts the questions
of bench/ask_questions.json to it. Each question names the pages of which one must be cited;
a question naming none is on a topic the wiki lacks and must get "not covered". Prints:

- hit rate at 1 and at 3: the must-cite page is the first citation, or among the first three;
- the same for the context an LLM answerer is given (the pages retrieval packs, in order), so
  both answerers are scored on what they get;
- "not covered" precision and recall;
- latency of the whole `ask` (median, p95).

    .venv/bin/python bench/ask_eval.py [--questions FILE] [--wiki DIR | --keep DIR] [-v]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from llmwiki.ask import ask
from llmwiki.engines.answerer import NOT_COVERED
from llmwiki.engines.extractive.answerer import ExtractiveAnswerer
from llmwiki.engines.extractive.engine import ExtractiveEngine
from llmwiki.ingest import Options, ingest
from llmwiki.vault import Vault, init_vault

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent.parent / "shared" / "corpus"


def build(root: Path, corpus: Path) -> Vault:
    vault = init_vault(root)[0]
    files = [*sorted(corpus.glob("*.txt")), *sorted((corpus / "blogs").glob("*.md"))]
    files += sorted((corpus / "til").glob("*.md"))
    for path in files:
        shutil.copy(path, vault.inbox / path.name)
    report = ingest(vault, ExtractiveEngine(), Options(today=date(2026, 1, 15)))
    print(f"built a wiki from {len(files)} documents: {report.created} pages", file=sys.stderr)
    return vault


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=HERE / "ask_questions.json")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--wiki", type=Path, help="a vault already built from the corpus")
    parser.add_argument("--keep", type=Path, help="build the vault here and keep it")
    parser.add_argument("-v", "--verbose", action="store_true", help="show every miss")
    args = parser.parse_args()
    if args.wiki is None and not args.corpus.is_dir():
        print(f"no corpus at {args.corpus}: it only exists in the development workspace")
        return 2
    questions = json.loads(args.questions.read_text(encoding="utf-8"))["questions"]
    scratch = None
    if args.wiki is not None:
        vault = Vault(args.wiki.resolve())
    elif args.keep is not None and (args.keep / "wiki.toml").exists():
        vault = Vault(args.keep.resolve())
    else:
        scratch = None if args.keep else Path(tempfile.mkdtemp(prefix="ask-eval-"))
        vault = build((args.keep or scratch / "kb").resolve(), args.corpus)  # type: ignore[operator]
    try:
        return evaluate(vault, questions, args.verbose)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def evaluate(vault: Vault, questions: list[dict[str, object]], verbose: bool) -> int:
    answerable = [q for q in questions if q["cite"]]
    absent = [q for q in questions if not q["cite"]]
    hits1 = hits3 = cited = context1 = context3 = 0
    said_not_covered = right_not_covered = 0
    latencies: list[float] = []
    ask(vault, ExtractiveAnswerer(), "warm up the index")
    for item in questions:
        question, cite = str(item["q"]), set(item["cite"])  # type: ignore[call-overload]
        start = time.perf_counter()
        result = ask(vault, ExtractiveAnswerer(), question)
        latencies.append(time.perf_counter() - start)
        not_covered = result.answer.startswith(NOT_COVERED)
        said_not_covered += not_covered
        if not cite:
            right_not_covered += not_covered
            if verbose and not not_covered:
                print(f"  answered an absent topic: {question} -> {list(result.citations[:3])}")
            continue
        hits1 += bool(cite & set(result.citations[:1]))
        hits3 += bool(cite & set(result.citations[:3]))
        cited += bool(cite & set(result.citations))
        context1 += bool(cite & set(result.pages[:1]))
        context3 += bool(cite & set(result.pages[:3]))
        if verbose and not cite & set(result.citations[:3]):
            print(f"  miss: {question}\n    cited {list(result.citations[:3])}")
    n, m = len(answerable), len(absent)
    print(f"questions: {n} answerable, {m} on absent topics; wiki of {vault.root}")
    print(f"extractive answer: hit@1 {hits1 / n:.2f}  hit@3 {hits3 / n:.2f}  cited {cited / n:.2f}")
    print(f"LLM context:       hit@1 {context1 / n:.2f}  hit@3 {context3 / n:.2f}")
    precision = right_not_covered / said_not_covered if said_not_covered else 1.0
    print(f"not covered:       precision {precision:.2f}  recall {right_not_covered / m:.2f}")
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    median = statistics.median(latencies)
    print(f"latency of ask:    median {median * 1000:.0f} ms  p95 {p95 * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
