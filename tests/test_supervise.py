"""The local worker processes of `crawler run`: forked before the scheduler starts, told its address later."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from crawler import supervise
from crawler.config import WorkerConfig
from crawler.supervise import LocalNodes, LocalWorkers

REPO = Path(__file__).resolve().parents[1]


def test_local_workers_are_forked_and_leave_at_once_when_the_scheduler_never_listens() -> None:
    # A fresh interpreter: one thread, as `crawler run` has when it forks.
    probe = (
        "import time\n"
        "from crawler.supervise import LocalNodes, LocalWorkers\n"
        "workers = LocalWorkers(LocalNodes(workers=2, processes=2), b'k' * 32, quiet=True)\n"
        "forked = workers._forked\n"
        "time.sleep(0.3)\n"
        "print(len(forked), sum(p.is_alive() for p in forked))\n"  # waiting for an address
        "started = time.monotonic()\n"
        "workers.close()\n"
        "print(round(time.monotonic() - started, 1), sorted(p.exitcode for p in forked))\n"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert shown.returncode == 0, shown.stderr
    waiting, left = shown.stdout.splitlines()
    assert waiting == "4 4"  # two workers of two processes each
    seconds, codes = left.split(" ", 1)
    assert float(seconds) < 2 and codes == "[0, 0, 0, 0]"  # not the 10 s kill: they left on their own
    assert shown.stderr == ""


def test_local_workers_start_as_commands_where_a_thread_already_runs(monkeypatch: pytest.MonkeyPatch,
                                                                     capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(supervise, "_LOCAL_RECONNECT_SECONDS", 0)  # one attempt: the address is a dead end
    running = threading.Event()
    thread = threading.Thread(target=running.wait, daemon=True)
    thread.start()
    try:
        workers = LocalWorkers(LocalNodes(workers=2), b"k" * 32, quiet=True)
        assert workers._forked == []  # a fork would copy that thread's locks held
        workers.tell("127.0.0.1", 1)  # nothing listens on port 1
        workers.close()
    finally:
        running.set()
    assert [child.returncode for child in workers._started] == [1, 1]
    said = capfd.readouterr().err
    assert said.count("crawler worker: error: no scheduler at 127.0.0.1:1") == 2, said


def test_local_workers_one_killed_before_the_scheduler_listens_leaves_the_others_told() -> None:
    probe = (
        "import os, signal, socket, time\n"
        "from crawler.supervise import LocalNodes, LocalWorkers\n"
        "workers = LocalWorkers(LocalNodes(workers=2), b'k' * 32, quiet=True)\n"
        "first, second = workers._forked\n"
        "os.kill(first.pid, signal.SIGKILL)\n"
        "first.join(5)\n"
        "listener = socket.create_server(('127.0.0.1', 0))\n"  # where the second connects, and is refused
        "workers.tell('127.0.0.1', listener.getsockname()[1])\n"
        "connection, _ = listener.accept()\n"
        "print('told the other')\n"
        "connection.close(); listener.close()\n"
        "os.kill(second.pid, signal.SIGKILL)\n"  # no scheduler will answer it: do not wait for it to give up
        "workers.close()\n"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "told the other"
    assert "a local worker ended before the scheduler started" in shown.stderr


def test_local_workers_forked_and_told_a_dead_address_say_so_in_one_line() -> None:
    # A forked worker's error left it as a multiprocessing traceback ("Process worker local-1:
    # Traceback …"), where `crawler worker` says one line.
    probe = (
        "from crawler import supervise\n"
        "supervise._LOCAL_RECONNECT_SECONDS = 0\n"  # one attempt (forked: the children see it too)
        "workers = supervise.LocalWorkers(supervise.LocalNodes(workers=2), b'k' * 32, quiet=True)\n"
        "workers.tell('127.0.0.1', 1)\n"  # nothing listens on port 1
        "workers.close()\n"
        "print(sorted(p.exitcode for p in workers._forked))\n"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "[1, 1]"
    assert "Traceback" not in shown.stderr and shown.stderr.count("no scheduler at 127.0.0.1:1") == 2, shown.stderr


@pytest.mark.parametrize("generated_key", [True, False])
def test_a_scheduler_listening_on_every_address_names_one_other_machines_reach(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], generated_key: bool) -> None:
    # `--listen 0.0.0.0:PORT` is how nodes on other machines join; the scheduler told them to run
    # `crawler worker --connect 0.0.0.0:PORT`, which on another machine connects to that machine.
    import socket
    from types import SimpleNamespace

    from crawler import broker
    from crawler.config import SchedulerConfig
    scheduler = SimpleNamespace(join_command="")
    (tmp_path / ".crawler").mkdir()  # made by the scheduler's state
    config = SchedulerConfig(output_dir=tmp_path, authkey=b"k" * 32, seeds=("http://a.test/",))
    supervise._note_contact(scheduler, config, "0.0.0.0", 8972, None, generated_key)  # type: ignore[arg-type]
    told = capsys.readouterr().out + scheduler.join_command + (tmp_path / ".crawler" / "contact.json").read_text()
    assert "0.0.0.0" not in told
    host, port = broker.read_contact(tmp_path / ".crawler")
    assert port == 8972 and f"--connect {host}:8972" in scheduler.join_command
    with socket.socket() as probe:
        probe.bind((host, 0))  # an address of this machine


def test_a_worker_that_cannot_be_started_again_is_tried_again_later(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    # A machine out of processes or memory: starting a dead worker's successor raised OSError in the
    # replacer's thread, which died of it (a traceback), and no worker was ever started again: a
    # crawl whose workers had all died waited for ever.
    import time
    from types import SimpleNamespace

    monkeypatch.setattr(supervise, "_WATCH_SECONDS", 0.02)
    monkeypatch.setattr(supervise, "_RESTART_SECONDS", (0.05, 0.2))
    started: list[str] = []

    def start(node_id: str) -> SimpleNamespace:
        started.append(node_id)
        if len(started) == 1:
            raise OSError(11, "Resource temporarily unavailable")
        return SimpleNamespace(exitcode=None, pid=4321)

    died: list[str] = []
    replacer = supervise._Replacer(start, "crawl: local worker", died.append)
    replacer.add("local-1", SimpleNamespace(exitcode=1, pid=1234))  # a worker that died
    replacer.watch_in_a_thread()
    deadline = time.monotonic() + 5
    while len(started) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    replacer.stop()
    assert started == ["local-1.2", "local-1.2"] and died == ["local-1"]
    assert replacer.processes()[0].pid == 4321
    assert "could not be started (Resource temporarily unavailable); trying again in" in caplog.text


# A signal that arrives while the node stops its replacer: the handler ran in the main thread, inside
# the lock (and the Event's) that stop() held, took them again and waited on itself for ever. A
# worker process of a `--processes 2` node hung so at a crawl's end, the node waited on it, and a
# CI run with it (the node sends its siblings SIGTERM as the crawl ends, when each stops too).
_SIGNAL_DURING_STOP = """
import os, signal, threading
from crawler import supervise

class Node:
    stops = 0
    def request_stop(self):
        Node.stops += 1

class SignalledAtOnce(threading.Event):
    signalled = False
    def set(self):
        if not SignalledAtOnce.signalled:  # the first stop(): the signal arrives while it holds its lock
            SignalledAtOnce.signalled = True
            os.kill(os.getpid(), signal.SIGTERM)
        super().set()

replacer = supervise._Replacer(lambda node_id: None, "worker test: process")
replacer._stopped = SignalledAtOnce()
node = Node()
supervise._stop_on_signals(node, replacer)
replacer.stop()
for _ in range(100):
    if node.stops:
        break
    threading.Event().wait(0.05)
print("stopped", node.stops)
"""


def test_a_node_sent_a_signal_while_it_stops_its_siblings_stops() -> None:
    try:
        done = subprocess.run([sys.executable, "-c", _SIGNAL_DURING_STOP], capture_output=True, text=True,
                              timeout=20, cwd=REPO)
    except subprocess.TimeoutExpired:
        pytest.fail("the node waited on itself for ever")
    assert done.returncode == 0 and done.stdout.strip() == "stopped 1", done.stderr


_STUBBORN = ("import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
             "print('deaf', flush=True); time.sleep(120)")


def test_a_node_whose_sibling_will_not_leave_when_the_crawl_ends_kills_it(monkeypatch: pytest.MonkeyPatch,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    # A node's process that does not leave once the crawl is over (one hung as 13a22ed's stopped
    # replacer did) held the node for ever: it waited for each sibling with no bound.
    started: list[subprocess.Popen[str]] = []

    def start_deaf_sibling(argv: list[str], node_id: str) -> subprocess.Popen[str]:
        child = subprocess.Popen([sys.executable, "-c", _STUBBORN], stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stdout.readline() == "deaf\n"  # SIGTERM is ignored from here
        started.append(child)
        return child

    class CrawlOverAtOnce:
        crawl_over = True

        def __init__(self, config: WorkerConfig) -> None:
            pass

        def run(self) -> int:
            return 0

        def report_death(self, node_id: str) -> None:
            pass

    monkeypatch.setattr(supervise, "_start_sibling", start_deaf_sibling)
    monkeypatch.setattr(supervise, "_stop_on_signals", lambda worker, siblings: None)  # (a thread: no handlers)
    monkeypatch.setattr("crawler.node.worker.Worker", CrawlOverAtOnce)
    monkeypatch.setattr(supervise, "_CHILD_EXIT_SECONDS", 0.5)
    config = WorkerConfig(host="127.0.0.1", port=9, authkey=b"k" * 32, node_id="box", processes=2)
    codes: list[int] = []
    node = threading.Thread(target=lambda: codes.append(supervise.run_node(config, ["crawler", "worker"])),
                            daemon=True)
    node.start()
    node.join(15)
    try:
        assert not node.is_alive(), "the node waited for ever on a sibling that did not leave"
        assert [child.poll() for child in started] == [-9]  # killed
        assert codes == [0]  # the crawl was over: nothing was lost
        assert "worker box: process box-p2 (pid" in caplog.text and "did not leave" in caplog.text
    finally:
        for child in started:
            child.kill()
            child.wait()
