# Two commands work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint bench clean-demo

$(BIN)/wiki: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/wiki

install: $(BIN)/wiki

# The main job: ingest the repository's sample inbox into its wiki/ with the embedded
# extractive engine (no LLM needed), then show what the vault holds.
demo: install
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

# Put the sample articles back in the inbox and empty the demo's output.
clean-demo:
	git checkout -- inbox
	rm -rf wiki/people wiki/concepts wiki/sources wiki/answers raw/* .wiki
	rm -f wiki/index.md wiki/log.md wiki/contradictions.md
