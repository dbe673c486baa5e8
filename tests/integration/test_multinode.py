"""Scheduler and web site on one "machine", a crawler node on another (a network namespace)."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from benchmarks.site import generate_site
from tests.integration.conftest import HOST_IP, REPO, Namespace, finish

pytestmark = pytest.mark.slow

def test_multinode_worker_in_another_namespace_crawls_over_the_link(tmp_path: Path, node_namespace,
                                                                  processes) -> None:
    truth = generate_site(tmp_path / "site", pages=30, images=60)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "site"))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    httpd = ThreadingHTTPServer((HOST_IP, 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    site_url = f"http://{HOST_IP}:{httpd.server_address[1]}/"
    output = tmp_path / "shared-output"
    try:
        scheduler = processes.start("scheduler", site_url, "--output", str(output), "--listen", f"{HOST_IP}:0",
                                    "--delay", "0", "--per-host", "8")
        line = scheduler.stdout.readline()
        assert "listening on" in line, scheduler.stderr.read()
        port = line.split("listening on ")[1].split(",")[0].rsplit(":", 1)[1]
        node = subprocess.Popen(["ip", "netns", "exec", node_namespace.name, sys.executable, "-m", "crawler", "worker",
                                 "--connect", f"{HOST_IP}:{port}", "--threads", "4", "--node-id", "remote"],
                                cwd=REPO, env=processes.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        processes.children.append(node)
        code, stdout, stderr = finish(scheduler)
        assert code == 0, stderr
        node_code, _out, node_err = finish(node, timeout=30)
        assert node_code == 0, node_err
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert "node remote joined" in stderr
    records = [json.loads(line) for line in (output / "manifest.jsonl").read_text().splitlines()]
    assert {r["sha256"] for r in records} == set(truth.images.values())
    assert {r["node"] for r in records} == {"remote"}


class _SlowImages(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        if self.path.startswith("/img/"):
            time.sleep(0.05)  # stretches the crawl so a partition lands in its middle
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def _crawl_across_the_link(tmp_path: Path, namespace: Namespace, processes, *scheduler_args: str,  # type: ignore[no-untyped-def]
                           reconnect: str = "5"):
    """A slow site and a scheduler on our side, a 2-thread node in the namespace; returns them and the output."""
    truth = generate_site(tmp_path / "site", pages=30, images=120)
    httpd = ThreadingHTTPServer((HOST_IP, 0), functools.partial(_SlowImages, directory=str(tmp_path / "site")))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    output = tmp_path / "shared-output"
    scheduler = processes.start("scheduler", f"http://{HOST_IP}:{httpd.server_address[1]}/", "--output", str(output),
                                "--listen", f"{HOST_IP}:0", "--delay", "0", "--per-host", "4", *scheduler_args)
    line = scheduler.stdout.readline()
    assert "listening on" in line, scheduler.stderr.read()
    port = line.split("listening on ")[1].split(",")[0].rsplit(":", 1)[1]
    node = subprocess.Popen(["ip", "netns", "exec", namespace.name, sys.executable, "-m", "crawler", "worker",
                             "--connect", f"{HOST_IP}:{port}", "--threads", "2", "--node-id", "remote",
                             "--reconnect-seconds", reconnect],
                            cwd=REPO, env=processes.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    processes.children.append(node)
    return truth, httpd, scheduler, node, output


def _saved(output: Path) -> int:
    manifest = output / "manifest.jsonl"
    return len(manifest.read_text().splitlines()) if manifest.exists() else 0


def _wait_for(condition, timeout: float, what: str) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"{what} did not happen within {timeout:.0f}s"
        time.sleep(0.1)
    return time.monotonic() - started


def test_multinode_a_node_cut_off_from_a_scheduler_that_dies_ends_on_its_own(tmp_path: Path, node_namespace,
                                                                           processes) -> None:
    """Before: the feeder stayed blocked in recv() of the half-open connection and the node never exited."""
    _truth, httpd, scheduler, node, output = _crawl_across_the_link(tmp_path, node_namespace, processes,
                                                                     "--timeout", "5")
    try:
        _wait_for(lambda: _saved(output) >= 10, 60, "10 images saved")
        node_namespace.partition()
        scheduler.kill()  # the partition outlives the scheduler
        # a call's reply bound (5 s), then --reconnect-seconds 5 of 3-second tries, then a margin
        took = _wait_for(lambda: node.poll() is not None, 25, "the cut-off node's exit")
        _code, _out, node_err = finish(node, timeout=5)
        assert "lost the scheduler" in node_err, node_err
        print(f"the cut-off node ended {took:.1f}s after the scheduler died")
    finally:
        node_namespace.heal()
        httpd.shutdown()
        httpd.server_close()


def test_multinode_a_node_takes_tasks_again_seconds_after_a_partition_heals(tmp_path: Path, node_namespace,
                                                                           processes) -> None:
    truth, httpd, scheduler, node, output = _crawl_across_the_link(tmp_path, node_namespace, processes,
                                                                    "--node-timeout", "60", reconnect="60")
    try:
        _wait_for(lambda: _saved(output) >= 10, 60, "10 images saved")
        node_namespace.partition()
        time.sleep(8)
        cut_at = _saved(output)
        node_namespace.heal()
        back_in = _wait_for(lambda: _saved(output) > cut_at, 30, "a new image after the partition healed")
        code, _out, stderr = finish(scheduler)
        assert code == 0, stderr
        assert finish(node, timeout=30)[0] == 0
    finally:
        node_namespace.heal()
        httpd.shutdown()
        httpd.server_close()
    records = [json.loads(line) for line in (output / "manifest.jsonl").read_text().splitlines()]
    assert {r["sha256"] for r in records} == set(truth.images.values())
    print(f"a new image {back_in:.1f}s after the partition healed")
    assert back_in < 12, f"the node took {back_in:.1f}s to get going again"  # before: 20-25 s of TCP back-off
