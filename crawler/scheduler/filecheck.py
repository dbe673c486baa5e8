"""Proof that a node's saved image is on the shared disk before the crawl counts it.

A node on the wrong disk (a typo in --output, a share that did not mount) would otherwise have
its images recorded as saved while they never reach the output. One `stat` per new image, in a
thread of its own so a slow network file system never holds the scheduler's loop; the loop
collects the verdicts at each step.
"""

from __future__ import annotations

import os
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Verdict:
    """What the disk said of one claim: `problem` is None when the file is there, whole."""

    claim: Any  # whatever the caller submitted with the path (the row, the image, the node)
    problem: str | None


class SavedFileCheck:
    """Stats claimed image files off the loop's thread, in the order they were submitted."""

    def __init__(self, output_dir: Path) -> None:
        self._output_dir = output_dir
        self._todo: queue.Queue[tuple[Any, str, int] | None] = queue.Queue()
        self._done: queue.Queue[Verdict] = queue.Queue()
        self.pending = 0  # submitted, verdict not collected yet (only the loop's thread changes it)
        self._thread = threading.Thread(target=self._run, name="saved-file-check", daemon=True)
        self._thread.start()

    def submit(self, claim: Any, relative_path: str, size: int) -> None:
        """Check that OUTPUT/relative_path exists with `size` bytes (the path was validated by the caller)."""
        self.pending += 1
        self._todo.put((claim, relative_path, size))

    def verdicts(self, wait_seconds: float = 0.0) -> list[Verdict]:
        """The verdicts ready now (waiting up to `wait_seconds` for the first one)."""
        found = []
        try:
            if wait_seconds > 0 and self.pending:
                found.append(self._done.get(timeout=wait_seconds))
            while True:
                found.append(self._done.get_nowait())
        except queue.Empty:
            pass
        self.pending -= len(found)
        return found

    def close(self) -> None:
        self._todo.put(None)

    def _run(self) -> None:
        while (item := self._todo.get()) is not None:
            claim, relative_path, size = item
            self._done.put(Verdict(claim, file_problem(self._output_dir / relative_path, size)))


def file_problem(path: Path, size: int) -> str | None:
    """Why `path` is not a file of `size` bytes, in a few words; None if it is."""
    try:
        found = os.stat(path).st_size
    except FileNotFoundError:
        return "not on the shared disk"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    return None if found == size else f"has {found} bytes, not the {size} the node reported"
