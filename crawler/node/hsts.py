"""HTTP Strict Transport Security (RFC 6797), a node's side: the hosts that said, over https, to be
asked over https only. The scheduler keeps them for the crawl (scheduler.hsts) and asks for their
http:// links over https, as a browser and wget do: a site that moved to https and still links
its pages as http:// cost a redirect a page, and gave nothing where http is closed."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import requests

from crawler.messages import MAX_HSTS_PER_RESULT
from crawler.node.notes import TaskNotes
from crawler.urls import is_an_address

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
    if parts.scheme != "https" or not host or is_an_address(host):
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


class HstsNotes(TaskNotes):
    """The hosts whose answers to a fetcher thread's current task said Strict-Transport-Security."""

    limit = MAX_HSTS_PER_RESULT

    def read(self, response: requests.Response) -> list[list[Any]]:
        header = response.headers.get("Strict-Transport-Security")
        entry = hsts_entry(response.url, header) if header is not None else None
        return [] if entry is None else [entry]
