"""The benchmarks' harness: what it measures happens on this machine, and nowhere else."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from benchmarks import forms_bench, recrawl_bench
from benchmarks.site import make_image
from crawler.storage import read_jsonl

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("helper", ["forms", "recrawl"])
def test_a_benchmark_crawl_of_a_real_site_asks_no_host_but_this_one(tmp_path: Path, serve_site, processes,
                                                                     helper: str) -> None:
    """A real site's pages can point at the web (python3.11-doc's sorting howto links a photo on
    upload.wikimedia.org), and a crawl with defaults fetches a picture wherever it is. Before, the
    benchmarks' crawls of real sites (onehost, forms, recrawl; the first through the same command
    as these two) asked such hosts: a DNS lookup here, offline; online, downloads timed in the figure."""
    here = make_image(1, "png")
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "here.png").write_bytes(here)
    (tmp_path / "site" / "index.html").write_text(
        '<img src="here.png"><img src="http://pictures.invalid/there.png">'
        '<a href="https://photos.invalid/big.jpg">a photo</a>')
    site = serve_site(tmp_path / "site")
    output = tmp_path / "out"

    if helper == "forms":
        forms_bench.crawl(site.url, output)
    else:
        recrawl_bench._timed_run(site.url, "--output", str(output), "--fresh", env=processes.env())

    saved = {record["sha256"] for record in read_jsonl(output / "manifest.jsonl")}
    assert saved == {hashlib.sha256(here).hexdigest()}
    asked_elsewhere = [record["url"] for record in read_jsonl(output / "failures.jsonl")
                       if ".invalid" in record["url"]]
    assert asked_elsewhere == []
