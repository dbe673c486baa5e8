"""A stand-in for the threading module of a module under test: the machine runs out of threads."""

import threading


class ThreadsRunOut:
    """The threading module, but after `allowed` starts of a Thread (of a Timer, with `timers`) the
    next `failures` fail as CPython's do when the kernel's limit of threads or the memory is reached
    (as `crawler run --threads 20000` made them fail for every process on the machine)."""

    def __init__(self, failures: int, *, allowed: int = 0, timers: bool = False) -> None:
        self.allowed = allowed
        self.failures = failures
        runs_out = self

        class Thread(threading.Thread):
            def start(self) -> None:
                if isinstance(self, threading.Timer) == timers:
                    if runs_out.allowed > 0:
                        runs_out.allowed -= 1
                    elif runs_out.failures > 0:
                        runs_out.failures -= 1
                        raise RuntimeError("can't start new thread")
                super().start()

        class Timer(threading.Timer, Thread):
            pass

        self.Thread, self.Timer = Thread, Timer

    def __getattr__(self, name: str) -> object:
        return getattr(threading, name)
