"""What an answer changes: the URL's status, the URLs it brings, the records and the counts.

The loop (loop.py) decides when things happen and talks to the nodes; `ResultApplier` decides what
a checked result means for the crawl. It never touches the task queue or the nodes.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from crawler.config import SchedulerConfig
from crawler.messages import (
    MAX_HELD_SECONDS,
    Found,
    InlineImage,
    Kind,
    Outcome,
    Result,
    SavedImage,
    is_picture_data,
    shown,
)
from crawler.reasons import (
    BOT_CHALLENGE,
    CONNECTION_REFUSED,
    MAX_SLOW_ATTEMPTS,
    NO_SERVER_REACHED,
    NO_SUCH_HOST,
    NOT_STARTED,
    SLOW_REASONS,
    TDM_RESERVATION,
    X_ROBOTS_TAG,
    describe_reason,
)
from crawler.scheduler.filecheck import SavedFileCheck
from crawler.scheduler.frontier import Frontier
from crawler.scheduler.hsts import HstsHosts
from crawler.scheduler.records import CrawlRecords, found_as_of
from crawler.scheduler.robots import listed_sitemaps
from crawler.scheduler.status import StatusTracker
from crawler.scheduler.store import CrawlStore, UrlRow, UrlStatus, image_words
from crawler.storage import STORAGE_REASONS, assigned_image_path
from crawler.urllog import url_event
from crawler.urls import (
    ScopeRules,
    canonical,
    host_of,
    is_a_calendar_trap,
    is_a_crawler_trap,
    is_another_listing_order,
    looks_like_an_image,
    origin_of,
)

log = logging.getLogger(__name__)

_PLURAL: dict[str, str] = {Kind.PAGE: "pages", Kind.IMAGE: "images", Kind.ROBOTS: "robots",  # the counts' words
                           Kind.STYLESHEET: "stylesheets", Kind.SITEMAP: "sitemaps", Kind.MENU: "menus"}
# @import chains deeper than this are not followed (real sites nest one or two; a server that
# generates a new stylesheet on every import must not hold the crawl).
MAX_IMPORT_DEPTH = 8
# Sitemap indexes deeper than this are not followed: the protocol allows one level (an index of
# sitemaps); a few sites nest indexes; a server that makes up a new index on every request must end.
MAX_SITEMAP_DEPTH = 3
SITEMAP_PAGE_DEPTH = 1  # a page a sitemap lists is one hop from the site's root, as if linked from it
_FAVICON = Found.FAVICON.value  # a browser's guess, not a picture the page shows
_PICTURE_DATA = "picture-data"  # what a menu of the page's pictures is counted as (no script menu)
_AS_DOCUMENT = frozenset({Found.OBJECT.value, Found.SVG_USE.value})  # the forms that show an SVG as a document
_LINK = Found.LINK.value  # a link straight to a picture
_READ_IN_PART = ("truncated", "too-many-references")  # a fetched page's reasons to be recorded as partial
_REFUSED = " (it may need a login: --cookies, --auth-file; or it refuses crawlers)"
# what a user can do when a seed fails so
_SEED_HINTS = {"http-401": _REFUSED, "http-403": _REFUSED,
               BOT_CHALLENGE: ": the site turns crawlers away (on a site of your own, let this crawler's User-Agent "
                              "through in its Cloudflare settings)"}
MAX_SEED_PROBLEMS = 20  # seeds' fates kept for the closing lines (a seed list of thousands could fail whole)


@dataclass
class _Read:
    """A page or stylesheet with pictures written into it, read and waiting for their files to be
    checked: it is finished (and its fetch noted) once they all are, so a scheduler killed before
    then reads it again and loses none of them."""

    row: UrlRow
    result: Result
    waiting: int = 0  # its pictures whose files are being checked
    missing: bool = False  # one of them is not on the disk as the node said: read it again


@dataclass(frozen=True)
class _InlineClaim:
    """A node's word that it saved a picture written into a page (what SavedFileCheck checks)."""

    read: _Read
    entry: InlineImage


def _attempts_bound(kind: str, reason: str) -> int | None:
    """Fewer tries than --max-attempts where more would only hold a slot or the crawl's end (None:
    the crawl's own bound). A URL that was slow twice will very likely be slow again; a site whose
    first request (its robots.txt) finds nothing listening is not running, as wget and curl take it."""
    if kind == Kind.ROBOTS and reason == CONNECTION_REFUSED:
        return 1
    return MAX_SLOW_ATTEMPTS if reason in SLOW_REASONS else None


def _is_a_seed(row: UrlRow) -> bool:
    """A seed, or where its redirects led (they keep its page_url, None): what a crawl starts from."""
    return row.kind == Kind.PAGE and row.page_url is None


class ResultApplier:
    """Applies checked results to the frontier, the records and the counts of one scheduler run."""

    def __init__(self, config: SchedulerConfig, frontier: Frontier, store: CrawlStore, records: CrawlRecords,
                 counts: Counter[str], tracker: StatusTracker) -> None:
        self._config = config
        self._frontier = frontier
        self._store = store
        self._records = records
        self._counts = counts  # the run's counters, shared with the loop
        self._tracker = tracker
        self._scope = ScopeRules(config.scope)
        self._out_of_scope: set[int] = set()  # hashes of image URLs the scope kept out
        self.out_of_scope_hosts: Counter[str] = Counter()
        self.robots_disallowed_images: Counter[str] = Counter()  # origin → images its robots.txt kept out
        self.pages_admitted = 0  # pages queued so far, seeds included (what --max-pages counts)
        self.pages_beyond_max_pages = False  # a page found in scope once --max-pages were admitted
        self.pages_beyond_max_depth = False  # a page found in scope deeper than --max-depth
        self.images_paused_until = 0.0  # no image task before this moment (the shared disk failed)
        self._hsts = HstsHosts()  # hosts asked for over https only, as their Strict-Transport-Security says
        self._redirect_targets: dict[int, int] = {}  # hash of a redirected URL → hash of its target
        self._file_check = SavedFileCheck(config.output_dir)
        self._checking: dict[str, str] = {}  # sha256 → path of new content whose file is being checked
        self._gone_hashes: set[str] = set()  # content of URLs a re-crawl found gone
        self._robots_unread: dict[str, str] = {}  # origin → why its robots.txt could not be read
        self.seed_problems: list[str] = []  # what became of seeds that came to nothing, in words (≤ MAX_SEED_PROBLEMS)
        self.trap_example: str | None = None  # the first link left out as a crawler trap (urls.is_a_crawler_trap)

    def add_seeds(self, seeds: Iterable[str]) -> None:
        """Queue the seeds, as many as --max-pages admits (a long seed list is cut there, and said)."""
        max_pages, left_out, total = self._config.limits.max_pages, 0, 0
        folders_known = self._config.resume and bool(self._config.scope.parent_prefixes)
        for url in seeds:
            key = canonical(url)
            total += 1
            if key is None:
                continue
            if folders_known and not key.endswith("/"):  # a seed an earlier run found a folder (_redirected)
                forms = self._scope.folder_forms(key)
                found = [form for form, row in zip(forms, self._store.find_urls(list(forms)))
                         if row is not None and row.page_url is None]  # where a seed led, not a link
                if found:
                    self._scope.seed_redirected(url, key, found[0])
            if max_pages is not None and self.pages_admitted >= max_pages:
                left_out += not self._frontier.seen(key)  # one crawled before (a --resume) is not left out
            elif self._frontier.add(url, key, Kind.PAGE, 0, None):  # False for one seen before
                self.pages_admitted += 1
                if not self._config.politeness.obey_robots:  # no robots.txt to list them: the usual place
                    self._add_sitemaps_of(origin_of(key), None, None)
        if left_out:
            self._seed_came_to_nothing(f"seeds after the first {total - left_out} were not crawled ({left_out} of "
                                       f"the {total}): --max-pages {max_pages} counts seeds too")

    def _add_sitemaps_of(self, origin: str, robots_text: str | None, robots_url: str | None) -> None:
        """Queue the sitemaps an origin's robots.txt lists, or its /sitemap.xml when it lists none
        (that guess's absence is no failure: see _failed)."""
        if not self._config.scope.read_sitemaps or not self._scope.has_pages_on(origin):
            return
        listed = listed_sitemaps(robots_text)
        for url in listed or [origin + "/sitemap.xml"]:
            key = canonical(url)
            if key is not None and not self._frontier.seen(key) and self._scope.allows_resource(key):
                self._frontier.add(url, key, Kind.SITEMAP, 0, robots_url if listed else None)

    def apply(self, result: Result, now: float) -> None:
        """Apply one checked result (a late or forged answer is counted and changes nothing)."""
        # the origin's gap counts from the response's end: the node says how long it held the result
        row = self._frontier.complete(result["task_id"], now - min(result["held"], MAX_HELD_SECONDS))
        if row is None:
            self._counts["results/ignored"] += 1  # a second answer to a task that is already finished
            return
        if result["reason"] == NOT_STARTED:  # handed back from a chain unfetched: no attempt, and no
            self._frontier.put_back(row, now, 0.0)  # request to time; the frontier paces it again
            self._counts["tasks/handed-back"] += 1
            return
        reached = result["status"] is not None or result["reason"] not in NO_SERVER_REACHED
        self._tracker.record_result(result["node"], self._frontier.origin_of_row(row),
                                    result["elapsed"] if reached else None, now)
        if result["hsts"] or self._hsts:  # before any of its URLs is queued: their http:// forms never are
            moment = time.time()
            self._hsts.note(result["hsts"], moment)
            self._hsts.upgrade(result, moment)
        outcome = result["outcome"]
        if result["validators"] and outcome not in (Outcome.SAVED, Outcome.DUPLICATE) and not result["inline"]:
            self._note_fetch(row, result)  # what the next re-crawl asks with (images: once they are recorded)
        if outcome == Outcome.FETCHED:  # the common answers first: this runs for every task
            if row.kind == Kind.PAGE and not result["as_sitemap"]:
                self._page_fetched(row, result, now)
            elif row.kind == Kind.PAGE:  # a seed https://site/sitemap.xml: its pages, as any sitemap's
                self._sitemap_fetched(row, result)
            elif row.kind == Kind.STYLESHEET:
                self._stylesheet_fetched(row, result, now)
            elif row.kind == Kind.SITEMAP:
                self._sitemap_fetched(row, result)
            elif row.kind == Kind.MENU:
                self._menu_fetched(row, result, now)
            else:  # robots.txt
                origin = self._frontier.origin_of_row(row)
                self._frontier.set_robots(origin, result["robots_text"])
                self._frontier.finish(row)
                self._add_sitemaps_of(origin, result["robots_text"], row.url)
        elif outcome in (Outcome.SAVED, Outcome.DUPLICATE):  # an image task, or a "page" link that was an image
            self._image_saved(row, result, now)
            if result["images"] and (row.kind == Kind.PAGE or row.found_as in _AS_DOCUMENT):
                # an SVG shown as a document (a frame, a link, <object>, <embed>, a <use>) loads the
                # pictures it names; through <img> or CSS a browser loads none of them
                self._add_resources(row, result, row.depth + 1, 0)
        elif outcome == Outcome.FAILED:
            self._failed(row, result, now)
        elif outcome == Outcome.REDIRECT:
            self._redirected(row, result)
        elif outcome == Outcome.UNCHANGED:
            self._unchanged(row, result)
        else:  # skipped: filtered out, not a kind of page we read, or kept out by the site (x-robots-tag, TDMRep)
            if result["reason"] in (X_ROBOTS_TAG, TDM_RESERVATION):  # images sent with a site's opt-out
                self._counts[f"images/{result['reason']}"] += 1
            elif result["reason"] == "not-html" and _is_a_seed(row):
                self._seed_came_to_nothing(f"seed {row.url} is no web page (nor a picture or a sitemap): "
                                           "nothing to crawl from it")
            self._frontier.fail(row, result["reason"] or "filtered", Outcome.SKIPPED)

    def _note_fetch(self, row: UrlRow, result: Result) -> None:
        """Remember the validators of a URL that is finished now. Never earlier: a scheduler killed
        before an image is recorded must fetch it whole again, not ask whether it changed."""
        previous = json.loads(row.fetch) if row.fetch else {}
        if result["outcome"] == Outcome.UNCHANGED:
            size = result["bytes"] or previous.get("bytes", 0)  # a 304 has no body: the content's size stays
        else:
            size = result["bytes"]
            if self._config.recrawl:
                self._counts[f"{_PLURAL[row.kind]}/{'changed' if previous else 'new'}"] += 1
        at = time.time()
        self._store.note_fetch(row.id, json.dumps({**result["validators"], "bytes": size, "at": at}), at)

    def _unchanged(self, row: UrlRow, result: Result) -> None:
        """A re-crawl found the content as it was: nothing is read again; what it referred to is
        part of the crawl already (and checked in turn)."""
        self._frontier.finish(row, "unchanged")
        self._counts[f"{_PLURAL[row.kind]}/unchanged"] += 1
        if not result["bytes"]:  # a 304: the body stayed on the server
            self._counts["bytes/not-downloaded"] += json.loads(row.fetch).get("bytes", 0) if row.fetch else 0
        url_event(Outcome.UNCHANGED, row.url, kind=row.kind, status=result["status"])

    def _failed(self, row: UrlRow, result: Result, now: float) -> None:
        reason = result["reason"] or "unknown"
        if reason in STORAGE_REASONS:  # the shared disk, not the site: pause images, lose nothing
            pause = self._config.storage_pause_seconds
            if now >= self.images_paused_until:
                log.warning("scheduler: node %s cannot write the output (%s); pausing image tasks for %.0fs",
                            result["node"], reason, pause)
            self.images_paused_until = now + pause
            self._counts["images/storage-errors"] += 1
            self._frontier.put_back(row, now, pause)
            return
        status = result["status"]
        if row.fetch is not None and status in (404, 410):  # fetched in an earlier run, gone now
            self._frontier.fail(row, reason, Outcome.GONE)
            self._gone_hashes.add(json.loads(row.fetch).get("sha256", ""))  # --prune: its file may go
        elif row.found_as == Found.FAVICON.value and status is not None and 400 <= status < 500:
            # Only a browser's guess, not a reference on the page: its absence is no failure of the site.
            self._frontier.fail(row, "no-favicon", Outcome.SKIPPED)
        elif row.kind == Kind.SITEMAP and row.page_url is None and status is not None and 400 <= status < 500:
            self._frontier.fail(row, "no-sitemap", Outcome.SKIPPED)  # our guess of /sitemap.xml, as above
        elif row.kind == Kind.IMAGE and row.found_as == _LINK and reason == "not-an-image":
            # a link that only looked like a picture (a wiki's page File:x.jpg): a page, not a broken image
            self._frontier.fail(row, "link-to-a-page", Outcome.SKIPPED)
        elif result["retryable"]:
            bound = _attempts_bound(row.kind, reason)
            if self._frontier.retry_or_fail(row, reason, now, result["retry_after"], bound):
                self._counts["tasks/retried"] += 1
            else:
                self._say_if_a_seed_failed(row, reason)
        else:
            self._frontier.fail(row, reason)
            self._say_if_a_seed_failed(row, reason)

    def _say_if_a_seed_failed(self, row: UrlRow, reason: str) -> None:
        if _is_a_seed(row):
            self._seed_came_to_nothing(f"seed {row.url} failed: {describe_reason(reason, row.url)}"
                                       f"{_SEED_HINTS.get(reason, '')}")

    def _seed_came_to_nothing(self, what: str, logged: bool = False) -> None:
        """A seed that comes to nothing may leave the crawl with nothing to do: say why at once, in
        words (unless a warning just `logged` it), and keep it for the run's closing lines (the
        warning scrolls by among the nodes')."""
        if not logged:
            log.warning("scheduler: %s", what)
        if len(self.seed_problems) < MAX_SEED_PROBLEMS:
            self.seed_problems.append(what)

    def _redirected(self, row: UrlRow, result: Result) -> None:
        url, key = result["location"] or ["", ""]
        self._counts[f"{_PLURAL[row.kind]}/redirected"] += 1
        # The state and failures.jsonl say the same: a redirect that goes nowhere is the URL's
        # failure (or skip), one that leads on is done and its target a URL of its own.
        kind = Kind(row.kind)
        if kind != Kind.ROBOTS and row.hops + 1 > self._config.fetch.max_redirects:
            self._frontier.fail(row, "too-many-redirects")
            return
        if kind != Kind.ROBOTS and not (
                self._scope.allows(key) if kind == Kind.PAGE else self._scope.allows_resource(key)):
            self._frontier.fail(row, "redirect-out-of-scope", Outcome.SKIPPED)
            if _is_a_seed(row):
                self._seed_came_to_nothing(f"seed {row.url} redirects to {url}, outside the crawl's scope; "
                                           f"to crawl it, add --allow-domain {host_of(url)}")
            return
        if kind != Kind.ROBOTS and self._closes_a_loop(row.canonical, key):
            self._frontier.fail(row, "redirect-loop")
            return
        self._frontier.finish(row, "redirect")
        url_event(Outcome.REDIRECT, row.url, kind=row.kind, location=url)
        if kind == Kind.PAGE and _is_a_seed(row) and self._scope.seed_redirected(row.url, row.canonical, key):
            log.info("scheduler: --no-parent: %s is a folder (its server added the slash); keeping to %s", row.url, url)
        if kind == Kind.ROBOTS:  # a redirected robots.txt is fetched by the node itself; not here
            return
        if kind == Kind.PAGE:  # the target is a page of its own and counts against --max-pages
            max_pages = self._config.limits.max_pages
            if (max_pages is None or self.pages_admitted < max_pages) and self._frontier.add(
                    url, key, Kind.PAGE, row.depth, row.page_url, row.hops + 1):
                self.pages_admitted += 1
        else:  # an image or a stylesheet: the target keeps the depth and the way it was found
            self._frontier.add(url, key, kind, row.depth, row.page_url, row.hops + 1, row.found_as)

    def _closes_a_loop(self, source: str, target: str) -> bool:
        """Note that `source` redirects to `target`; True if following the redirects noted from
        `target` leads back to `source` (A → B → A: nothing will ever be fetched there)."""
        start, step = hash(source), hash(target)
        self._redirect_targets[start] = step
        for _ in range(self._config.fetch.max_redirects + 1):
            if step == start:
                return True
            following = self._redirect_targets.get(step)
            if following is None:
                return False
            step = following
        return False

    def _cut_short(self, row: UrlRow, result: Result, plural: str) -> None:
        """A page or stylesheet cut at --max-page-bytes, or with more references than one result
        holds: read as far as it went, and said in failures.jsonl."""
        reason = result["reason"]
        if reason in _READ_IN_PART:
            self._counts[f"{plural}/partial"] += 1
            self._counts[f"{plural}/{reason}"] += 1  # the closing lines say what to do of each
            self._records.failure(row, Outcome.PARTIAL, reason, row.attempts)
            url_event(Outcome.PARTIAL, row.url, kind=row.kind, reason=reason)

    def _page_fetched(self, row: UrlRow, result: Result, now: float) -> None:
        self._finish_read(row, result, now)
        self._counts["pages/fetched"] += 1
        self._cut_short(row, result, "pages")
        if result["withheld"]:  # the site opted out of its images there (X-Robots-Tag, meta robots)
            self._counts["images/opted-out"] += result["withheld"]
        url_event(Outcome.FETCHED, row.url, kind=row.kind, links=len(result["links"]), images=len(result["images"]))
        before = self._frontier.pending_count
        if not self._config.scope.sitemaps_only:  # else pages come from sitemaps only
            self._add_pages(row, result, row.depth + 1)
            self._add_menus(row, result)
        else:
            self._add_menus(row, result, galleries_only=True)  # a gallery's data: the page's pictures
        self._add_resources(row, result, row.depth + 1, 0)
        self._tracker.record_discovered(self._frontier.pending_count - before, now)

    def _finish_read(self, row: UrlRow, result: Result, now: float) -> None:
        """Finish a page or stylesheet that was read; one with pictures written into it once their
        files are checked (see _Read)."""
        if result["inline_unsaved"]:
            self._counts["images/inline-not-saved"] += sum(result["inline_unsaved"].values())
        if not result["inline"]:
            self._frontier.finish(row)
            return
        read = _Read(row, result)
        for entry in result["inline"]:
            self._inline_saved(read, entry)
        if not read.waiting:
            self._read_ended(read, now)

    def _inline_saved(self, read: _Read, entry: InlineImage) -> None:
        image = entry["image"]
        if not assigned_image_path(read.row.url, image["path"], image["sha256"]):
            self._counts["messages/malformed"] += 1  # a confused or forged node, as in _image_saved
            log.warning("scheduler: node %s says it saved a picture written into %s as %s, not the path "
                        "assigned to it; reading that page again", shown(read.result["node"]), read.row.url,
                        shown(image["path"]))
            read.missing = True
            return
        existing = self._store.image_path_for(image["sha256"]) or self._checking.get(image["sha256"])
        if existing is None:  # new content: counted once the disk shows it (see collect_checked)
            self._checking[image["sha256"]] = image["path"]
            self._file_check.submit(_InlineClaim(read, entry), image["path"], image["bytes"])
            read.waiting += 1
        else:
            self._count_duplicate(image, existing)

    def _read_ended(self, read: _Read, now: float) -> None:
        """The files of a read page's pictures are checked: finish it, or read it again."""
        if read.missing:
            self._frontier.retry_or_fail(read.row, "saved-file-missing", now)
            return
        self._frontier.finish(read.row)
        if read.result["validators"]:
            self._note_fetch(read.row, read.result)

    def _add_pages(self, row: UrlRow, result: Result, depth: int) -> None:
        """Queue the pages a page links to (or a sitemap lists) that belong to the crawl, within its
        limits, and the pictures it links to straight outside them (images come from anywhere)."""
        limits = self._config.limits
        seen, allows = self._frontier.seen, self._scope.allows  # most links were seen: test that first
        if limits.max_depth is not None and depth > limits.max_depth:
            if not self.pages_beyond_max_depth:  # said at the end, once
                self.pages_beyond_max_depth = any(not seen(key) and allows(key) for _url, key in result["links"])
            return
        today = datetime.datetime.now(datetime.timezone.utc).date()
        for url, key in result["links"]:
            if limits.max_pages is not None and self.pages_admitted >= limits.max_pages:
                if self.pages_beyond_max_pages:
                    break  # links to pictures on the site are pages too: those elsewhere end with them
                self.pages_beyond_max_pages = not seen(key) and allows(key)  # said at the end, once
                continue
            if seen(key):
                continue
            if allows(key):
                if is_a_crawler_trap(key) or is_a_calendar_trap(key, row.canonical, today):
                    self._counts["pages/traps"] += 1
                    self.trap_example = self.trap_example or url
                elif is_another_listing_order(url, row.url):
                    self._counts["pages/listing-orders"] += 1
                elif self._frontier.add(url, key, Kind.PAGE, depth, row.url):
                    self.pages_admitted += 1
            elif looks_like_an_image(key):  # a gallery's thumbnail linking to the picture on a CDN
                if self._scope.allows_resource(key):
                    self._frontier.add(url, key, Kind.IMAGE, depth, row.url, 0, _LINK,
                                       image_words("", "", "", result["referrer_policy"]))
                else:
                    self._count_out_of_scope(key)

    def _stylesheet_fetched(self, row: UrlRow, result: Result, now: float) -> None:
        self._finish_read(row, result, now)
        self._counts["stylesheets/fetched"] += 1
        self._cut_short(row, result, "stylesheets")
        url_event(Outcome.FETCHED, row.url, kind=row.kind, images=len(result["images"]))
        self._add_resources(row, result, row.depth, row.depth + 1)

    def _menu_fetched(self, row: UrlRow, result: Result, now: float) -> None:
        """Navigation data a page's scripts build its menus from: its pages are one hop from that page
        (and a gallery's data its pictures, which that page shows)."""
        self._frontier.finish(row)
        counted_as = _counted_as(row)  # a gallery's data (or a manifest) is no menu to count
        self._counts[f"{counted_as}/fetched"] += 1
        self._cut_short(row, result, counted_as)
        url_event(Outcome.FETCHED, row.url, kind=row.kind, links=len(result["links"]), images=len(result["images"]))
        before, pending = self.pages_admitted, self._frontier.pending_count
        self._add_pages(row, result, row.depth + 1)
        self._counts["menus/pages"] += self.pages_admitted - before
        self._add_menus(row, result)
        if result["images"]:
            self._add_resources(row, result, row.depth + 1, MAX_IMPORT_DEPTH + 1)  # no stylesheets in data
        self._tracker.record_discovered(self._frontier.pending_count - pending, now)

    def _add_menus(self, row: UrlRow, result: Result, galleries_only: bool = False) -> None:
        """Queue the navigation data a page (or a menu) names, at its depth: what it lists are its links.
        Only on hosts whose pages the crawl follows (what it lists are pages of its own host). A
        gallery's data lists the page's pictures: no page depth applies to it."""
        max_depth = self._config.limits.max_depth
        too_deep = max_depth is not None and row.depth + 1 > max_depth  # none of its pages would be taken
        seen, allows, has_pages_on = self._frontier.seen, self._scope.allows_resource, self._scope.has_pages_on
        for url, key in result["menus"]:
            if (galleries_only or too_deep) and not is_picture_data(key):
                continue
            if not seen(key) and allows(key) and has_pages_on(origin_of(key)):
                self._frontier.add(url, key, Kind.MENU, row.depth, row.url)

    def _sitemap_fetched(self, row: UrlRow, result: Result) -> None:
        self._frontier.finish(row)
        self._counts["sitemaps/fetched"] += 1
        self._cut_short(row, result, "sitemaps")
        url_event(Outcome.FETCHED, row.url, kind=row.kind, links=len(result["links"]), images=len(result["images"]),
                  sitemaps=len(result["sitemaps"]))
        if self._config.recrawl and result["lastmods"]:
            self._skip_unmodified(result["lastmods"])
        before = self.pages_admitted
        self._add_pages(row, result, SITEMAP_PAGE_DEPTH)
        self._counts["sitemaps/pages"] += self.pages_admitted - before
        self._add_resources(row, result, SITEMAP_PAGE_DEPTH, 0)
        if row.depth + 1 <= MAX_SITEMAP_DEPTH:
            seen, allows = self._frontier.seen, self._scope.allows_resource
            for url, key in result["sitemaps"]:
                if not seen(key) and allows(key):
                    self._frontier.add(url, key, Kind.SITEMAP, row.depth + 1, row.url)

    def _skip_unmodified(self, lastmods: list[list[Any]]) -> None:
        """A re-crawl: a page the sitemap says was last modified before we fetched it is not asked again."""
        for key, modified in lastmods:
            row = self._store.find_url(key)
            if row is None or row.kind != Kind.PAGE or row.status != UrlStatus.PENDING or not row.fetch:
                continue
            if modified <= json.loads(row.fetch).get("at", 0.0):
                self._frontier.finish(row, "lastmod")  # leaves the queue when its turn comes
                self._counts["pages/unchanged"] += 1
                self._counts["pages/unchanged-by-lastmod"] += 1

    def _add_resources(self, row: UrlRow, result: Result, image_depth: int, import_depth: int) -> None:
        """Queue the images and stylesheets a page or stylesheet refers to (depth limits do not apply),
        and count the reference to each image in scope."""
        seen, allows = self._frontier.seen, self._scope.allows_resource
        referred = []
        page_policy = result["referrer_policy"]  # what its images are asked for with, unless their tag says
        own_policies = dict(result["referrer_policies"]) if result["referrer_policies"] else None
        # references to images that are not the implicit favicon (what a site shows), those written in included
        pictures = len(result["inline"]) + (sum(result["inline_unsaved"].values()) if result["inline_unsaved"] else 0)
        for url, key, found_as, alt, title, caption in result["images"]:
            pictures += found_as != _FAVICON
            if seen(key):
                referred.append(key)
            elif allows(key):
                referred.append(key)
                policy = own_policies.get(key, page_policy) if own_policies else page_policy
                self._frontier.add(url, key, Kind.IMAGE, image_depth, row.url, 0, found_as,
                                   image_words(alt, title, caption, policy))
            else:
                self._count_out_of_scope(key)
        if pictures:
            self._counts["images/referenced"] += pictures
        if row.fetch is None:  # a page a re-crawl found changed had its references counted when first read
            self._store.note_references(referred)
        if import_depth <= MAX_IMPORT_DEPTH:
            for url, key in result["stylesheets"]:
                if not seen(key) and allows(key):
                    self._frontier.add(url, key, Kind.STYLESHEET, import_depth, row.url)

    def _count_out_of_scope(self, key: str) -> None:
        """Count each image URL the scope keeps out once: by host, for the summary's hint, where it
        is another site's (--same-host-images); apart where --deny kept it out, which no
        --allow-domain brings in (the summary said "off-site" and named the crawl's own host)."""
        marker = hash(key)
        if marker in self._out_of_scope:
            return
        self._out_of_scope.add(marker)
        if self._scope.denies(key):
            self._counts["images/denied"] += 1
        else:
            self._counts["images/out-of-scope"] += 1
            self.out_of_scope_hosts[host_of(key)] += 1

    def _image_saved(self, row: UrlRow, result: Result, now: float) -> None:
        image = result["image"]
        if image is None:
            self._frontier.fail(row, "no-image-in-result")
            return
        if not assigned_image_path(row.url, image["path"], image["sha256"]):
            # Not where this scheduler would have put it: a confused or forged node. Nothing is
            # recorded or deleted on its word; the URL goes out again.
            self._counts["messages/malformed"] += 1
            log.warning("scheduler: node %s says it saved %s as %s, not the path assigned to it; fetching it again",
                        shown(result["node"]), row.url, shown(image["path"]))
            self._frontier.retry_or_fail(row, "bad-image-path", now)
            return
        sha256 = image["sha256"]
        existing = self._store.image_path_for(sha256) or self._checking.get(sha256)
        if existing is None:  # new content: counted once the disk shows it (see collect_checked)
            self._checking[sha256] = image["path"]
            self._file_check.submit((row, dict(image), result), image["path"], image["bytes"])
            return  # the URL stays leased in the store meanwhile: a scheduler killed now fetches it again
        self._frontier.finish(row, "duplicate")
        self._note_fetch(row, result)
        url_event(Outcome.DUPLICATE, row.url, path=existing, bytes=image["bytes"], width=image["width"],
                  height=image["height"], found_as=found_as_of(row), page_url=row.page_url, node=result["node"])
        self._count_duplicate(image, existing)

    def _count_duplicate(self, image: SavedImage, existing: str) -> None:
        """Count a saved image whose bytes the crawl holds at `existing`; its own file goes if that
        is another one (the same bytes saved first under another host's folder)."""
        self._counts["images/duplicate"] += 1
        self._counts["bytes/duplicate"] += image["bytes"]
        if existing != image["path"]:
            try:
                os.unlink(self._config.output_dir / image["path"])  # the assigned path: checked by the caller
            except OSError:
                pass

    @property
    def checks_pending(self) -> int:
        """New images whose files are being checked: in flight, as far as the end of the crawl goes."""
        return self._file_check.pending

    def collect_checked(self, now: float, wait_seconds: float = 0.0) -> None:
        """Count the new images the disk has shown, and send again those it has not."""
        for verdict in self._file_check.verdicts(wait_seconds):
            if isinstance(verdict.claim, _InlineClaim):
                self._inline_checked(verdict.claim, verdict.problem, now)
                continue
            row, image, result = verdict.claim
            node = result["node"]
            self._checking.pop(image["sha256"], None)
            if verdict.problem is not None:
                self._counts["images/not-on-disk"] += 1
                log.warning("scheduler: node %s saved %s as %s, but that file %s; fetching it again "
                            "(is that node's --output the crawl's shared disk?)", shown(node), row.url,
                            image["path"], verdict.problem)
                self._frontier.retry_or_fail(row, "saved-file-missing", now)
                continue
            if self._over_the_image_limit():
                # A link that turned out to be a picture is not held back by --max-images at dispatch:
                # the crawl has its N images already, so this one waits, pending, for a --resume.
                self._counts["images/over-limit"] += 1
                (self._config.output_dir / image["path"]).unlink(missing_ok=True)  # new content: recorded nowhere
                self._frontier.put_back(row, now, 0.0)
                continue
            self._frontier.finish(row)
            url_event(Outcome.SAVED, row.url, path=image["path"], bytes=image["bytes"], width=image["width"],
                      height=image["height"], found_as=found_as_of(row), page_url=row.page_url, node=node)
            self._records.image(row, image, node)
            self._note_fetch(row, result)
            self._counts["images/saved"] += 1
            self._counts["bytes/saved"] += image["bytes"]
            if row.found_as == _FAVICON:  # a browser's guess, which the closing lines count apart
                self._counts["images/favicon"] += 1

    def _inline_checked(self, claim: _InlineClaim, problem: str | None, now: float) -> None:
        """Count (or not) a picture written into a page once the disk has shown its file."""
        read, image = claim.read, claim.entry["image"]
        node = read.result["node"]
        self._checking.pop(image["sha256"], None)
        if problem is not None:
            self._counts["images/not-on-disk"] += 1
            log.warning("scheduler: node %s saved a picture written into %s as %s, but that file %s; reading that "
                        "page again (is that node's --output the crawl's shared disk?)", shown(node), read.row.url,
                        image["path"], problem)
            read.missing = True
        elif self._over_the_image_limit():
            self._counts["images/over-limit"] += 1
            (self._config.output_dir / image["path"]).unlink(missing_ok=True)  # new content: recorded nowhere
        else:
            record = self._records.inline_image(read.row, claim.entry, node)
            url_event(Outcome.SAVED, record["url"], path=image["path"], bytes=image["bytes"], width=image["width"],
                      height=image["height"], found_as=record["found_as"], page_url=read.row.url, node=node)
            self._counts["images/saved"] += 1
            self._counts["images/inline"] += 1
            self._counts["bytes/saved"] += image["bytes"]
        read.waiting -= 1
        if not read.waiting:
            self._read_ended(read, now)

    def _over_the_image_limit(self) -> bool:
        limit = self._config.limits.max_images
        return limit is not None and self._records.earlier_images + self._counts["images/saved"] >= limit

    def close(self) -> None:
        self._file_check.close()

    def prune_gone(self) -> None:
        """--prune: delete the stored files of images that are gone from their sites, unless a URL
        still served the same bytes; their manifest records go with them."""
        if not self._gone_hashes:
            return
        served = self._store.fetched_hashes()
        for sha256 in sorted(self._gone_hashes - served):
            path = self._store.image_path_for(sha256)
            if path is None:  # a page, or content never stored
                continue
            (self._config.output_dir / path).unlink(missing_ok=True)  # a path the scheduler assigned
            self._store.forget_images({sha256})
            self._counts["images/pruned"] += 1
            log.info("scheduler: --prune: deleted %s (its URL is gone)", path)

    def record_dropped(self) -> None:
        """Record what left the frontier without a fetch (robots, out of attempts) since the last call."""
        for dropped in self._frontier.dropped:
            if dropped.row.kind == Kind.ROBOTS:
                cause = describe_reason(dropped.reason, dropped.row.url)
                self._robots_unread[origin_of(dropped.row.url)] = cause
                log.warning("scheduler: could not read %s: %s; skipping that site", dropped.row.url, cause)
            elif dropped.reason == "robots-unavailable" and _is_a_seed(dropped.row):  # said just above
                cause = self._robots_unread.get(origin_of(dropped.row.canonical), "")
                self._seed_came_to_nothing(f"seed {dropped.row.url} was skipped: its site's robots.txt could not "
                                           f"be read{': ' + cause if cause else ''}", logged=True)
            elif dropped.reason == "robots" and _is_a_seed(dropped.row):
                self._seed_came_to_nothing(f"seed {dropped.row.url} is disallowed by its site's robots.txt; "
                                           "skipped (--ignore-robots crawls a site of your own anyway)")
            if dropped.reason == "robots" and dropped.row.kind == Kind.IMAGE:  # for the closing lines' hint
                self._counts["images/robots-disallowed"] += 1
                self.robots_disallowed_images[origin_of(dropped.row.canonical)] += 1
            if dropped.row.kind == Kind.PAGE and (dropped.gave_up or dropped.reason in ("robots-unavailable",
                                                                                       NO_SUCH_HOST)):
                self._counts["pages/unreachable"] += 1  # network failures and server errors: exit status 3
            self._record_failure(dropped.row, dropped.outcome, dropped.reason, dropped.attempts)
        self._frontier.dropped.clear()

    def _record_failure(self, row: UrlRow, outcome: Outcome, reason: str, attempts: int) -> None:
        self._records.failure(row, outcome, reason, attempts)
        url_event(outcome, row.url, kind=row.kind, reason=reason, attempts=attempts, page_url=row.page_url)
        self._counts[f"{_counted_as(row)}/{outcome}"] += 1
        if reason == "too-large" and row.kind == Kind.IMAGE:
            self._counts["images/too-large"] += 1  # the closing lines name the option that refused them


def _counted_as(row: UrlRow) -> str:
    """The word a URL's outcomes are counted under: its kind's, but a menu of the page's pictures (a
    gallery's data, a web app manifest) is no script menu the closing line counts."""
    return _PICTURE_DATA if row.kind == Kind.MENU and is_picture_data(row.canonical) else _PLURAL[row.kind]
