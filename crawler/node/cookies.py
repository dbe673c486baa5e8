"""A node's side of the crawl's one cookie jar: what the site set, told to the scheduler, and the
jar the scheduler keeps for the crawl, taken into this node's session.

A browser has one jar for all its tabs. Each node has its own requests Session, so a cookie a site
set on one node's response (a session cookie on its first page, a load balancer's, an age check's,
an anti-bot token) was sent by that node alone: with two workers, the pictures the other fetched
were refused (403). Now a result carries the cookies set while its task ran, the scheduler keeps
them (scheduler.cookies.SharedCookies), and a task it hands out after a new cookie names the jar's
version it needs: a node behind that version reads the jar before it fetches.
"""

from __future__ import annotations

import http.cookiejar
import threading
import time
from collections.abc import Iterator
from http.cookiejar import Cookie
from typing import Any

import requests
import requests.cookies
from requests.cookies import create_cookie

from crawler.messages import MAX_COOKIES_PER_RESULT, is_cookie
from crawler.node.notes import TaskNotes

# A node catches up with value changes alone (a cookie a site sets anew with every answer) at most
# this often; a new cookie is read as soon as a task needs it.
_CATCH_UP_SECONDS = 1.0
_CLEARING_SECONDS = 60.0  # how often the session's jar lets go of expired cookies (never sent anyway)


class SiteIndexedJar(requests.cookies.RequestsCookieJar):
    """The session's jar, which reads a request's cookies from the domains that can match its host.

    It holds every cookie the node was ever set. For every request http.cookiejar checked each of
    its domains (`_cookies_for_request`), some 4 us a domain, and then looked at every cookie for
    one that had expired (`clear_expired_cookies`), 1.3 us a cookie: a node that had crawled 500
    sites which set a cookie each spent 2.1 ms preparing each request. A domain matches a host
    when it is the host, or one of its parents, with or without a leading dot (DefaultCookiePolicy's
    domain_return_ok); those few are looked up, and every check http.cookiejar makes still runs.
    Expired cookies are never sent (the policy checks each); they are let go once a minute.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._next_clearing = 0.0  # monotonic

    def holds_none(self) -> bool:
        """True when no cookie was ever set in it (http.cookiejar's store has no domain)."""
        return not self._cookies  # type: ignore[attr-defined]  # http.cookiejar's own store

    def clear_expired_cookies(self) -> None:
        now = time.monotonic()
        if now >= self._next_clearing:
            self._next_clearing = now + _CLEARING_SECONDS
            super().clear_expired_cookies()

    def _cookies_for_request(self, request: Any) -> list[Cookie]:
        found: list[Cookie] = []
        for domain in _domains_matching(*http.cookiejar.eff_request_host(request)):  # type: ignore[attr-defined]  # not in typeshed
            if domain in self._cookies:  # type: ignore[attr-defined]  # http.cookiejar's own store
                found.extend(self._cookies_for_domain(domain, request))  # type: ignore[attr-defined]
        return found


def _domains_matching(*hosts: str) -> list[str]:
    """The cookie domains domain_return_ok lets through for these names of a host: each name and its
    parents at a dot, with and without one before them, and the empty domain; each once, the
    host's own first."""
    domains: dict[str, None] = {}
    for host in hosts:
        labels = host.split(".")
        for start in range(len(labels)):
            parent = ".".join(labels[start:])
            domains[parent] = domains["." + parent] = None
    domains[""] = None
    return list(domains)


def cookie_entry(cookie: Cookie) -> list[Any]:
    """[domain, path, name, value, secure, expires] of a cookie as http.cookiejar read it."""
    return [cookie.domain, cookie.path, cookie.name, cookie.value or "", bool(cookie.secure),
            int(cookie.expires) if cookie.expires is not None else None]


class SetCookies(TaskNotes):
    """The cookies the answers to a fetcher thread's current task set."""

    limit = MAX_COOKIES_PER_RESULT

    def read(self, response: requests.Response) -> Iterator[list[Any]]:
        if "Set-Cookie" not in response.headers:
            return
        for cookie in response.cookies:  # those this response set, as requests read them into the session
            entry = cookie_entry(cookie)
            if is_cookie(entry):
                yield entry


class SharedJar:
    """This node's copy of the crawl's jar: which version it holds, and catching up."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.version = 0  # of the jar last taken in (any change)
        self.names_version = 0  # its version of new cookies, what tasks name
        self._last_catch_up = 0.0
        self._taken: set[tuple[str, str, str]] = set()  # the jar's cookies put in the session

    def needs(self, task_cookies: int) -> bool:
        return task_cookies > self.names_version

    def stale(self, version: object) -> bool:
        """True when the scheduler's jar (its `version`) has changed since this node read it, and a
        while has passed: value changes are caught up with at that pace."""
        return (type(version) is int and version > self.version
                and time.monotonic() - self._last_catch_up >= _CATCH_UP_SECONDS)

    def catch_up(self, read_jar: Any, session: requests.Session, task_cookies: int | None = None) -> None:
        """Read the crawl's jar (`read_jar()`: [version, names_version, entries]) into `session`;
        for a task's `task_cookies`, unless another thread has meanwhile. Raises what the link
        raises; ignores a malformed answer."""
        with self._lock:
            if task_cookies is not None and not self.needs(task_cookies):
                return
            answer = read_jar()
            if not (type(answer) is list and len(answer) == 3 and type(answer[0]) is int
                    and type(answer[1]) is int and type(answer[2]) is list):
                return
            version, names_version, entries = answer
            if version <= self.version:
                return
            taken = set()
            for entry in entries:
                if is_cookie(entry):
                    domain, path, name, value, secure, expires = entry
                    session.cookies.set_cookie(create_cookie(name, value, domain=domain, path=path, secure=secure,
                                                             expires=expires))
                    taken.add((domain, path, name))
            for domain, path, name in self._taken - taken:  # the scheduler let it go (it expired)
                try:
                    session.cookies.clear(domain, path, name)
                except KeyError:  # gone from this session already (it expired here too)
                    pass
            self._taken = taken
            self.version, self.names_version = version, names_version
            self._last_catch_up = time.monotonic()
