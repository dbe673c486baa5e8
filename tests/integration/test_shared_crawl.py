"""Several schedulers, one crawl in a real redis-server: each origin dispatched by one of them."""

from __future__ import annotations

import hashlib
import json
import signal
import time
from pathlib import Path

import pytest

from benchmarks.site import make_image
from tests.integration.conftest import HOST_IP, finish
from tests.redis_server import started_redis

pytestmark = pytest.mark.slow
PAGES = 12  # per origin


def sites(tmp_path: Path, serve_site, count: int = 2,  # type: ignore[no-untyped-def]
          host: str = "127.0.0.1") -> tuple[list, dict[str, str]]:
    """`count` sites on as many ports of `host`, linking to each other's pages; each page shows an image
    of its own. Returns the servers and {image URL: sha256} of every image."""
    roots = [tmp_path / f"site{n}" for n in range(count)]
    for root in roots:
        (root / "img").mkdir(parents=True)
    servers = [serve_site(root, image_delay=0.02, host=host) for root in roots]
    truth = {}
    for side, (root, server) in enumerate(zip(roots, servers)):
        links = "".join(f'<a href="{other.url}p{n}.html">p</a>' for other in servers for n in range(PAGES))
        (root / "index.html").write_text(links)
        for n in range(PAGES):
            data = make_image(500 + side * 100 + n, "png")
            (root / "img" / f"{n}.png").write_bytes(data)
            (root / f"p{n}.html").write_text(f'<img src="img/{n}.png" alt="picture {n}">')
            truth[f"{server.url}img/{n}.png"] = hashlib.sha256(data).hexdigest()
    return servers, truth


DELAY = 0.05


def crawl_args(servers: list, output: Path, redis_url: str) -> tuple[str, ...]:  # type: ignore[type-arg]
    return (servers[0].url, "--output", str(output), "--state", redis_url, "--crawl", "shared", "--delay",
            str(DELAY), "--per-host", "1", "--node-timeout", "3", "--no-sitemaps")


def assert_saved_once(output: Path, truth: dict[str, str], servers: list) -> None:  # type: ignore[type-arg]
    records = [json.loads(line) for line in (output / "manifest.jsonl").read_text().splitlines()]
    assert sorted(r["sha256"] for r in records) == sorted(set(truth.values()))  # each image once
    for server in servers:  # each URL fetched once; never two requests at once to one origin, nor too close
        assert all(count == 1 for path, count in server.hits.items() if path != "favicon.ico"), server.hits
        assert server.max_in_flight == 1
        starts = sorted(time for time, _path in server.log)
        assert min(later - earlier for earlier, later in zip(starts, starts[1:])) >= DELAY * 0.9


@pytest.mark.parametrize("count", [2, 3])
def test_schedulers_share_one_crawl_and_finish_together(tmp_path: Path, serve_site, processes, redis_server,
                                                        count: int) -> None:  # type: ignore[no-untyped-def]
    servers, truth = sites(tmp_path, serve_site, count)
    output = tmp_path / "out"
    args = crawl_args(servers, output, redis_server.url)
    schedulers = [processes.start_scheduler(*args, "--fresh")]
    schedulers += [processes.start_scheduler(*args) for _ in range(count - 1)]  # the same command: they join
    workers = [processes.start_worker(port, "--threads", "4") for _scheduler, port in schedulers]
    results = [finish(scheduler) for scheduler, _port in schedulers]
    for code, _stdout, stderr in results:
        assert code == 0, stderr
    assert all("joining crawl 'shared'" in stderr for _code, _stdout, stderr in results[1:])
    for worker in workers:
        assert finish(worker, timeout=30)[0] == 0
    assert_saved_once(output, truth, servers)
    fetched = [int(stdout.split(" pages fetched")[0].rsplit(" ", 1)[1]) for _code, stdout, _stderr in results]
    assert all(pages > 0 for pages in fetched) and sum(fetched) == count * PAGES + 1  # each did its share


def test_a_scheduler_left_without_a_site_says_why_its_nodes_fetched_nothing(
        tmp_path: Path, serve_site, processes, redis_server) -> None:  # type: ignore[no-untyped-def]
    # One site is one scheduler's (it keeps the site's --per-host and --delay): the second scheduler
    # of a one-site crawl had nothing to dispatch, and said only "0 pages fetched".
    servers, truth = sites(tmp_path, serve_site, 1)
    output = tmp_path / "out"
    args = crawl_args(servers, output, redis_server.url)
    schedulers = [processes.start_scheduler(*args, "--fresh"), processes.start_scheduler(*args)]
    workers = [processes.start_worker(port, "--threads", "2") for _scheduler, port in schedulers]
    (first_code, first, _), (second_code, second, stderr) = [finish(scheduler) for scheduler, _port in schedulers]
    assert first_code == second_code == 0, stderr
    for worker in workers:
        assert finish(worker, timeout=30)[0] == 0
    assert_saved_once(output, truth, servers)
    assert " 0 pages fetched" in second and "This scheduler's nodes fetched nothing: the crawl's sites were the " \
        "other schedulers'" in second
    assert "fetched nothing" not in first and "resuming:" not in stderr  # it joined a running crawl


def test_schedulers_on_two_machines_share_one_crawl_over_a_link(tmp_path: Path, serve_site, processes,
                                                                node_namespace) -> None:  # type: ignore[no-untyped-def]
    # This machine holds Redis, the sites and one scheduler with its node; the other (a network
    # namespace behind a veth link) a second scheduler and its node, which reach Redis and the sites
    # only over the link. The output folder is shared, as a network share would be.
    servers, truth = sites(tmp_path, serve_site, host=HOST_IP)
    redis = started_redis(tmp_path / "redis", bind=HOST_IP)
    try:
        output = tmp_path / "out"
        args = crawl_args(servers, output, redis.url)
        here, here_port = processes.start_scheduler(*args, "--fresh")
        there, there_port = processes.start_scheduler(*args, inside=node_namespace.inside)
        workers = [processes.start_worker(here_port, "--threads", "4", "--node-id", "here"),
                   processes.start_worker(there_port, "--threads", "4", "--node-id", "there",
                                          inside=node_namespace.inside)]
        results = [finish(scheduler) for scheduler in (here, there)]
        for code, _stdout, stderr in results:
            assert code == 0, stderr
        assert "joining crawl 'shared'" in results[1][2]
        for worker in workers:
            assert finish(worker, timeout=30)[0] == 0
    finally:
        redis.stop()
    assert_saved_once(output, truth, servers)
    records = [json.loads(line) for line in (output / "manifest.jsonl").read_text().splitlines()]
    assert {record["node"] for record in records} == {"here", "there"}  # both machines saved images


def test_a_scheduler_killed_mid_crawl_leaves_its_origins_to_the_other(tmp_path: Path, serve_site, processes,
                                                                      redis_server) -> None:  # type: ignore[no-untyped-def]
    servers, truth = sites(tmp_path, serve_site)
    output = tmp_path / "out"
    args = crawl_args(servers, output, redis_server.url)
    doomed, doomed_port = processes.start_scheduler(*args, "--fresh")
    survivor, survivor_port = processes.start_scheduler(*args)
    # its node knows both schedulers: when its own dies, it carries on with the other
    orphan = processes.start("worker", "--connect", f"127.0.0.1:{doomed_port},127.0.0.1:{survivor_port}",
                             "--threads", "4", "--node-id", "orphan")
    survivor_worker = processes.start_worker(survivor_port, "--threads", "4")
    deadline = time.monotonic() + 30
    while sum(server.hits[f"img/{n}.png"] for server in servers for n in range(PAGES)) < 4:
        assert time.monotonic() < deadline, "the crawl did not get going"
        time.sleep(0.05)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    code, _stdout, stderr = finish(survivor)
    assert code == 0, stderr
    assert finish(survivor_worker, timeout=30)[0] == 0
    orphan_code, _out, orphan_log = finish(orphan, timeout=30)
    assert orphan_code == 0 and "reconnected" in orphan_log, orphan_log
    assert "node orphan" in stderr  # the survivor served it
    records = [json.loads(line) for line in (output / "manifest.jsonl").read_text().splitlines()]
    assert {r["sha256"] for r in records} == set(truth.values())  # nothing lost


def test_a_redis_restart_mid_crawl_pauses_the_crawl_and_loses_nothing(tmp_path: Path, serve_site, processes) -> None:
    from tests.redis_server import started_redis
    server = started_redis(tmp_path / "redis")  # its own: this test restarts it
    try:
        servers, truth = sites(tmp_path, serve_site)
        output = tmp_path / "out"
        scheduler, port = processes.start_scheduler(*crawl_args(servers, output, server.url), "--fresh")
        worker = processes.start_worker(port, "--threads", "4")
        deadline = time.monotonic() + 30
        while sum(s.hits[f"img/{n}.png"] for s in servers for n in range(PAGES)) < 4:
            assert time.monotonic() < deadline, "the crawl did not get going"
            time.sleep(0.05)
        server.stop()  # SIGTERM: Redis writes its append-only file and exits
        time.sleep(1.5)
        server.start()  # the same port and folder: it reloads the file
        code, _stdout, stderr = finish(scheduler)
        assert code == 0, stderr
        assert "Redis for crawl 'shared'" in stderr and "unreachable" in stderr  # it waited, and said so
        assert finish(worker, timeout=30)[0] == 0
        assert_saved_once(output, truth, servers)
    finally:
        server.stop()
