"""Politeness and robots.txt hold for the crawl as a whole, however many nodes run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.site import make_image
from tests.integration.conftest import finish

pytestmark = pytest.mark.slow

ROBOTS = """# a specific group for us, and a stricter one for everybody else
User-agent: queue-crawler
Disallow: /private/
Disallow: /*.gif$
Crawl-delay: 0

User-agent: *
Disallow: /
"""


def write_site(root: Path, pages: int, images_per_page: int = 0, extra: str = "") -> None:
    (root / "img").mkdir(parents=True)
    for n in range(pages):
        links = f'<a href="/p{(n + 1) % pages}.html">next</a>' + extra
        images = "".join(f'<img src="/img/{n}-{k}.png">' for k in range(images_per_page))
        for k in range(images_per_page):
            (root / "img" / f"{n}-{k}.png").write_bytes(make_image(n * 100 + k, "png"))
        (root / f"p{n}.html").write_text(f"<html><body>{links}{images}</body></html>")
    (root / "index.html").write_text('<html><body><a href="/p0.html">start</a></body></html>')


def crawl(processes, site, output: Path, *options: str) -> str:
    scheduler, port = processes.start_scheduler(site.url, "--output", str(output), *options)
    # A small crawl can end before the last worker is up (in CI, on a loaded machine, it did): one that
    # never joined finds no scheduler and gives up after --reconnect-seconds. Every worker that joined
    # must leave cleanly, told by the scheduler that the crawl is over.
    workers = [processes.start_worker(port, "--threads", "4", "--reconnect-seconds", "5") for _ in range(3)]
    code, _stdout, stderr = finish(scheduler)
    assert code == 0, stderr
    for worker in workers:
        worker_code, _out, worker_log = finish(worker, timeout=30)
        assert worker_code == 0 or "connected to" not in worker_log, worker_log
    return stderr


def test_politeness_robots_disallowed_urls_are_never_requested(tmp_path: Path, serve_site, processes) -> None:
    root = tmp_path / "site"
    write_site(root, pages=20, images_per_page=1,
               extra='<a href="/private/secret.html">s</a><img src="/private/s.png"><img src="/img/anim.gif">')
    (root / "robots.txt").write_text(ROBOTS)
    site = serve_site(root)
    crawl(processes, site, tmp_path / "out", "--delay", "0", "--per-host", "4")
    requested = set(site.hits)
    assert not any(path.startswith("private/") or path.endswith(".gif") for path in requested), requested
    assert site.hits["robots.txt"] == 1  # once per crawl, not per node or per URL
    assert all(site.hits[f"p{n}.html"] == 1 for n in range(20))
    skipped = [json.loads(line) for line in (tmp_path / "out" / "failures.jsonl").read_text().splitlines()]
    assert {(r["url"].removeprefix(site.url), r["outcome"], r["reason"]) for r in skipped} == {
        ("private/secret.html", "skipped", "robots"), ("private/s.png", "skipped", "robots"),
        ("img/anim.gif", "skipped", "robots"), ("favicon.ico", "skipped", "no-favicon"),
        ("sitemap.xml", "skipped", "no-sitemap")}  # robots.txt lists none: the usual place, once


def test_politeness_requests_to_one_host_with_a_delay_go_on_a_kept_alive_connection(
        tmp_path: Path, serve_site, processes) -> None:
    # With a delay, a host's requests go out one at a time to whichever fetcher thread is free.
    # Before, each thread had its own connections: 3 nodes x 4 threads opened up to 12 to the one
    # host (12 TLS handshakes on https), each idle long enough for many servers to close it.
    root = tmp_path / "site"
    write_site(root, pages=12, images_per_page=1)
    site = serve_site(root, keep_alive=True)
    crawl(processes, site, tmp_path / "out", "--delay", "0.05")
    assert len(site.log) >= 28  # robots.txt, index, 12 pages and their 12 images, ...
    closed = sum(1 for _path, status, _sent in site.answers if status >= 400)  # http.server's errors close
    assert site.connections <= 3 + closed  # one a node, and one after each error answer


def test_politeness_delay_between_requests_to_one_host(tmp_path: Path, serve_site, processes) -> None:
    root = tmp_path / "site"
    write_site(root, pages=12)
    site = serve_site(root)
    crawl(processes, site, tmp_path / "out", "--delay", "0.3", "--per-host", "1")
    times = sorted(t for t, _path in site.log)
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert len(times) == 16  # robots.txt, /sitemap.xml, index, 12 pages and the implicit /favicon.ico
    assert min(gaps) >= 0.3, f"requests to one host {min(gaps):.3f}s apart with --delay 0.3"


def test_politeness_a_delay_between_the_schedulers_idle_polls_is_kept_to_within_a_tenth(
        tmp_path: Path, serve_site, processes) -> None:
    # The scheduler woke for a host's gap only at its next 50 ms idle poll: --delay 0.12 came out
    # at 0.154 s between requests, --delay 0.03 at 0.053 s. It now wakes when the gap ends.
    root = tmp_path / "site"
    write_site(root, pages=12)
    site = serve_site(root)
    crawl(processes, site, tmp_path / "out", "--delay", "0.12", "--per-host", "1")
    times = sorted(t for t, _path in site.log)
    gaps = sorted(later - earlier for earlier, later in zip(times, times[1:]))
    assert gaps[0] >= 0.12, f"requests to one host {gaps[0]:.3f}s apart with --delay 0.12"
    assert gaps[len(gaps) // 2] <= 0.132, f"median gap {gaps[len(gaps) // 2]:.3f}s with --delay 0.12"


def test_politeness_per_host_cap_holds_across_nodes(tmp_path: Path, serve_site, processes) -> None:
    root = tmp_path / "site"
    write_site(root, pages=4, images_per_page=10)
    site = serve_site(root, image_delay=0.1)
    crawl(processes, site, tmp_path / "out", "--delay", "0", "--per-host", "2")
    assert sum(1 for path in site.hits if path.startswith("img/")) == 40
    assert site.max_in_flight <= 2, f"{site.max_in_flight} requests at once with --per-host 2 and 12 threads"
    assert site.max_in_flight == 2


def test_politeness_a_retry_after_pauses_the_whole_host_though_its_tasks_go_out_in_chains(
        tmp_path: Path, serve_site, processes) -> None:
    root = tmp_path / "site"
    write_site(root, pages=1, images_per_page=30)
    site = serve_site(root)
    site.busy_once["img/0-3.png"] = 1  # "come back in a second", in the middle of the images' chains
    crawl(processes, site, tmp_path / "out", "--delay", "0", "--per-host", "1")
    busy_at = next(t for t, path in site.log if path == "img/0-3.png")
    gap = min(t for t, _path in site.log if t > busy_at) - busy_at
    assert gap >= 1.0, f"the next request to the host came {gap:.3f}s after its 429 with Retry-After: 1"
    assert site.hits["img/0-3.png"] == 2 and all(site.hits[f"img/0-{k}.png"] == 1 for k in range(30) if k != 3)
    assert len(list((tmp_path / "out" / "images").rglob("*.png"))) == 30


def test_politeness_four_nodes_on_one_host_keep_its_limits(tmp_path: Path, serve_site, processes) -> None:
    root = tmp_path / "site"
    write_site(root, pages=6, images_per_page=8)
    site = serve_site(root, image_delay=0.05)
    scheduler, port = processes.start_scheduler(site.url, "--output", str(tmp_path / "out"), "--delay", "0",
                                                "--per-host", "3")
    workers = [processes.start_worker(port, "--threads", "4", "--node-id", f"node-{n}") for n in range(4)]
    code, _stdout, stderr = finish(scheduler)
    assert code == 0, stderr
    for worker in workers:
        assert finish(worker, timeout=30)[0] == 0
    assert sum(1 for path in site.hits if path.startswith("img/")) == 48
    assert max(site.hits.values()) == 1  # no duplicate fetch across the nodes
    assert site.max_in_flight == 3, f"{site.max_in_flight} requests at once with --per-host 3 and 16 threads"
