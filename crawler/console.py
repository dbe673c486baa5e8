"""The `crawler` command (and `python -m crawler`): the CLI, then an exit without the interpreter's teardown.

At exit CPython frees every module it imported, one by one; with requests, lxml, PIL and
multiprocessing loaded that took about 30 ms at the end of every command, measured against 3 ms
leaving with os._exit: a tenth of a small crawl's last phase. Everything of ours is written and
closed when main() returns. The interpreter's own exit still runs up to the module teardown: it
waits for non-daemon threads, then runs the exit handlers libraries registered (logging's flush,
multiprocessing's reaping of children) in their order, and this module's handler, registered
before any of them, runs last and leaves.
"""

from __future__ import annotations

import atexit
import os
import select
import sys
import warnings

_exit_code = 1  # what the process ends with if main() never returns (an uncaught exception)


def _leave() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be said there
            pass
    os._exit(_exit_code)


def _reader_left(stream: object) -> bool:
    """Whether `stream` is a pipe whose reader has closed it (poll() says so with POLLERR)."""
    try:
        poller = select.poll()
        poller.register(stream.fileno(), select.POLLOUT)  # type: ignore[attr-defined]  # checked by the except
        return any(events & select.POLLERR for _fd, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll() here, or no file behind the stream
        return False


# requests imports a character-set detector (charset_normalizer, or chardet where installed) for
# Response.text on a body that names no charset. The crawl never asks it: pages are decoded from
# their bytes by the extractor's own rules (node/extract.py), and nothing reads .text. Importing it
# was 25-36 ms of every command's start, a crawl's before its first request. A None in
# sys.modules makes an import fail, which requests expects (Response.text falls back to UTF-8).
# Only the crawler's own processes, which start here, do so.
_UNUSED_DETECTORS = ("charset_normalizer", "chardet")


def _leave_out_unused_detectors() -> None:
    """Keep requests from importing the character-set detector the crawl never uses (see above)."""
    for name in _UNUSED_DETECTORS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None: "not importable"
    warnings.filterwarnings("ignore", message="Unable to find acceptable character detection dependency",
                            module="requests")


def run() -> None:
    """Run the command line and exit with its code."""
    global _exit_code
    atexit.register(_leave)  # before the CLI's imports register theirs: handlers run last-in, first-out
    _leave_out_unused_detectors()
    for stream in (sys.stdout, sys.stderr):
        # A page's words where the terminal or locale has no such characters (PYTHONIOENCODING=ascii,
        # a Latin-1 locale) are shown escaped (\u5199), not a UnicodeEncodeError halfway through
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    from crawler.cli import main

    try:
        _exit_code = main()
    except SystemExit as leaving:  # argparse leaves this way: --help with 0, a usage error with 2
        _exit_code = leaving.code if isinstance(leaving.code, int) else 0 if leaving.code is None else 1
        raise
    except BrokenPipeError:
        if not _reader_left(sys.stdout):  # a socket's, say: a defect to show
            raise
        # The reader of the output left (`crawler inspect out --search cat | head -1`): end as other
        # command-line tools do, without a traceback; what is left unwritten goes nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        _exit_code = 1
    sys.exit(_exit_code)
