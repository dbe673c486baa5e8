"""`python -m crawler` runs the command-line interface."""

from crawler.console import run

run()
