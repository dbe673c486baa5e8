import contextlib
import io
import os
import queue
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from crawler import broker
from crawler.errors import BadAuthkey, ConfigError, SchedulerUnreachable
from tests.threads_run_out import ThreadsRunOut


@pytest.fixture
def served():
    tasks, results = queue.Queue(), queue.Queue()
    bulletin = broker.Bulletin({"state": "running"})
    key = broker.generate_authkey()
    running = broker.serve("127.0.0.1", 0, key, tasks, results, bulletin)
    yield running, key, tasks, results, bulletin
    running.stop()


def test_broker_node_takes_tasks_and_returns_results(served) -> None:
    running, key, tasks, results, bulletin = served
    for number in range(5):
        tasks.put({"v": 1, "id": f"{number}.1"})
    link = broker.connect(*running.address, key)
    assert link.desk.take(3, 2) == [{"v": 1, "id": f"{number}.1"} for number in range(3)]  # one round trip
    assert link.desk.take(10, 2) == [{"v": 1, "id": "3.1"}, {"v": 1, "id": "4.1"}]
    assert link.desk.take(10, 0.1) == []  # nothing left: an empty batch after the timeout
    assert link.results.put([{"v": 1, "type": "bye"}]) == "running"  # a put is answered with the crawl's state
    assert results.get(timeout=2) == [{"v": 1, "type": "bye"}]
    bulletin.update(state="finished")
    assert link.bulletin.read()["state"] == "finished"
    assert link.results.put([]) == "finished"


def test_broker_node_connections_send_without_nagle_delays(served) -> None:
    # The handshake's last write and the first request leave back to back: with Nagle's algorithm
    # on, the second waits for the scheduler's delayed ACK (40 ms), on every connection a link opens.
    running, key, *_ = served
    conn = broker._bounded_client(running.address, authkey=key)
    try:
        with socket.socket(fileno=os.dup(conn.fileno())) as sock:
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        conn.close()


def test_broker_desk_says_when_a_take_empties_the_queue() -> None:
    tasks: queue.Queue = queue.Queue()
    emptied = []
    desk = broker.TaskDesk(tasks, on_empty=lambda: emptied.append(tasks.qsize()))
    for number in range(5):
        tasks.put(number)
    assert desk.take(3, 1) == [0, 1, 2] and emptied == []  # two left: no need to wake the scheduler
    assert desk.take(10, 1) == [3, 4] and emptied == [0]
    assert desk.take(10, 0.05) == [] and emptied == [0]  # took nothing: the scheduler knows it is empty


def test_broker_desk_says_who_took_what_when_a_short_name_is_given() -> None:
    tasks: queue.Queue = queue.Queue()
    told: list[tuple[str, list]] = []
    desk = broker.TaskDesk(tasks, on_taken=lambda taker, batch: told.append((taker, batch)))
    for number in range(4):
        tasks.put(number)
    for taker in ("box-1", None, {"not": "a name"}, "x" * 301):  # a peer sends what it likes
        assert len(desk.take(1, 1, taker)) == 1
    assert desk.take(1, 0.05, "box-1") == []  # nothing taken: nothing to say (a node polls ten times a second)
    assert told == [("box-1", [0])]


def test_broker_a_closed_desk_answers_every_take_at_once_and_empty() -> None:
    # At the end of a crawl the nodes' takes would wait on an empty queue for their whole timeout
    # before a node looked at the bulletin; once the desk is closed they return at once.
    tasks: queue.Queue = queue.Queue()
    desk = broker.TaskDesk(tasks)
    desk.close()
    started = time.monotonic()
    assert [desk.take(10, 5.0) for _ in range(3)] == [[], [], []]
    assert time.monotonic() - started < 4.0  # not one 5 s timeout


def test_broker_closing_the_desk_ends_a_take_already_waiting() -> None:
    tasks: queue.Queue = queue.Queue()
    desk = broker.TaskDesk(tasks)
    taken: list = []
    waiting = threading.Thread(target=lambda: taken.append((desk.take(10, 5.0), time.monotonic())))
    waiting.start()
    time.sleep(0.2)  # the take is waiting on the empty queue
    closed = time.monotonic()
    desk.close()
    waiting.join(timeout=10)
    assert taken and taken[0][0] == []
    assert taken[0][1] - closed < 1.0  # before: the take waited out its 5 s (0.1 s for a node's poll)


def test_broker_a_take_waiting_gets_what_is_put_at_once() -> None:
    tasks: queue.Queue = queue.Queue()
    desk = broker.TaskDesk(tasks)
    taken: list = []
    waiting = threading.Thread(target=lambda: taken.append(desk.take(10, 5.0)))
    waiting.start()
    time.sleep(0.1)
    started = time.monotonic()
    tasks.put("a task")
    waiting.join(timeout=10)
    assert taken == [["a task"]] and time.monotonic() - started < 1.0


def test_broker_takes_waiting_together_share_what_arrives() -> None:
    # Two nodes waiting on one site: the scheduler puts its two chains at once. Before, the first
    # take to wake got both and ran them under one process's GIL while the other node idled.
    tasks: queue.Queue = queue.Queue()
    desk = broker.TaskDesk(tasks)
    taken: list = []
    takers = [threading.Thread(target=lambda: taken.append((desk.take(10, 5.0), time.monotonic())))
              for _ in range(2)]
    for taker in takers:
        taker.start()
    time.sleep(0.2)  # both takes are waiting on the empty queue
    started = time.monotonic()
    broker.put_together(tasks, ["chain 1", "chain 2"])  # both in one step; only one taker is woken for them
    for taker in takers:
        taker.join(timeout=10)
    assert sorted(batch for batch, _when in taken) == [["chain 1"], ["chain 2"]]
    assert max(when for _batch, when in taken) - started < 1.0  # the first woke the second
    tasks.put("alone")
    assert desk.take(10, 1.0) == ["alone"]  # nobody else waiting: a take gets everything


def test_broker_a_take_waiting_leaves_with_a_whole_round_and_each_batch_is_shown_before_it_leaves() -> None:
    tasks: queue.Queue = queue.Queue()
    shown: list = []
    desk = broker.TaskDesk(tasks, on_hand_out=lambda batch: shown.append(list(batch)))
    taken: list = []
    waiting = threading.Thread(target=lambda: taken.append(desk.take(10, 5.0)))
    waiting.start()
    time.sleep(0.1)
    broker.put_together(tasks, [f"task {n}" for n in range(5)])
    waiting.join(timeout=10)
    assert taken == shown == [[f"task {n}" for n in range(5)]]
    assert desk.take(10, 0.0) == [] and shown == taken  # an empty take shows nothing


def test_broker_stopped_server_leaves_no_thread_behind() -> None:
    running = broker.serve("127.0.0.1", 0, broker.generate_authkey(), queue.Queue(), queue.Queue(),
                           broker.Bulletin({}))
    time.sleep(0.1)
    assert any(thread.name == "manager-accepter" for thread in threading.enumerate())
    running.stop()
    deadline = time.monotonic() + 3
    while any(thread.name == "manager-accepter" for thread in threading.enumerate()):
        assert time.monotonic() < deadline, "the accept loop outlived stop() (it used to spin at full CPU)"
        time.sleep(0.05)


def test_broker_a_stopped_server_leaves_the_process_s_output_streams_alone() -> None:
    # The stock manager loop, written for a process of its own, ends by setting sys.stdout and
    # sys.stderr back to the interpreter's: in the scheduler's process it took them from whoever had
    # redirected them (a program that runs a crawl inside its own; pytest, whose capture of a
    # later test lost a help text that way in CI, a moment after a server stopped).
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        running = broker.serve("127.0.0.1", 0, broker.generate_authkey(), queue.Queue(), queue.Queue(),
                               broker.Bulletin({}))
        running.stop()
        running.thread.join(5)
        assert not running.thread.is_alive()
        assert sys.stdout is out and sys.stderr is err


def test_broker_exposes_only_queue_methods(served) -> None:
    running, key, *_ = served
    link = broker.connect(*running.address, key)
    with pytest.raises(AttributeError):
        link.results.get()  # nodes may add results, never take them


def test_broker_wrong_key_is_refused_and_logged(served, caplog) -> None:
    running, *_ = served
    with pytest.raises(BadAuthkey, match="rejected our authkey"):
        broker.connect(*running.address, b"not-the-key")
    deadline = time.monotonic() + 2
    while "wrong authkey" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "refused 127.0.0.1" in caplog.text and "wrong authkey" in caplog.text


def test_broker_garbage_from_an_unauthenticated_peer_is_never_unpickled(served, tmp_path: Path) -> None:
    running, key, *_ = served
    marker = tmp_path / "pwned"
    payload = b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR."  # a pickle that runs a command
    with socket.create_connection(running.address) as raw:
        raw.recv(1024)  # the server's challenge
        raw.sendall(len(payload).to_bytes(4, "big") + payload)
        raw.settimeout(2)
        try:
            raw.recv(1024)
        except OSError:
            pass
    time.sleep(0.2)
    assert not marker.exists()
    assert broker.connect(*running.address, key).bulletin.read()["state"] == "running"  # still serving


def test_broker_unreachable_scheduler_is_one_readable_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SchedulerUnreachable, match=f"no scheduler at 127.0.0.1:{port}"):
        broker.connect("127.0.0.1", port, b"k" * 32)


def test_broker_another_service_on_the_port_is_named_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    # A web server on the port --connect names: it said "no scheduler at HOST:PORT (Resource
    # temporarily unavailable)", the words of the socket's read timeout.
    monkeypatch.setattr(broker, "REPLY_SECONDS", 0.5)  # read when each connection is made
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, and never says a word
        host, port = silent.getsockname()[:2]
        with pytest.raises(SchedulerUnreachable) as caught:
            broker.connect(host, port, broker.generate_authkey())
    assert str(caught.value) == (f"no scheduler at {host}:{port}: something accepted the connection but did not "
                                 f"answer as a scheduler within {broker.REPLY_SECONDS:g}s (another service on "
                                 "that port?)")


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")
def test_broker_a_scheduler_listens_and_nodes_connect_over_ipv6() -> None:
    # On an IPv6-only network the scheduler could not listen at all: `--listen [::1]:PORT` said
    # "cannot listen on ::1:PORT: Address family for hostname not supported" (the stock listener
    # takes every (host, port) for IPv4).
    tasks: queue.Queue = queue.Queue()
    key = broker.generate_authkey()
    running = broker.serve("::1", 0, key, tasks, queue.Queue(), broker.Bulletin({"state": "running"}))
    try:
        host, port = running.address
        assert host == "::1" and port > 0
        tasks.put({"v": 1, "id": "1.1"})
        link = broker.connect(host, port, key)
        assert link.desk.take(5, 2) == [{"v": 1, "id": "1.1"}]
        with pytest.raises(BadAuthkey, match=rf"scheduler at \[::1\]:{port} rejected our authkey"):
            broker.connect(host, port, broker.generate_authkey())
    finally:
        running.stop()


def test_broker_an_ipv6_address_is_written_in_brackets_and_read_back(tmp_path: Path) -> None:
    # "::1:50000" names no port a reader can tell apart; every address the crawl shows or notes
    # is written as URLs write it, [::1]:50000, and `crawler status OUTPUT` reads it back.
    assert broker.host_port("::1", 50000) == "[::1]:50000"
    assert broker.host_port("127.0.0.1", 50000) == "127.0.0.1:50000"
    assert broker.host_port("box.example", 50000) == "box.example:50000"
    broker.write_contact(tmp_path, "fd00::5", 50000)
    assert "[fd00::5]:50000" in (tmp_path / broker.CONTACT_NAME).read_text()
    assert broker.read_contact(tmp_path) == ("fd00::5", 50000)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SchedulerUnreachable, match=rf"no scheduler at \[::1\]:{port} "):
        broker.connect("::1", port, b"k" * 32)


def test_broker_the_ipv6_wildcard_names_an_address_of_this_machine() -> None:
    # `--listen [::]:PORT` (every address, IPv4's too on Linux) names no machine, as 0.0.0.0 does
    host = broker.reachable_host("::")
    assert host not in ("::", "")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.bind((host, 0))  # an address of this machine (or its name)


def test_broker_refuses_public_bind_with_a_short_key() -> None:
    with pytest.raises(BadAuthkey, match="refusing to listen on 0.0.0.0"):
        broker.check_listen("0.0.0.0", b"short")
    broker.check_listen("0.0.0.0", broker.generate_authkey())
    broker.check_listen("127.0.0.1", b"short")
    with pytest.raises(BadAuthkey, match="refusing to listen on ::"):
        broker.check_listen("::", b"short")  # IPv6's every address
    broker.check_listen("::1", b"short")


def test_broker_authkey_file_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "key"
    key = broker.write_authkey_file(path)
    assert len(key) == 64 and broker.read_authkey_file(path) == key
    with pytest.raises(ConfigError, match="exists"):
        broker.write_authkey_file(path)
    os.chmod(path, 0o644)
    with pytest.raises(BadAuthkey, match="readable by other users"):
        broker.read_authkey_file(path)


def test_broker_an_oversized_message_closes_its_connection_unread(served, caplog, monkeypatch) -> None:
    running, key, _tasks, results, _bulletin = served
    monkeypatch.setattr(broker, "MAX_MESSAGE_BYTES", 100_000)  # read when each message arrives
    link = broker.connect(*running.address, key)
    with pytest.raises(broker.CONNECTION_ERRORS):
        link.results.put(["x" * 200_000])  # before: read in and unpickled whatever its size
    assert results.empty()
    deadline = time.monotonic() + 2  # the server thread says it after the connection is closed
    while "sent a message over" not in caplog.text:
        assert time.monotonic() < deadline, caplog.text
        time.sleep(0.05)
    fresh = broker.connect(*running.address, key)  # the server carries on for everyone else
    fresh.results.put([{"v": 2}])
    assert results.get(timeout=2) == [{"v": 2}]


def test_broker_idle_connections_hold_at_most_the_handshake_cap_of_threads(served, caplog) -> None:
    running, key, _tasks, results, _bulletin = served
    before = threading.active_count()
    idle = []
    for _ in range(broker.MAX_HANDSHAKES * 4):  # connect and say nothing: each used to hold a thread
        idle.append(socket.create_connection(running.address))
    time.sleep(0.5)
    # each handshake in progress: its thread and its deadline timer
    assert threading.active_count() - before <= 2 * broker.MAX_HANDSHAKES + 2
    assert "handshakes already in progress" in caplog.text
    for sock in idle:
        sock.close()
    deadline = time.monotonic() + 5
    while True:  # once the idle ones are gone, a real node gets in
        try:
            broker.connect(*running.address, key).results.put([{"v": 2}])
            break
        except (SchedulerUnreachable, *broker.CONNECTION_ERRORS):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert results.get(timeout=2) == [{"v": 2}]


def test_broker_a_burst_of_connections_loses_no_syn_while_the_accepter_is_busy(monkeypatch) -> None:
    """Nodes starting together open a dozen connections each. The stock server listens with a
    backlog of 16: past it Linux drops a SYN, and the node's connect waits 1 s for it to be sent
    again, then 2 s (its CONNECT_SECONDS end at 3). Before: the 18th connection here timed out."""
    accepting = threading.Event()
    accepter = broker._GuardedServer.accepter

    def busy_then_accepting(server: broker._GuardedServer) -> None:
        accepting.wait(10)  # the accepter busy elsewhere: connections wait in the backlog
        accepter(server)

    monkeypatch.setattr(broker._GuardedServer, "accepter", busy_then_accepting)
    running = broker.serve("127.0.0.1", 0, broker.generate_authkey(), queue.Queue(), queue.Queue(),
                           broker.Bulletin({}))
    waiting = []
    try:
        for _ in range(64):
            waiting.append(socket.create_connection(running.address, timeout=0.5))  # < the SYN's 1 s
    finally:
        accepting.set()
        for sock in waiting:
            sock.close()
        running.stop()
    assert len(waiting) == 64


@pytest.mark.parametrize("timers", [False, True], ids=["connection-thread", "handshake-deadline"])
def test_broker_a_machine_out_of_threads_costs_connections_not_the_scheduler(served, caplog, monkeypatch,
                                                                             timers: bool) -> None:
    # Before: the accepter thread died of the first RuntimeError (a traceback, then no node could
    # ever connect again: the crawl hung); a handshake whose deadline could not start kept its slot
    # of MAX_HANDSHAKES, so 32 of them shut everyone out all the same.
    running, key, _tasks, results, _bulletin = served
    failures = broker.MAX_HANDSHAKES + 3 if timers else 3
    monkeypatch.setattr(broker, "REPLY_SECONDS", 1.0)  # before: each connection waited this long, unanswered
    monkeypatch.setattr(broker, "threading", ThreadsRunOut(failures, timers=timers))
    for _ in range(failures):
        with pytest.raises((SchedulerUnreachable, *broker.CONNECTION_ERRORS)):
            broker._bounded_client(running.address, authkey=key)
    link = broker.connect(*running.address, key)  # threads to spare again: nodes get in
    link.results.put([{"v": 3}])
    assert results.get(timeout=2) == [{"v": 3}]
    assert "could not start a thread" in caplog.text
    assert caplog.text.count("could not start a thread") == 1  # one line for the lot, not one per connection
