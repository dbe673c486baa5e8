"""Scope and limit options do what they say, against a real site and real processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.site import generate_site

pytestmark = pytest.mark.slow


@pytest.fixture
def site(tmp_path: Path, serve_site):
    elsewhere = serve_site(tmp_path / "cdn")  # served as "localhost": another host name, the same machine
    truth = generate_site(tmp_path / "site", pages=60, images=150,
                          external_base=f"http://localhost:{elsewhere.port}/", external_root=tmp_path / "cdn")
    return truth, serve_site(tmp_path / "site", redirects=truth.redirects), elsewhere


def crawl(processes, tmp_path: Path, url: str, name: str, *options: str):  # type: ignore[no-untyped-def]
    output = tmp_path / name
    result = processes.run("run", url, "--output", str(output), "--delay", "0", "--per-host", "8", "--quiet",
                           *options)
    assert result.returncode == 0, result.stderr
    manifest = [json.loads(line) for line in (output / "manifest.jsonl").read_text().splitlines()]
    return result, manifest


def pages_requested(server) -> set[str]:
    return {path for path in server.hits if path.endswith(".html") or path == ""}


def test_limits_max_pages_and_max_depth(tmp_path: Path, site, processes) -> None:
    _truth, server, _elsewhere = site
    result, _manifest = crawl(processes, tmp_path, server.url, "pages", "--max-pages", "10")
    assert len(pages_requested(server)) == 10  # of 61 reachable: the seed and the first 9 admitted
    assert "More pages were found than --max-pages 10 admits" in result.stdout  # it ended as if none were
    server.hits.clear()
    result, _manifest = crawl(processes, tmp_path, server.url, "depth", "--max-depth", "1")
    assert "Pages deeper than --max-depth 1 were found" in result.stdout  # a --resume would not reach them
    # depth 0 is the seed (index.html, served for ""), depth 1 the pages it links to; no deeper
    index_links = {"p/1.html", "moved.html"} | {f"p/{n}.html" for n in range(60)
                                                if f'href="/p/{n}.html"' in (server.root / "index.html").read_text()}
    assert pages_requested(server) - {""} == index_links


def test_limits_max_images_stops_at_the_number(tmp_path: Path, site, processes) -> None:
    _truth, server, _elsewhere = site
    result, manifest = crawl(processes, tmp_path, server.url, "images", "--max-images", "20")
    assert len(manifest) == 20
    assert "--max-images 20 reached" in result.stdout


def test_limits_max_bytes_stops_once_that_much_is_saved_and_resume_carries_on(tmp_path: Path, site,
                                                                              processes) -> None:
    truth, server, _elsewhere = site
    result, manifest = crawl(processes, tmp_path, server.url, "quota", "--max-bytes", "20k")
    saved = sum(record["bytes"] for record in manifest)
    assert "--max-bytes 20k reached" in result.stdout and "left for --resume" in result.stdout
    # stopped once 20 kB were saved: those in flight then (8 fetchers a worker) still landed, no more
    assert saved >= 20_000 and len(manifest) < truth.distinct_images()
    assert saved - sum(sorted(record["bytes"] for record in manifest)[-16:]) < 20_000
    _result, resumed = crawl(processes, tmp_path, server.url, "quota", "--resume")  # no cap this time
    _result, whole = crawl(processes, tmp_path, server.url, "whole")
    assert {record["sha256"] for record in resumed} == {record["sha256"] for record in whole}  # the same pictures


def test_limits_max_time_stops_and_resume_carries_on(tmp_path: Path, serve_site, processes) -> None:
    truth = generate_site(tmp_path / "slow", pages=40, images=160)
    server = serve_site(tmp_path / "slow", redirects=truth.redirects, image_delay=0.1)
    result, manifest = crawl(processes, tmp_path, server.url, "timed", "--max-time", "2.5", "--threads", "2")
    assert "--max-time 2.5s reached" in result.stdout and "left for --resume" in result.stdout
    assert 0 < len(manifest) < truth.distinct_images()
    result, manifest = crawl(processes, tmp_path, server.url, "timed", "--resume")
    assert len(manifest) == truth.distinct_images()
    this_run = int(result.stdout.split(" images saved (")[0].rsplit(" ", 1)[1])
    assert 0 < this_run < len(manifest)  # this run's images, then the whole crawl's
    assert f"The whole crawl: {len(manifest)} images saved" in result.stdout
    # Once more, with nothing left: the scheduler ends before its workers reach it. They retried for
    # 10 s and printed a traceback each; now they leave at once, and the closing lines say why.
    result, _manifest = crawl(processes, tmp_path, server.url, "timed", "--resume")
    assert "Traceback" not in result.stderr and "Nothing was left to crawl" in result.stdout


def test_limits_deny_and_allow_domain(tmp_path: Path, site, processes) -> None:
    truth, server, elsewhere = site
    result, manifest = crawl(processes, tmp_path, server.url, "deny", "--deny", r"\.gif$", "--deny", "/p/1[0-9]\\.")
    assert manifest and not any(r["url"].endswith(".gif") for r in manifest)
    # said as --deny's, not as "off-site images skipped: add --allow-domain 127.0.0.1", the crawl's own host
    assert "images left out by --deny." in result.stdout and "off-site" not in result.stdout
    assert not any(path.endswith(".gif") or path.startswith("p/1") and len(path) == 9 for path in server.hits)
    # The other host's images are fetched (a CDN), its pages are not, and a deny rule holds there too.
    assert {path for path in elsewhere.hits if path.endswith(".html")} == set()
    denied_pages = 10  # p/10.html … p/19.html, each showing one of them
    assert sum(1 for path in elsewhere.hits if path.endswith(".png")) == len(truth.cdn_images) - denied_pages
    elsewhere.hits.clear()
    result, manifest = crawl(processes, tmp_path, server.url, "same-host", "--same-host-images")
    assert sum(elsewhere.hits.values()) == 0
    assert not any(r["url"].startswith("http://localhost") for r in manifest)
    assert f"{len(truth.cdn_images)} off-site images skipped: add --allow-domain localhost" in result.stdout
    crawl(processes, tmp_path, server.url, "allow", "--allow-domain", f"http://localhost:{elsewhere.port}/")
    assert any(path.endswith(".html") for path in elsewhere.hits)  # its pages are in scope now (404s)


def test_limits_request_options_reach_every_request_and_no_parent_stays_below(tmp_path: Path, serve_site,
                                                                             processes) -> None:
    truth = generate_site(tmp_path / "site", pages=30, images=60)
    server = serve_site(tmp_path / "site", redirects=truth.redirects)
    auth = tmp_path / "auth"
    auth.write_text("127.0.0.1 alice:secret\n")
    auth.chmod(0o600)
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\tabc\n")
    seed = server.url + "p/1.html"
    result, manifest = crawl(processes, tmp_path, seed, "options", "--no-parent", "--header", "X-Crawl: yes",
                             "--cookies", str(cookies), "--auth-file", str(auth))
    assert manifest
    for path, headers in server.headers.items():
        assert headers.get("X-Crawl") == "yes" and headers.get("Cookie") == "session=abc", path
        assert headers.get("Authorization") == "Basic YWxpY2U6c2VjcmV0", path
    pages = pages_requested(server)
    assert pages and all(path.startswith("p/") for path in pages)  # never above the seed's folder
    assert any(path.startswith("img/") for path in server.hits)  # its images come from anywhere
    assert "secret" not in result.stderr
