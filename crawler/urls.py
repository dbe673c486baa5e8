"""Canonical URLs (the dedup key) and scope rules.

Canonical form, built on w3lib's `canonicalize_url` (the rules Scrapy uses): scheme and host
lower-cased, IDN hosts in punycode, the default port (80/443) and the fragment dropped, dot
segments resolved, percent-encoding normalised, query arguments sorted, an empty path made `/`;
and, as Heritrix's canonicalization does, session ids left out (see _SESSION_ARGUMENT). Only http
and https URLs have a canonical form; anything else is not crawlable.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import re
from collections import Counter
from typing import NamedTuple
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, safe_url_string

from crawler.config import Scope
from crawler.messages import MAX_URL_CHARS, REFERRER_POLICIES

CRAWLABLE_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
# HTML attribute values may carry spaces, tabs and newlines around (and, wrongly, inside) a URL.
_STRIP_CHARS = " \t\n\r\f\v"
_INNER_WHITESPACE = re.compile(r"[\t\n\r]")
# C0 and C1 control characters, which a browser's URL parser percent-encodes (tab, CR and LF it
# drops first): kept raw in a URL (or in words, which drop them), a page's or a server's could reach
# a terminal as an escape sequence.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def encode_controls(text: str) -> str:
    """`text` with its control characters percent-encoded as UTF-8 (an ESC becomes "%1B")."""
    if text.isprintable():  # a test in C, for the URLs that have none (nearly all)
        return text
    return CONTROL_CHARACTERS.sub(_percent_encoded, text)


def _percent_encoded(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group().encode())


def absolute(base: str, ref: str) -> str | None:
    """Return `ref` resolved against `base` if it is an http(s) URL, else None."""
    ref = encode_controls(_INNER_WHITESPACE.sub("", ref.strip(_STRIP_CHARS)))
    if not ref:
        return None
    ref = slashes_as_read(ref)
    if _resolves_to_itself(ref):
        return ref  # what resolving it would give back: the common case, at a regular expression's cost
    if len(ref) > _MAX_JOINED_CHARS or _KEEPS_THE_BASE_PATH.match(ref):
        return _joined(base, ref)
    # Any other reference resolves the same against the base's folder, which the pages of a folder
    # share: their common links (a menu, a logo, ../_static/…) are resolved once, not on every page.
    return _joined_in_folder(_folder_of(base), ref)


# Before a host the URL standard skips any number of slashes (in an http(s) URL, or one relative to
# the page's scheme): urljoin took the third as the start of the page host's path
_EXTRA_SLASHES = re.compile(r"^((?:https?:)?)/{3,}", re.IGNORECASE)


def slashes_as_read(ref: str) -> str:
    """A reference's (or a Location's) slashes as a browser reads them: a backslash before its
    query is a slash, and three or more slashes before a host are two ("///cdn.example/x.png", a
    template's "/" + "//cdn.example/…", names cdn.example)."""
    if "\\" in ref:
        ref = backslashes_as_slashes(ref)
    if "///" in ref[:9]:
        ref = _EXTRA_SLASHES.sub(r"\1//", ref, count=1)
    return ref


# In an http(s) URL the URL standard reads a backslash before the query as a slash: pages written
# on Windows name `images\photo.jpg`, `..\img\a.png` or `\\cdn.example\x.png`, and a browser asks
# for images/photo.jpg, ../img/a.png and //cdn.example/x.png. Sent as written, each was a 404 (or
# resolved into the page's own folder).
_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:")


def backslashes_as_slashes(ref: str) -> str:
    """`ref` with each backslash before its query or fragment read as a slash, unless it names a
    scheme other than http(s), where a backslash is only a character."""
    scheme = _SCHEME.match(ref)
    if scheme and scheme.group()[:-1].lower() not in CRAWLABLE_SCHEMES:
        return ref
    end = min((at for at in (ref.find("?"), ref.find("#")) if at >= 0), default=len(ref))
    return ref[:end].replace("\\", "/") + ref[end:]


_MAX_JOINED_CHARS = 2048  # longer references are resolved each time, not kept
# An absolute http(s) URL as seed lists and most absolute links write it resolves to itself (urljoin
# leaves the dot segments of a reference with a host alone): a lower-case scheme, a host of letters,
# digits, dots and dashes, a port, and a path and a query of characters nothing rewrites. Not a
# ";" in the path (urljoin drops one that ends it), an empty "?" or a "#" (they go), nor an upper-case
# scheme (lowered): those take the long way. tests/test_urls.py checks this against _joined.
_PLAIN_ABSOLUTE = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~!$&'()*+,=:@%/-]*)?"
                             r"(?:\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]+)?")


def _resolves_to_itself(ref: str) -> bool:
    """Whether `ref` is a plain absolute URL, which resolving gives back as it is (see _PLAIN_ABSOLUTE)."""
    return len(ref) <= MAX_URL_CHARS and _PLAIN_ABSOLUTE.fullmatch(ref) is not None


# A reference with neither a path nor a host ("", "?q", "#f", "http:") keeps the base's whole path.
_KEEPS_THE_BASE_PATH = re.compile(rf"(?:{_SCHEME.pattern})?(?://)?(?=[?#]|$)")


@functools.lru_cache(maxsize=256)
def _folder_of(base: str) -> str:
    """`base` cut after the last "/" of its path (query and fragment dropped), or `base` itself
    where it has no path."""
    try:
        parts = urlsplit(base)
    except ValueError:
        return base
    if not parts.path.startswith("/") or not parts.netloc:
        return base
    return urlunsplit((parts.scheme, parts.netloc, parts.path[:parts.path.rfind("/") + 1], "", ""))


def join(base: str, ref: str) -> str:
    """`ref` resolved against `base` as a browser resolves it: urljoin, but a path keeps its empty
    segments (CPython's urljoin drops them, gh-84774: `a//b.png` against /x/ gave /x/a/b.png, where
    a browser asks for /x/a//b.png), and "?" empties the query. Raises ValueError as urljoin does."""
    if ref[:1] == "?":  # a query alone replaces the base's, an empty one too (urljoin kept it: gh-76960)
        reference = urlsplit(ref)
        return urlunsplit(urlsplit(base)._replace(query=reference.query, fragment=reference.fragment))
    url = urljoin(base, ref)
    if "//" not in ref and "//" not in base[base.find("//") + 2:]:
        return url  # no empty segment anywhere: urljoin's is the browser's (the common case, at two finds' cost)
    reference = urlsplit(ref)
    if reference.scheme or reference.netloc or not reference.path:
        return url  # urljoin drops no segment of these
    if reference.path.startswith("/"):
        merged = reference.path  # urljoin keeps its empty segments, but not one a ".." reaches: /..//b
    else:
        base_path = urlsplit(base).path or "/"  # RFC 3986 5.2.3: an empty base path with a host merges as "/"
        merged = base_path[:base_path.rfind("/") + 1] + reference.path
    return urlunsplit(urlsplit(url)._replace(path=_without_dot_segments(merged)))


def _without_dot_segments(path: str) -> str:
    """An absolute path with its "." and ".." segments resolved (RFC 3986 5.2.4), its empty ones kept."""
    segments = path.split("/")[1:]
    kept: list[str] = []
    for number, segment in enumerate(segments, 1):
        if segment in (".", ".."):
            if segment == ".." and kept:
                kept.pop()
            if number == len(segments):
                kept.append("")  # "a/." and "a/b/..": the folder, with its slash
        else:
            kept.append(segment)
    return "/" + "/".join(kept)


def _joined(base: str, ref: str) -> str | None:
    """`ref` (stripped) resolved against `base` if that makes an http(s) URL, else None."""
    try:
        url = join(base, ref)
        parts = urlsplit(url)
    except ValueError:  # e.g. an invalid IPv6 literal in the host
        return None
    if parts.scheme.lower() not in CRAWLABLE_SCHEMES or not parts.hostname or len(url) > MAX_URL_CHARS:
        return None
    return urlunsplit(parts._replace(fragment=""))


_joined_in_folder = functools.lru_cache(maxsize=8192)(_joined)


# What the URL standard forbids in a host (its "forbidden host code points", less ":" of an IPv6
# address): a browser refuses such a URL, and no name server knows such a host.
_FORBIDDEN_IN_A_HOST = re.compile(r"[\x00-\x20#/<>?@\[\\\]^|\x7f]")


@functools.lru_cache(maxsize=65_536)  # a site links the same URLs from page after page
def canonical(url: str) -> str | None:
    """Return the dedup key of an absolute http(s) URL, or None if it is not crawlable."""
    if _is_its_own_key(url):
        return url
    try:
        parts = urlsplit(url.strip(_STRIP_CHARS))
        host = parts.hostname  # a property that parses the netloc each time it is read
        if parts.scheme.lower() not in CRAWLABLE_SCHEMES or not host or _FORBIDDEN_IN_A_HOST.search(host):
            return None
        port = parts.port  # raises ValueError on a port out of range
        if port == 0:  # no server listens there; urllib3 reads it as none given and went to port 80 (443)
            return None
        # a host that may end in a number (the test spares a name the call): an IPv4 address
        address = _ipv4_of(host) if host[-1].isdigit() or host[-1] == "." or "0x" in host else None
        if address is not None and address != host:
            parts = _with_host(parts, address, port)
        if _may_hold_a_session_id(url):  # before dot segments are resolved: "..;jsessionid=1" is ".."
            parts = _without_session_ids(parts)
        key = canonicalize_url(urlunsplit(parts), keep_fragments=False)
        if _may_hold_a_session_id(key):  # and after percent-encoding is: "%73id=" is "sid="
            key = urlunsplit(_without_session_ids(urlsplit(key)))
    except (ValueError, UnicodeError):
        return None
    parts = urlsplit(key)
    if port is not None and port == DEFAULT_PORTS[parts.scheme]:
        parts = _with_host(parts, parts.hostname or "", None)
    if not parts.path:
        parts = parts._replace(path="/")
    key = urlunsplit(parts)
    return key if len(key) <= MAX_URL_CHARS else None


# A URL already in canonical form, as most in seed lists and pages are: a lower-case scheme and host
# (a name, or an address as a dotted quad), no port or another than the scheme's, a path of characters
# canonicalize_url leaves as they are (no "%", ";" or "="), no query, fragment or dot segment. It is
# its own key, at a regular expression's cost (1 us, where the long way takes 40: a list of a
# million seeds is keyed twice before the first request). tests/test_urls.py checks this against
# the long way.
_CANONICAL_ALREADY = re.compile(r"(https?)://([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::([1-9][0-9]{0,4}))?"
                                r"/[A-Za-z0-9._~!$&'()*+,:@/-]*")


def _is_its_own_key(url: str) -> bool:
    """Whether `url` is already in canonical form (see _CANONICAL_ALREADY)."""
    plain = _CANONICAL_ALREADY.fullmatch(url)
    if plain is None or len(url) > MAX_URL_CHARS or "/." in url or "sessionid" in url.lower():
        return False
    scheme, host, port = plain.groups()
    if (host[-1].isdigit() and not _DOTTED_QUAD.fullmatch(host)) or "0x" in host:  # 127.1, 0x7f.1: rewritten
        return False
    return port is None or (int(port) <= 65_535 and int(port) != DEFAULT_PORTS[scheme])


def _with_host(parts: SplitResult, host: str, port: int | None) -> SplitResult:
    """`parts` with this host and port (None: none written), its user info as it was."""
    userinfo, at, _ = parts.netloc.rpartition("@")
    shown = f"[{host}]" if ":" in host else host
    return parts._replace(netloc=f"{userinfo}{at}{shown}" + ("" if port is None else f":{port}"))


# A host that ends in a number is an IPv4 address to the URL standard, written in any of the forms
# inet_aton reads (127.1, 0x7f.0.0.1, 017700000001, 2130706433, a trailing dot): a browser goes to
# 127.0.0.1 for each, and refuses one out of range (256.1.1.1, 1.2.3.4.5). Kept as written, one
# address had several keys, and an impossible one went to the name server.
_IPV4_NUMBER = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}")  # as the parser writes it: nothing to do


def _ipv4_of(host: str) -> str | None:
    """`host` (lower case, as urlsplit gives it) as a dotted quad where it ends in a number, None
    where it is a name; ValueError where it ends in a number but is no address (the URL standard's
    IPv4 parser)."""
    if ":" in host:
        return None  # an IPv6 address
    if _DOTTED_QUAD.fullmatch(host):
        return host
    labels = host.split(".")
    if labels[-1] == "" and len(labels) > 1:
        labels.pop()
    if not _IPV4_NUMBER.fullmatch(labels[-1]):
        return None  # a name, "example.com." included
    if len(labels) > 4:
        raise ValueError(f"{host}: more than four numbers")
    numbers = [_ipv4_number(label, host) for label in labels]
    if any(number > 255 for number in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise ValueError(f"{host}: out of range")
    value = numbers[-1] + sum(number << (8 * (3 - place)) for place, number in enumerate(numbers[:-1]))
    return ".".join(str((value >> shift) & 255) for shift in (24, 16, 8, 0))


def _ipv4_number(label: str, host: str) -> int:
    """One part of an IPv4 address: 0x for hexadecimal, a leading 0 for octal, else decimal."""
    if not _IPV4_NUMBER.fullmatch(label):
        raise ValueError(f"{host}: {label!r} is no number")
    if label[:2].lower() == "0x":
        return int(label[2:] or "0", 16)
    if len(label) > 1 and label.startswith("0"):
        return int(label[1:], 8)  # "09": no octal digit, no address (a browser's answer too)
    return int(label)


# A server that has not yet given a client its cookie writes a session id into every link: each
# node of a crawl (a session of its own) would meet every page of the site under URLs of its own.
# Tomcat's ;jsessionid= path parameter, PHP's PHPSESSID, ASP's ASPSESSIONIDxxxxxxxx, ColdFusion's
# CFID and CFTOKEN, and a sid of 32 hex digits (phpBB's) are no part of a page's identity.
_SESSION_PATH_PARAMETER = re.compile(r";jsessionid=[^/;]*", re.IGNORECASE)
_SESSION_ARGUMENT = re.compile(r"(?:jsessionid|phpsessid|aspsessionid[a-z]{8}|cfid|cftoken)=[^&]*"
                               r"|sid=[0-9a-f]{32}", re.IGNORECASE)


def _may_hold_a_session_id(url: str) -> bool:
    lowered = url.lower()  # one of these is in every URL with a session id (see _SESSION_ARGUMENT)
    return "sessionid" in lowered or "sid=" in lowered or "cfid=" in lowered or "cftoken=" in lowered


def _without_session_ids(parts: SplitResult) -> SplitResult:
    arguments = [argument for argument in parts.query.split("&") if not _SESSION_ARGUMENT.fullmatch(argument)]
    return parts._replace(path=_SESSION_PATH_PARAMETER.sub("", parts.path), query="&".join(arguments))


# How the paths of the picture formats browsers show (and TIFF) end: a URL that ends so is taken for
# a picture before it is fetched.
# Chromium's names of picture files too: .jfif is what Windows saves many JPEGs as, .apng an animated PNG
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".bmp", ".ico", ".avif", ".jxl", ".heic", ".heif",
                   ".tif", ".tiff", ".jfif", ".jpe", ".pjpeg", ".pjp", ".apng")


def https_form(url: str) -> str | None:
    """An http:// URL as a browser asks for it over https (an upgraded mixed-content picture, an
    HSTS host's link): port 80 becomes 443, another port stays, the fragment goes. None if it is
    not a URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    netloc = parts.netloc.rpartition(":")[0] if port == 80 else parts.netloc
    return urlunsplit(("https", netloc, parts.path, parts.query, ""))


def looks_like_an_image(url: str) -> bool:
    """True if the path of `url` ends as a picture's file name does (its query and fragment aside)."""
    return url.split("?", 1)[0].split("#", 1)[0].strip().lower().endswith(_IMAGE_SUFFIXES)


# Crawler traps, as Heritrix (the Internet Archive's crawler) rules them out by default: a soft 404
# whose relative links go one folder deeper on every page (/x/again/again/again/…), and paths that
# grow a new folder on every page. A run of segments repeated a third time in a row, or more segments
# than this, is no page of the site.
MAX_PATH_SEGMENTS = 20
_TRAP_REPEATS = 3


def is_a_crawler_trap(key: str) -> bool:
    """True if the path of `key` (a canonical URL) repeats a run of its segments three times in a row
    (/a/a/a/, /a/b/a/b/a/b/) or has more than MAX_PATH_SEGMENTS segments."""
    path = key[key.find("/", key.find("://") + 3) + 1:].partition("?")[0]
    if path.count("/") < _TRAP_REPEATS - 1:  # most URLs: too few segments for either rule (a check per new link)
        return False
    segments = path.split("/")
    if segments[-1] == "":  # a trailing slash: a folder, not one more segment
        segments.pop()
    count = len(segments)
    if count > MAX_PATH_SEGMENTS:
        return True
    if len(set(segments)) > count - _TRAP_REPEATS + 1:  # no segment can be in a run repeated thrice
        return False
    for run in range(1, count // _TRAP_REPEATS + 1):
        for first in range(count - _TRAP_REPEATS * run + 1):
            unit = segments[first:first + run]
            if all(segments[first + n * run:first + (n + 1) * run] == unit for n in range(1, _TRAP_REPEATS)):
                return True
    return False


# A directory listing links itself sorted by each column, either way: the same files, listed again,
# eight times over (wget's users reject "index.html?*" for it). Each server's words for it: each
# argument it may carry (None: any value), and how many of its ordering arguments make a sort.
_LISTING_ORDERS: tuple[tuple[dict[str, frozenset[str] | None], frozenset[str], int], ...] = (
    # Apache's (mod_autoindex): ?C=N;O=D, ?C=M;O=A, … with F= its format, V= version sort, P= a pattern
    ({"C": frozenset("NMSD"), "O": frozenset("AD"), "F": frozenset("012"), "V": frozenset("01"), "P": None},
     frozenset({"C", "O"}), 1),
    # Caddy's (file_server browse): ?sort=namedirfirst&order=desc, … with limit= where it lists so many
    # (an offset= is the listing's next part: other files)
    ({"sort": frozenset({"namedirfirst", "name", "size", "time"}), "order": frozenset({"asc", "desc"}),
      "limit": None}, frozenset({"sort", "order"}), 2),
)
_LISTING_QUERY_SEPARATOR = re.compile("[;&]")


def is_another_listing_order(url: str, page_url: str) -> bool:
    """True if the link `url` on the page `page_url` is that directory listing in another order."""
    base, _, query = url.partition("#")[0].partition("?")
    if not query or base != page_url.partition("#")[0].partition("?")[0]:
        return False
    arguments = dict(pair.partition("=")[::2] for pair in _LISTING_QUERY_SEPARATOR.split(query))
    for words, ordering, needed in _LISTING_ORDERS:
        if len(ordering.intersection(arguments)) >= needed and all(
                name in words and (words[name] is None or value in words[name])  # type: ignore[operator]  # mypy narrows no index
                for name, value in arguments.items()):
            return True
    return False


# An events calendar's "previous" and "next" lead on for ever, month after month or day after day.
# A page link dated (/2031/05/, 2031-05-17, month=2031-05, year=2031&month=5) in a URL that is the
# page's own but for its date is a calendar's step; one to a month more than CALENDAR_YEARS from
# today, or (a day view's) to a day more than CALENDAR_DAYS from today, is a trap. Only steps
# count: a blog's archive of any age is listed from its undated pages, and a post links the posts
# of other dates under other names.
CALENDAR_YEARS = 3
CALENDAR_DAYS = 92
_DATE = re.compile(r"(?<![0-9])([12][0-9]{3})([-/])(0?[1-9]|1[0-2])(?:\2([0-2]?[0-9]|3[01]))?(?![0-9])")
_YEAR_ARGUMENT = re.compile(r"(?<=[?&])[a-z_]*year=([12][0-9]{3})(?=&|$)", re.IGNORECASE)  # not y= (a map tile's)
_MONTH_ARGUMENT = re.compile(r"(?<=[?&])(?:[a-z_]*month|mon|m)=(0?[1-9]|1[0-2])(?=&|$)", re.IGNORECASE)


class _Dated(NamedTuple):
    month: int  # counted from year 0 (see _month)
    day: int  # of the month; 0 where the URL names a month alone
    date: str  # as the URL writes it
    undated: str  # the URL with its date left out


def _month(year: int, month: int) -> int:
    """Months counted from January of year 0: two dates' months apart is their difference."""
    return year * 12 + month - 1


def _calendar_date(key: str) -> _Dated | None:
    """How a canonical URL is dated (in its path or query, not its port), or None for an undated one."""
    date = _DATE.search(key, key.find("/", key.find("://") + 3))
    if date is not None:
        return _Dated(_month(int(date.group(1)), int(date.group(3))), int(date.group(4) or 0), date.group(0),
                      key[:date.start()] + "{date}" + key[date.end():])
    year = _YEAR_ARGUMENT.search(key)
    if year is None:
        return None
    month = _MONTH_ARGUMENT.search(key)
    return _Dated(_month(int(year.group(1)), int(month.group(1)) if month else 1), 0,
                  year.group(0) + (month.group(0) if month else ""),
                  _MONTH_ARGUMENT.sub("{month}", _YEAR_ARGUMENT.sub("{year}", key)))


def is_a_calendar_trap(key: str, page_key: str, today: datetime.date) -> bool:
    """True if the link `key` on the page `page_key` steps through a calendar further from `today`
    than CALENDAR_YEARS (or, for a day, CALENDAR_DAYS)."""
    link = _calendar_date(key)
    if link is None:
        return False
    this_month = _month(today.year, today.month)
    if link.day:  # days counted as 31 a month: the bound need not be exact
        too_far = abs((link.month - this_month) * 31 + link.day - today.day) > CALENDAR_DAYS
    else:
        too_far = abs(link.month - this_month) > 12 * CALENDAR_YEARS
    if not too_far:
        return False
    page = _calendar_date(page_key)
    return page is not None and page.undated == link.undated and page.date != link.date


def host_of(url: str) -> str:
    """Return the lower-case host name of `url` (no port), or '' if it has none."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def origin_of(url: str) -> str:
    """Return scheme://host[:port] of an absolute URL: the unit of politeness and of robots.txt."""
    start = url.find("://")
    end = url.find("/", start + 3)
    netloc = url[start + 3:] if end < 0 else url[start + 3:end]
    netloc = netloc.partition("?")[0].partition("#")[0]  # no path, but a query: http://host?x
    return f"{url[:start]}://{netloc.rpartition('@')[2]}"


DEFAULT_REFERRER_POLICY = "strict-origin-when-cross-origin"  # browsers' own, where a page sets none
# what <meta name=referrer> still accepts from before the Referrer Policy spec (HTML's meta referrer)
_LEGACY_REFERRER_POLICIES = {"never": "no-referrer", "default": DEFAULT_REFERRER_POLICY, "always": "unsafe-url",
                             "origin-when-crossorigin": "origin-when-cross-origin"}


def referrer_policy(value: str | None) -> str | None:
    """The policy a Referrer-Policy header or a <meta name=referrer> sets: the last token of the
    comma-separated list that names one (legacy names mapped), or None if none does."""
    chosen = None
    for token in (value or "").split(","):
        token = token.strip().lower()
        token = _LEGACY_REFERRER_POLICIES.get(token, token)
        if token in REFERRER_POLICIES:
            chosen = token
    return chosen


def referrer(page_url: str | None, url: str, policy: str | None = None) -> str | None:
    """The Referer a browser sends for `url` found on `page_url` (a page, or the stylesheet an image
    is in) under `policy` (the Referrer Policy spec's; by default strict-origin-when-cross-origin:
    the page's URL on its own origin, only its origin elsewhere, nothing from https to http).
    Image hosts that refuse hotlinking answer 403 (or a placeholder) to a request without one, and
    those that refuse other sites answer 403 to one: pages embedding their pictures say no-referrer."""
    if page_url is None or page_url[:4].lower() != "http" or policy == "no-referrer":
        return None
    # A header is Latin-1 bytes: the URL goes as its request went, percent-encoded, its host in IDNA
    # (kept in Unicode, a page named in Cyrillic or Chinese failed each of its pictures as bad-url).
    page_url, url = (safe_url_string(page_url) if not page_url.isascii() else page_url,
                     safe_url_string(url) if not url.isascii() else url)
    policy = policy or DEFAULT_REFERRER_POLICY
    page_origin, target_origin = origin_of(page_url), origin_of(url)
    downgrade = page_origin[:6].lower() == "https:" and target_origin[:6].lower() != "https:"
    same_origin = page_origin.lower() == target_origin.lower()
    if policy == "unsafe-url" or (policy == "no-referrer-when-downgrade" and not downgrade) or (
            same_origin and policy in ("same-origin", "origin-when-cross-origin", DEFAULT_REFERRER_POLICY)):
        return _without_credentials(page_url, page_origin).partition("#")[0]
    if policy in ("same-origin", "no-referrer-when-downgrade") or (
            downgrade and policy in ("strict-origin", DEFAULT_REFERRER_POLICY)):
        return None
    return page_origin + "/"  # origin, strict-origin, and the two *-when-cross-origin across origins


def _without_credentials(page_url: str, page_origin: str) -> str:
    """`page_url` without the user and password it may hold: they are never sent on."""
    start = page_url.find("://") + 3
    if "@" not in page_url[start:].split("/", 1)[0]:
        return page_url
    path_at = page_url.find("/", start)
    return page_origin + (page_url[path_at:] if path_at >= 0 else "/")


def host_of_canonical(key: str) -> str:
    """The host of a canonical URL, by string slicing: canonical form is regular, and this is hot."""
    start = key.find("://")
    if start < 0:
        return ""
    end = key.find("/", start + 3)
    netloc = key[start + 3:] if end < 0 else key[start + 3:end]
    netloc = netloc.rpartition("@")[2]
    if netloc.startswith("["):
        return netloc[1:netloc.find("]")]
    return netloc.partition(":")[0]


def _as_keyed(host: str) -> str:
    """`host` as canonical URLs spell it: lower case, an international name in punycode
    (bücher.example → xn--bcher-kva.example), so scope rules compare like with like."""
    key = canonical(f"http://{host}/")
    return host_of_canonical(key) if key else host.lower()


def _www_twins(host: str) -> tuple[str, ...]:
    """`host` and, for a domain name, the same name with "www." added or taken away."""
    if "." not in host or host.startswith("[") or is_an_address(host):
        return (host,)
    twin = host[4:] if host.startswith("www.") else "www." + host
    return (host, twin) if "." in twin else (host,)


def is_an_address(host: str) -> bool:
    """True for an IPv4 or IPv6 address (unbracketed), not a name."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _same_folder_elsewhere(url: str) -> tuple[str, ...]:
    """A --no-parent folder `url` on its host's www twin (see _www_twins) and over http and https
    (as wget's --no-parent: a site that moves to https keeps the rule)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return tuple(urlunsplit(parts._replace(scheme=scheme, netloc=parts.netloc.replace(host, twin, 1)))
                 for twin in _www_twins(host) for scheme in CRAWLABLE_SCHEMES)


class ScopeRules:
    """Decides whether a canonical URL belongs to the crawl: pages by host, images and stylesheets anywhere."""

    def __init__(self, scope: Scope) -> None:
        # A seed's host and its www twin are one site: example.com redirects to www.example.com (or
        # the other way round) on most sites, and a user who names either means the site.
        self._hosts = frozenset(twin for host in scope.seed_hosts for twin in _www_twins(_as_keyed(host)))
        self._domains = tuple(_as_keyed(domain.lstrip(".")) for domain in scope.allow_domains)
        self._deny = [re.compile(p) for p in scope.deny_patterns]
        self._same_host_resources = scope.same_host_images
        self._accept = [re.compile(p) for p in scope.accept_patterns]
        self._folders = Counter(scope.parent_prefixes)  # --no-parent: each seed's folder, once a seed
        self._set_parents()

    def _set_parents(self) -> None:
        self._parents = tuple(same for prefix in self._folders for same in _same_folder_elsewhere(prefix))
        self._parent_origins = {origin_of(prefix) for prefix in self._parents}

    def folder_forms(self, seed_key: str) -> tuple[str, ...]:
        """Where a seed's server sends it if it is a folder (see seed_redirected): with its slash,
        over http or https, on its host or the www twin."""
        return _same_folder_elsewhere(seed_key + "/")

    def seed_redirected(self, seed_url: str, seed_key: str, target_key: str) -> bool:
        """With --no-parent, keep to a seed's own folder where its server shows it is one (`/photos`
        redirected to `/photos/`, as servers answer a folder named without its slash), not to the folder
        above it, where `/photos` would be a file; True if the rule changed. Only that seed's share of
        the folder above goes: another seed there keeps it."""
        above = _folder_of(seed_url)
        seed, target = urlsplit(seed_key), urlsplit(target_key)
        if (not self._folders[above] or target.path != seed.path + "/" or target.query or seed.query
                or (target.hostname or "") not in _www_twins(seed.hostname or "")):
            return False
        self._folders[above] -= 1
        self._folders += Counter({target_key: 1})  # += drops the folder above where no seed is left in it
        self._set_parents()
        return True

    def allows_resource(self, canonical_url: str) -> bool:  # --accept and --no-parent are for pages only
        """True if an image or stylesheet an in-scope page refers to may be fetched."""
        if self._same_host_resources:
            return self.allows(canonical_url)
        return bool(host_of_canonical(canonical_url)) and not self.denies(canonical_url)

    def denies(self, canonical_url: str) -> bool:
        """True if a --deny pattern matches the URL."""
        return any(p.search(canonical_url) for p in self._deny)

    def has_pages_on(self, origin: str) -> bool:
        """True if the crawl follows pages on this origin's host (whose sitemaps are then worth reading)."""
        host = host_of_canonical(origin + "/")
        return host in self._hosts or any(host == d or host.endswith("." + d) for d in self._domains)

    def allows(self, canonical_url: str) -> bool:
        """True if a page belongs to the crawl: a seed host or allowed domain, no --deny, --accept, --no-parent."""
        host = host_of_canonical(canonical_url)
        if not host:
            return False
        in_scope = host in self._hosts or any(host == d or host.endswith("." + d) for d in self._domains)
        if not in_scope or self.denies(canonical_url):
            return False
        if self._accept and not any(p.search(canonical_url) for p in self._accept):
            return False
        if self._parents and origin_of(canonical_url) in self._parent_origins:
            return canonical_url.startswith(self._parents)  # --no-parent: never above a seed's folder
        return True
