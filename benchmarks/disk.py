"""What a new file costs on the disk a benchmark writes to: every image saved is one.

A crawler that saves pictures makes a file for each (wget one for each page too). On this
project's machine, a virtual machine's ext4, the first block of a new file has cost anything from
25 µs to 950 µs of kernel CPU, by the folder it is made in (each folder's files are allocated from
its part of the disk) and by how much was made and deleted there lately, and it changes within
minutes. In 16 interleaved runs on the generated site of the onehost section, wget took 0.18 to
0.20 s where a new file cost some 30 µs and 0.71 s where it cost 950 µs; queue-crawler 1.00 to
1.10 s and 1.37 to 1.42 s: the ratio between them went from 5.5 to 2.0 with the disk alone. The
crawl sections print it beside their figures, probed before and after their runs.
"""

from __future__ import annotations

import itertools
import os
import statistics
import time
from pathlib import Path

_FILE_BYTES = 4096  # a small picture; the cost is the file's first block, whatever its size
_probes = itertools.count()


def new_file_microseconds(folder: Path, files: int = 100, rounds: int = 3) -> float:
    """CPU (user and kernel) per file made, written and closed in a new folder under `folder`:
    the median of `rounds`. The files stay, to go with the benchmark's work folder: deleting
    them here would change what the next measurement of that disk finds."""
    data = b"\0" * _FILE_BYTES
    costs = []
    for _ in range(rounds):
        probe = folder / f"disk-probe-{next(_probes)}"
        probe.mkdir(parents=True)
        started = time.process_time()
        for number in range(files):
            descriptor = os.open(probe / str(number), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                os.write(descriptor, data)
            finally:
                os.close(descriptor)
        costs.append((time.process_time() - started) / files * 1e6)
    return statistics.median(costs)


def describe(before: float, after: float) -> str:
    """The line a section prints of the disk probed before and after its runs."""
    return (f"  the disk: a new file cost {before:.0f} µs of CPU before these runs, {after:.0f} µs after "
            "(every image saved and every page wget keeps is one; see benchmarks/disk.py)")
