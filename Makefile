# Two commands work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint bench quality clean-demo

$(BIN)/wiki: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/wiki

install: $(BIN)/wiki

# The main job: copy the sample articles into the inbox and ingest them into wiki/ with the
# embedded extractive engine (no LLM needed), then show what the vault holds. samples/ is
# never changed, so the demo and the tests (which read samples/) run in any order; a second
# demo finds the same content already ingested and changes nothing.
demo: install
	mkdir -p inbox
	cp samples/* inbox/
	$(BIN)/wiki ingest --no-commit
	$(BIN)/wiki status

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/run.py
	$(BIN)/python bench/ask_bench.py
	$(BIN)/python bench/graph_bench.py
	$(BIN)/python bench/extractive_throughput.py
	$(BIN)/python bench/search_bench.py
	$(BIN)/python bench/scale_bench.py
	$(BIN)/python bench/ask_eval.py

# Score the embedded engine against the corpus gold (#13): newsletters, blogs/, annotated til/.
quality: install
	$(BIN)/python bench/quality.py ../shared/corpus ../shared/corpus/blogs ../shared/corpus/til \
		--gold ../shared/corpus/gold.json --annotated

# Empty the demo's output (the samples stay in samples/).
clean-demo:
	rm -f $(addprefix inbox/,$(notdir $(wildcard samples/*)))
	rm -rf wiki/people wiki/concepts wiki/sources wiki/answers raw/* .wiki
	rm -f wiki/index.md wiki/log.md wiki/contradictions.md
