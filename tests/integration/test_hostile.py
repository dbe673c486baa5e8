"""A crawl of a hostile server ends in bounded time, records every case, and saves every good image."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from tests.integration.hostile import GOOD_IMAGES, LONG_NAME, TRAVERSAL, HostileServer, month_path, this_month

pytestmark = pytest.mark.slow


@pytest.fixture
def hostile():
    server = HostileServer()
    yield server
    server.close()


def test_hostile_site_is_survived_and_recorded(tmp_path: Path, hostile, processes) -> None:
    output = tmp_path / "out"
    started = time.monotonic()
    result = processes.run("run", hostile.url, "--output", str(output), "--workers", "2", "--threads", "4",
                           "--timeout", "2", "--max-image-bytes", "1000000",
                           "--max-page-bytes", "300000", "--delay", "0", "--per-host", "16", timeout=90)
    elapsed = time.monotonic() - started
    assert result.returncode == 3, result.stderr  # finished, but /drip.html failed after every attempt
    assert "Traceback" not in result.stderr  # urllib3 printed one for /odd-header.png's header line
    assert "Failed to parse headers" not in result.stderr  # nor its warning: the picture is saved
    assert elapsed < 45, f"the crawl took {elapsed:.0f}s"
    # the closing lines name the option that refused /endless.png and /bomb.png (before: "2 failed" alone)
    assert "2 images larger than --max-image-bytes 1M were not saved: a larger --max-image-bytes" in result.stdout

    failures = {}
    for line in (output / "failures.jsonl").read_text().splitlines():
        record = json.loads(line)
        failures[record["url"].removeprefix(hostile.url[:-1])] = (record["reason"], record["attempts"])
    # Timeouts and drips get two attempts, whatever --max-attempts (3 by default): see reasons.py.
    assert failures == {
        "/drip.html": ("too-slow", 2), "/drip.png": ("too-slow", 2),
        "/endless.png": ("too-large", 1), "/bomb.png": ("too-large", 1),
        "/lie.png": ("incomplete-body", 3), "/html-as.jpg": ("not-an-image", 1),
        "/png-bomb.png": ("decompression-bomb", 1), "/to-file": ("redirect-to-unsupported-scheme", 1),
        "/chain-5": ("too-many-redirects", 1), "/favicon.ico": ("no-favicon", 1), "/sitemap.xml": ("no-sitemap", 1),
        "/endless.html": ("truncated", 1),  # read up to --max-page-bytes, and said (outcome partial)
        "/loop-b": ("redirect-loop", 1),  # /loop-a -> /loop-b -> /loop-a
        "/ssh.png": ("bad-response", 1),  # not HTTP: asking again gets the same (it was a retried "ConnectionError")
    }

    # The crawl state says what failures.jsonl says (it used to mark a redirect chain "done").
    import sqlite3
    state = sqlite3.connect(output / ".crawler" / "state.sqlite")
    statuses = dict(state.execute("SELECT url, status || ' ' || reason FROM urls WHERE reason IS NOT NULL"))
    state.close()
    assert statuses[hostile.url + "chain-5"] == "failed too-many-redirects"
    assert statuses[hostile.url + "chain-4"] == "done redirect"

    manifest = [json.loads(line) for line in (output / "manifest.jsonl").read_text().splitlines()]
    assert {r["sha256"] for r in manifest} == {hashlib.sha256(data).hexdigest() for data in GOOD_IMAGES.values()}
    for record in manifest:  # named by content, inside the output directory, whatever the URL said
        path = (output / record["path"]).resolve()
        assert path.is_relative_to(output.resolve()) and path.name == f"{record['sha256']}.png"
    saved_urls = {r["url"].removeprefix(hostile.url[:-1]) for r in manifest}
    assert "/img/" + LONG_NAME in saved_urls and "/img/" + TRAVERSAL in saved_urls
    files = [p for p in output.rglob("*") if p.is_file() and ".crawler" not in p.parts]
    assert len(files) == len(manifest) + 2  # the images, manifest.jsonl and failures.jsonl

    hits = hostile.hits
    assert hits["/img/same.png"] == 1  # five equivalent URLs, one request
    assert hits["/flap.png"] == 2 and hits["/busy.png"] == 2  # 500 then 200; 429 then 200
    busy_gap = hostile.times["/busy.png"][1] - hostile.times["/busy.png"][0]
    assert busy_gap >= 1.0, f"Retry-After: 1 was not honoured ({busy_gap:.2f}s)"
    assert hits["/loop-a"] == 1 and hits["/loop-b"] == 1  # the loop ends at the seen-set, and is recorded
    assert [hits[f"/chain-{n}"] for n in range(8)] == [1, 1, 1, 1, 1, 1, 0, 0]
    assert hits["/after-endless.html"] == 1  # the endless page was cut and still parsed
    assert hits["/latin.png"] == 1 and hits["/malformed.png"] == 1  # odd encodings and markup parsed
    assert hits["/tangle.html"] == 1 and hits["/before-tangle.png"] == 1  # 235 KB of unclosed tags read
    assert hits["/robots.txt"] == 1
    # Crawler traps end where Heritrix ends them: before, both folders took the crawl on for ever
    assert [hits["/soft" + "/again" * n] for n in range(4)] == [1, 1, 1, 0]  # a run of segments thrice: a trap
    assert sum(path.startswith("/deep") for path in hits) == 20  # more than 20 segments deep: a trap
    # An events calendar's month views lead on for ever, both ways: it is crawled 3 years either side
    months = [month for month in range(this_month() - 40, this_month() + 41) if hits[month_path(month).rstrip("/")]]
    assert months == list(range(this_month() - 36, this_month() + 37))
    assert "4 links left out as crawler traps" in result.stdout
    # A shop writing a new session id into every link: each page once (before, the crawl never ended)
    assert [sum(n for path, n in hits.items() if path.startswith(item)) for item in (
        "/shop/item-1", "/shop/item-2", "/shop/item-3")] == [1, 1, 1]
    assert "2 pictures written into the pages as data: URIs not saved" in result.stdout  # the two bombs
