"""The crawl's live picture as plain data: counters, rates, an honest estimate, nodes and busiest hosts.

The scheduler publishes a snapshot on its bulletin every second, so `crawler status` on any machine
reads it without disturbing the crawl; rendering lives in `display.py`.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from crawler.units import duration_text, plural, size_text

RATE_WINDOW_SECONDS = 10.0


class RateWindow:
    """Events per second over the last RATE_WINDOW_SECONDS."""

    def __init__(self) -> None:
        self._events: deque[tuple[float, int]] = deque()
        self._total = 0

    def add(self, now: float, count: int = 1) -> None:
        self._events.append((now, count))
        self._total += count
        self._trim(now)

    def _trim(self, now: float) -> None:
        while self._events and self._events[0][0] < now - RATE_WINDOW_SECONDS:
            self._total -= self._events.popleft()[1]

    def per_second(self, now: float, elapsed: float) -> float:
        self._trim(now)
        return self._total / max(1.0, min(RATE_WINDOW_SECONDS, elapsed))


class StatusTracker:
    """What the scheduler learns from results, kept for the live picture and the final summary."""

    def __init__(self, started: float) -> None:
        self.started = started
        self._finished = RateWindow()
        self._discovered = RateWindow()
        self._node_rates: dict[str, RateWindow] = {}
        self.host_timing: dict[str, list[float]] = {}  # origin → [downloads, seconds]

    def record_result(self, node: str, origin: str, elapsed: float | None, now: float) -> None:
        """Count a finished task; `elapsed`: how long its request held the host (None: no server was reached)."""
        self._finished.add(now)
        self._node_rates.setdefault(node, RateWindow()).add(now)
        if elapsed is None:
            return
        timing = self.host_timing.setdefault(origin, [0, 0.0])
        timing[0] += 1
        timing[1] += elapsed

    def record_discovered(self, count: int, now: float) -> None:
        if count:
            self._discovered.add(now, count)

    def slowest_hosts(self, limit: int = 5) -> list[dict[str, Any]]:
        ranked = sorted(self.host_timing.items(), key=lambda item: item[1][1] / item[1][0], reverse=True)
        return [{"origin": origin, "downloads": int(n), "mean_seconds": round(total / n, 3)}
                for origin, (n, total) in ranked[:limit]]

    def snapshot(self, now: float, counts: dict[str, int], pending: int, in_flight: int,
                 nodes: list[dict[str, Any]], hosts: list[dict[str, Any]], state: str) -> dict[str, Any]:
        """Return the live picture; every value a builtin, ready for the wire."""
        elapsed = now - self.started
        rate = self._finished.per_second(now, elapsed)
        discovering = self._discovered.per_second(now, elapsed) > 0
        # An estimate is honest only once discovery has stopped growing the frontier.
        eta = round(pending / rate, 1) if rate > 0 and not discovering and pending else None
        for node in nodes:
            window = self._node_rates.get(node["node"])
            node["rate"] = round(window.per_second(now, elapsed), 2) if window else 0.0
        return {
            "state": state, "elapsed": round(elapsed, 1),
            "pages": {k: counts.get(f"pages/{k}", 0) for k in ("fetched", "failed", "skipped")},
            "images": {k: counts.get(f"images/{k}", 0) for k in ("saved", "duplicate", "failed", "skipped")},
            "bytes_saved": counts.get("bytes/saved", 0), "bytes_duplicate": counts.get("bytes/duplicate", 0),
            "pending": pending, "in_flight": in_flight, "rate": round(rate, 2), "eta_seconds": eta,
            "nodes": nodes, "hosts": hosts,
        }


def status_line(status: dict[str, Any]) -> str:
    """Return the picture as one log line (for logs, CI and `nohup`)."""
    pages, images = status["pages"], status["images"]
    failed = pages["failed"] + images["failed"]
    eta = f", about {duration_text(status['eta_seconds'])} left" if status.get("eta_seconds") else ""
    return (f"{status['elapsed']:.0f}s: {plural(pages['fetched'], 'page')}, {plural(images['saved'], 'image')} "
            f"saved ({size_text(status['bytes_saved'])}, {plural(images['duplicate'], 'duplicate')}), "
            f"{failed} failed, {status['pending']} pending, {status['in_flight']} in flight, "
            f"{status['rate']:.1f} tasks/s, {plural(len(status['nodes']), 'node')}{eta}")
