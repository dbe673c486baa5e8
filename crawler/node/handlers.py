"""What a crawler node does with one task: fetch, then extract links or verify and save an image.

`TaskHandler.handle` turns any task into a result and never raises: a failure of the site, the
disk or our own code becomes a failed result with a reason.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

from crawler.config import FetchLimits, ImageFilter, RequestOptions
from crawler.errors import FetchError, StorageError
from crawler.messages import MAX_ROBOTS_CHARS, Found, Kind, Outcome, Result, Task, is_picture_data, make_result
from crawler.node import css
from crawler.node.extract import Collector, decode, extract
from crawler.node.fetcher import PAGE_TYPES, Fetched, fetch
from crawler.node.images import NotAnImage
from crawler.node.inline import save_inline
from crawler.node.keep import Unwanted, keep_image
from crawler.node.menus import read_menu
from crawler.node.optout import NO_FOLLOW, NO_IMAGES, TDM_RESERVED, agent_token
from crawler.node.sitemap import (
    FEED_TYPES,
    GZIP_TYPES,
    MAX_SITEMAP_BYTES,
    XML_TYPES,
    SitemapEntries,
    SitemapError,
    read_sitemap,
)
from crawler.reasons import TDM_RESERVATION, X_ROBOTS_TAG
from crawler.urls import absolute, canonical, referrer

log = logging.getLogger(__name__)

_HTML_TYPES = (*PAGE_TYPES, "")
_NOT_MENU_TYPES = PAGE_TYPES  # a menu's data is script or JSON, or sent untyped
_PAGE_BODY_TYPES = (*PAGE_TYPES, "image/")  # what a page task reads (see _page)
_NOT_CSS_TYPES = (*PAGE_TYPES, "application/json", "text/javascript",
                  "application/javascript")  # an error page or a script where a stylesheet was expected


def _sitemap_types(url: str) -> tuple[str, ...]:
    """The content types a page task's URL is read as a sitemap under: XML and feeds, and where its
    name ends in .xml.gz, gzip (never any .gz: a link to a tarball stays unread)."""
    xml = XML_TYPES + FEED_TYPES
    return xml + GZIP_TYPES if urlsplit(url).path.lower().endswith(".xml.gz") else xml


class TaskHandler:
    """Handles tasks for one node: the crawl's limits and filters, and where images go."""

    def __init__(self, node_id: str, limits: FetchLimits, image_filter: ImageFilter, output_dir: Path,
                 request_options: RequestOptions = RequestOptions()) -> None:  # noqa: B008
        self.node_id = node_id
        self.limits = limits
        self.request_options = request_options  # headers, cookies, auth: each fetcher's session gets them
        self.image_filter = image_filter
        self.output_dir = output_dir
        # Our name for robots directives, or None when the site's opt-outs are not read (--ignore-robots)
        self._agent = agent_token(limits.user_agent) if limits.honour_opt_outs else None

    def handle(self, task: Task, session: requests.Session) -> Result:
        """Return the result of one task; never raises (a bug becomes a failed result and a log line)."""
        started = time.monotonic()
        try:
            if task["kind"] == Kind.ROBOTS:
                result = self._robots(task, session)
            elif task["kind"] == Kind.PAGE:
                result = self._page(task, session)
            elif task["kind"] == Kind.STYLESHEET:
                result = self._stylesheet(task, session)
            elif task["kind"] == Kind.SITEMAP:
                result = self._sitemap(task, session)
            elif task["kind"] == Kind.MENU:
                result = self._menu(task, session)
            else:
                fetched = fetch(session, task["url"], self.limits, self.limits.max_image_bytes, known=task["known"],
                                referrer=_referrer(task))
                result = self._redirect(task, fetched) or self._unchanged(task, fetched) or self._save(task, fetched)
        except FetchError as exc:
            result = make_result(task, self.node_id, Outcome.FAILED, reason=exc.reason, retryable=exc.retryable,
                                 retry_after=exc.retry_after, status=exc.status)
        except StorageError as exc:
            log.error("worker %s: %s", self.node_id, exc)
            result = make_result(task, self.node_id, Outcome.FAILED, reason=exc.reason, retryable=True)
        except Exception as exc:  # the loop's edge: one bad page must not kill a fetcher thread
            log.exception("worker %s: task %s (%s) crashed", self.node_id, task["id"], task["url"])
            result = make_result(task, self.node_id, Outcome.FAILED, reason=f"internal-error: {type(exc).__name__}")
        result["elapsed"] = round(time.monotonic() - started, 4)
        return result

    def _robots(self, task: Task, session: requests.Session) -> Result:
        try:
            fetched = fetch(session, task["url"], self.limits, MAX_ROBOTS_CHARS, cut_at_cap=True,
                            follow_redirects=True)
        except FetchError as exc:
            if not exc.retryable and exc.status is not None and 400 <= exc.status < 500:
                # No robots.txt (or one we may not read): everything is allowed, as the major engines do.
                return make_result(task, self.node_id, Outcome.FETCHED, status=exc.status)
            raise
        text = fetched.body.decode("utf-8", errors="replace")[:MAX_ROBOTS_CHARS]
        return make_result(task, self.node_id, Outcome.FETCHED, robots_text=text, status=fetched.status,
                           bytes=len(fetched.body))

    def _unchanged(self, task: Task, fetched: Fetched) -> Result | None:
        """A re-crawl's answer when the content is what the crawl has: a 304, or the very same bytes
        (for servers that send no validators). None when it changed, or outside a re-crawl."""
        known = task["known"]
        if known is None:
            return None
        if fetched.not_modified:
            return make_result(task, self.node_id, Outcome.UNCHANGED, status=fetched.status,
                               validators={**known, **fetched.validators})
        if fetched.sha256 != known.get("sha256") or fetched.truncated:
            return None
        return make_result(task, self.node_id, Outcome.UNCHANGED, status=fetched.status, bytes=len(fetched.body),
                           validators=_validators_of(fetched))

    def _redirect(self, task: Task, fetched: Fetched) -> Result | None:
        if fetched.location is None:
            return None
        key = canonical(fetched.location)
        if key is None:
            raise FetchError(task["url"], "bad-redirect")
        return make_result(task, self.node_id, Outcome.REDIRECT, location=[fetched.location, key],
                           status=fetched.status)

    def _page(self, task: Task, session: requests.Session) -> Result:
        sitemap_types = _sitemap_types(task["url"])
        fetched = fetch(session, task["url"], self.limits, self.limits.max_page_bytes, cut_at_cap=True,
                        images_as_images=True, known=task["known"], referrer=_referrer(task),
                        body_types=_PAGE_BODY_TYPES + sitemap_types)  # a link to a zip or a video: skipped, unread
        answered = self._redirect(task, fetched) or self._unchanged(task, fetched)
        if answered is not None:
            return answered
        if fetched.content_type.startswith("image/"):  # a link straight to a picture: keep it
            return self._save(task, fetched)
        if fetched.picture_by_name:  # a picture's path under a generic type (see fetch): its bytes decide
            try:
                return self._keep(task, fetched)
            except NotAnImage:
                fetched = _as_a_page(fetched, self.limits.max_page_bytes)  # no picture: read as it was before
        if fetched.content_type in sitemap_types:  # a seed https://site/sitemap.xml: what it lists
            if fetched.truncated and task["page_url"] is None:  # a seed: as long as the protocol allows
                fetched = fetch(session, task["url"], self.limits, MAX_SITEMAP_BYTES, cut_at_cap=True)
            try:
                return self._listed(task, fetched, read_sitemap(fetched.body, xml_only=True), as_sitemap=True)
            except SitemapError:  # a feed, some other XML: no page either
                pass
        if fetched.content_type not in _HTML_TYPES:
            return make_result(task, self.node_id, Outcome.SKIPPED, reason="not-html", status=fetched.status,
                               bytes=len(fetched.body))
        refs = extract(fetched.body, task["url"], fetched.charset, self._agent, refresh_header=fetched.refresh,
                       referrer_header=fetched.referrer_policy, srcset=self.image_filter.srcset,
                       link_header=fetched.link_header)
        if refs.refresh is not None:  # a refresh at once: a browser shows nothing of this page
            return make_result(task, self.node_id, Outcome.REDIRECT, location=refs.refresh, status=fetched.status)
        links, images, stylesheets, inline, withheld = refs.links, refs.images, refs.stylesheets, refs.inline, 0
        menus = refs.menus
        if self._agent is not None:
            asked = refs.robots | fetched.robots  # <meta name=robots> and the X-Robots-Tag header
            if asked & NO_FOLLOW:  # a file of the page's pictures (a gallery's data, a manifest) stays
                links, menus = [], [menu for menu in menus if is_picture_data(menu[0])]
            if asked & NO_IMAGES:  # the images on this page are not ours to take (another page may still show them)
                images, stylesheets, inline, withheld = [], [], [], len(refs.images) + len(refs.inline)
                menus = [menu for menu in menus if not is_picture_data(menu[0])]
        saved, unsaved = save_inline(inline, task["url"], self.output_dir, self.limits, self.image_filter)
        return make_result(task, self.node_id, Outcome.FETCHED, links=links, images=images, stylesheets=stylesheets,
                           menus=menus, inline=saved, inline_unsaved=unsaved,
                           status=fetched.status, bytes=len(fetched.body), withheld=withheld,
                           reason=_cut_short(fetched, refs.capped), validators=_validators_of(fetched),
                           referrer_policy=refs.referrer_policy,
                           referrer_policies=[[key, policy] for key, policy in refs.referrer_policies.items()])

    def _fetch_to_read(self, task: Task, session: requests.Session, not_of_its_kind: tuple[str, ...],
                       reason: str) -> Fetched | Result:
        """Fetch a stylesheet or a menu, cut at the page cap like a page: what to read, or the result
        where there is nothing to read (a redirect, unchanged, or an answer of a type it cannot be)."""
        fetched = fetch(session, task["url"], self.limits, self.limits.max_page_bytes, cut_at_cap=True,
                        known=task["known"], referrer=_referrer(task))
        answered = self._redirect(task, fetched) or self._unchanged(task, fetched)
        if answered is not None:
            return answered
        if fetched.content_type in not_of_its_kind or fetched.content_type.startswith("image/"):
            return make_result(task, self.node_id, Outcome.SKIPPED, reason=reason, status=fetched.status,
                               bytes=len(fetched.body))  # a site's "not found" page sent with 200, say
        return fetched

    def _stylesheet(self, task: Task, session: requests.Session) -> Result:
        """Fetch a stylesheet and report its images and @imports."""
        fetched = self._fetch_to_read(task, session, _NOT_CSS_TYPES, "not-css")
        if not isinstance(fetched, Fetched):
            return fetched
        refs = css.stylesheet_refs(fetched.body, fetched.charset)
        found = Collector(task["url"])  # relative URLs in CSS are relative to the stylesheet
        found.stylesheet_contents(refs, Found.CSS_LINKED)
        return make_result(task, self.node_id, Outcome.FETCHED, images=found.refs.images,
                           stylesheets=found.refs.stylesheets, status=fetched.status, bytes=len(fetched.body),
                           reason=_cut_short(fetched, found.refs.capped), validators=_validators_of(fetched),
                           referrer_policy=fetched.referrer_policy)  # its images' Referer is the stylesheet's URL

    def _menu(self, task: Task, session: requests.Session) -> Result:
        """Fetch a site's navigation data and report the pages it lists (or a gallery's data, its pictures)."""
        fetched = self._fetch_to_read(task, session, _NOT_MENU_TYPES, "not-a-menu")
        if not isinstance(fetched, Fetched):
            return fetched
        name = urlsplit(task["url"]).path.rpartition("/")[2]
        entries = read_menu(decode(fetched.body, fetched.charset), name)
        found = Collector(absolute(task["url"], entries.base) or task["url"],  # its folder, or the one above
                          widest_only=self.image_filter.srcset == "largest")
        for page in entries.pages:
            found.link(page)
        for menu in entries.menus:
            found.menu(menu)
        for picture in entries.images:
            found.gallery_picture(*picture)
        for icon in entries.icons:  # a web app manifest's
            found.image(icon, Found.ICON)
        return make_result(task, self.node_id, Outcome.FETCHED, links=found.refs.links, menus=found.refs.menus,
                           images=found.refs.images,
                           status=fetched.status, bytes=len(fetched.body),
                           reason=_cut_short(fetched, found.refs.capped), validators=_validators_of(fetched))

    def _sitemap(self, task: Task, session: requests.Session) -> Result:
        """Fetch a sitemap (gzipped or not, XML or text) and report the pages, images and sitemaps it lists."""
        fetched = fetch(session, task["url"], self.limits, MAX_SITEMAP_BYTES, cut_at_cap=True, known=task["known"])
        answered = self._redirect(task, fetched) or self._unchanged(task, fetched)
        if answered is not None:
            return answered
        try:
            entries = read_sitemap(fetched.body)
        except SitemapError as exc:
            return make_result(task, self.node_id, Outcome.SKIPPED, reason=exc.reason, status=fetched.status,
                               bytes=len(fetched.body))
        return self._listed(task, fetched, entries)

    def _listed(self, task: Task, fetched: Fetched, entries: SitemapEntries, as_sitemap: bool = False) -> Result:
        """The result of a sitemap read: the pages, images and sitemaps it lists (`as_sitemap`: for a page task)."""
        found = Collector(task["url"])  # locations are absolute; a relative one is read as a browser would
        lastmods = []
        for url, lastmod in entries.pages:
            found.link(url)
            if lastmod is not None and found.refs.links and found.refs.links[-1][0] == url:
                lastmods.append([found.refs.links[-1][1], lastmod])
        for url in entries.sitemaps:
            found.sitemap(url)
        for url, title, caption in entries.images:
            found.image(url, Found.SITEMAP, None, title, caption)
        truncated = fetched.truncated or entries.truncated or found.refs.capped
        return make_result(task, self.node_id, Outcome.FETCHED, links=found.refs.links, images=found.refs.images,
                           sitemaps=found.refs.sitemaps, status=fetched.status, bytes=len(fetched.body),
                           reason="truncated" if truncated else None, validators=_validators_of(fetched),
                           lastmods=lastmods, as_sitemap=as_sitemap)

    def _save(self, task: Task, fetched: Fetched) -> Result:
        """Save the body if it is an image the crawl keeps, and say what became of it."""
        try:
            return self._keep(task, fetched)
        except NotAnImage as exc:
            return make_result(task, self.node_id, Outcome.FAILED, reason=exc.reason, status=fetched.status,
                               bytes=len(fetched.body))

    def _keep(self, task: Task, fetched: Fetched) -> Result:
        """_save, but a body that is no image at all raises NotAnImage."""
        data = fetched.body
        if self._agent is not None and fetched.robots & NO_IMAGES:  # X-Robots-Tag: noai, noimageindex…
            reason = X_ROBOTS_TAG if fetched.robots & NO_IMAGES - {TDM_RESERVED} else TDM_RESERVATION
            return make_result(task, self.node_id, Outcome.SKIPPED, reason=reason, status=fetched.status,
                               bytes=len(data))
        try:
            image, info, written = keep_image(data, fetched.sha256, task["url"], self.output_dir,
                                              self.limits.max_image_pixels, self.image_filter, fetched.filename)
        except Unwanted as exc:
            return make_result(task, self.node_id, Outcome.SKIPPED, reason=exc.reason, bytes=len(data))
        return make_result(task, self.node_id, Outcome.SAVED if written else Outcome.DUPLICATE, image=image,
                           status=fetched.status, bytes=len(data), validators=_validators_of(fetched),
                           images=_svg_loads(task["url"], info.loads) if info.loads else [])


def _as_a_page(fetched: Fetched, max_page_bytes: int) -> Fetched:
    """A body read under the image cap, as it would have been read for a page: cut at the page cap."""
    if len(fetched.body) <= max_page_bytes:
        return fetched
    return dataclasses.replace(fetched, body=fetched.body[:max_page_bytes], truncated=True)


def _cut_short(fetched: Fetched, capped: bool) -> str | None:
    """Why a page or stylesheet was read only in part (the scheduler records it as partial), or None."""
    if fetched.truncated:
        return "truncated"  # at --max-page-bytes
    return "too-many-references" if capped else None  # MAX_REFS_PER_PAGE, MAX_REF_CHARS_PER_PAGE


def _svg_loads(svg_url: str, loads: tuple[tuple[str, Found], ...]) -> list[list[str]]:
    """An SVG's pictures, resolved against it: the scheduler follows them where the SVG is shown as
    a document (see ImageInfo.loads)."""
    found = Collector(svg_url)
    for ref, found_as in loads:
        found.image(ref, found_as)
    return found.refs.images


def _referrer(task: Task) -> str | None:
    """The Referer a browser sends for the task's URL: from the page (or stylesheet) it was found
    on, under the Referrer Policy that page set for it."""
    return referrer(task["page_url"], task["url"], task.get("referrer_policy"))


def _validators_of(fetched: Fetched) -> dict[str, str]:
    """What the next re-crawl asks with: the server's validators and the body's hash."""
    return {**fetched.validators, "sha256": fetched.sha256}
