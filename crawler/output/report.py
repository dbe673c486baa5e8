"""Reads a crawl's output directory and summarises it as plain data (rendering is separate)."""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from crawler.reasons import TDM_RESERVATION, X_ROBOTS_TAG
from crawler.storage import (
    FAILURES_NAME,
    MANIFEST_NAME,
    RUNS_NAME,
    STATE_DIR,
    folder_as_shown,
    host_folder_of_path,
    is_failure_record,
    is_manifest_record,
    is_run_record,
    read_jsonl,
    scheduler_at_work,
)
from crawler.units import duration_text, path_option, plural, size_text

MANIFEST_FIELDS = ("url", "page_url", "found_as", "name", "alt", "title", "caption", "pages", "replaces", "path",
                   "sha256", "bytes", "content_type", "width", "height", "node", "time")
SEARCHED_FIELDS = ("name", "alt", "title", "caption", "url", "page_url")  # what `inspect --search` reads
_EXAMPLES = 3


def summarize(output_dir: Path) -> dict[str, Any]:
    """Return a crawl's figures: images by host and type, bytes, duplicates avoided, failures, timing."""
    manifest = read_jsonl(output_dir / MANIFEST_NAME, is_manifest_record)
    failures = read_jsonl(output_dir / FAILURES_NAME, is_failure_record)
    runs = read_jsonl(output_dir / STATE_DIR / RUNS_NAME, is_run_record)
    by_host: dict[str, dict[str, int]] = defaultdict(lambda: {"images": 0, "bytes": 0})
    for record in manifest:
        host = by_host[host_folder_of_path(record["path"])]
        host["images"] += 1
        host["bytes"] += int(record.get("bytes", 0))
    reasons: dict[str, dict[str, Any]] = {}
    # each URL once, as its last record says: while a re-crawl runs, the file holds this run's
    # records beside the last run's (it is settled when the run ends)
    latest = {str(record.get("url")): record for record in failures}
    for record in latest.values():
        entry = reasons.setdefault(f"{record.get('outcome')}: {record.get('reason')}", {"count": 0, "examples": []})
        entry["count"] += 1
        if len(entry["examples"]) < _EXAMPLES:
            entry["examples"].append(record.get("url"))
    counts: Counter[str] = Counter()
    for run in runs:
        counts.update(run.get("counts", {}))
    return {
        "output_dir": str(output_dir),
        "running": scheduler_at_work(output_dir),  # its run's pages and time are counted when it ends
        "images": len(manifest),
        "bytes": sum(int(r.get("bytes", 0)) for r in manifest),
        "by_host": dict(sorted(by_host.items(), key=lambda item: -item[1]["images"])),
        "by_type": dict(Counter(r.get("content_type", "?") for r in manifest).most_common()),
        "by_found_as": dict(Counter(r.get("found_as", "?") for r in manifest).most_common()),
        "duplicates": {"images": counts.get("images/duplicate", 0), "bytes": counts.get("bytes/duplicate", 0)},
        "pages_fetched": counts.get("pages/fetched", 0),
        "traps": counts.get("pages/traps", 0),  # links left out as crawler traps
        "listing_orders": counts.get("pages/listing-orders", 0),  # urls.is_another_listing_order
        "sitemaps": {"fetched": counts.get("sitemaps/fetched", 0), "pages": counts.get("sitemaps/pages", 0)},
        "menus": {"fetched": counts.get("menus/fetched", 0), "pages": counts.get("menus/pages", 0)},  # node.menus
        "with_words": sum(1 for r in manifest if r.get("alt") or r.get("title") or r.get("caption")),
        "images_out_of_scope": {"images": counts.get("images/out-of-scope", 0),
                                "hosts": runs[-1].get("out_of_scope_hosts", []) if runs else []},
        "images_denied": counts.get("images/denied", 0),  # image URLs --deny kept out
        "inline": {"saved": sum(1 for r in manifest if str(r.get("url")).startswith("data:")),  # data: URIs
                   "not_saved": counts.get("images/inline-not-saved", 0)},  # filtered out, or no image
        "opted_out": {"image_references": counts.get("images/opted-out", 0),  # on pages that opt out
                      "images": opted_out_images(counts)},  # sent with X-Robots-Tag or tdm-reservation
        "failures": dict(sorted(reasons.items(), key=lambda item: -item[1]["count"])),
        "slowest_hosts": runs[-1].get("slowest_hosts", []) if runs else [],
        "runs": len(runs),
        "history": [{"stopped": run.get("stopped"), "stop_reason": run.get("stop_reason"),
                     "seconds": run.get("seconds"), "pages": run.get("counts", {}).get("pages/fetched", 0),
                     "images": run.get("counts", {}).get("images/saved", 0),
                     "recrawl": recrawl_line(run.get("counts", {}))} for run in runs],
        "duration_seconds": round(sum(float(run.get("seconds", 0)) for run in runs), 2),
        "missing_files": [r["path"] for r in manifest if not (output_dir / r["path"]).is_file()],
    }


def opted_out_images(counts: dict[str, int]) -> int:
    """Images their servers sent with an opt-out for us (X-Robots-Tag, TDMRep), which were not saved."""
    return counts.get(f"images/{X_ROBOTS_TAG}", 0) + counts.get(f"images/{TDM_RESERVATION}", 0)


def recrawl_line(counts: dict[str, int]) -> str:
    """What a re-crawl found, in one line ("" for a run that re-checked nothing)."""
    def total(what: str) -> int:
        return sum(counts.get(f"{kind}/{what}", 0) for kind in ("pages", "images", "stylesheets", "sitemaps", "menus"))
    unchanged, changed, gone, new = total("unchanged"), total("changed"), total("gone"), total("new")
    fresh = counts.get("urls/still-fresh", 0)
    if not (unchanged or changed or gone or fresh):
        return ""
    line = (f"Re-crawl: {unchanged + changed + gone} known URLs checked: {unchanged} unchanged "
            f"({counts.get('pages/unchanged-by-lastmod', 0)} by the sitemaps' lastmod, without a request), "
            f"{changed} changed, {gone} gone; {new} new; {size_text(counts.get('bytes/not-downloaded', 0))} "
            "not downloaded thanks to 304s")
    if fresh:
        line += f"; {fresh} not asked: still fresh by their Cache-Control or Expires (--recrawl-fresh asks)"
    if counts.get("images/pruned"):
        line += f"; {plural(counts['images/pruned'], 'gone image')} deleted (--prune)"
    return line + "."


def render_text(summary: dict[str, Any]) -> str:
    """Return the summary as the text `crawler inspect` prints."""
    running = (" ended, and a crawl is running: images so far; its pages, duplicates and time are counted when it "
               f"ends (crawler status {path_option(summary['output_dir'])} shows it live)")
    lines = [f"{summary['output_dir']}: {plural(summary['images'], 'image')}, {size_text(summary['bytes'])}, "
             f"{plural(summary['pages_fetched'], 'page')}, {duration_text(summary['duration_seconds'])} of crawling "
             f"in {plural(summary['runs'], 'run')}{running if summary.get('running') else ''}",
             f"duplicates avoided: {plural(summary['duplicates']['images'], 'image')}, "
             f"{size_text(summary['duplicates']['bytes'])}",
             f"with words (alt, title or caption): {summary['with_words']} of {plural(summary['images'], 'image')}"
             " (crawler inspect --search WORDS finds them)"]
    if summary["traps"]:
        lines.append("links left out as crawler traps (a path repeating itself, too deep, or a calendar's far dates): "
                     f"{summary['traps']}")
    if summary["listing_orders"]:
        lines.append(f"links to a directory listing's other sort orders left out: {summary['listing_orders']}")
    if summary["inline"]["saved"] or summary["inline"]["not_saved"]:
        lines.append(f"written into the pages as data: URIs: {summary['inline']['saved']} saved, "
                     f"{summary['inline']['not_saved']} not (filtered out, or not an image)")
    if summary["sitemaps"]["fetched"]:
        lines.append(f"sitemaps read: {summary['sitemaps']['fetched']}, listing "
                     f"{plural(summary['sitemaps']['pages'], 'page')} the crawl took")
    if summary["menus"]["fetched"]:
        lines.append(f"script menus read: {summary['menus']['fetched']}, listing "
                     f"{plural(summary['menus']['pages'], 'page')} the crawl took")
    if summary["by_host"]:
        lines.append("images by host:")
        lines += [f"  {v['images']:7d}  {size_text(v['bytes']):>9}  {folder_as_shown(host)}"
                  for host, v in summary["by_host"].items()]
    if summary["by_type"]:
        lines.append("images by type:")
        lines += [f"  {count:7d}  {kind}" for kind, count in summary["by_type"].items()]
        lines.append("images by how the page showed them:")
        lines += [f"  {count:7d}  {form}" for form, count in summary["by_found_as"].items()]
    if summary["failures"]:
        lines.append("not saved, by reason:")
        for reason, entry in summary["failures"].items():
            lines.append(f"  {entry['count']:7d}  {reason}  e.g. {', '.join(entry['examples'])}")
    kept_out = summary["images_out_of_scope"]
    if kept_out["images"]:
        lines.append(f"{kept_out['images']} off-site image{'' if kept_out['images'] == 1 else 's'} skipped "
                     f"(--same-host-images): add " + " ".join(f"--allow-domain {h}" for h in kept_out["hosts"]))
    if summary["images_denied"]:
        lines.append(f"{plural(summary['images_denied'], 'image')} left out by --deny")
    opted_out = summary["opted_out"]
    if opted_out["image_references"] or opted_out["images"]:
        lines.append(f"left out at the sites' request: {plural(opted_out['image_references'], 'image reference')} "
                     f"on pages that opt out, {plural(opted_out['images'], 'image')} sent with X-Robots-Tag or "
                     "tdm-reservation")
    if len(summary["history"]) > 1:
        lines.append("runs:")
        for run in summary["history"]:
            lines.append(f"  {run['stopped']}  {run['seconds']}s  {run['stop_reason']}: {plural(run['pages'], 'page')} "
                         f"fetched, {plural(run['images'], 'image')} saved"
                         + (f". {run['recrawl']}" if run["recrawl"] else ""))
    if summary["slowest_hosts"]:
        lines.append("slowest hosts (mean seconds per download):")
        lines += [f"  {h['mean_seconds']:7.2f}  {h['origin']} ({plural(h['downloads'], 'download')})"
                  for h in summary["slowest_hosts"]]
    if summary["missing_files"]:
        lines.append(f"MISSING: {len(summary['missing_files'])} manifest files are not on disk, "
                     f"e.g. {summary['missing_files'][0]}")
    return "\n".join(lines)


def search(output_dir: Path, query: str) -> list[dict[str, Any]]:
    """The manifest records whose words, name or URLs hold every word of `query` (any case)."""
    wanted = query.lower().split()
    found = []
    for record in read_jsonl(output_dir / MANIFEST_NAME, is_manifest_record):
        text = " ".join(str(record.get(field) or "") for field in SEARCHED_FIELDS).lower()
        if all(word in text for word in wanted):
            found.append(record)
    return found


def render_matches(matches: list[dict[str, Any]]) -> str:
    """`inspect --search`'s lines: the file, then what the pages said of it, then its URL."""
    lines = [f"{plural(len(matches), 'image')} found"]
    for record in matches:
        said = " | ".join(f"{field}: {record[field]}" for field in ("alt", "title", "caption") if record.get(field))
        lines.append(f"  {record.get('path')}  {record.get('name') or ''}  {said}  <{record.get('url')}>")
    return "\n".join(lines)


# A spreadsheet reads a cell that starts so as a formula (=HYPERLINK(…) sends data away), and the
# words and names in the manifest are what pages and servers wrote: such a cell starts with a quote.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def manifest_csv(output_dir: Path) -> str:
    """Return the manifest as CSV text with a header row, no text cell a spreadsheet takes for a formula."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=MANIFEST_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for record in read_jsonl(output_dir / MANIFEST_NAME, is_manifest_record):
        writer.writerow({field: "'" + value if isinstance(value, str) and value.startswith(_FORMULA_STARTS) else value
                         for field, value in record.items()})
    return out.getvalue()
