"""HTTP Strict Transport Security (RFC 6797), a node's side: the hosts that said, over https, to be
asked over https only. The scheduler keeps them for the crawl (scheduler.hsts) and asks for their
http:// links over https, as a browser and wget do: a site that moved to https and still links
its pages as http:// cost a redirect a page, and gave nothing where http is closed."""

from __future__ import annotations

import ipaddress
import re
import threading
from typing import Any
from urllib.parse import urlsplit

import requests

from crawler.messages import MAX_HSTS_PER_RESULT

_MAX_AGE = re.compile(r'^\s*max-age\s*=\s*"?(\d{1,12})"?\s*$', re.IGNORECASE)


def hsts_entry(url: str, header: str) -> list[Any] | None:
    """[host, max_age, include_subdomains] of a Strict-Transport-Security header an https answer
    from `url` sent, or None where the RFC has it ignored (over http, for an IP address, without a
    single valid max-age)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme != "https" or not host or _is_an_address(host):
        return None
    ages, include = [], False
    for directive in header.split(";"):
        name = directive.split("=", 1)[0].strip().lower()
        if name == "max-age":
            match = _MAX_AGE.match(directive)
            if match is None:
                return None
            ages.append(int(match.group(1)))
        elif name == "includesubdomains":
            include = True
    if len(ages) != 1:
        return None
    return [host.rstrip("."), ages[0], include]


def _is_an_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class HstsNotes:
    """Notes, for each fetcher thread, the HSTS headers of its current task's https answers (a
    response hook of the session, as node.cookies.SetCookies)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def watch(self, session: requests.Session) -> None:
        session.hooks["response"].append(self._note)

    def start(self) -> None:
        self._local.entries = []

    def taken(self) -> list[list[Any]]:
        entries = getattr(self._local, "entries", None) or []
        self._local.entries = None
        return entries

    def _note(self, response: requests.Response, **_kwargs: Any) -> None:
        header = response.headers.get("Strict-Transport-Security")
        noted = getattr(self._local, "entries", None)
        if header is None or noted is None or len(noted) >= MAX_HSTS_PER_RESULT:
            return
        entry = hsts_entry(response.url, header)
        if entry is not None and entry not in noted:
            noted.append(entry)
