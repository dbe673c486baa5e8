"""The crawl's records on the shared disk: manifest.jsonl, failures.jsonl and the per-run summaries.

The crawl store is the truth; these files mirror what it has committed. Lines are appended only
after the commit that holds them, and on resume and at the end of each run the files are rebuilt
from the store, so a line never describes something the store does not know. The store keeps
every failure record ever written; failures.jsonl shows the ones that still stand: a URL a
re-crawl fetched since is no longer failed, and one that failed again shows its latest record.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from crawler.errors import StorageError
from crawler.messages import Found, InlineImage, Kind, Outcome
from crawler.scheduler.filecheck import file_problem
from crawler.scheduler.store import UNFINISHED, CrawlStore, UrlRow, UrlStatus, robots_key
from crawler.storage import FAILURES_NAME, MANIFEST_NAME, RUNS_NAME, STATE_DIR, JsonLines, original_name, rewrite_jsonl
from crawler.units import now_iso
from crawler.urls import canonical, origin_of

log = logging.getLogger(__name__)


WORD_FIELDS = ("alt", "title", "caption")


def pages_count(references: int, page_url: str | None) -> int:
    """The manifest's `pages`: pages that showed the image; a picture only linked to counts its linking page."""
    return max(references, 1 if page_url else 0)


def inline_url(content_type: str, sha256: str) -> str:
    """The manifest's `url` for a picture written into a page: data:image/png;sha256,<hex>."""
    return f"data:{content_type};sha256,{sha256}"


def _replaced(row: UrlRow, sha256: str) -> str | None:
    """A re-crawl: the sha256 of the content this URL gave before, when it now gives other bytes."""
    earlier = json.loads(row.fetch).get("sha256") if row.fetch else None
    return earlier if earlier and earlier != sha256 else None


def found_as_of(row: UrlRow) -> str:
    """How the first reference showed this image; a "page" that served a picture was a link (or a seed)."""
    if row.found_as:
        return row.found_as
    return Found.LINK.value if row.page_url else Found.SEED.value


def _store_key(failure: dict[str, Any]) -> str:
    """The store's key of the URL a failure record is about."""
    url = str(failure.get("url"))
    if failure.get("kind") == Kind.ROBOTS:
        return robots_key(origin_of(url))
    return canonical(url) or url


def _stands(failure: dict[str, Any], row: UrlRow) -> bool:
    """Whether a URL's last failure record still says where it stands: it failed or was skipped and
    nothing has changed that since (or a re-check is under way), or it is a page read only in part."""
    if row.status == UrlStatus.DONE:
        return failure.get("outcome") == Outcome.PARTIAL  # fetched in part, and done
    return row.status in (UrlStatus.FAILED, UrlStatus.SKIPPED, *UNFINISHED)


class CrawlRecords:
    """Writes manifest and failure records: into the state now, into the files after each commit."""

    def __init__(self, output_dir: Path, store: CrawlStore, rebuild: bool = True) -> None:
        """`rebuild`: on resume, rewrite the files from the store (not when joining other schedulers,
        which are appending to them)."""
        self._output_dir = output_dir
        self._store = store
        self.earlier_images = self.earlier_bytes = 0  # what earlier runs of a resumed crawl saved
        self.gone: list[dict[str, Any]] = []  # on resume: manifest records whose files are no longer there
        if store.resumed and rebuild:
            rewrite_jsonl(output_dir / MANIFEST_NAME,
                          self._counted(self._on_disk(self._settled(store.records("manifest")))))
            rewrite_jsonl(output_dir / FAILURES_NAME, self._standing(store.records("failures")))
            if self.gone:
                store.forget_images({record["sha256"] for record in self.gone})
        elif not store.resumed:  # a new crawl (--fresh): nothing of the one it replaces is counted
            for stale in (output_dir / MANIFEST_NAME, output_dir / FAILURES_NAME, output_dir / STATE_DIR / RUNS_NAME):
                stale.unlink(missing_ok=True)
        self._manifest = JsonLines(output_dir / MANIFEST_NAME)
        self._failures = JsonLines(output_dir / FAILURES_NAME)
        self._waiting: list[tuple[JsonLines, str]] = []  # JSON lines recorded, not yet committed

    def _on_disk(self, manifest: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Pass on the records whose files are there, whole; keep the others in `gone`."""
        for record in manifest:
            if file_problem(self._output_dir / str(record.get("path")), int(record.get("bytes", -1))) is None:
                yield record
            else:
                self.gone.append(record)

    def _settled(self, manifest: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Pass the manifest through with each image's `pages` as the store counts them now."""
        counts = self._store.reference_counts()
        for record in manifest:
            record["pages"] = pages_count(counts.get(str(record.get("url")), 0), record.get("page_url"))
            yield record

    def settle(self) -> None:
        """At the end of a run: rewrite the manifest with every image's final `pages` (later pages
        referred to images saved earlier), and the failures with those that still stand (a re-crawl
        appended this run's beside the last run's). Call after the last commit."""
        rewrite_jsonl(self._output_dir / MANIFEST_NAME, self._settled(self._store.records("manifest")))
        rewrite_jsonl(self._output_dir / FAILURES_NAME, self._standing(self._store.records("failures")))

    def _standing(self, failures: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each URL's last failure record, in the order they were written, unless the URL has been
        fetched since: a re-crawl asks again for what failed, and what answers now is done."""
        last: dict[str, dict[str, Any]] = {}
        for record in failures:
            key = _store_key(record)
            last.pop(key, None)  # so the order is that of each URL's last record
            last[key] = record
        rows = self._store.find_urls(list(last))
        return [record for record, row in zip(last.values(), rows) if row is None or _stands(record, row)]

    def _counted(self, manifest: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Pass the manifest through, adding up what it holds (so resume reads it once)."""
        for record in manifest:
            self.earlier_images += 1
            self.earlier_bytes += int(record.get("bytes", 0))
            yield record

    def image(self, row: UrlRow, image: dict[str, Any], node: str) -> None:
        """Record a newly stored image. Its `pages` is the page it was found on until the run ends
        (settle writes the count): pages fetched later refer to it too, and a count read from the
        store for each new image cost a Redis crawl's scheduler a quarter of its CPU."""
        given = json.loads(row.words) if row.words else {}
        self._record_image(image, node, url=row.url, page_url=row.page_url, found_as=found_as_of(row),
                           name=original_name(row.url, image.get("filename")), pages=pages_count(0, row.page_url),
                           replaces=_replaced(row, image["sha256"]),
                           **{field: given.get(field) or None for field in WORD_FIELDS})

    def inline_image(self, page: UrlRow, entry: InlineImage, node: str) -> dict[str, Any]:
        """Record a newly stored picture that was written into `page` as a data: URI; return the
        record. Its `url` names its type and content (the URI itself may run to megabytes); it was
        seen on that one page."""
        image = entry["image"]
        return self._record_image(image, node, url=inline_url(image["content_type"], image["sha256"]),
                                  page_url=page.url, found_as=entry["found_as"], name=None, pages=1, replaces=None,
                                  alt=entry["alt"] or None, title=entry["title"] or None,
                                  caption=entry["caption"] or None)

    def _record_image(self, image: Mapping[str, Any], node: str, **described: Any) -> dict[str, Any]:
        """Record a stored image as `described` (url, page_url, found_as, name, pages, replaces and
        the words): into the state now, into manifest.jsonl after the commit."""
        record = {**described, "path": image["path"], "sha256": image["sha256"], "bytes": image["bytes"],
                  "content_type": image["content_type"], "width": image["width"], "height": image["height"],
                  "node": node, "time": now_iso()}
        line = json.dumps(record, ensure_ascii=False, sort_keys=True)  # encoded once: state and file
        self._store.record_image(image["sha256"], image["path"], line)
        self._waiting.append((self._manifest, line))
        return record

    def failure(self, row: UrlRow, outcome: Outcome, reason: str, attempts: int) -> None:
        """Record a URL that failed for good or was skipped."""
        record = {"url": row.url, "kind": row.kind, "page_url": row.page_url, "outcome": str(outcome),
                  "reason": reason, "attempts": attempts, "time": now_iso()}
        line = json.dumps(record, ensure_ascii=False, sort_keys=True)
        self._store.record_failure(line)
        self._waiting.append((self._failures, line))

    def commit(self) -> None:
        """Commit the store, then append what it now holds to the files."""
        self._store.commit()
        for target in (self._manifest, self._failures):
            target.append_lines(line for where, line in self._waiting if where is target)
        self._waiting.clear()

    def run_summary(self, stop_reason: str, seconds: float, counts: dict[str, int],
                    slowest_hosts: list[dict[str, Any]], out_of_scope_hosts: list[str]) -> None:
        """Keep this run's figures beside the state, for `crawler inspect` (runs of a resumed crawl add up)."""
        record = {"stopped": now_iso(), "stop_reason": stop_reason, "seconds": round(seconds, 1),
                  "counts": counts, "slowest_hosts": slowest_hosts, "out_of_scope_hosts": out_of_scope_hosts}
        try:
            runs = JsonLines(self._output_dir / STATE_DIR / RUNS_NAME)
            runs.append([record])
            runs.close()
        except StorageError as exc:
            log.warning("scheduler: could not record the run summary: %s", exc)

    def close(self) -> None:
        self._manifest.close()
        self._failures.close()
