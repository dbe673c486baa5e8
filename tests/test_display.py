import io

import pytest
from rich.console import Console

from crawler.output.display import render_status
from crawler.scheduler.status import status_line

STATUS = {"state": "running", "elapsed": 62, "pages": {"fetched": 1234, "failed": 3, "skipped": 12},
          "images": {"saved": 45678, "duplicate": 910, "failed": 11, "skipped": 100}, "bytes_saved": 123_456_789,
          "eta_seconds": None, "pending": 683, "in_flight": 16, "rate": 17.9, "nodes": [], "hosts": []}
FIELDS = ["running for 1m02s", "1234 pages", "45678 images saved", "123.5 MB", "910 duplicates", "14 failed",
          "112 skipped", "683 pending", "16 in flight", "17.9 tasks/s", "estimate: none yet (still discovering)"]


@pytest.mark.parametrize("width", [200, 80, 40])
def test_display_wraps_the_status_lines_between_fields_never_inside_one(width: int) -> None:
    # In an 80-column terminal the live headline broke as "… 1 failed  1" / "skipped" at every refresh.
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(render_status(STATUS))
    lines = out.getvalue().splitlines()
    assert all(len(line.rstrip()) <= width for line in lines)
    for field in FIELDS:
        assert any(field in line for line in lines), (field, lines)


def test_the_status_log_line_gives_its_estimate_as_a_person_reads_it() -> None:
    # A long crawl's log line said "about 5123s left"; the live display said 1h25m23s
    line = status_line(STATUS | {"eta_seconds": 5123.4})
    assert line.startswith("62s: 1234 pages, 45678 images saved") and line.endswith(", about 1 h 25 min left")
    assert status_line(STATUS | {"eta_seconds": 42.0}).endswith(", about 42.0 s left")
    assert "left" not in status_line(STATUS)  # still discovering: no estimate
