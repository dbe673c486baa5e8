"""The per-URL log: one readable line per finished URL with -v, and JSON Lines with --log-file.

Only the scheduler writes it (it alone sees every outcome, robots skips and retries given up
included). It has its own handlers and does not propagate, so it never floods a terminal that
asked for less, and the JSON file gets every line whatever the terminal shows.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from crawler.errors import ConfigError
from crawler.messages import Outcome
from crawler.units import now_iso, size_text

log = logging.getLogger("crawler.urllog")
log.propagate = False
log.setLevel(logging.DEBUG)


def url_event(outcome: Outcome, url: str, **fields: Any) -> None:
    """Log what became of `url`: saved, duplicate, fetched, redirect, failed or skipped (fields: reason, path…)."""
    if log.handlers:
        event = {"outcome": str(outcome), "url": url, **fields}
        log.debug("%s", _words(outcome, url, fields), extra={"url_event": event})


def _words(outcome: Outcome, url: str, fields: dict[str, Any]) -> str:
    reason = fields.get("reason")
    if outcome in (Outcome.SAVED, Outcome.DUPLICATE):
        size = size_text(fields.get("bytes") or 0)
        if fields.get("width"):
            size += f", {fields['width']}×{fields['height']}"
        return f"{outcome} {url} → {fields.get('path')} ({size})"
    if outcome == Outcome.FAILED and isinstance(reason, str) and reason.startswith("http-"):
        return f"{reason[5:]} {url}"
    if outcome == Outcome.REDIRECT:
        return f"redirect {url} → {fields.get('location')}"
    return f"{outcome} {url}" + (f" ({reason})" if reason else "")


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = getattr(record, "url_event", None) or {"message": record.getMessage()}
        return json.dumps({"time": now_iso(), **event}, ensure_ascii=False, sort_keys=True)


def show_on(handler: logging.Handler) -> None:
    """Also write the readable lines to `handler` (the terminal's, with -v)."""
    log.addHandler(handler)


STANDARD_OUTPUT = "-"  # as curl's -o - and wget's -O - mean it


def write_to(path: Path) -> None:
    """Write every URL's outcome to `path` as JSON Lines, appending (`-`: standard output);
    ConfigError if it cannot be."""
    try:
        handler: logging.Handler = (logging.StreamHandler(sys.stdout) if str(path) == STANDARD_OUTPUT
                                    else logging.FileHandler(path, encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc} (--log-file)") from exc
    handler.setFormatter(_JsonLines())
    log.addHandler(handler)
