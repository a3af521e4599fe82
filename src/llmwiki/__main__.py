"""`python -m llmwiki` runs the `wiki` command."""

from llmwiki.cli import main

main()
