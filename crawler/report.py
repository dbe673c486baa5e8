"""Reads an output directory and summarises it: data here, rendering separate."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from crawler.storage import FAILURES_NAME, MANIFEST_NAME, read_jsonl


def summarize(output_dir: Path) -> dict[str, Any]:
    """Return counts of a crawl's output: images by host and type, bytes, failures by reason."""
    manifest = read_jsonl(output_dir / MANIFEST_NAME)
    failures = read_jsonl(output_dir / FAILURES_NAME)
    missing = [r["path"] for r in manifest if not (output_dir / r["path"]).is_file()]
    return {
        "output_dir": str(output_dir),
        "images": len(manifest),
        "bytes": sum(int(r.get("bytes", 0)) for r in manifest),
        "by_host": dict(Counter(r["path"].split("/")[1] for r in manifest).most_common()),
        "by_type": dict(Counter(r.get("content_type", "?") for r in manifest).most_common()),
        "failures": dict(Counter(f"{r.get('outcome')}: {r.get('reason')}" for r in failures).most_common()),
        "missing_files": missing,
    }


def render_text(summary: dict[str, Any]) -> str:
    lines = [f"{summary['output_dir']}: {summary['images']} images, {summary['bytes'] / 1e6:.1f} MB"]
    for title, key in (("by host", "by_host"), ("by type", "by_type"), ("not saved", "failures")):
        if summary[key]:
            lines.append(f"{title}:")
            lines.extend(f"  {count:6d}  {name}" for name, count in summary[key].items())
    if summary["missing_files"]:
        lines.append(f"missing files: {len(summary['missing_files'])} (e.g. {summary['missing_files'][0]})")
    return "\n".join(lines)
