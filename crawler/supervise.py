"""Running the crawl's processes: the scheduler with its signals and live display, a node with its
sibling processes, and a whole crawl on this machine (a scheduler plus local worker processes).

cli.py turns words into configs and calls these; nothing here parses a command line.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler import broker
from crawler.config import MAX_PROCESSES, PROCESSES_BOUND, SchedulerConfig, WorkerConfig
from crawler.errors import ConfigError, CrawlerError
from crawler.storage import CONTACT_NAME, STATE_DIR
from crawler.units import host_port, path_option

if TYPE_CHECKING:  # imported where a scheduler runs: a node's processes never load it
    from crawler.scheduler.loop import Scheduler, Summary

log = logging.getLogger("crawler")
_CHILD_EXIT_SECONDS = 10.0  # after the scheduler ends, how long local workers have to say goodbye
_LOCAL_RECONNECT_SECONDS = 10.0  # a local worker whose scheduler is gone leaves after this
# A dead worker process's successor (see _Replacer) starts after 1 s, a pause that doubles up to
# 60 s while they keep dying; one that lived a minute died of something new: 1 s again.
_WATCH_SECONDS = 0.5  # how often worker processes are looked at
_RESTART_SECONDS = (1.0, 60.0)
_STEADY_SECONDS = 60.0


@functools.lru_cache(maxsize=1)
def terminal() -> Any:
    """The one rich Console on stderr: log lines and the live display must share it to stay in step."""
    from rich.console import Console
    return Console(stderr=True)


def _shows_live_display(quiet: bool) -> bool:
    """A live display is shown on a terminal; not in logs, CI, files, nor with --quiet."""
    return not quiet and sys.stderr.isatty()


def _live_display(quiet: bool) -> Any:
    """A rich Live display where one is shown (_shows_live_display), else None."""
    if not _shows_live_display(quiet):
        return None
    from rich.live import Live
    return Live(console=terminal(), refresh_per_second=2, transient=False)


def run_scheduler(config: SchedulerConfig, quiet: bool,
                  on_listening: Callable[[str, int, Callable[[str], None]], None] | None = None,
                  key_file: Path | None = None, generated_key: bool = False) -> Summary:
    """Serve and run one crawl's scheduler here until it ends; SIGINT/SIGTERM ask it to stop.

    `on_listening(host, port, node_died)` runs once nodes can connect; `node_died(node_id)` says
    that a node's process has ended (see Scheduler.node_died).
    """
    from crawler.scheduler.loop import Scheduler
    live = _live_display(quiet)
    on_status = None
    if live is not None:
        from crawler.output.display import render_status
        on_status = lambda status: live.update(render_status(status))  # noqa: E731
    scheduler = Scheduler(config, on_status=on_status)
    if not config.politeness.obey_robots:
        log.warning("scheduler: --ignore-robots: robots.txt, X-Robots-Tag, <meta name=robots>, tdm-reservation and "
                    "rel=nofollow are NOT obeyed; crawl only sites you own")
    if not config.request.check_certificates:
        log.warning("scheduler: --no-check-certificate: TLS certificates are NOT checked; whoever sits between "
                    "the nodes and the sites can change what is saved")
    host, port = scheduler.listen()
    print(f"scheduler: listening on {host_port(host, port)}, saving to {config.output_dir}", flush=True)
    _note_contact(scheduler, config, host, port, key_file, generated_key)
    _on_signals(lambda _signum: scheduler.request_stop())
    if on_listening is not None:
        on_listening(host, port, scheduler.node_died)
    try:
        if live is None:
            return scheduler.run()
        with live:
            return scheduler.run()
    finally:
        (config.output_dir / STATE_DIR / CONTACT_NAME).unlink(missing_ok=True)


def _note_contact(scheduler: Scheduler, config: SchedulerConfig, host: str, port: int, key_file: Path | None,
                  generated_key: bool) -> None:
    """Leave the address (and a generated key, mode 600) under OUTPUT/.crawler/ and say how to watch the crawl."""
    state_dir = config.output_dir / STATE_DIR
    host = broker.reachable_host(host)  # --listen 0.0.0.0: this machine's address, not the wildcard
    broker.write_contact(state_dir, host, port)
    address = host_port(host, port)
    key_option = (f" --authkey-file {path_option(state_dir / broker.KEY_NAME)}" if generated_key
                  else f" --authkey-file {path_option(key_file)}" if key_file is not None
                  else f" (with ${broker.AUTHKEY_ENV} set)")
    scheduler.join_command = f"crawler worker --connect {address}{key_option}"
    if generated_key:
        broker.write_authkey_file(state_dir / broker.KEY_NAME, config.authkey, replace=True)
        print(f"scheduler: watch it from another terminal: crawler status {path_option(config.output_dir)}", flush=True)
    elif key_file is not None:
        print(f"scheduler: watch it from another terminal: crawler status {address} --authkey-file "
              f"{path_option(key_file)}", flush=True)
    else:
        print(f"scheduler: watch it from another terminal: crawler status {address} "
              f"(with ${broker.AUTHKEY_ENV} set)", flush=True)


# -- a node -------------------------------------------------------------------------------------

def run_node(config: WorkerConfig, argv: list[str]) -> int:
    """Run a crawler node here: this process, and with `config.processes` > 1 that many minus one
    siblings started with the same command line (`argv`); signals reach them all. Returns the worst
    exit status."""
    from crawler.node.worker import Worker
    node_id = config.node_id
    if config.processes > 1:
        config = dataclasses.replace(config, node_id=f"{node_id}-p1")
    worker = Worker(config)
    siblings = _Replacer(functools.partial(_start_sibling, argv), f"worker {node_id}: process", worker.report_death)
    for number in range(2, config.processes + 1):
        siblings.add(f"{node_id}-p{number}")
    if config.processes > 1:
        siblings.watch_in_a_thread()

    _stop_on_signals(worker, siblings)
    try:
        code = worker.run()
    finally:
        siblings.stop()
        for sibling in siblings.processes():
            if worker.crawl_over:  # each was told too; one started in a dead one's place as the crawl
                sibling.terminate()  # ended would wait --reconnect-seconds for a scheduler that is gone
        # Once the crawl is over a sibling has nothing left to finish: one still there after a
        # while hung (it held the node for ever until 2026-12-08). Stopped by a signal, each
        # finishes the tasks in hand, each within its --timeout.
        siblings.wait(_CHILD_EXIT_SECONDS if worker.crawl_over else None)
    return max([code] + [sibling.returncode for sibling in siblings.processes()])


def _stop_on_signals(worker: Any, siblings: _Replacer) -> None:
    """On SIGINT or SIGTERM the node finishes its tasks in hand and leaves, and passes the signal on
    to its siblings (none is started again)."""
    def stop(signum: int) -> None:
        worker.request_stop()
        siblings.stop()
        for sibling in siblings.processes():
            sibling.send_signal(signum)

    _on_signals(stop)


def _on_signals(act: Callable[[int], None]) -> None:
    """Call `act(signum)` on SIGINT and SIGTERM, in a thread of its own.

    Python runs a signal handler in the main thread between two of its steps, which may be inside
    a lock that thread holds: a handler that takes the same lock (an Event's set() takes one) waits
    on itself for ever. A worker process sent SIGTERM while it stopped its replacer hung so at a
    crawl's end. The handler here only puts the signal in a SimpleQueue, whose put() may interrupt
    another without harm, and the thread that takes it out acts, taking locks as any thread does.
    """
    received: queue.SimpleQueue[int] = queue.SimpleQueue()

    def act_on_each() -> None:
        while True:
            act(received.get())

    threading.Thread(target=act_on_each, name="signals", daemon=True).start()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda signum, _frame: received.put(signum))


def _start_sibling(argv: list[str], node_id: str) -> subprocess.Popen[bytes]:
    """Start one of a node's other worker processes: the same command, one process, its own id (-p2, -p3…)."""
    return subprocess.Popen([sys.executable, "-m", "crawler", *_without_option(argv, "--processes", "--node-id"),
                             "--processes", "1", "--node-id", node_id])


def _without_option(argv: list[str], *names: str) -> list[str]:
    kept, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item in names:
            skip = True
        elif not any(item.startswith(name + "=") for name in names):
            kept.append(item)
    return kept


# -- a crawl on this machine --------------------------------------------------------------------

@dataclass(frozen=True)
class LocalNodes:
    """The worker processes `crawler run` and `crawler demo` start beside the scheduler."""

    workers: int = 2
    threads: int = WorkerConfig.threads
    processes: int = 1

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ConfigError(f"--workers must be at least 1 (worker processes), got {self.workers}")
        if self.workers * self.processes > MAX_PROCESSES:
            each = f" × --processes {self.processes}" if self.processes > 1 else ""
            raise ConfigError(f"--workers {self.workers}{each}: {PROCESSES_BOUND}")
        WorkerConfig("127.0.0.1", 0, b"", threads=self.threads, processes=self.processes)  # its sentences


class LocalWorkers:
    """The worker processes of `crawler run` and `crawler demo`, beside the scheduler in this process.

    On Linux they are forked from this process before the scheduler starts, so they share the modules
    it has already imported: a `python -m crawler worker` started afresh spends about 0.2 s of CPU
    importing, on the way to a one-site crawl's first request. Each then waits on a pipe for the
    address the scheduler listens on. Create this while the process has one thread (a thread's
    locks would be copied held); elsewhere, or with threads running, the workers start as
    `python -m crawler worker` processes once the address is known.
    """

    def __init__(self, nodes: LocalNodes, authkey: bytes, *, quiet: bool = False, verbose: bool = False) -> None:
        self._nodes = nodes
        self._authkey = authkey
        self._verbose = verbose
        # Under a live display the workers' own lines would tear it: they report warnings only.
        self._quiet_workers = quiet or _shows_live_display(quiet)
        self._started: list[subprocess.Popen[bytes]] = []
        self._forked: list[Any] = []  # multiprocessing Processes
        self._addresses: list[Any] = []  # the write end of each forked worker's pipe
        self._forked_ids: list[str] = []  # the node id of each forked worker, in order
        self._replacer: _Replacer | None = None  # watches the workers once the scheduler listens
        if sys.platform.startswith("linux") and threading.active_count() == 1:
            self._fork()

    def _node_ids(self) -> list[str]:
        """One name per process: local-N, or local-N-pK with --processes."""
        if self._nodes.processes == 1:
            return [f"local-{number}" for number in range(1, self._nodes.workers + 1)]
        return [f"local-{number}-p{part}" for number in range(1, self._nodes.workers + 1)
                for part in range(1, self._nodes.processes + 1)]

    def _fork(self) -> None:
        import multiprocessing

        import crawler.node.worker  # noqa: F401  # imported once, here, for every worker
        context = multiprocessing.get_context("fork")
        for node_id in self._node_ids():
            # Each pipe is made just before its worker: no other worker inherits its read end, so
            # once that worker is gone, telling it the address fails at once (see tell).
            reader, writer = context.Pipe(duplex=False)
            config = WorkerConfig("", 0, self._authkey, threads=self._nodes.threads, node_id=node_id,
                                  reconnect_seconds=_LOCAL_RECONNECT_SECONDS)
            process = context.Process(target=_forked_worker, name=f"worker {node_id}",
                                      args=(config, reader, [*self._addresses, writer], self._quiet_workers))
            process.start()
            reader.close()
            self._forked.append(process)
            self._addresses.append(writer)
            self._forked_ids.append(node_id)

    def tell(self, host: str, port: int, node_died: Callable[[str], None] | None = None) -> None:
        """The scheduler listens at host:port: the workers may connect (and are watched from now on:
        one that dies, with --workers 1 especially, left the crawl waiting for ever; `node_died(node_id)`
        tells the scheduler, which takes its tasks back at once)."""
        self._replacer = _Replacer(lambda node_id: self._start(host, port, node_id), "crawl: local worker",
                                   node_died)
        for node_id, process in zip(self._forked_ids, self._forked):
            self._replacer.add(node_id, process)
        if self._forked:
            for writer in self._addresses:
                try:
                    writer.send((host, port))
                except OSError:  # that worker is gone already (killed): another starts in its place
                    log.warning("crawl: a local worker ended before the scheduler started")
                writer.close()
            self._addresses.clear()
        else:
            for number in range(1, self._nodes.workers + 1):
                node_id = f"local-{number}"
                self._replacer.add(node_id, self._start(host, port, node_id, self._nodes.processes))
        self._replacer.watch_in_a_thread()

    def _start(self, host: str, port: int, node_id: str, processes: int = 1) -> subprocess.Popen[bytes]:
        """A `crawler worker` process for this crawl (once the scheduler has threads, forking is unsafe)."""
        env = dict(os.environ, **{broker.AUTHKEY_ENV: self._authkey.decode()})  # not argv: ps shows argv
        verbosity = ["--quiet"] if self._quiet_workers else ["--verbose"] if self._verbose else []
        child = subprocess.Popen(
            [sys.executable, "-m", "crawler", "worker", "--connect", host_port(host, port),
             "--threads", str(self._nodes.threads), "--processes", str(processes),
             "--node-id", node_id, "--reconnect-seconds", str(_LOCAL_RECONNECT_SECONDS), *verbosity], env=env)
        self._started.append(child)
        return child

    def close(self, at_once: bool = False) -> None:
        """Wait for the workers to leave (a worker never told the address leaves at once, one sent
        home by the scheduler too). `at_once`: ask them to leave now, as `crawler run` does once its
        scheduler has ended. Those of a paused crawl, or of a failed scheduler, would wait to
        reconnect to it (and a --resume starts workers of its own); a finished crawl sent its workers
        home and waited for their goodbyes, and one still there never reached it (the crawl was over
        before it joined, as a --resume of a finished crawl is): it would retry for
        _LOCAL_RECONNECT_SECONDS. After _CHILD_EXIT_SECONDS, kill those still there."""
        if self._replacer is not None:
            self._replacer.stop()
        for writer in self._addresses:
            writer.close()
        self._addresses.clear()
        if at_once:
            for child in [*self._forked, *self._started]:
                child.terminate()  # SIGTERM: a worker finishes the tasks in hand and leaves
        self._wait(time.monotonic() + _CHILD_EXIT_SECONDS)
        for child in [*self._forked, *self._started]:
            child.kill()  # a no-op for one that has left
        self._wait(None)

    def _wait(self, until: float | None) -> None:
        """Wait for every worker to leave, or until `until` (monotonic; None: as long as it takes)."""
        def left() -> float | None:
            return None if until is None else max(0.0, until - time.monotonic())
        for process in self._forked:
            process.join(left())
        for child in self._started:
            try:
                child.wait(timeout=left())
            except subprocess.TimeoutExpired:
                pass


@dataclass
class _Slot:
    """A worker process's place: the process in it now, and how often it died."""

    node_id: str
    process: Any  # a forked multiprocessing Process, or a subprocess.Popen
    started: float  # monotonic
    deaths: int = 0
    generation: int = 1
    restart_at: float | None = None  # when the next one starts, once this one died

    def exit_code(self) -> int | None:
        """None while it runs; else its exit status (minus the signal that killed it)."""
        if isinstance(self.process, subprocess.Popen):
            return self.process.poll()
        return self.process.exitcode


class _Replacer:
    """Starts another worker process in the place of one that died (killed, by the out-of-memory
    killer say, or crashed): the crawl would go on with fewer, and with none it waited for ever.
    `died(node_id)` tells its scheduler, which hands out what it held at once. One that left as
    told (exit 0) stays gone; one that keeps dying is started again less and less often."""

    def __init__(self, start: Callable[[str], Any], who: str, died: Callable[[str], None] | None = None) -> None:
        self._start = start  # node id → a running process of it
        self._who = who  # what the log calls them
        self._died = died  # told the node id of each one that died
        self._slots: list[_Slot] = []
        self._stopped = threading.Event()
        self._starting = threading.Lock()  # held while a successor starts: stop() waits it out

    def add(self, node_id: str, process: Any = None) -> None:
        """Watch `process` (or start one) as `node_id`."""
        self._slots.append(_Slot(node_id, process if process is not None else self._start(node_id),
                                 time.monotonic()))

    def processes(self) -> list[Any]:
        return [slot.process for slot in self._slots]

    def watch_in_a_thread(self) -> None:
        threading.Thread(target=self._watch, name="replacer", daemon=True).start()

    def wait(self, seconds: float | None) -> None:
        """Wait for each process (a command's: a subprocess.Popen) to leave; after `seconds` (None: as
        long as it takes), kill those still there, each with a line that says so."""
        until = None if seconds is None else time.monotonic() + seconds
        for slot in self._slots:
            try:
                slot.process.wait(timeout=None if until is None else max(0.0, until - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s %s (pid %d) did not leave %g s after the crawl ended; killed", self._who,
                            slot.node_id, slot.process.pid, seconds)
                slot.process.kill()
                slot.process.wait()

    def stop(self) -> None:
        """The crawl is ending: no process is started again from now on (one starting is started:
        the caller, which ends them all, sees it)."""
        with self._starting:
            self._stopped.set()

    def _watch(self) -> None:
        while not self._stopped.wait(_WATCH_SECONDS):
            now = time.monotonic()
            for slot in self._slots:
                code = slot.exit_code()
                if not code:  # running, or gone home as told
                    continue
                if slot.restart_at is None:
                    slot.deaths = 1 if now - slot.started > _STEADY_SECONDS else slot.deaths + 1
                    wait = _restart_wait(slot.deaths)
                    slot.restart_at = now + wait
                    log.warning("%s %s (pid %d) %s; starting another in its place in %gs", self._who,
                                slot.node_id, slot.process.pid, _how_it_ended(code), wait)
                    if self._died is not None:
                        self._died(slot.node_id)
                elif now >= slot.restart_at:
                    with self._starting:
                        if self._stopped.is_set():
                            return
                        self._restart(slot, now)

    def _restart(self, slot: _Slot, now: float) -> None:
        """Start the successor of the process that died in `slot` (its node id one generation on)."""
        node_id = f"{slot.node_id.split('.', 1)[0]}.{slot.generation + 1}"
        try:
            process = self._start(node_id)
        except OSError as exc:  # out of processes, memory or descriptors: this thread must live to try again
            slot.deaths += 1
            wait = _restart_wait(slot.deaths)
            slot.restart_at = now + wait
            log.warning("%s %s could not be started (%s); trying again in %gs", self._who, node_id,
                        exc.strerror or exc, wait)
            return
        slot.generation += 1
        slot.node_id = node_id
        slot.process, slot.started, slot.restart_at = process, now, None


def _restart_wait(deaths: int) -> float:
    """How long a worker that died (or could not be started) `deaths` times in a row waits to start again."""
    return min(_RESTART_SECONDS[0] * 2 ** (deaths - 1), _RESTART_SECONDS[1])


def _how_it_ended(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def _forked_worker(config: WorkerConfig, reader: Any, writers: list[Any], quiet: bool) -> None:
    """A forked worker process: wait for the scheduler's address, then run as `crawler worker` would."""
    for writer in writers:  # the parent's ends: held here, they would keep a pipe from closing
        writer.close()
    try:
        host, port = reader.recv()
    except (EOFError, OSError):  # the scheduler never listened (it failed to start): nothing to do
        return
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        reader.close()
    if quiet:
        logging.getLogger().setLevel(logging.WARNING)
    try:
        code = run_node(dataclasses.replace(config, host=host, port=port), [])
    except CrawlerError as exc:  # one line, as `crawler worker` says it, not a multiprocessing traceback
        log.error("worker %s: %s", config.node_id, exc)
        code = 1
    sys.exit(code)


def run_local_crawl(config: SchedulerConfig, workers: LocalWorkers, *, quiet: bool = False,
                    key_file: Path | None = None, generated_key: bool = True) -> Summary:
    """Run the scheduler here and the local workers on its address; wait for them all."""
    try:
        return run_scheduler(config, quiet, on_listening=workers.tell, key_file=key_file, generated_key=generated_key)
    finally:
        # a crawl paused by a signal to this process alone (`timeout`, `docker stop`) leaves its workers
        # waiting; one that finished, those that never reached it
        workers.close(at_once=True)
