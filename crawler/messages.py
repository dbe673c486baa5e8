"""Wire protocol between scheduler and crawler nodes: plain dicts of builtin types, checked on arrival.

Only str, int, float, bool, None, list and dict travel through the queues. Every message carries
`v` (the protocol version); a task has an `id`, and a result names the task id it answers.
"""

from __future__ import annotations

import platform
import re
import reprlib
from collections.abc import Mapping
from enum import Enum
from typing import Any, Literal, TypedDict, get_args

from crawler.errors import BadMessage
from crawler.units import ascii_digits

PROTOCOL_VERSION = 23  # 2: stylesheet tasks; images carry how they were found. 3: withheld images.
# 4: images carry their words (alt, title, caption); sitemap tasks; validators for re-crawls.
# 5: the desk may hand out a chain (a list of tasks of one origin, run one after another)
# 6: validators carry max_age (how long the server said the response stays fresh)
# 7: chains of up to 32 tasks (8 before)
# 8: a saved image carries the file name its server's Content-Disposition gave it; pages and
#    stylesheets carry the Referrer Policy they set for their images, an image's task the one it gets
# 9: images of a shop's product gallery, read from its script data (found_as "gallery")
# 10: a page carries the pictures written into it as data: URIs, which the node saved
# 11: keys leave session ids out, and a page's URL queries are in its encoding: a node keying them as
#     before would have the scheduler fetch those URLs twice
# 12: a page task whose URL is a sitemap (a seed https://site/sitemap.xml) is answered as one (as_sitemap)
# 13: menu tasks: the navigation data a site's scripts build its menus from (node.menus), named by pages
# 14: a node names itself when it takes tasks, so what one that dies holds is known before its
#     heartbeat; and says when one of its own processes died ("died"); its events carry an instance
# 15: the crawl's cookies carry their secure flag (sent over https only)
# 16: an SVG <use href> of another file is found_as "svg-use" (a document: the pictures it names load)
# 17: results carry the cookies the site set (Set-Cookie), the crawl shares them with every node, and
#     a task names the version of that shared jar it needs
# 18: results carry the hosts that asked to be fetched over https only (Strict-Transport-Security)
# 19: a menu's result may carry pictures (a gallery's data, GALLERY_DATA_FILE), which a scheduler of
#     18 would have dropped
# 20: a web app manifest is a menu of pictures (its icons) too (is_picture_data), which a scheduler
#     of 19 would count and bound as navigation
# 21: results say how long the node held them back to send them together (held), which the
#     scheduler takes off an origin's gap; the bulletin gives nodes the crawl's --delay
# 22: tasks say how long the node waits before it starts one (wait): the scheduler hands a task
#     out up to one dispatch step (DISPATCH_STEP_SECONDS) before its origin's gap ends
# 23: web app manifests by more names (manifest.php, web-app-manifest, manifest: is_web_manifest),
#     which a scheduler of 22 would count and bound as navigation

# What a scheduler takes off an origin's gap for a result's `held` at most: a node holds one for
# company 20 ms, and a put on the wire a moment more; a larger claim shortens no gap further.
MAX_HELD_SECONDS = 0.1
# A task's wait at most (a scheduler sends at most one dispatch step): a longer one is no task of ours.
MAX_TASK_WAIT_SECONDS = 1.0

MAX_URL_CHARS = 8192  # longer URLs are dropped by the extractor; servers refuse them too (Apache: 8190)
MAX_REFS_PER_PAGE = 50_000  # links plus images from one page; a sitemap lists 50,000 URLs at most
# Characters of URLs and words one result carries at most (about 60 bytes a reference on real pages,
# 150 in a full sitemap): a result stays a few MB, far under the size of message the scheduler
# accepts (broker.MAX_MESSAGE_BYTES).
MAX_REF_CHARS_PER_PAGE = 6_000_000
# Pictures written into one page as data: URIs that it reads; an R Markdown report or a saved
# notebook holds tens, a page of base64 thumbnails a few hundred.
MAX_INLINE_IMAGES = 1000
MAX_ROBOTS_CHARS = 512 * 1024  # Google reads the first 500 KiB of a robots.txt
MAX_TEXT_CHARS = 300  # reasons, content types
# A node's name in the scheduler's log and the manifest: letters, digits, dots, dashes, underscores
# (a line break in one forged a log line of its own). 64 a user gives (--node-id), and room for
# the -pN of each of its processes.
NODE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0 and C1 controls: a line break, a terminal's escape
# Cookies a site sets: a browser keeps a name and value of up to 4096 bytes, and ignores a Domain
# or Path over 1024 (RFC 6265bis); one response of a real site sets a few, a result carries at most
# this many.
MAX_COOKIE_CHARS = 4096
MAX_HOST_CHARS = 255  # a host name's longest: a cookie's domain, an HSTS host
MAX_COOKIE_PATH_CHARS = 1024
MAX_COOKIES_PER_RESULT = 50
MAX_HSTS_PER_RESULT = 10  # hosts a task's answers named in Strict-Transport-Security: its redirects' at most
# The Referrer Policy spec's policies: what a page may set for the requests of its images
REFERRER_POLICIES = frozenset({"no-referrer", "no-referrer-when-downgrade", "same-origin", "origin", "strict-origin",
                               "origin-when-cross-origin", "strict-origin-when-cross-origin", "unsafe-url"})
MAX_WORDS_CHARS = 1000  # an image's alt, title or caption, whitespace collapsed, is cut to this
MAX_TASK_IDS = 10_000  # in one heartbeat: what a node holds
# Tasks in one chain (see Frontier.next_tasks). Each chain ends in a trip through the scheduler
# before its slot runs again: on one site, 32 took 8 % off the wall time of 8 (64 no more).
MAX_CHAIN_TASKS = 32
# The menu (see Kind) that is a gallery's data, not navigation: fgallery's, beside its page. What
# it lists are the page's pictures: --max-depth, --sitemaps-only and nofollow do not apply to it,
# a page's opt-out of its images (noimageindex) does.
GALLERY_DATA_FILE = "data.json"
# The names sites give their web app manifest (a menu of the site's pictures: its icons):
# *.webmanifest, manifest.json, and what web applications serve it as, DokuWiki's manifest.php,
# the WordPress PWA plugin's web-app-manifest route, a bare /manifest
_WEB_MANIFEST = re.compile(r"[^/]*\.webmanifest|(?:[\w.-]*[-_.])?manifest(?:\.(?:json|php))?", re.IGNORECASE)

# How a bad value is shown in an error: short, and safe for any shape a peer can send (repr() of
# a list nested 5,000 deep would raise RecursionError; reprlib stops at a few levels).
_SHOW = reprlib.Repr()
_SHOW.maxlevel, _SHOW.maxstring, _SHOW.maxother, _SHOW.maxlist, _SHOW.maxdict = 3, 60, 60, 4, 4


def shown(value: object) -> str:
    """`value` as an error message may show it: a bounded repr, whatever a peer sent."""
    return _SHOW.repr(value)[:100]


class Word(str, Enum):
    """A word of the vocabulary: compares equal to its plain string and prints as it (on 3.10+).

    The wire carries plain strings only (`make_task` and `make_result` convert), so a peer
    never unpickles one of these.
    """

    # str's own: the member's characters, which are its value (a C call: `.value` is a Python
    # property, and the scheduler's hot path turns words into plain strings per task).
    __str__ = str.__str__


class Kind(Word):
    """What a task fetches."""

    PAGE = "page"
    IMAGE = "image"
    ROBOTS = "robots"  # an origin's robots.txt, fetched before anything else there
    STYLESHEET = "stylesheet"  # read for the images it names
    SITEMAP = "sitemap"  # a sitemap (or sitemap index) a site lists: pages, images and more sitemaps
    MENU = "menu"  # navigation data a page's scripts build its menus from (node.menus): pages and more of it


class Outcome(Word):
    """What became of a task, as its result says."""

    FETCHED = "fetched"  # a page, stylesheet or robots.txt read
    REDIRECT = "redirect"  # the answer was a redirect: its target is a URL of its own
    SAVED = "saved"  # an image stored
    DUPLICATE = "duplicate"  # an image whose bytes were stored before
    SKIPPED = "skipped"  # fetched and not wanted (filtered, not HTML), or not fetched by rule
    FAILED = "failed"
    UNCHANGED = "unchanged"  # a re-crawl: the server said 304, or sent the very bytes the crawl has
    PARTIAL = "partial"  # only in failures.jsonl: a page or stylesheet cut at --max-page-bytes (read as far as it went)
    GONE = "gone"  # only in failures.jsonl: a re-crawl found a URL fetched before answering 404 or 410


# Tuples, not sets: `x in` a set hashes x, and a peer may send an unhashable list there.
TASK_KINDS = tuple(kind.value for kind in Kind)
OUTCOMES = tuple(outcome.value for outcome in Outcome
                 if outcome not in (Outcome.PARTIAL, Outcome.GONE))  # what a node reports
# What identifies a URL's content as last fetched, for a conditional request: the server's ETag
# and Last-Modified, and the body's SHA-256 (for servers that send neither); and the seconds the
# server said it stays fresh (Cache-Control max-age, Expires), for which a re-crawl need not ask.
VALIDATOR_KEYS = ("etag", "last_modified", "sha256", "max_age")


# what a node says of itself; "died": of one of its own processes (the event's node), seen to end
NodeEventType = Literal["hello", "heartbeat", "bye", "died"]
NODE_EVENTS = get_args(NodeEventType)


class Found(Word):
    """How a page (or stylesheet) referred to an image: the manifest's `found_as`."""

    IMG = "img"  # <img src>, <input type=image src>
    SRCSET = "srcset"  # <img srcset>
    PICTURE = "picture"  # <picture><source srcset>
    LAZY = "lazy"  # data-src, data-srcset and the like, for lazy-loading scripts
    NOSCRIPT = "noscript"  # any form inside <noscript>
    CSS_INLINE = "css-inline"  # a style="" attribute
    CSS_STYLE = "css-style"  # a <style> block
    CSS_LINKED = "css-linked"  # a stylesheet the page links or imports
    ICON = "icon"  # <link rel=icon> and friends
    FAVICON = "favicon"  # the implicit /favicon.ico a browser asks for when a page declares no icon
    PRELOAD = "preload"  # <link rel=preload as=image href|imagesrcset>
    POSTER = "poster"  # <video poster>
    SVG_IMAGE = "svg-image"  # SVG <image href> or <feImage href> in the page
    SVG_USE = "svg-use"  # SVG <use href> of another file: a document (a sprite sheet), whose own pictures load
    OBJECT = "object"  # <object data> or <embed src> of an image type
    BACKGROUND = "background"  # the background attribute of body, table, td, th
    META = "meta"  # og:image, twitter:image, itemprop=image
    JSON_LD = "json-ld"  # a JSON-LD image, ImageObject, thumbnailUrl or logo
    GALLERY = "gallery"  # a gallery's pictures in the data its script shows them from (Magento, Galleria…)
    LINK = "link"  # <a href> or <link rel=image_src> straight to an image
    SEED = "seed"  # a seed URL that turned out to be an image
    SITEMAP = "sitemap"  # <image:image> in a sitemap (Google's image extension)


FOUND_AS = frozenset(found.value for found in Found)


def is_picture_data(url: str) -> bool:
    """Whether a menu's URL names a data file of the page's pictures, not navigation: a gallery's
    (fgallery's data.json), or a web app manifest (its icons). By its path's last segment."""
    path = url.partition("?")[0].partition("#")[0]
    name = path[path.rfind("/") + 1:]
    return name == GALLERY_DATA_FILE or is_web_manifest(name)


def is_web_manifest(name: str) -> bool:
    """Whether a file's name is one sites give their web app manifest (site.webmanifest, manifest.json)."""
    return _WEB_MANIFEST.fullmatch(name) is not None


class Task(TypedDict):
    v: int
    id: str
    kind: str  # a Kind's value
    url: str
    depth: int  # link hops from a seed; for a stylesheet or sitemap, how deep in its chain it is
    page_url: str | None  # the page (or stylesheet) the URL was found on (None for seeds and robots.txt)
    hops: int  # redirects followed to get here
    known: dict[str, str] | None  # a re-crawl: the validators of the last fetch (VALIDATOR_KEYS), else None
    referrer_policy: str | None  # the one the page set for this image (REFERRER_POLICIES); None: the default
    cookies: int  # the version of the crawl's shared cookie jar this task needs (0: none; see node.cookies)
    wait: float  # seconds from when the node takes it to when it may start: its origin's gap ends then


class SavedImage(TypedDict):
    path: str  # relative to the output directory, with forward slashes
    sha256: str
    bytes: int
    content_type: str  # the sniffed type, e.g. image/png
    width: int | None
    height: int | None
    filename: str | None  # the name the server's Content-Disposition gave it, as sent


class InlineImage(TypedDict):
    """A picture written into a page as a data: URI, which the node saved (found_as and words as
    in Result.images)."""

    found_as: str
    alt: str
    title: str
    caption: str
    image: SavedImage


class Result(TypedDict):
    v: int
    type: Literal["result"]
    task_id: str
    node: str
    outcome: str  # an Outcome's value
    reason: str | None
    retryable: bool
    retry_after: float | None
    links: list[list[str]]  # [url, canonical] pairs of pages
    images: list[list[str]]  # [url, canonical, found_as, alt, title, caption]; words "" when there are none
    stylesheets: list[list[str]]  # [url, canonical] pairs
    sitemaps: list[list[str]]  # [url, canonical] pairs: the sitemaps a sitemap index lists
    menus: list[list[str]]  # [url, canonical] pairs: the navigation data a page or a menu names
    location: list[str] | None  # [url, canonical] of a redirect target
    image: SavedImage | None
    robots_text: str | None
    status: int | None  # HTTP status, where there was one
    withheld: int  # images on the page left out because the site opted out (X-Robots-Tag, meta robots)
    validators: dict[str, str]  # of what was fetched (VALIDATOR_KEYS): what the next re-crawl asks with
    lastmods: list[list[Any]]  # a sitemap's [canonical, POSIX time] of the pages whose <lastmod> it gives
    as_sitemap: bool  # a page task's URL was a sitemap: what it lists came back as a sitemap task's would
    referrer_policy: str | None  # the Referrer Policy a page (or stylesheet) sets for its images; None: none
    referrer_policies: list[list[str]]  # [canonical, policy] of images whose own tag sets one
    inline: list[InlineImage]  # pictures written into a page as data: URIs, saved
    inline_unsaved: dict[str, int]  # those not saved, by reason (filtered out, not an image)
    cookies: list[list[Any]]  # cookies the site set while this task ran: [domain, path, name, value, secure, expires]
    hsts: list[list[Any]]  # [host, max_age, include_subdomains] of its https answers' Strict-Transport-Security
    elapsed: float
    held: float  # seconds the node kept it back after the task ended, to send it with others
    bytes: int


class NodeEvent(TypedDict):
    v: int
    type: NodeEventType
    node: str
    threads: int
    tasks: list[str]  # ids of the tasks the node holds right now
    done: int  # tasks the node has finished so far
    python: str  # the node's Python version (a mixed cluster shows in the scheduler's log)
    instance: str  # a token each node process draws: two processes given one --node-id tell apart


def make_task_id(url_id: int, attempt: int, run: str) -> str:
    """A task's id: its URL's id in the crawl state, the attempt, and the scheduler run that sent it.

    The run matters: a scheduler killed before it committed a new URL hands the same URL id to
    another URL after --resume, so an answer to an earlier run's task must not be taken for it.
    """
    return f"{url_id}.{attempt}.{run}"


def parse_task_id(task_id: str) -> tuple[int, int, str] | None:
    """(url id, attempt, run) of a task id made by make_task_id, or None for anything else."""
    parts = task_id.split(".")
    if len(parts) != 3 or not ascii_digits(parts[0]) or not ascii_digits(parts[1]) or not parts[2]:
        return None
    return int(parts[0]), int(parts[1]), parts[2]


def make_task(task_id: str, kind: str, url: str, depth: int, page_url: str | None, hops: int,
              known: dict[str, str] | None = None, referrer_policy: str | None = None) -> Task:
    return {"v": PROTOCOL_VERSION, "id": task_id, "kind": str(kind), "url": url, "depth": depth,
            "page_url": page_url, "hops": hops, "known": known, "referrer_policy": referrer_policy, "cookies": 0,
            "wait": 0.0}


def make_result(task: Task, node: str, outcome: Outcome, **fields: Any) -> Result:
    """Return a result answering `task`; fields not given take their empty value."""
    result: Result = {
        "v": PROTOCOL_VERSION, "type": "result", "task_id": task["id"], "node": node, "outcome": str(outcome),
        "reason": None, "retryable": False, "retry_after": None, "links": [], "images": [], "stylesheets": [],
        "sitemaps": [], "menus": [], "location": None, "image": None, "robots_text": None, "status": None,
        "elapsed": 0.0, "held": 0.0, "bytes": 0, "withheld": 0, "validators": {}, "lastmods": [], "as_sitemap": False,
        "referrer_policy": None, "referrer_policies": [], "inline": [], "inline_unsaved": {}, "cookies": [],
        "hsts": [],
    }
    for key, value in fields.items():
        if key not in result:
            raise TypeError(f"make_result: unknown field {key!r}")
        result[key] = value  # type: ignore[literal-required]  # a TypedDict takes only literal keys; checked above
    return result


def result_chars(result: Mapping[str, Any]) -> int:
    """About how many characters `result` puts on the wire (what a node's batches are bounded by)."""
    refs = (result["links"], result["images"], result["stylesheets"], result["sitemaps"], result["menus"],
            result["referrer_policies"])
    return (200 + len(result["robots_text"] or "") + 400 * len(result["inline"])
            + sum(len(part) for group in refs for ref in group for part in ref)
            + (sum(len(cookie[0]) + len(cookie[1]) + len(cookie[2]) + len(cookie[3]) + 20
                   for cookie in result["cookies"]) if result["cookies"] else 0))


def make_node_event(event: NodeEventType, node: str, threads: int, tasks: list[str], done: int,
                    instance: str = "") -> NodeEvent:
    return {"v": PROTOCOL_VERSION, "type": event, "node": node, "threads": threads, "tasks": tasks,
            "done": done, "python": platform.python_version(), "instance": instance}


def _require(message: dict[str, Any], key: str, types: type | tuple[type, ...], what: str) -> Any:
    value = message.get(key)
    # bool is an int subclass: never accept it where a number is meant
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
        raise BadMessage(f"{what}: field {key!r} is {type(value).__name__}, not {_type_names(types)}")
    return value


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _type_names(types: type | tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in _as_tuple(types))


def _require_text(message: dict[str, Any], key: str, what: str, limit: int, optional: bool = False,
                  one_line: bool = False) -> None:
    value = _require(message, key, (str, type(None)) if optional else str, what)
    if value is not None and len(value) > limit:
        raise BadMessage(f"{what}: field {key!r} is longer than {limit} characters")
    if one_line and value is not None and _CONTROL.search(value):  # the scheduler logs it as it came
        raise BadMessage(f"{what}: {key} {shown(value)} is not one line of text")


def _require_node_id(message: dict[str, Any], what: str) -> None:
    node = _require(message, "node", str, what)
    if not NODE_ID.fullmatch(node):
        raise BadMessage(f"{what}: node id {shown(node)} is not letters, digits, dots, dashes and underscores "
                         "(100 at most)")


def _check_envelope(message: object, expected_type: str | None) -> dict[str, Any]:
    if not isinstance(message, dict) or message.get("v") != PROTOCOL_VERSION:
        raise BadMessage(f"not a v{PROTOCOL_VERSION} message: {shown(message)}")
    if expected_type is not None and message.get("type") != expected_type:
        raise BadMessage(f"expected a {expected_type} message, got type {shown(message.get('type'))}")
    return message


def _check_pairs(message: dict[str, Any], key: str, what: str, limit: int) -> None:
    pairs = _require(message, key, list, what)
    if len(pairs) > limit:
        raise BadMessage(f"{what}: {len(pairs)} {key}, more than {limit}")
    # The hot path of the scheduler (20 links a page): one unpacking per pair, failures sorted out after.
    try:
        for url, canonical in pairs:
            if (type(url) is not str or type(canonical) is not str
                    or len(url) > MAX_URL_CHARS or len(canonical) > MAX_URL_CHARS):
                raise TypeError
    except (TypeError, ValueError):
        bad = next((p for p in pairs if type(p) is not list or len(p) != 2 or not all(
            type(part) is str and len(part) <= MAX_URL_CHARS for part in p)), pairs)
        raise BadMessage(f"{what}: {key} entry {shown(bad)} is not a [url, canonical] pair") from None


def _check_images(message: dict[str, Any], what: str) -> None:
    entries = _require(message, "images", list, what)
    if len(entries) > MAX_REFS_PER_PAGE:
        raise BadMessage(f"{what}: {len(entries)} images, more than {MAX_REFS_PER_PAGE}")
    try:  # hot, like _check_pairs: one unpacking per entry
        for url, canonical, found_as, alt, title, caption in entries:
            if (type(url) is not str or type(canonical) is not str or found_as not in FOUND_AS
                    or len(url) > MAX_URL_CHARS or len(canonical) > MAX_URL_CHARS
                    or type(alt) is not str or type(title) is not str or type(caption) is not str
                    or len(alt) > MAX_WORDS_CHARS or len(title) > MAX_WORDS_CHARS or len(caption) > MAX_WORDS_CHARS):
                raise TypeError
    except (TypeError, ValueError):
        bad = next((e for e in entries if not _is_image_entry(e)), entries)
        raise BadMessage(f"{what}: images entry {shown(bad)} is not [url, canonical, found_as, alt, title, "
                         "caption]") from None


def _is_image_entry(entry: object) -> bool:
    return (type(entry) is list and len(entry) == 6 and all(type(part) is str for part in entry)
            and all(len(part) <= MAX_URL_CHARS for part in entry[:2]) and entry[2] in FOUND_AS
            and all(len(part) <= MAX_WORDS_CHARS for part in entry[3:]))


def read_task(message: object) -> Task:
    """Return `message` as a Task, or raise BadMessage saying what is wrong with it."""
    task = _check_envelope(message, None)
    _require_text(task, "id", "task", MAX_TEXT_CHARS)
    what = f"task {task['id'][:40]!r}"  # a str now: cheap to show (this runs for every message)
    if task.get("kind") not in TASK_KINDS:
        raise BadMessage(f"{what}: unknown kind {shown(task.get('kind'))}")
    _require_text(task, "url", what, MAX_URL_CHARS)
    _require_text(task, "page_url", what, MAX_URL_CHARS, optional=True)
    _require(task, "depth", int, what)
    _require(task, "hops", int, what)
    known = _require(task, "known", (dict, type(None)), what)
    if known is not None:
        _check_validators(known, what)
    _check_referrer_policy(task, what)
    if _require(task, "cookies", int, what) < 0:
        raise BadMessage(f"{what}: cookies is negative")
    if not 0 <= _require(task, "wait", (int, float), what) <= MAX_TASK_WAIT_SECONDS:  # NaN fails too
        raise BadMessage(f"{what}: wait is not a number of seconds up to {MAX_TASK_WAIT_SECONDS:g}")
    return task  # type: ignore[return-value]  # every field was checked above


def _check_referrer_policy(message: dict[str, Any], what: str) -> None:
    policy = message.get("referrer_policy")
    if policy is not None and (type(policy) is not str or policy not in REFERRER_POLICIES):
        raise BadMessage(f"{what}: referrer_policy {shown(policy)} is none of the Referrer Policy spec's")


def read_chain(message: object) -> list[Task]:
    """Return what the desk handed out as the tasks to run one after another: a task alone, or a
    chain (a list of 2 to MAX_CHAIN_TASKS tasks); raise BadMessage for anything else."""
    if type(message) is not list:
        return [read_task(message)]
    if not 2 <= len(message) <= MAX_CHAIN_TASKS:
        raise BadMessage(f"a chain of {len(message)} tasks (2 to {MAX_CHAIN_TASKS})")
    return [read_task(task) for task in message]


def read_result(message: dict[str, Any]) -> Result:
    """Return `message` as a Result, or raise BadMessage saying what is wrong with it."""
    result = _check_envelope(message, "result")
    _require_text(result, "task_id", "result", MAX_TEXT_CHARS)
    what = f"result for task {result['task_id'][:40]!r}"  # a str now: cheap to show
    _require_node_id(result, what)
    if result.get("outcome") not in OUTCOMES:
        raise BadMessage(f"{what}: unknown outcome {shown(result.get('outcome'))}")
    _require_text(result, "reason", what, MAX_TEXT_CHARS, optional=True, one_line=True)
    _require(result, "retryable", bool, what)
    retry_after = _require(result, "retry_after", (int, float, type(None)), what)
    if retry_after is not None and not 0 <= retry_after < float("inf"):  # NaN fails too
        raise BadMessage(f"{what}: retry_after {shown(retry_after)} is no time to wait")
    _check_pairs(result, "links", what, MAX_REFS_PER_PAGE)
    _check_images(result, what)
    _check_pairs(result, "stylesheets", what, MAX_REFS_PER_PAGE)
    _check_pairs(result, "sitemaps", what, MAX_REFS_PER_PAGE)
    _check_pairs(result, "menus", what, MAX_REFS_PER_PAGE)
    location = _require(result, "location", (list, type(None)), what)
    if location is not None:
        _check_pairs({"location": [location]}, "location", what, 1)
    _require_text(result, "robots_text", what, MAX_ROBOTS_CHARS, optional=True)
    _require(result, "status", (int, type(None)), what)
    _require(result, "elapsed", (int, float), what)
    if not 0 <= _require(result, "held", (int, float), what) < 3600:  # NaN fails too; MAX_HELD_SECONDS of it count
        raise BadMessage(f"{what}: held is not a number of seconds")
    _require(result, "bytes", int, what)
    if _require(result, "withheld", int, what) < 0:
        raise BadMessage(f"{what}: withheld is negative")
    image = _require(result, "image", (dict, type(None)), what)
    if image is not None:
        _read_saved_image(image, what)
    _check_validators(_require(result, "validators", dict, what), what)
    _require(result, "as_sitemap", bool, what)
    lastmods = _require(result, "lastmods", list, what)
    if len(lastmods) > MAX_REFS_PER_PAGE or not all(
            type(entry) is list and len(entry) == 2 and type(entry[0]) is str and len(entry[0]) <= MAX_URL_CHARS
            and type(entry[1]) in (int, float) for entry in lastmods):
        raise BadMessage(f"{what}: lastmods is not a list of [canonical, time] pairs")
    _check_referrer_policy(result, what)
    policies = result.get("referrer_policies")
    if type(policies) is not list or (policies and (len(policies) > MAX_REFS_PER_PAGE or not all(
            type(entry) is list and len(entry) == 2 and type(entry[0]) is str and len(entry[0]) <= MAX_URL_CHARS
            and entry[1] in REFERRER_POLICIES for entry in policies))):  # most results have none: checked at once
        raise BadMessage(f"{what}: referrer_policies is not a list of [canonical, policy] pairs")
    _check_inline(result, what)
    cookies = result.get("cookies")
    if type(cookies) is not list or (cookies and not (len(cookies) <= MAX_COOKIES_PER_RESULT
                                                      and all(is_cookie(entry) for entry in cookies))):
        raise BadMessage(f"{what}: cookies is not a list of at most {MAX_COOKIES_PER_RESULT} "
                         "[domain, path, name, value, secure, expires]")
    hsts = result.get("hsts")
    if type(hsts) is not list or (hsts and not (len(hsts) <= MAX_HSTS_PER_RESULT and all(
            type(entry) is list and len(entry) == 3 and type(entry[0]) is str and 0 < len(entry[0]) <= MAX_HOST_CHARS
            and type(entry[1]) is int and 0 <= entry[1] < 10**12 and type(entry[2]) is bool for entry in hsts))):
        raise BadMessage(f"{what}: hsts is not a list of at most {MAX_HSTS_PER_RESULT} "
                         "[host, max_age, include_subdomains]")
    return result  # type: ignore[return-value]  # every field was checked above


def is_cookie(entry: object) -> bool:
    """True for [domain, path, name, value, secure, expires] within a browser's bounds (expires: a
    POSIX time, or None for a cookie of the session)."""
    if type(entry) is not list or len(entry) != 6:
        return False
    domain, path, name, value, secure, expires = entry
    return (type(domain) is str and 0 < len(domain) <= MAX_HOST_CHARS and type(path) is str
            and len(path) <= MAX_COOKIE_PATH_CHARS and type(name) is str and type(value) is str
            and 0 < len(name) + len(value) <= MAX_COOKIE_CHARS and type(secure) is bool
            and (expires is None or type(expires) is int))


_INLINE_KEYS = ("found_as", "alt", "title", "caption", "image")
_MAX_UNSAVED_REASONS = 20  # the reasons filter_reason and identify give are fewer


def _check_inline(result: dict[str, Any], what: str) -> None:
    entries, unsaved = result.get("inline"), result.get("inline_unsaved")
    if type(entries) is list and not entries and type(unsaved) is dict and not unsaved:
        return  # most pages have none: this runs for every result
    entries = _require(result, "inline", list, what)
    if len(entries) > MAX_INLINE_IMAGES:
        raise BadMessage(f"{what}: {len(entries)} inline images, more than {MAX_INLINE_IMAGES}")
    for entry in entries:
        if (type(entry) is not dict or len(entry) != len(_INLINE_KEYS) or entry.get("found_as") not in FOUND_AS
                or not all(type(entry.get(key)) is str and len(entry[key]) <= MAX_WORDS_CHARS
                           for key in ("alt", "title", "caption"))):
            raise BadMessage(f"{what}: inline entry {shown(entry)} is not {{{', '.join(_INLINE_KEYS)}}}")
        _read_saved_image(_require(entry, "image", dict, what), what)
    unsaved = _require(result, "inline_unsaved", dict, what)
    if len(unsaved) > _MAX_UNSAVED_REASONS or not all(
            type(reason) is str and len(reason) <= MAX_TEXT_CHARS and type(count) is int and 0 < count
            <= MAX_INLINE_IMAGES for reason, count in unsaved.items()):
        raise BadMessage(f"{what}: inline_unsaved {shown(unsaved)} is not a few reasons with their counts")


def _check_validators(validators: dict[str, Any], what: str) -> None:
    if not all(key in VALIDATOR_KEYS and type(value) is str and len(value) <= MAX_TEXT_CHARS
               for key, value in validators.items()):
        raise BadMessage(f"{what}: validators {shown(validators)} are not {'/'.join(VALIDATOR_KEYS)} texts")
    max_age = validators.get("max_age")
    if max_age is not None and not (ascii_digits(max_age) and len(max_age) <= 9):  # a year is 8 digits
        raise BadMessage(f"{what}: max_age {shown(max_age)} is not a number of seconds")


def _read_saved_image(image: dict[str, Any], what: str) -> None:
    _require_text(image, "path", what, 1024)
    _require_text(image, "sha256", what, 64)
    _require_text(image, "content_type", what, MAX_TEXT_CHARS)
    _require(image, "bytes", int, what)
    _require(image, "width", (int, type(None)), what)
    _require(image, "height", (int, type(None)), what)
    filename = _require(image, "filename", (str, type(None)), what)
    if filename is not None and len(filename) > MAX_TEXT_CHARS:
        raise BadMessage(f"{what}: image filename of {len(filename)} characters, more than {MAX_TEXT_CHARS}")
    path = image["path"]
    # Plain and relative; the scheduler accepts only the exact path it assigns (results.py).
    if path.startswith("/") or "\\" in path or any(part in ("", ".", "..") for part in path.split("/")):
        raise BadMessage(f"{what}: image path {shown(path)} is not a plain relative path")


def read_node_event(message: dict[str, Any]) -> NodeEvent:
    """Return `message` as a NodeEvent, or raise BadMessage."""
    event = _check_envelope(message, None)
    if event.get("type") not in NODE_EVENTS:
        raise BadMessage(f"unknown message type {shown(event.get('type'))}")
    _require_node_id(event, str(event["type"]))
    what = f"{event['type']} from node {event['node']}"
    _require(event, "threads", int, what)
    _require(event, "done", int, what)
    _require_text(event, "python", what, 40, optional=True, one_line=True)
    _require_text(event, "instance", what, 40, optional=True, one_line=True)
    tasks = _require(event, "tasks", list, what)
    if len(tasks) > MAX_TASK_IDS or not all(isinstance(t, str) and len(t) <= MAX_TEXT_CHARS for t in tasks):
        raise BadMessage(f"{what}: tasks is not a list of task ids")
    return event  # type: ignore[return-value]  # every field was checked above


def read_message(message: object) -> Result | NodeEvent:
    """Return a result-queue message as a Result or a NodeEvent, or raise BadMessage."""
    envelope = _check_envelope(message, None)
    if envelope.get("type") == "result":
        return read_result(envelope)
    return read_node_event(envelope)
