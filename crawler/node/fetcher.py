"""Bounded HTTP GETs with requests: every third-party error becomes a FetchError with a short reason."""

from __future__ import annotations

import dataclasses
import email.utils
import errno
import functools
import hashlib
import http.client
import re
import resource
import socket
import ssl
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies

import requests
import requests.auth
import requests.utils
import urllib3
import urllib3.exceptions

from crawler.config import FetchLimits, RequestOptions
from crawler.credentials import named_ca_bundle
from crawler.errors import FetchError, TransientFetchError
from crawler.messages import MAX_TEXT_CHARS
from crawler.node.cookies import SiteIndexedJar
from crawler.node.deadline import brief_reads, fetch_deadline, watched
from crawler.node.disposition import disposition_filename
from crawler.node.optout import TDM_RESERVED, agent_token, header_directives, tdm_reserved
from crawler.node.trust import SharedTrustAdapter
from crawler.reasons import (
    BAD_ENCODING,
    BAD_RESPONSE,
    BOT_CHALLENGE,
    CERTIFICATE_EXPIRED,
    CERTIFICATE_UNTRUSTED,
    CERTIFICATE_WRONG_HOST,
    CONNECTION_REFUSED,
    CONNECTION_RESET,
    COULD_NOT_RESOLVE,
    INCOMPLETE_BODY,
    NO_SUCH_HOST,
    NO_TLS,
    PROXY_DENIED,
    PROXY_FAILED,
    PROXY_NO_SUCH_HOST,
    PROXY_REFUSED,
    PROXY_UNKNOWN_HOST,
    TLS_FAILED,
)
from crawler.units import ascii_digits
from crawler.urls import canonical, encode_controls, join, looks_like_an_image, referrer_policy, slashes_as_read

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Statuses a later attempt may fix. 404, 410 and other 4xx are final.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504, 507, 509, 520, 521, 522, 523, 524})
_CHUNK_BYTES = 64 * 1024
# The body of a response we answer without reading it (a redirect, an error page) is read and
# dropped when it is this small and comes this quickly, so that its connection can be used again.
_UNWANTED_BODY_BYTES = 64 * 1024
_UNWANTED_BODY_SECONDS = 0.5
_MAX_FRESH_SECONDS = 365 * 24 * 3600  # RFC 9111 5.3: an Expires more than a year ahead is no promise
# The hosts a node process keeps kept-alive connections for: urllib3 closes the least recently used
# host's when one more comes. A crawl of many sites takes them in turn (each one's requests a
# --delay apart): with 64, a crawl of 120 sites opened a new connection for 62 % of its requests.
MAX_HOST_POOLS = 256
_ORIGINS_REMEMBERED = 4096  # sites whose proxy settings a node process keeps (a few hundred bytes each)
_SPARE_FILES = 256  # descriptors left for the rest: images being written, the link to the scheduler
PAGE_TYPES = ("text/html", "application/xhtml+xml")  # what a page is sent as (a picture's path so sent is one)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)


@dataclass(frozen=True)
class Fetched:
    """A finished download: the body (cut at the cap when `truncated`), or a redirect target."""

    url: str
    status: int
    body: bytes = b""
    content_type: str = ""
    charset: str | None = None
    location: str | None = None  # absolute URL of a redirect target
    truncated: bool = False
    elapsed: float = 0.0
    robots: frozenset[str] = frozenset()  # X-Robots-Tag directives for us (or for everyone), TDMRep's reservation
    validators: dict[str, str] = dataclasses.field(default_factory=dict)  # the response's etag, last_modified
    not_modified: bool = False  # a conditional request answered 304: no body, the content is what it was
    refresh: str | None = None  # the Refresh header: where a browser goes next, and when (see node.refresh)
    sets_cookie: bool = False  # a redirect that set a cookie (see _is_a_cookie_check)
    filename: str | None = None  # the name Content-Disposition gives it, as sent (see node.disposition)
    referrer_policy: str | None = None  # what its Referrer-Policy header sets for the requests it leads to
    link_header: str | None = None  # its Link header: a browser fetches the images it preloads
    picture_by_name: bool = False  # read as a picture for its path's sake, whatever type it declared (see fetch)

    @functools.cached_property
    def sha256(self) -> str:
        """The body's SHA-256 (hex), once: a re-crawl compares it, results report it, images are named by it."""
        return hashlib.sha256(self.body).hexdigest()


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


class _HostAuth(requests.auth.AuthBase):
    """HTTP basic auth for the hosts it names only: credentials never go to another host."""

    def __init__(self, credentials: tuple[tuple[str, str, str], ...]) -> None:
        # As UTF-8, as curl and browsers send it (RFC 7617's charset): requests would send text as
        # Latin-1, which a UTF-8 htpasswd does not match, and fail on what Latin-1 cannot write.
        self._by_host = {host.lower(): requests.auth.HTTPBasicAuth(user.encode(), password.encode())
                         for host, user, password in credentials}

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        auth = self._by_host.get((urlsplit(request.url or "").hostname or "").lower())
        return auth(request) if auth is not None else request


class _CrawlSession(requests.Session):
    """A Session that leaves redirects to the crawl (fetch reads Location itself, see
    _redirect_target): Session.send would otherwise prepare the next request of every redirect it
    is told not to follow, and fail on a Location that is not UTF-8, losing the response. Where
    the environment names a proxy, what it says for a site is read once per site."""

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        return None

    @functools.lru_cache(maxsize=_ORIGINS_REMEMBERED)  # noqa: B019  # one session a process, for its life
    def environment_for(self, origin: str) -> dict[str, Any]:
        """The settings requests merges from the environment into a request to `origin`
        (scheme://host:port): its proxy, unless $no_proxy names the host, and the CA bundle.
        They depend on the origin alone, and cost 190 us of a fetch's 700 to merge every time."""
        return self.merge_environment_settings(origin + "/", {}, True, self.verify, self.cert)

    def environment_of(self, url: str) -> dict[str, Any]:
        """environment_for the origin of `url` (its credentials left out)."""
        parts = urlsplit(url)
        return self.environment_for(f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}")


def new_session(limits: FetchLimits, options: RequestOptions = RequestOptions(),  # noqa: B008
                threads: int = 1) -> requests.Session:
    """Return a Session for `threads` fetcher threads to share: our User-Agent and the crawl's
    headers, cookies and per-host basic auth, no automatic retries, and a pool of up to `threads`
    kept-alive connections per host."""
    session = _CrawlSession()
    session.cookies = SiteIndexedJar()  # a request reads its own site's cookies, not every site's
    # requests re-reads the environment (proxies, netrc, CA bundle) on every request when
    # trust_env is on: a third of its CPU per request here. Read the CA bundle once, keep
    # trust_env only where a proxy is configured (so NO_PROXY works as usual); ~/.netrc
    # credentials are never worth sending to the sites of a crawl.
    session.trust_env = any(scheme != "no" for scheme in getproxies())  # $no_proxy alone names no proxy
    session.auth = _no_auth  # _get passes it on: with trust_env on, requests would look up ~/.netrc per host
    named = named_ca_bundle()
    bundle = named[1] if named else None
    if not options.check_certificates:  # --no-check-certificate, said once by the scheduler
        session.verify = False
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # else one for every request
    elif bundle:
        session.verify = bundle
    session.headers["User-Agent"] = limits.user_agent
    session.headers.update(dict(options.headers))
    for domain, path, name, value, secure in options.cookies:
        session.cookies.set(name, value, domain=domain, path=path, secure=secure)  # secure: over https only
    if options.basic_auth:
        session.auth = _HostAuth(options.basic_auth)
    # fetch() deadlines hold; a pool for each host of many, each as large as the threads that may
    # use it at once (a connection given back to a full pool is closed)
    per_host = max(threads, 1)
    # (and the trusted certificates loaded once, not for every connection: see trust.py)
    adapter = watched(SharedTrustAdapter(bundle, max_retries=0, pool_connections=_host_pools(per_host),
                                         pool_maxsize=per_host))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _host_pools(threads: int) -> int:
    """How many hosts' connections to keep: MAX_HOST_POOLS, as far as the process's open-files limit
    allows when each host's pool holds up to `threads` idle connections. The soft limit is raised
    toward the hard one first (it is often 1,024, where the hard one is far higher)."""
    wanted = MAX_HOST_POOLS * threads + _SPARE_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    room = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < room:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (room, hard))
            soft = room
        except (ValueError, OSError):  # macOS refuses more than its OPEN_MAX: keep what we have
            pass
    if soft == resource.RLIM_INFINITY:
        return MAX_HOST_POOLS
    return max(16, min(MAX_HOST_POOLS, (soft - _SPARE_FILES) // threads))


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Return the delay a Retry-After header asks for (seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if ascii_digits(value):
        return float(value)
    when = _http_time(value)
    if not when:
        return None
    return max(0.0, when - (time.time() if now is None else now))


def fetch(session: requests.Session, url: str, limits: FetchLimits, max_bytes: int, *,
          cut_at_cap: bool = False, follow_redirects: bool = False, images_as_images: bool = False,
          known: dict[str, str] | None = None, referrer: str | None = None,
          body_types: tuple[str, ...] | None = None) -> Fetched:
    """GET `url` within the limits and return the body, or a redirect target unless `follow_redirects`.

    Over `max_bytes` the body is cut there when `cut_at_cap`, else the download fails as too-large.
    With `images_as_images`, a response that says it is an image gets the image cap instead (a
    page link straight to a picture is held to --max-image-bytes, as the same picture in <img>),
    and so does one to a URL whose path is a picture's, or whose Content-Disposition names a
    picture's file (a gallery's "download" link: `action.php?id=12&download`), that declares no
    page's type: a server's generic type for a format it has no name for (nginx's
    application/octet-stream for .heic and .jxl, an old server's text/plain for .webp, S3's
    binary/octet-stream, Apache's none; a download's octet-stream), or XML for an SVG. It comes
    back `picture_by_name`, for its bytes to say what it is.
    With `known` validators (a re-crawl), the request is conditional; a 304 comes back as
    `not_modified`. `referrer` goes as the Referer header, unless --header gave one. With
    `body_types` (content types, or their starts), a response that declares another type comes
    back with its type and no body, unread (its connection closed): a link to a video or an archive
    costs a head, not megabytes. Raises FetchError (final) or TransientFetchError (worth another attempt).
    """
    conditions = _conditions(known)
    extra_headers = {**conditions, "Referer": referrer} if referrer and "Referer" not in session.headers \
        else conditions
    started = time.monotonic()
    deadline = started + limits.total_seconds
    checked_cookie = False
    with fetch_deadline(deadline) as watch:
        for _hop in range(limits.max_redirects + 1):
            try:
                fetched = _fetch_once(session, url, limits, max_bytes, cut_at_cap, deadline, images_as_images,
                                      conditions, extra_headers, body_types)
            except TransientFetchError as exc:
                if watch.cut():  # the deadline shut the socket: what failed was a head or body too slow
                    raise TransientFetchError(url, "too-slow") from exc
                raise
            if watch.cut():  # cut short, yet it may have looked complete to http.client
                raise TransientFetchError(url, "too-slow")
            if fetched.location is not None and not checked_cookie and _is_a_cookie_check(fetched):
                checked_cookie = True  # asked once more, now with the cookie, as a browser asks
                continue
            if fetched.location is None or not follow_redirects:
                return _with_elapsed(fetched, started)
            url = fetched.location
    raise FetchError(url, "too-many-redirects")


def _is_a_cookie_check(redirect: Fetched) -> bool:
    """A redirect to the page itself that sets a cookie: a site checking that its visitors keep
    cookies. The session holds it now, and the page answers the next request (the crawl would
    call this redirect a loop, and the site's page is often its only way in)."""
    return redirect.sets_cookie and (redirect.location == redirect.url
                                     or canonical(redirect.location or "") == canonical(redirect.url))


def _with_elapsed(fetched: Fetched, started: float) -> Fetched:
    return dataclasses.replace(fetched, elapsed=time.monotonic() - started)


def _conditions(known: dict[str, str] | None) -> dict[str, str]:
    """The headers of a conditional request for content with these validators (RFC 9110 13.1)."""
    headers = {}
    if known:
        if known.get("etag"):
            headers["If-None-Match"] = _as_apache_validates_it(known["etag"])
        if known.get("last_modified"):
            headers["If-Modified-Since"] = known["last_modified"]
    return headers


# An ETag Apache's mod_deflate or mod_brotli made from the file's: they add the coding to the ETag
# of a compressed answer, and compare If-None-Match with the file's ETag, without it (Apache bug 45023)
_APACHE_CODED_ETAG = re.compile(r'((?:W/)?"[^"]+)-(?:gzip|br)"')


def _as_apache_validates_it(etag: str) -> str:
    """If-None-Match for `etag`: it, and where Apache coded it (`"1d6-5f0-gzip"`), the ETag Apache
    compares with (`"1d6-5f0"`) too. Debian's and Ubuntu's Apache compress HTML, CSS and text for
    every client that accepts gzip: the ETag it sent never matched, so every page came back whole."""
    coded = _APACHE_CODED_ETAG.fullmatch(etag)
    return f'{etag}, {coded.group(1)}"' if coded else etag


def _validators(response: requests.Response) -> dict[str, str]:
    found = {}
    for key, header in (("etag", "ETag"), ("last_modified", "Last-Modified")):
        value = response.headers.get(header, "").strip()
        if value and len(value) <= MAX_TEXT_CHARS and value.isprintable():
            found[key] = value
    fresh = fresh_seconds(response.headers)
    if fresh:
        found["max_age"] = str(fresh)
    return found


def fresh_seconds(headers: Mapping[str, str], now: float | None = None) -> int:
    """How many seconds from now the server says this response stays fresh (RFC 9111 4.2): its
    Cache-Control max-age, else Expires less Date, less the Age it has spent in caches; 0 when it
    says nothing, or that it must be checked each time (no-cache, no-store). At most a year."""
    directives = {}
    for part in headers.get("Cache-Control", "").lower().split(","):
        name, _, value = part.partition("=")
        directives[name.strip()] = value.strip().strip('"')
    if "no-cache" in directives or "no-store" in directives:
        return 0
    max_age = directives.get("max-age", "")
    if ascii_digits(max_age):
        lifetime = float(max_age)
    elif "Expires" in headers:  # an Expires that is no date ("0", "-1") has expired already
        lifetime = _http_time(headers["Expires"]) - (_http_time(headers.get("Date", "")) or
                                                     (time.time() if now is None else now))
    else:
        return 0
    age = headers.get("Age", "").strip()
    left = lifetime - (float(age) if ascii_digits(age) else 0.0)
    return int(min(max(left, 0.0), _MAX_FRESH_SECONDS))


def _http_time(value: str) -> float:
    """An HTTP date as POSIX time; 0.0 for anything else."""
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return 0.0
    return when.timestamp() if when is not None else 0.0


class _Prepared(requests.PreparedRequest):
    """A request prepared as requests does, but for an empty jar, where there is no Cookie header
    to find: requests wraps the request for http.cookiejar to read (a parse of its URL) and has it
    look, some 5 % of a fetch's CPU on a crawl that no site sets a cookie in, most crawls."""

    def prepare_cookies(self, cookies: Any) -> None:
        if isinstance(cookies, SiteIndexedJar) and cookies.holds_none():
            self._cookies = cookies
            return
        super().prepare_cookies(cookies)


def _get(session: requests.Session, url: str, limits: FetchLimits,
         extra_headers: dict[str, str] | None = None) -> requests.Response:
    """session.get(url, stream=True, allow_redirects=False), less its per-call merging of settings.

    Session.request merges the session's headers, cookies, hooks and environment into every call
    through generic mapping checks: a sixth of the CPU of a GET here. The session's own headers,
    cookies and hooks are still sent and kept; the environment is read only when trust_env is on
    (a proxy is configured), as new_session decides.
    """
    request = _Prepared()
    headers = {**session.headers, **extra_headers} if extra_headers else session.headers
    request.prepare(method="GET", url=url, headers=headers, cookies=session.cookies, hooks=session.hooks,
                    auth=session.auth)
    if session.trust_env and isinstance(session, _CrawlSession):
        settings = session.environment_of(request.url or url)
    elif session.trust_env:
        settings = session.merge_environment_settings(request.url or url, {}, True, session.verify, session.cert)
    else:
        # A CA bundle path costs a stat() per request (a GIL hand-off); plain http never uses it.
        verify = session.verify if url[:6].lower() == "https:" else True
        settings = {"proxies": session.proxies, "stream": True, "verify": verify, "cert": session.cert}
    return session.send(request, allow_redirects=False, timeout=(limits.connect_seconds, limits.read_seconds),
                        **settings)


def _keep_connection(response: requests.Response, deadline: float) -> None:
    """Read and drop the rest of a body we do not want, so that closing the response puts its
    connection back in the pool. Closed unread, the connection goes with it, and the next request
    to the host pays for a new one (TCP, and TLS on https): in a re-crawl, every 304. A body that
    is large, of unknown length or slow to come is left, and the connection closed with it."""
    raw = response.raw
    left = raw.length_remaining  # 0 for a 304, which has no body
    if left is None or left > _UNWANTED_BODY_BYTES:
        return
    if left == 0:
        raw.drain_conn()  # nothing to wait for: this only marks the response read
        return
    sock = getattr(raw.connection, "sock", None)
    seconds = min(_UNWANTED_BODY_SECONDS, deadline - time.monotonic())
    if isinstance(sock, socket.socket) and seconds > 0:  # not through a proxy's tunnel (an SSLTransport)
        with brief_reads(sock, seconds):
            raw.drain_conn()  # a read cut short closes the connection, as before


def _fetch_once(session: requests.Session, url: str, limits: FetchLimits, max_bytes: int,
                cut_at_cap: bool, deadline: float, images_as_images: bool,
                conditions: dict[str, str], extra_headers: dict[str, str],
                body_types: tuple[str, ...] | None = None) -> Fetched:
    """One GET; `conditions` are the re-crawl's validators, `extra_headers` them and the Referer."""
    started = time.monotonic()
    try:
        with _get(session, url, limits, extra_headers) as response:
            status = response.status_code
            if status != 200:
                _keep_connection(response, deadline)
            if status == 304 and conditions:
                return Fetched(url, status, validators=_validators(response), not_modified=True)
            if status in REDIRECT_STATUSES:
                return Fetched(url, status, location=_redirect_target(url, response),
                               sets_cookie="Set-Cookie" in response.headers)
            if status != 200:
                if status >= 400 and "X-Squid-Error" in response.headers and _proxy_for(session, url):
                    _raise_for_the_proxy(url, response.headers["X-Squid-Error"])
                if response.headers.get("cf-mitigated", "").strip().lower() == "challenge":
                    raise FetchError(url, BOT_CHALLENGE, status=status)  # as a 403, 429 or 503: final all the same
                if status in RETRY_STATUSES:
                    raise TransientFetchError(url, f"http-{status}", status=status,
                                              retry_after=retry_after_seconds(response.headers.get("Retry-After")))
                raise FetchError(url, f"http-{status}", status=status)
            content_type = response.headers.get("Content-Type", "")
            declared_type = content_type.split(";")[0].strip().lower()
            filename = disposition_filename(response.headers.get("Content-Disposition"))
            by_name = (images_as_images and not declared_type.startswith("image/") and declared_type not in PAGE_TYPES
                       and (looks_like_an_image(url) or looks_like_an_image(filename or "")))
            if body_types is not None and declared_type and not declared_type.startswith(body_types) and not by_name:
                return Fetched(url, status, b"", declared_type)  # left unread: leaving closes its connection
            if images_as_images and (declared_type.startswith("image/") or by_name):
                max_bytes, cut_at_cap = limits.max_image_bytes, False
            declared = response.headers.get("Content-Length", "")
            if not cut_at_cap and ascii_digits(declared) and int(declared) > max_bytes:
                raise FetchError(url, "too-large")
            body, truncated = _read_body(response, url, limits, max_bytes, cut_at_cap, deadline, started)
            charset = _CHARSET.search(content_type)
            return Fetched(url, status, body, declared_type,
                           charset.group(1) if charset else None, truncated=truncated,
                           robots=_robots_tags(response, limits.user_agent), validators=_validators(response),
                           refresh=_as_a_browser_reads_it(response.headers.get("Refresh", "")) or None,
                           filename=filename,
                           referrer_policy=referrer_policy(response.headers.get("Referrer-Policy")),
                           link_header=_as_a_browser_reads_it(response.headers.get("Link", "")) or None,
                           picture_by_name=by_name)
    except FetchError:
        raise
    except requests.exceptions.ConnectTimeout as exc:
        raise TransientFetchError(url, "ConnectTimeout") from exc
    except requests.exceptions.ReadTimeout as exc:
        raise TransientFetchError(url, "ReadTimeout") from exc
    except (requests.exceptions.SSLError, urllib3.exceptions.SSLError) as exc:
        raise FetchError(url, _tls_reason(exc)) from exc
    except requests.exceptions.InvalidHeader as exc:  # the answer's (two lengths), or one we would send
        answers = any(isinstance(cause, urllib3.exceptions.InvalidHeader) for cause in _causes(exc))
        raise FetchError(url, BAD_RESPONSE if answers else "bad-url") from exc
    except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
            requests.exceptions.MissingSchema) as exc:
        raise FetchError(url, "bad-url") from exc
    except (requests.exceptions.ContentDecodingError, urllib3.exceptions.DecodeError) as exc:
        raise FetchError(url, BAD_ENCODING) from exc
    except (requests.exceptions.ChunkedEncodingError, urllib3.exceptions.ProtocolError) as exc:
        raise TransientFetchError(url, INCOMPLETE_BODY) from exc
    except requests.exceptions.ConnectionError as exc:
        reason = _proxy_reason(exc) if _the_proxy_failed(exc) else _connection_reason(exc)
        if reason in (NO_SUCH_HOST, PROXY_UNKNOWN_HOST, BAD_RESPONSE):  # asking again gets the same answer
            raise FetchError(url, reason) from exc
        raise TransientFetchError(url, reason) from exc
    except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
        raise TransientFetchError(url, type(exc).__name__) from exc
    except (UnicodeError, ValueError) as exc:  # e.g. a Location header that is not a URL
        raise FetchError(url, "bad-url") from exc


def _proxy_for(session: requests.Session, url: str) -> str | None:
    """The proxy the environment has `url` fetched through, if any (see _CrawlSession.environment_for)."""
    if not session.trust_env or not isinstance(session, _CrawlSession):
        return None
    return requests.utils.select_proxy(url, session.environment_of(url).get("proxies") or {})


# Squid, the forward proxy most offices run, answers for a site it could not fetch with an error
# page of its own (a 503, 504, 403…) that names what failed in X-Squid-Error ("ERR_CONNECT_FAIL 111":
# the error and the system's errno): the site answered nothing. What is not here stays an HTTP status.
_SQUID_ERRORS = {"ERR_DNS_FAIL": PROXY_NO_SUCH_HOST, "ERR_ACCESS_DENIED": PROXY_DENIED,
                 "ERR_READ_TIMEOUT": "ReadTimeout", "ERR_ZERO_SIZE_OBJECT": CONNECTION_RESET,
                 "ERR_CONNECT_FAIL": PROXY_FAILED}
_CONNECT_ERRNOS = {errno.ECONNREFUSED: CONNECTION_REFUSED, errno.ETIMEDOUT: "ConnectTimeout"}


def _raise_for_the_proxy(url: str, squid_error: str) -> None:
    """Raise what the proxy's answer says happened to the request for `url`, if Squid names it."""
    name, _space, number = squid_error.strip().partition(" ")
    reason = _SQUID_ERRORS.get(name)
    if reason == PROXY_FAILED and ascii_digits(number):
        reason = _CONNECT_ERRNOS.get(int(number), PROXY_FAILED)
    if reason in (PROXY_NO_SUCH_HOST, PROXY_DENIED):  # asking again gets the same answer
        raise FetchError(url, reason)
    if reason is not None:
        raise TransientFetchError(url, reason)


def _robots_tags(response: requests.Response, user_agent: str) -> frozenset[str]:
    """The X-Robots-Tag directives for us, and TDM_RESERVED where the response's tdm-reservation says so."""
    reserved = _TDM_RESERVED if tdm_reserved(response.headers.get(TDM_RESERVED)) else frozenset()
    if "X-Robots-Tag" not in response.headers:  # most responses: no parsing at all
        return reserved
    raw_headers = response.raw.headers  # urllib3 keeps repeated headers apart
    values = raw_headers.getlist("X-Robots-Tag") if hasattr(raw_headers, "getlist") else [
        response.headers["X-Robots-Tag"]]
    return header_directives(values, agent_token(user_agent)) | reserved


_TDM_RESERVED = frozenset({TDM_RESERVED})


# getaddrinfo's answers that the name has no address (NXDOMAIN, or no record of the family
# asked for); EAI_AGAIN and the rest are the resolver's trouble, worth another attempt.
_NO_SUCH_NAME = frozenset({socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)})


_MAX_CAUSES = 8  # exceptions followed down one chain (a cycle or a pathological one ends there)
# OpenSSL's verification errors (X509_V_ERR_*) a person can act on, by code.
_CERTIFICATE_REASONS = {18: CERTIFICATE_UNTRUSTED, 19: CERTIFICATE_UNTRUSTED, 20: CERTIFICATE_UNTRUSTED,
                        21: CERTIFICATE_UNTRUSTED, 9: CERTIFICATE_EXPIRED, 10: CERTIFICATE_EXPIRED,
                        62: CERTIFICATE_WRONG_HOST, 64: CERTIFICATE_WRONG_HOST}


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what it wraps, outermost first: requests wraps urllib3's MaxRetryError in args[0],
    which holds its own error in `reason`, which holds the socket's or ssl's in __cause__."""
    cause: BaseException | None = exc
    for _depth in range(_MAX_CAUSES):
        if cause is None:
            return
        yield cause
        inner = cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else None
        reason = getattr(cause, "reason", None)  # an exception in urllib3's, a text in ssl's
        cause = inner or (reason if isinstance(reason, BaseException) else None) or cause.__cause__ or cause.__context__


def _tls_reason(exc: BaseException) -> str:
    """Why a TLS handshake failed: the certificate's fault where OpenSSL says so, a server that
    answered in plain text, else TLS_FAILED."""
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return _CERTIFICATE_REASONS.get(cause.verify_code, TLS_FAILED)
        if isinstance(cause, ssl.SSLError) and cause.reason == "WRONG_VERSION_NUMBER":
            return NO_TLS
    return TLS_FAILED


def _the_proxy_failed(exc: requests.exceptions.ConnectionError) -> bool:
    """Whether the proxy, not the site, failed us: urllib3's ProxyError (an HTTP proxy: what went
    wrong beyond it comes back as its answer's status), or PySocks' ProxyConnectionError (SOCKS)."""
    return any(isinstance(cause, urllib3.exceptions.ProxyError)
               or (type(cause).__module__, type(cause).__name__) == ("socks", "ProxyConnectionError")
               for cause in _causes(exc))


def _proxy_reason(exc: requests.exceptions.ConnectionError) -> str:
    for cause in _causes(exc):
        if isinstance(cause, socket.gaierror):
            return PROXY_UNKNOWN_HOST if cause.errno in _NO_SUCH_NAME else PROXY_FAILED
        if isinstance(cause, ConnectionRefusedError):
            return PROXY_REFUSED
    return PROXY_FAILED


def _connection_reason(exc: requests.exceptions.ConnectionError) -> str:
    """The cause inside requests' ConnectionError (urllib3 wraps it twice): a name, a refusal, a
    reset, an answer that is not HTTP."""
    for cause in _causes(exc):
        if isinstance(cause, socket.gaierror):  # the resolver's answer
            return NO_SUCH_HOST if cause.errno in _NO_SUCH_NAME else COULD_NOT_RESOLVE
        if isinstance(cause, ConnectionRefusedError):
            return CONNECTION_REFUSED
        if isinstance(cause, ConnectionResetError):  # RemoteDisconnected too (closed before answering)
            return CONNECTION_RESET
        if isinstance(cause, http.client.HTTPException):  # BadStatusLine, LineTooLong, too many headers
            return BAD_RESPONSE
    return "ConnectionError"


def _redirect_target(url: str, response: requests.Response) -> str:
    location = _as_a_browser_reads_it(response.headers.get("Location", "").strip())
    if not location:
        raise FetchError(url, f"http-{response.status_code}-without-location")
    target = join(url, encode_controls(slashes_as_read(location)))  # as links are read
    if urlsplit(target).scheme.lower() not in ("http", "https"):
        raise FetchError(url, "redirect-to-unsupported-scheme")
    return target


def _as_a_browser_reads_it(location: str) -> str:
    """A Location (or Refresh) header's URL as a browser reads its bytes, which http.client gave as
    Latin-1: UTF-8 (servers send a non-ASCII target raw, as nginx's `return 301 /café/` does),
    else each byte past ASCII percent-encoded."""
    if location.isascii():
        return location
    raw = location.encode("latin-1", errors="ignore")  # what http.client read: every character < 256
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(chr(byte) if byte < 0x80 else f"%{byte:02X}" for byte in raw)


def _read_body(response: requests.Response, url: str, limits: FetchLimits, max_bytes: int, cut_at_cap: bool,
               deadline: float, started: float) -> tuple[bytes, bool]:
    # read1 returns as soon as any bytes arrive, so a body dripping one byte a second still
    # reaches the checks (iter_content(n) would wait for n bytes). Decoded size is what is
    # capped, so a gzip bomb stops at the cap too.
    body = bytearray()
    raw = response.raw
    # curl's --speed-limit/--speed-time: below min_bytes_per_second on average over a window of
    # min_speed_seconds (the first window counts from the request, headers included) is too slow.
    window_start, window_bytes = started, 0
    while True:
        chunk = raw.read1(_CHUNK_BYTES, decode_content=True)
        if not chunk:  # read1 returns b"" only at the end of the body
            break
        body += chunk
        if len(body) > max_bytes:
            if cut_at_cap:
                return bytes(body[:max_bytes]), True
            raise FetchError(url, "too-large")
        now = time.monotonic()
        if now > deadline:
            raise TransientFetchError(url, "too-slow")
        window_bytes += len(chunk)
        if limits.min_bytes_per_second and now - window_start >= limits.min_speed_seconds:
            if window_bytes < limits.min_bytes_per_second * (now - window_start):
                raise TransientFetchError(url, "too-slow")
            window_start, window_bytes = now, 0
    return bytes(body), False
