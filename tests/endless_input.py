"""A named pipe that never ends, standing for `/dev/zero` or a huge file given where a small one
belongs, and a way to see that reading it ends anyway (a reader that hangs fails the test rather
than the machine: the pipe stops once the test has its answer)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path


def outcome_of_reading_endless(folder: Path, read: Callable[[Path], object], chunk: bytes = bytes(65536),
                               seconds: float = 10.0) -> BaseException | object:
    """Call `read(pipe)` on a pipe that sends `chunk` again and again; return what it returned or raised.
    AssertionError when it is still reading after `seconds`."""
    pipe = folder / "endless"
    os.mkfifo(pipe)
    stop = threading.Event()

    def write() -> None:
        with open(pipe, "wb") as writer:
            try:
                while not stop.is_set():
                    writer.write(chunk)
            except BrokenPipeError:  # the reader closed its end, having read enough
                pass

    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(read(pipe))
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            outcome.append(exc)

    threads = [threading.Thread(target=write, daemon=True), threading.Thread(target=call, daemon=True)]
    for thread in threads:
        thread.start()
    threads[1].join(seconds)
    stop.set()  # the writer ends, closing the pipe: a reader waiting for its end gets it
    assert not threads[1].is_alive() and outcome, f"still reading a pipe that never ends after {seconds:g} s"
    return outcome[0]
