"""What the benchmarks measure a crawl with: CPU split between a process's code and the kernel,
and what a new file costs on the disk the crawls write to."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.crawl import reap
from benchmarks.disk import describe, new_file_microseconds


def test_reap_gives_a_child_s_cpu_in_its_own_code_and_in_the_kernel_apart() -> None:
    busy_in_the_kernel = "import os\nfor _ in range(300_000): os.stat('/')"
    child = subprocess.Popen([sys.executable, "-c", busy_in_the_kernel])
    times = reap(child)
    assert child.returncode == 0
    assert times.system > 0.02 and times.user > 0.02, times  # 300,000 system calls, and the loop that made them


def test_the_disk_probe_times_files_it_makes_and_leaves_them(tmp_path: Path) -> None:
    cost = new_file_microseconds(tmp_path, files=5, rounds=2)
    probes = sorted(tmp_path.iterdir())
    assert len(probes) == 2  # a new folder each round
    assert all(sorted(path.stat().st_size for path in probe.iterdir()) == [4096] * 5 for probe in probes)
    assert cost > 0
    assert describe(40.4, 951.6).startswith("  the disk: a new file cost 40 µs of CPU before these runs, 952 µs after")
