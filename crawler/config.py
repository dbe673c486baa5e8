"""Every setting of a crawl, each default once with its unit and the reason for it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler import __version__
from crawler.errors import ConfigError
from crawler.messages import NODE_ID
from crawler.units import LONGEST_SECONDS, seconds_option

DEFAULT_USER_AGENT = f"queue-crawler/{__version__} (+https://github.com/queue-crawler/queue-crawler)"

# Image types we save. SVG is one: browsers show it everywhere (icons, logos, flags). It is XML
# that may carry scripts, so it is checked with an entity-safe parse, stored as-is, never
# rendered by the crawler, and shown in the gallery only through <img>, where scripts do not run.
RASTER_TYPES = ("jpeg", "png", "gif", "webp", "bmp", "tiff", "ico", "avif", "jxl", "heic")
ALL_TYPES = RASTER_TYPES + ("svg",)
SRCSET_CHOICES = ("all", "largest")  # --srcset
# What a node holds per fetcher thread (tasks, or chains: a chain holds one fetcher however long),
# and the tasks the scheduler keeps queued for it: enough that every thread stays busy while the
# next batch of tasks is on its way.
TASKS_HELD_PER_THREAD = 2


_LONGEST = seconds_option(LONGEST_SECONDS)


def _require(condition: bool, message: str) -> None:
    """Refuse a setting that cannot work, with a sentence naming the option (never silently changed)."""
    if not condition:
        raise ConfigError(message)


def header_value_fault(value: str) -> str | None:
    """Why `value` cannot go as an HTTP header's value, or None. http.client sends a value as Latin-1
    text and requests refuses a line break or a leading space; a control character is no field
    content (RFC 9110). Each was taken, and every request of the crawl failed, said as bad-url."""
    if value[:1] in (" ", "\t"):
        return "cannot begin with a space"
    for char in value:
        if char in "\r\n":
            return "cannot hold a line break"
        if (char < " " and char != "\t") or char == "\x7f":
            return f"cannot hold the control character {char!r}"
        if ord(char) > 0xFF:
            return f"cannot hold {char!r}: a header goes as Latin-1 text, which has no such character"
    return None


@dataclass(frozen=True)
class FetchLimits:
    """Bounds on one download, applied by every crawler node (sent to nodes by the scheduler)."""

    connect_seconds: float = 10.0  # TCP connect; a host that takes longer is as good as down
    read_seconds: float = 20.0  # silence between two reads of the body
    total_seconds: float = 60.0  # whole download, so a server that drips bytes cannot hold a thread
    max_page_bytes: int = 5 * 1024 * 1024  # pages beyond this are cut and parsed as far as they go
    max_image_bytes: int = 20 * 1024 * 1024  # images beyond this are refused as too-large
    max_redirects: int = 5  # hops in one redirect chain; each hop is a new task the scheduler vets
    max_image_pixels: int = 100_000_000  # declared width*height beyond this is a decompression bomb
    user_agent: str = DEFAULT_USER_AGENT
    # A transfer slower than this on average over min_speed_seconds is cut as too-slow (curl's
    # --speed-limit/--speed-time): a server that drips bytes holds a host slot 10 s, not --timeout.
    min_bytes_per_second: int = 1024  # 0: no minimum
    min_speed_seconds: float = 10.0
    # A site's opt-outs (X-Robots-Tag noimageindex/noai, <meta name=robots>, rel=nofollow); off
    # only with --ignore-robots, with robots.txt.
    honour_opt_outs: bool = True

    def __post_init__(self) -> None:
        # Each is a thread's wait on a node, which rebuilds these from the scheduler's message.
        _require(0 < self.total_seconds <= LONGEST_SECONDS,
                 f"--timeout must be more than 0 seconds and at most {_LONGEST}, got {self.total_seconds:g}")
        _require(0 < self.connect_seconds <= LONGEST_SECONDS and 0 < self.read_seconds <= LONGEST_SECONDS,
                 f"connect and read timeouts must be more than 0 and at most {_LONGEST}")
        _require(self.max_page_bytes > 0, f"--max-page-bytes must be more than 0, got {self.max_page_bytes}")
        _require(self.max_image_bytes > 0, f"--max-image-bytes must be more than 0, got {self.max_image_bytes}")
        _require(self.max_redirects >= 0, "max_redirects cannot be negative")
        _require(self.min_bytes_per_second >= 0, "--min-speed cannot be negative")
        _require(self.user_agent.strip() != "", "--user-agent is empty (an unset shell variable?); leave the option "
                 "out for the default, which names the crawler and its version")
        agent_fault = header_value_fault(self.user_agent)
        _require(agent_fault is None, f"--user-agent {agent_fault}")
        _require(0 < self.min_speed_seconds <= LONGEST_SECONDS,
                 f"--min-speed-time must be more than 0 and at most {_LONGEST}, got {self.min_speed_seconds:g}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FetchLimits:
        """Rebuild from `to_dict()` output received over the wire; unknown keys are an error."""
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"unknown fetch limits {sorted(unknown)}")
        return cls(**data)


@dataclass(frozen=True)
class RequestOptions:
    """What every request carries besides our User-Agent: extra headers, cookies, basic auth per host.

    Sent to the nodes on the bulletin, over the manager socket (authenticated, not encrypted).
    """

    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[tuple[str, str, str, str, bool], ...] = ()  # (domain, path, name, value, secure): a cookies.txt
    basic_auth: tuple[tuple[str, str, str], ...] = ()  # (host, user, password), from --auth-file
    check_certificates: bool = True  # off with --no-check-certificate, as wget's and curl's -k

    def __post_init__(self) -> None:
        for name, value in self.headers:
            fault = header_value_fault(value)
            _require(fault is None, f"--header {name}: a value {fault}")

    def to_dict(self) -> dict[str, Any]:
        return {"headers": [list(h) for h in self.headers], "cookies": [list(c) for c in self.cookies],
                "basic_auth": [list(a) for a in self.basic_auth], "check_certificates": self.check_certificates}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequestOptions:
        return cls(headers=tuple((str(n), str(v)) for n, v in data.get("headers", [])),
                   # secure unless a plain False says otherwise: a cookie is never sent in clear by mistake
                   cookies=tuple((str(d), str(p), str(n), str(v), s is not False)
                                 for d, p, n, v, s in data.get("cookies", [])),
                   basic_auth=tuple((str(h), str(u), str(p)) for h, u, p in data.get("basic_auth", [])),
                   check_certificates=data.get("check_certificates") is not False)  # only a plain False turns it off


@dataclass(frozen=True)
class ImageFilter:
    """Which verified images are worth saving; the rest are recorded as skipped."""

    min_bytes: int = 0
    min_width: int = 0
    min_height: int = 0
    types: tuple[str, ...] = ALL_TYPES
    srcset: str = "all"  # of an image's srcset candidates (and its src): "all", or "largest" alone

    def __post_init__(self) -> None:
        _require(self.srcset in SRCSET_CHOICES, f"srcset must be one of {', '.join(SRCSET_CHOICES)}")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["types"] = list(self.types)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageFilter:
        return cls(
            min_bytes=int(data["min_bytes"]),
            min_width=int(data["min_width"]),
            min_height=int(data["min_height"]),
            types=tuple(str(t) for t in data["types"]),
            srcset=str(data["srcset"]),
        )


@dataclass(frozen=True)
class Scope:
    """Which URLs belong to the crawl: the seeds' hosts (and their www twins), allowed domains, minus deny patterns."""

    seed_hosts: frozenset[str] = frozenset()
    allow_domains: tuple[str, ...] = ()  # a domain admits itself and its subdomains
    deny_patterns: tuple[str, ...] = ()  # regular expressions searched in the canonical URL
    # Images and stylesheets are fetched from any host an in-scope page points at (sites keep
    # them on CDNs); True restricts them to the pages' scope, as before.
    same_host_images: bool = False
    accept_patterns: tuple[str, ...] = ()  # pages must match one of these (when any are given)
    parent_prefixes: tuple[str, ...] = ()  # --no-parent: a page on a seed's origin stays under a seed's folder
    read_sitemaps: bool = True  # the sitemaps robots.txt lists (else /sitemap.xml) add pages and images
    sitemaps_only: bool = False  # pages come from sitemaps (and the seeds) only: links are not followed

    def __post_init__(self) -> None:
        _require(self.read_sitemaps or not self.sitemaps_only,
                 "--sitemaps-only and --no-sitemaps contradict each other")


@dataclass(frozen=True)
class Limits:
    """When a crawl stops early; None means no limit."""

    max_depth: int | None = None  # link hops from a seed; images of a page at the limit still count
    max_pages: int | None = None  # pages admitted to the crawl, seeds included
    max_images: int | None = None  # images saved
    max_seconds: float | None = None  # wall time of this scheduler run
    max_bytes: int | None = None  # bytes of images saved (wget's --quota): those in flight still land

    def __post_init__(self) -> None:
        _require(self.max_depth is None or self.max_depth >= 0, "--max-depth cannot be negative")
        for option, value in (("--max-pages", self.max_pages), ("--max-images", self.max_images),
                              ("--max-time", self.max_seconds), ("--max-bytes", self.max_bytes)):
            _require(value is None or value > 0, f"{option} must be more than 0 (leave it out for no limit), got 0")


@dataclass(frozen=True)
class Politeness:
    """How hard one host is pressed; enforced by the scheduler, so it holds for any number of nodes."""

    delay_seconds: float = 0.5  # gap between two dispatches to one host; robots Crawl-delay raises it
    per_host: int = 2  # tasks in flight to one host at once
    obey_robots: bool = True
    max_crawl_delay_seconds: float = 60.0  # a larger robots Crawl-delay is capped here, with a warning
    max_retry_after_seconds: float = 300.0  # a larger Retry-After is capped here

    def __post_init__(self) -> None:
        _require(self.per_host >= 1, f"--per-host must be at least 1 (requests in flight to one host), "
                                     f"got {self.per_host}")
        _require(self.delay_seconds >= 0, f"--delay cannot be negative, got {self.delay_seconds:g}")


@dataclass(frozen=True)
class SchedulerConfig:
    """Everything `crawler scheduler` needs."""

    output_dir: Path
    authkey: bytes
    listen_host: str = "127.0.0.1"
    listen_port: int = 0  # 0 asks the OS for a free port; the chosen one is printed
    seeds: tuple[str, ...] = ()
    scope: Scope = field(default_factory=Scope)
    limits: Limits = field(default_factory=Limits)
    politeness: Politeness = field(default_factory=Politeness)
    fetch: FetchLimits = field(default_factory=FetchLimits)
    image_filter: ImageFilter = field(default_factory=ImageFilter)
    request: RequestOptions = field(default_factory=RequestOptions)
    max_attempts: int = 3  # tries of one URL before it is recorded as failed
    backoff_seconds: float = 2.0  # first retry delay; doubles with each attempt
    lease_seconds: float | None = None  # None: derived from the fetch limits (see lease_for)
    resume: bool = False
    fresh: bool = False
    recrawl: bool = False  # a new run of a crawl: everything known is asked again, conditionally
    recrawl_older_than_seconds: float | None = None  # only what was last fetched longer ago than this
    recrawl_fresh: bool = False  # ask too for what the server said is still fresh (max-age, Expires)
    prune: bool = False  # a re-crawl deletes the files of images that are gone (404/410)
    state_url: str | None = None  # redis://HOST:PORT/DB: the crawl's state in Redis; None: SQLite in the output
    crawl_name: str | None = None  # the crawl's name in that Redis
    node_timeout_seconds: float = 15.0  # a node silent this long is taken as dead; its tasks go back
    progress_seconds: float = 5.0  # how often a progress line is logged
    storage_pause_seconds: float = 30.0  # image tasks wait this long after a node could not write

    def __post_init__(self) -> None:
        _require(self.max_attempts >= 1, f"--max-attempts must be at least 1, got {self.max_attempts}")
        _require(self.lease_seconds is None or self.lease_seconds > 0,
                 f"--lease-seconds must be more than 0, got {self.lease_seconds}")
        _require(self.node_timeout_seconds > 0,
                 f"--node-timeout must be more than 0, got {self.node_timeout_seconds:g}")
        _require(self.storage_pause_seconds >= 0, "--storage-pause cannot be negative")
        _require(self.recrawl or (self.recrawl_older_than_seconds is None and not self.prune
                                  and not self.recrawl_fresh),
                 "--recrawl-older-than, --recrawl-fresh and --prune go with --recrawl")
        _require(not (self.recrawl and self.fresh), "--recrawl checks an earlier crawl again; --fresh forgets it")
        _require(self.state_url is None or self.state_url.startswith(("redis://", "rediss://", "unix://")),
                 f"--state {self.state_url}: give a Redis URL, redis://HOST:PORT/DB (rediss:// with TLS)")
        _require((self.state_url is None) == (self.crawl_name is None),
                 "--state and --crawl go together: --state redis://HOST:PORT/DB --crawl NAME")

    def lease_for(self) -> float:
        """Seconds a dispatched task may take before it is handed to another node."""
        if self.lease_seconds is not None:
            return self.lease_seconds
        # A slow but honest download takes at most total_seconds; add time for queueing,
        # parsing or verifying, and saving to a slow shared disk.
        return self.fetch.total_seconds * 2 + 30.0


# A fetcher thread is a request in flight. At about 1 ms of CPU a request, one process (one GIL)
# does some 1,000 requests a second: more threads than that only wait, and 20,000 in each of
# `crawler run`'s two workers took the whole machine's threads (pid_max is often 32,768): no
# process on it could start one, the scheduler included.
MAX_THREADS = 1024
# A worker process is a Python interpreter (some 40-50 MB) that parses on one core: a machine's
# worth is one or two a core, and `crawler run --workers 100000` forked until it was killed,
# saying nothing. For more, more machines.
MAX_PROCESSES = 256
PROCESSES_BOUND = (f"at most {MAX_PROCESSES} worker processes on one machine (each a Python process that parses on "
                   "a core); for more, start nodes on more machines")


@dataclass(frozen=True)
class WorkerConfig:
    """Everything `crawler worker` needs; the crawl's own settings come from the scheduler."""

    host: str
    port: int
    authkey: bytes
    threads: int = 8
    output_dir: Path | None = None  # None: the path the scheduler announces
    node_id: str = ""
    reconnect_seconds: float = 60.0  # how long to keep retrying a lost scheduler before giving up
    heartbeat_seconds: float = 2.0
    processes: int = 1  # worker processes of this node (one per core, so parsing uses them all)
    # Other schedulers of the same crawl (--connect A:PORT,B:PORT): tried in turn when one is lost
    alternates: tuple[tuple[str, int], ...] = ()

    def addresses(self) -> list[tuple[str, int]]:
        return [(self.host, self.port), *self.alternates]

    def __post_init__(self) -> None:
        _require(self.threads >= 1, f"--threads must be at least 1, got {self.threads}")
        _require(self.threads <= MAX_THREADS, f"--threads {self.threads}: at most {MAX_THREADS} fetcher threads a "
                 "worker process (one process's CPU makes about 1,000 requests a second: more threads only wait); for "
                 "more requests at once, --processes N or more nodes")
        _require(self.processes >= 1, f"--processes must be at least 1, got {self.processes}")
        _require(self.processes <= MAX_PROCESSES, f"--processes {self.processes}: {PROCESSES_BOUND}")
        _require(not self.node_id or (len(self.node_id) <= 64 and NODE_ID.fullmatch(self.node_id) is not None),
                 f"--node-id {self.node_id!r}: use 1 to 64 letters, digits, dots, dashes or underscores, "
                 "beginning with a letter or digit")
        _require(self.reconnect_seconds >= 0, "--reconnect-seconds cannot be negative")
