"""Scheduler and web site on one "machine", a crawler node on another (a network namespace)."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from benchmarks.site import generate_site
from tests.integration.conftest import REPO, finish

pytestmark = pytest.mark.slow

HOST_IP, NODE_IP = "10.213.77.1", "10.213.77.2"  # a link that exists only between our two namespaces


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True)


@pytest.fixture
def node_namespace():
    """A network namespace joined to this one by a veth pair; skipped where that is not permitted."""
    name, host_end, node_end = f"qc-node-{os.getpid()}", f"qch{os.getpid() % 100000}", f"qcn{os.getpid() % 100000}"
    if run("ip", "netns", "add", name).returncode != 0:
        pytest.skip("network namespaces are not permitted here")
    try:
        for command in (
            ("ip", "link", "add", host_end, "type", "veth", "peer", "name", node_end),
            ("ip", "link", "set", node_end, "netns", name),
            ("ip", "addr", "add", f"{HOST_IP}/30", "dev", host_end),
            ("ip", "link", "set", host_end, "up"),
            ("ip", "netns", "exec", name, "ip", "addr", "add", f"{NODE_IP}/30", "dev", node_end),
            ("ip", "netns", "exec", name, "ip", "link", "set", node_end, "up"),
            ("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"),
        ):
            result = run(*command)
            if result.returncode != 0:
                pytest.skip(f"cannot set up the namespace: {' '.join(command)}: {result.stderr.strip()}")
        yield name
    finally:
        run("ip", "link", "del", host_end)
        run("ip", "netns", "del", name)


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
        node = subprocess.Popen(["ip", "netns", "exec", node_namespace, sys.executable, "-m", "crawler", "worker",
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
