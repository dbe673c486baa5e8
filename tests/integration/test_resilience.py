"""Nothing lost: killed workers, a killed scheduler, a graceful stop, hostile peers on the manager port."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from benchmarks.site import generate_site
from crawler import broker
from tests.integration.conftest import finish
from tests.integration.test_cli_errors import free_port

pytestmark = pytest.mark.slow


def manifest_records(output: Path) -> list[dict]:
    path = output / "manifest.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def wait_for_images(output: Path, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(manifest_records(output)) < count:
        assert time.monotonic() < deadline, f"fewer than {count} images saved in {timeout}s"
        time.sleep(0.05)


def assert_every_image_once(output: Path, truth) -> None:
    records = manifest_records(output)
    files = sorted(p.relative_to(output).as_posix() for p in (output / "images").rglob("*") if p.is_file())
    assert len(records) == len({r["sha256"] for r in records}), "a manifest record twice"
    assert {r["sha256"] for r in records} == set(truth.images.values())
    assert sorted(r["path"] for r in records) == files
    for record in records:
        assert hashlib.sha256((output / record["path"]).read_bytes()).hexdigest() == record["sha256"]


@pytest.fixture
def slow_site(tmp_path: Path, serve_site):
    truth = generate_site(tmp_path / "site", pages=40, images=160)
    return truth, serve_site(tmp_path / "site", redirects=truth.redirects, image_delay=0.03)


CRAWL = ("--delay", "0", "--per-host", "8", "--node-timeout", "3")


def start_crawl(processes, site, output: Path, *node_ids: str):  # type: ignore[no-untyped-def]
    """A scheduler and one 4-thread worker per node id; returns the scheduler and the workers."""
    scheduler, port = processes.start_scheduler(site.url, "--output", str(output), *CRAWL)
    return scheduler, [processes.start_worker(port, "--threads", "4", "--node-id", node) for node in node_ids]


def test_resilience_killed_worker_loses_nothing(tmp_path: Path, slow_site, processes) -> None:
    truth, site = slow_site
    output = tmp_path / "out"
    scheduler, (doomed, survivor) = start_crawl(processes, site, output, "doomed", "survivor")
    wait_for_images(output, 30)
    doomed.send_signal(signal.SIGKILL)
    code, stdout, stderr = finish(scheduler)
    assert code == 0, stderr
    assert finish(survivor, timeout=30)[0] == 0
    assert "node doomed silent" in stderr  # its tasks were taken back, not waited out
    assert_every_image_once(output, truth)


@pytest.mark.parametrize("state", ["sqlite", "redis"])
def test_resilience_killed_scheduler_resumes_without_refetching(tmp_path: Path, slow_site, processes, state: str,
                                                                request: pytest.FixtureRequest) -> None:
    truth, site = slow_site
    output, port = tmp_path / "out", free_port()
    stored = ("--state", request.getfixturevalue("redis_server").url, "--crawl", "killed") if state == "redis" else ()
    args = (site.url, "--output", str(output), "--listen", f"127.0.0.1:{port}", *CRAWL, *stored)
    scheduler = processes.start("scheduler", *args)
    assert "listening on" in scheduler.stdout.readline()
    workers = [processes.start_worker(port, "--threads", "4") for _ in range(2)]
    wait_for_images(output, 40)
    scheduler.send_signal(signal.SIGKILL)
    scheduler.wait()
    saved_before = {r["url"] for r in manifest_records(output)}
    refused = processes.run("scheduler", *args, timeout=30)  # the same command without --resume
    assert refused.returncode == 1 and "--resume" in refused.stderr
    again = processes.start("scheduler", *args, "--resume")
    code, stdout, stderr = finish(again)
    assert code == 0, stderr
    assert "resuming" in stderr and "Crawl finished" in stdout
    for worker in workers:  # they reconnected by themselves and left when the crawl ended
        assert finish(worker, timeout=30)[0] == 0
    assert_every_image_once(output, truth)
    for url in saved_before:
        assert site.hits[url.removeprefix(site.url)] == 1, f"{url} was downloaded again after the resume"
    assert (output / ".crawler" / "state.sqlite").exists() == (state == "sqlite")  # Redis kept it all


def kill_the_child_of(parent: subprocess.Popen[str]) -> int:
    """SIGKILL the one process `parent` started (a worker, a node's second process); return its pid."""
    (pid,) = (int(pid) for pid in subprocess.run(["pgrep", "-P", str(parent.pid)], capture_output=True, text=True,
                                                 check=True).stdout.split())
    os.kill(pid, signal.SIGKILL)
    return pid


def test_a_local_run_starts_another_worker_in_the_place_of_one_that_died(tmp_path: Path, slow_site,
                                                                          processes) -> None:
    # `crawler run --workers 1` whose worker was killed (the OOM killer, a crash) waited for ever:
    # "no crawler node has joined yet", 0 nodes, the crawl at a standstill.
    truth, site = slow_site
    output = tmp_path / "out"
    run = processes.start("run", site.url, "--output", str(output), "--workers", "1", *CRAWL)
    wait_for_images(output, 10)
    worker_pid = kill_the_child_of(run)
    code, _stdout, stderr = finish(run, timeout=90)
    assert code == 0, stderr[-2000:]
    assert (f"local worker local-1 (pid {worker_pid}) was killed by SIGKILL; starting another in its place"
            in stderr) and "node local-1.2 joined" in stderr
    # its tasks came back at once, not once it had been silent for --node-timeout
    assert "scheduler: node local-1 has died; taking back its" in stderr and "silent for" not in stderr
    assert_every_image_once(output, truth)


def test_a_node_starts_another_process_in_the_place_of_one_of_its_own_that_died(tmp_path: Path, serve_site,
                                                                                 processes) -> None:
    # `crawler worker --processes 2` whose second process was killed went on with one, and said nothing.
    truth = generate_site(tmp_path / "site", pages=40, images=160)
    site = serve_site(tmp_path / "site", redirects=truth.redirects, image_delay=0.2)  # 4 s or so: time to join
    output = tmp_path / "out"
    scheduler, port = processes.start_scheduler(site.url, "--output", str(output), *CRAWL)
    node = processes.start_worker(port, "--threads", "4", "--processes", "2", "--node-id", "box")
    wait_for_images(output, 10)
    sibling_pid = kill_the_child_of(node)
    code, _stdout, stderr = finish(scheduler, timeout=90)
    assert code == 0, stderr[-2000:]
    node_code, _out, node_stderr = finish(node, timeout=90)
    assert node_code == 0, node_stderr[-2000:]
    assert f"worker box: process box-p2 (pid {sibling_pid}) was killed by SIGKILL; starting another" in node_stderr
    assert "node box-p2.2 joined" in stderr
    assert "scheduler: node box-p2 has died; taking back its" in stderr and "silent for" not in stderr
    assert_every_image_once(output, truth)


def test_a_local_run_stopped_by_a_signal_to_its_own_process_does_not_wait_out_its_workers(
        tmp_path: Path, slow_site, processes) -> None:
    """`timeout`, `docker stop` and service managers signal the main process only. Its forked
    workers can never find that scheduler again (a --resume starts its own): before, they retried
    for 10 s while `crawler run` waited for them."""
    truth, site = slow_site
    output = tmp_path / "out"
    run = processes.start("run", site.url, "--output", str(output), *CRAWL)
    wait_for_images(output, 10)
    run.send_signal(signal.SIGTERM)
    code, stdout, stderr = finish(run, timeout=60)
    assert code == 130, stderr
    assert "Crawl stopped" in stdout and "left for --resume" in stdout
    # they were asked to leave, not left to give up on reconnecting (a worker may have tried once)
    assert "did not resume" not in stderr and "leaving, as asked" in stderr, stderr[-2000:]
    again = processes.run("run", site.url, "--output", str(output), "--resume", *CRAWL)
    assert again.returncode == 0, again.stderr
    assert_every_image_once(output, truth)


def test_resilience_sigterm_pauses_and_the_same_nodes_carry_on_after_resume(tmp_path: Path, slow_site,
                                                                           processes) -> None:
    truth, site = slow_site
    output, port = tmp_path / "out", free_port()
    args = (site.url, "--output", str(output), "--listen", f"127.0.0.1:{port}", *CRAWL)
    scheduler = processes.start("scheduler", *args)
    assert "listening on" in scheduler.stdout.readline()
    worker = processes.start_worker(port, "--threads", "4", "--reconnect-seconds", "30")
    wait_for_images(output, 20)
    scheduler.send_signal(signal.SIGTERM)
    code, stdout, stderr = finish(scheduler, timeout=60)
    assert code == 130, stderr
    assert "Crawl stopped" in stdout and "left for --resume" in stdout
    partial = manifest_records(output)
    assert 20 <= len(partial) < len(set(truth.images.values()))
    time.sleep(1.0)
    # paused, not sent home: it waits for the scheduler to come back
    assert worker.poll() is None, worker.communicate()[1][-3000:]
    again = processes.start("scheduler", *args, "--resume")
    code, stdout, stderr = finish(again)
    assert code == 0, stderr
    worker_code, _out, worker_err = finish(worker, timeout=30)
    assert worker_code == 0 and "the crawl is paused" in worker_err and "reconnected" in worker_err
    assert_every_image_once(output, truth)
    assert max(site.hits[path] for path in truth.images) == 1


def test_resilience_hostile_peers_do_not_harm_the_crawl(tmp_path: Path, serve_site, processes) -> None:
    truth = generate_site(tmp_path / "site", pages=20, images=80)
    # slow enough that the crawl is still running when every hostile message has been sent
    site = serve_site(tmp_path / "site", redirects=truth.redirects, image_delay=0.2)
    output = tmp_path / "out"
    marker = tmp_path / "pwned"
    scheduler, port = processes.start_scheduler(site.url, "--output", str(output), *CRAWL)
    processes.start_worker(port, "--threads", "4")
    wait_for_images(output, 5)
    # 1. wrong key; 2. raw garbage and a pickle that would run a command, without authenticating
    with pytest.raises(broker.BadAuthkey):
        broker.connect("127.0.0.1", port, b"wrong-key-wrong-key-wrong-key")
    payload = b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR."
    for junk in (b"\x00\xff" * 100, len(payload).to_bytes(4, "big") + payload):
        with socket.create_connection(("127.0.0.1", port)) as raw:
            raw.sendall(junk)
            raw.settimeout(2)
            try:
                raw.recv(4096)
            except OSError:
                pass
    # 3. an authenticated peer sending malformed or forged messages
    link = broker.connect("127.0.0.1", port, processes.key)
    task_id = "1.1"
    for message in ("text", ["v", 1], {"v": 1, "type": "result"}, {"v": 2, "type": "result"},
                    {"v": 1, "type": "result", "task_id": "999999.1", "node": "x", "outcome": "saved"},
                    {"v": 1, "type": "result", "task_id": task_id, "node": "evil", "outcome": "saved",
                     "reason": None, "retryable": False, "retry_after": None, "links": [], "images": [],
                     "location": None, "robots_text": None, "status": 200, "elapsed": 0.0, "bytes": 1,
                     "image": {"path": "../../etc/passwd", "sha256": "0" * 64, "bytes": 1,
                               "content_type": "image/png", "width": 1, "height": 1}}):
        link.results.put(message)
    code, stdout, stderr = finish(scheduler)
    assert code == 0, stderr
    assert not marker.exists()
    assert "wrong authkey" in stderr
    assert stderr.count("dropped a malformed message") >= 5
    assert_every_image_once(output, truth)


def test_resilience_sigterm_on_a_worker_finishes_its_tasks_and_leaves(tmp_path: Path, slow_site, processes) -> None:
    truth, site = slow_site
    output = tmp_path / "out"
    scheduler, (leaving, staying) = start_crawl(processes, site, output, "leaving", "staying")
    wait_for_images(output, 20)
    leaving.send_signal(signal.SIGTERM)
    code, _out, leaving_err = finish(leaving, timeout=30)
    assert code == 0, leaving_err
    code, _out, stderr = finish(scheduler)
    assert code == 0, stderr
    assert finish(staying, timeout=30)[0] == 0
    assert "node leaving left after" in stderr and "node leaving silent" not in stderr
    assert_every_image_once(output, truth)


def test_resilience_read_only_output_pauses_images_and_loses_nothing(tmp_path: Path, slow_site, processes) -> None:
    import subprocess
    truth, site = slow_site
    output, view = tmp_path / "out", tmp_path / "view"
    output.mkdir()
    view.mkdir()
    if subprocess.run(["mount", "--bind", str(output), str(view)], capture_output=True).returncode != 0:
        pytest.skip("bind mounts are not permitted here")
    try:
        scheduler, port = processes.start_scheduler(site.url, "--output", str(output), "--storage-pause", "0.5",
                                                    *CRAWL)
        processes.start_worker(port, "--threads", "4", "--output", str(view))
        wait_for_images(output, 10)
        # A remount to read-only fails (EBUSY) while the node has an image open for writing: try again.
        for _ in range(100):
            if subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], capture_output=True).returncode == 0:
                break
            time.sleep(0.01)
        else:
            pytest.fail("the output never stopped being written long enough to remount it read-only")
        time.sleep(1.5)  # the node now fails every write
        subprocess.run(["mount", "-o", "remount,rw,bind", str(view)], check=True)
        code, _out, stderr = finish(scheduler)
    finally:
        subprocess.run(["umount", str(view)], capture_output=True)
    assert code == 0, stderr
    assert "cannot write the output (read-only); pausing image tasks" in stderr
    assert_every_image_once(output, truth)
    assert not [r for r in (output / "failures.jsonl").read_text().splitlines() if "read-only" in r]


def test_resilience_second_interrupt_stops_at_once_and_state_stays_consistent(tmp_path: Path, serve_site,
                                                                              processes) -> None:
    truth = generate_site(tmp_path / "site", pages=40, images=160)
    # slow: the tasks in flight take a second, so the second interrupt comes before they could end
    # even on a loaded machine (with 0.3 s the graceful stop sometimes finished first)
    site = serve_site(tmp_path / "site", redirects=truth.redirects, image_delay=1.0)
    output = tmp_path / "out"
    scheduler, (worker,) = start_crawl(processes, site, output, "interrupted")
    wait_for_images(output, 10)
    scheduler.send_signal(signal.SIGINT)
    time.sleep(0.2)
    scheduler.send_signal(signal.SIGINT)
    started = time.monotonic()
    code, stdout, _stderr = finish(scheduler, timeout=30)
    assert code == 130 and "interrupted twice" in stdout
    assert time.monotonic() - started < 8  # did not wait for the 1 s downloads in flight to drain
    worker.kill()  # it may still be retrying to hand in results; the resume must not need them
    worker.wait()
    site.image_delay = 0.05  # the rest at the usual pace
    scheduler, port = processes.start_scheduler(site.url, "--output", str(output), "--resume", *CRAWL)
    processes.start_worker(port, "--threads", "8")
    assert finish(scheduler)[0] == 0
    assert_every_image_once(output, truth)


def test_resilience_full_disk_is_one_line_and_resume_carries_on(tmp_path: Path, serve_site, processes) -> None:
    import subprocess
    truth = generate_site(tmp_path / "site", pages=60, images=500)
    site = serve_site(tmp_path / "site", redirects=truth.redirects)
    output = tmp_path / "small-disk"
    output.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(output)],
                      capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs is not permitted here")
    try:
        result = processes.run("run", site.url, "--output", str(output), "--delay", "0", "--per-host", "8",
                               "--storage-pause", "0.2", "--quiet", timeout=120)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("crawler run: error:")]
        assert len(errors) == 1 and ("No space left" in errors[0] or "full" in errors[0]), result.stderr
        saved = manifest_records(output)
        for record in saved:  # what the manifest lists is whole
            assert hashlib.sha256((output / record["path"]).read_bytes()).hexdigest() == record["sha256"]
        # more room, the same command with --resume: the crawl completes
        subprocess.run(["mount", "-o", "remount,size=20m", str(output)], check=True)
        again = processes.run("run", site.url, "--output", str(output), "--delay", "0", "--per-host", "8",
                              "--resume", "--quiet", timeout=120)
        assert again.returncode == 0, again.stderr
        assert_every_image_once(output, truth)
    finally:
        subprocess.run(["umount", "-l", str(output)], capture_output=True)


def test_resilience_a_worker_on_the_wrong_output_is_refused_and_nothing_is_lost(tmp_path: Path, slow_site,
                                                                               processes) -> None:
    """A typo in --output, or a share that did not mount: the node would have saved images where
    the crawl never sees them, and the crawl reported them saved."""
    truth, site = slow_site
    output, elsewhere, missing = tmp_path / "out", tmp_path / "local-disk", tmp_path / "not-mounted"
    elsewhere.mkdir()
    scheduler, port = processes.start_scheduler(site.url, "--output", str(output), *CRAWL)
    wrong = processes.start_worker(port, "--threads", "4", "--output", str(elsewhere))
    code, _out, stderr = finish(wrong, timeout=30)
    assert code == 1 and "holds no crawl's output" in stderr and "mount the shared output" in stderr
    absent = processes.start_worker(port, "--threads", "4", "--output", str(missing))
    code, _out, stderr = finish(absent, timeout=30)
    assert code == 1 and "does not exist on this machine" in stderr
    assert not missing.exists()  # a node never creates the output folder itself
    right = processes.start_worker(port, "--threads", "4")
    code, stdout, stderr = finish(scheduler)
    assert code == 0 and "Crawl finished" in stdout, stderr
    assert finish(right, timeout=30)[0] == 0
    assert not any(elsewhere.iterdir())
    assert_every_image_once(output, truth)


def test_resilience_resume_fetches_again_the_images_gone_from_the_output(tmp_path: Path, slow_site,
                                                                         processes) -> None:
    truth, site = slow_site
    output = tmp_path / "out"
    crawl = (site.url, "--output", str(output), "--delay", "0", "--per-host", "8", "--workers", "1")
    first = processes.run("run", *crawl, timeout=120)
    assert first.returncode == 0, first.stderr
    records = manifest_records(output)
    gone = records[:3]
    for record in gone:
        (output / record["path"]).unlink()
    hits_before = {record["url"]: site.hits[record["url"].removeprefix(site.url)] for record in records}
    again = processes.run("run", *crawl, "--resume", timeout=120)
    assert again.returncode == 0, again.stderr
    assert "3 saved images are no longer in" in again.stderr  # before: resume believed the manifest
    assert_every_image_once(output, truth)
    for record in records:  # the three gone are fetched again, nothing else
        expected = hits_before[record["url"]] + (1 if record in gone else 0)
        assert site.hits[record["url"].removeprefix(site.url)] == expected, record["url"]
