"""A re-crawl of a real site on 127.0.0.1: conditional requests, only what changed downloaded."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchmarks.servers import Apache, free_ports
from benchmarks.site import make_image

pytestmark = pytest.mark.slow


def write(path: Path, data: bytes | str, later: float = 0.0) -> None:
    """Write a file; `later` seconds on its modification time (Last-Modified counts whole seconds)."""
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    if later:
        stat = path.stat()
        os.utime(path, (stat.st_atime + later, stat.st_mtime + later))


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_recrawl_downloads_only_what_changed_and_records_what_is_gone(tmp_path: Path, serve_site,
                                                                        processes) -> None:
    root = tmp_path / "site"
    root.mkdir()
    for number in range(1, 6):
        write(root / f"i{number}.png", make_image(200 + number, "png"))
    write(root / "index.html", '<a href="a.html">a</a><a href="b.html">b</a><a href="gone.html">gone</a>'
                               '<link rel="icon" href="i1.png"><img src="i1.png" alt="one">')
    write(root / "a.html", '<img src="i2.png">')
    write(root / "b.html", '<img src="i3.png"><a href="missing.html">a broken link</a>')
    write(root / "gone.html", '<img src="i4.png">')
    site = serve_site(root)
    site.response_headers["i2.png"] = {"Cache-Control": "public, max-age=86400"}  # fresh for a day
    output = tmp_path / "out"
    first = processes.run("run", site.url, "--output", str(output), "--delay", "0", "--no-sitemaps", timeout=60)
    assert first.returncode == 0, first.stderr
    before = {record["url"].rsplit("/", 1)[1]: record for record in records(output / "manifest.jsonl")}
    assert set(before) == {"i1.png", "i2.png", "i3.png", "i4.png"}

    # Between the runs: a.html changes (a new page, a new image), i3.png changes, gone.html and i4.png go.
    write(root / "a.html", '<img src="i2.png"><a href="new.html">new</a>', later=10)
    write(root / "new.html", '<img src="i5.png" alt="five">')
    write(root / "i3.png", make_image(300, "png"), later=10)
    (root / "gone.html").unlink()
    (root / "i4.png").unlink()
    site.answers.clear()
    second = processes.run("run", site.url, "--output", str(output), "--delay", "0", "--no-sitemaps", "--recrawl",
                           "--prune", timeout=60)
    assert second.returncode == 0, second.stderr
    answered = {path: (status, sent) for path, status, sent in site.answers}
    assert answered == {
        "robots.txt": (404, 0),  # fetched again: its rules may have changed
        "": (304, 0), "b.html": (304, 0), "i1.png": (304, 0),  # the seed (index.html): no body; i2.png is fresh
        "a.html": (200, (root / "a.html").stat().st_size), "i3.png": (200, (root / "i3.png").stat().st_size),
        "new.html": (200, (root / "new.html").stat().st_size), "i5.png": (200, (root / "i5.png").stat().st_size),
        "gone.html": (404, answered["gone.html"][1]), "i4.png": (404, answered["i4.png"][1]),
        "missing.html": (404, answered["missing.html"][1])}  # failed before: tried again
    assert len(site.answers) == len(answered)  # each URL asked once
    after = records(output / "manifest.jsonl")
    new = [record for record in after if record["sha256"] not in {r["sha256"] for r in before.values()}]
    assert sorted(record["url"].rsplit("/", 1)[1] for record in new) == ["i3.png", "i5.png"]
    changed = next(record for record in new if record["url"].endswith("i3.png"))
    assert changed["replaces"] == before["i3.png"]["sha256"]
    # --prune: the gone image's file and record are deleted; the rest of the first run's stay
    assert not (output / before["i4.png"]["path"]).exists()
    assert {r["url"].rsplit("/", 1)[1] for r in after} == {"i1.png", "i2.png", "i3.png", "i5.png"}
    gone = {r["url"].rsplit("/", 1)[1]: r for r in records(output / "failures.jsonl") if r["outcome"] == "gone"}
    assert set(gone) == {"gone.html", "i4.png"} and gone["gone.html"]["reason"] == "http-404"
    assert ("Re-crawl: 7 known URLs checked: 3 unchanged (0 by the sitemaps' lastmod, without a request), "
            "2 changed, 2 gone; 2 new;") in second.stdout
    assert "1 not asked: still fresh by their Cache-Control or Expires" in second.stdout
    assert "1 gone image deleted (--prune)" in second.stdout

    # The next week nothing has changed: every check is a 304 (the gone URLs and the broken link fail
    # again), and that is a success for a script reading the exit status, not "nothing could be
    # fetched" (exit 4). --recrawl-fresh asks for the fresh image too.
    site.answers.clear()
    third = processes.run("run", site.url, "--output", str(output), "--delay", "0", "--no-sitemaps", "--recrawl",
                          "--recrawl-fresh", timeout=60)
    assert third.returncode == 0, third.stdout + third.stderr
    assert ("i2.png", 304, 0) in site.answers
    assert "Re-crawl: 10 known URLs checked: 8 unchanged" in third.stdout
    # and the closing line says so first, not only "0 pages fetched"
    assert "0 pages fetched and 4 unchanged" in third.stdout and "avoided) and 4 unchanged" in third.stdout
    assert "0 changed, 2 gone; 0 new;" in third.stdout


@pytest.mark.skipif(not Apache.available(), reason="needs Apache httpd (Debian's apache2-bin), which .ci/run installs")
def test_a_recrawl_of_an_apache_site_gets_a_304_for_every_compressed_page(tmp_path: Path, processes) -> None:
    # Apache as Debian and Ubuntu set it up: mod_deflate compresses HTML for every client that
    # accepts gzip (requests does), adds "-gzip" to the ETag, and compares If-None-Match with the
    # ETag before it. The crawl sent the ETag it was given: every page came back 200, whole.
    root = tmp_path / "site"
    root.mkdir()
    write(root / "index.html", '<a href="a.html">a</a><a href="b.html">b</a><img src="i1.png">')
    write(root / "a.html", "<p>" + "words " * 400 + '</p><img src="i2.png">')
    write(root / "b.html", "<p>" + "more words " * 400 + '</p><img src="i3.png">')
    for number in range(1, 4):
        write(root / f"i{number}.png", make_image(400 + number, "png"))
    (port,) = free_ports(1)
    server = Apache(root, port, tmp_path / "apache")
    try:
        url, output = f"http://127.0.0.1:{port}/", tmp_path / "out"
        first = processes.run("run", url, "--output", str(output), "--delay", "0", "--no-sitemaps", timeout=60)
        assert first.returncode == 0, first.stderr
        assert len(records(output / "manifest.jsonl")) == 3
        assert {path: sent > 0 for path, status, sent in server.answers() if path.endswith("html")} == {
            "/index.html": True, "/a.html": True, "/b.html": True}
        server.reset()
        again = processes.run("run", url, "--output", str(output), "--delay", "0", "--no-sitemaps", "--recrawl",
                              timeout=60)
        assert again.returncode == 0, again.stderr
        answered = {path: (status, sent) for path, status, sent in server.answers()}
    finally:
        server.close()
    assert answered == {"/robots.txt": (404, answered["/robots.txt"][1]), "/index.html": (304, 0),
                        "/a.html": (304, 0), "/b.html": (304, 0), "/i1.png": (304, 0), "/i2.png": (304, 0),
                        "/i3.png": (304, 0)}
    assert "Re-crawl: 6 known URLs checked: 6 unchanged" in again.stdout
