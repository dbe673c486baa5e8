"""A crawl ends, whatever its seeds do, and its exit status says what happened (wget-like)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.site import generate_site
from tests.integration.test_cli_errors import free_port

pytestmark = pytest.mark.slow


def failures(output: Path) -> set[tuple[str, str, str, str]]:
    records = [json.loads(line) for line in (output / "failures.jsonl").read_text().splitlines()]
    return {(r["url"], r["kind"], r["outcome"], r["reason"]) for r in records}


def test_ending_a_seed_nobody_answers_ends_with_status_4_and_the_cause(tmp_path: Path, processes) -> None:
    port = free_port()  # nothing listens there
    seed = f"http://127.0.0.1:{port}/"
    # Before the fix this never ended: "1 pending, 0 in flight" every 5 s for ever.
    result = processes.run("run", seed, "--output", str(tmp_path / "out"), "--max-attempts", "2", timeout=60)
    assert result.returncode == 4, result.stderr
    assert f"could not read {seed}robots.txt: connection refused by 127.0.0.1:{port}; skipping that site" \
        in result.stderr
    assert "Traceback" not in result.stderr
    assert failures(tmp_path / "out") == {
        (f"{seed}robots.txt", "robots", "failed", "connection-refused"),
        (seed, "page", "skipped", "robots-unavailable")}


def test_ending_one_dead_site_among_good_ones_saves_the_rest_with_status_3(tmp_path: Path, serve_site,
                                                                          processes) -> None:
    truth = generate_site(tmp_path / "site", pages=10, images=20)
    site = serve_site(tmp_path / "site", redirects=truth.redirects)
    dead = f"http://127.0.0.1:{free_port()}/"
    output = tmp_path / "out"
    result = processes.run("run", site.url, dead, "--output", str(output), "--max-attempts", "2", "--delay", "0",
                           timeout=60)
    assert result.returncode == 3, result.stderr
    saved = {json.loads(line)["sha256"] for line in (output / "manifest.jsonl").read_text().splitlines()}
    assert saved == set(truth.images.values())
    # The same good site alone is a clean run: its broken links are the site's, not the crawl's.
    again = processes.run("run", site.url, "--output", str(tmp_path / "again"), "--delay", "0", timeout=60)
    assert again.returncode == 0, again.stderr
