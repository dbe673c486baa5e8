"""Benchmarks: `python3 -m benchmarks.run --help`."""
