"""Renders the crawl's live picture (see status.py) for a terminal, with rich."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.console import Console, ConsoleOptions, Group
from rich.table import Table
from rich.text import Text

from crawler.units import plural, size_text


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


class _Fields:
    """Fields two spaces apart, wrapped between fields to the console's width, never inside one: in
    an 80-column terminal the headline broke as "1 failed  1" / "skipped" at every refresh."""

    def __init__(self, *fields: Text | str) -> None:
        self._fields = [field if isinstance(field, Text) else Text(field) for field in fields]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        line = Text()
        for field in self._fields:
            if line and line.cell_len + 2 + field.cell_len > options.max_width:
                yield line
                line = Text()
            if line:
                line.append("  ")
            line.append_text(field)
        yield line


def render_status(status: dict[str, Any]) -> Group:
    """Return a rich renderable: totals, the nodes and the busiest hosts."""
    pages, images = status["pages"], status["images"]
    eta = status.get("eta_seconds")
    headline = _Fields(
        Text.assemble((f"{status['state']} ", "bold"), f"for {_duration(status['elapsed'])}"),
        Text.assemble((f"{pages['fetched']}", "bold"), f" {'page' if pages['fetched'] == 1 else 'pages'}"),
        Text.assemble((f"{images['saved']}", "bold green"), f" {'image' if images['saved'] == 1 else 'images'} saved"),
        size_text(status["bytes_saved"]), plural(images["duplicate"], "duplicate"),
        Text.assemble((f"{pages['failed'] + images['failed']}", "red"), " failed"),
        f"{pages['skipped'] + images['skipped']} skipped")
    estimate = f"{_duration(eta)} left" if eta is not None else "none yet (still discovering)"
    queue_line = _Fields(f"{status['pending']} pending", f"{status['in_flight']} in flight",
                         f"{status['rate']:.1f} tasks/s", f"estimate: {estimate}")
    nodes = Table(title="nodes", title_justify="left", expand=False)
    for column in ("node", "threads", "holding", "done", "tasks/s", "last heartbeat"):
        nodes.add_column(column, justify="left" if column == "node" else "right")
    for node in status["nodes"]:
        nodes.add_row(node["node"], str(node["threads"]), str(node["holding"]), str(node["done"]),
                      f"{node['rate']:.1f}", f"{node['last_seen_seconds']:.0f}s ago")
    hosts = Table(title="busiest hosts", title_justify="left", expand=False)
    for column in ("host", "in flight", "pending"):
        hosts.add_column(column, justify="left" if column == "host" else "right")
    for host in status["hosts"]:
        hosts.add_row(host["origin"], str(host["in_flight"]), str(host["pending"]))
    return Group(headline, queue_line, nodes, hosts)
