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

import threading
import time
from collections.abc import Iterator
from http.cookiejar import Cookie
from typing import Any

import requests
from requests.cookies import create_cookie

from crawler.messages import MAX_COOKIES_PER_RESULT, is_cookie
from crawler.node.notes import TaskNotes

# A node catches up with value changes alone (a cookie a site sets anew with every answer) at most
# this often; a new cookie is read as soon as a task needs it.
_CATCH_UP_SECONDS = 1.0


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
