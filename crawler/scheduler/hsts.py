"""The hosts of the crawl that asked to be fetched over https only (Strict-Transport-Security, RFC
6797), from what the nodes report (node.hsts): their http:// URLs are asked for over https, as a
browser and wget ask for them, instead of each costing a redirect (or failing where http is
closed). Kept for the run, as long as each host's max-age."""

from __future__ import annotations

from typing import Any

from crawler.messages import Result
from crawler.urls import canonical, host_of_canonical, https_form

MAX_HOSTS = 10_000  # a crawl of many sites: the first this many that ask are kept

# The parts of a result that name URLs as [url, canonical, ...] and those that name them by canonical only
_URL_LISTS = ("links", "images", "stylesheets", "sitemaps", "menus")
_KEY_LISTS = ("referrer_policies", "lastmods")


class HstsHosts:
    def __init__(self) -> None:
        self._hosts: dict[str, tuple[float, bool]] = {}  # host → (until, include_subdomains)

    def __bool__(self) -> bool:
        return bool(self._hosts)

    def note(self, entries: list[list[Any]], now: float) -> None:
        """Take in a result's [host, max_age, include_subdomains] entries; max-age 0 forgets the host."""
        for host, max_age, include in entries:
            host = host.lower()
            if max_age == 0:
                self._hosts.pop(host, None)
            elif host in self._hosts or len(self._hosts) < MAX_HOSTS:
                self._hosts[host] = (now + max_age, include)

    def upgrade(self, result: Result, now: float) -> None:
        """Rewrite the result's http:// URLs of those hosts as https, in place, keys with them."""
        upgraded: dict[str, str] = {}  # old key → new key, for the lists that name keys only
        location = [result["location"]] if result["location"] else []  # a redirect's target
        for entries in (*(result[name] for name in _URL_LISTS), location):  # type: ignore[literal-required]
            for entry in entries:
                if entry[1][:7] == "http://" and self._covers(entry[1], now):
                    url = https_form(entry[0])
                    key = canonical(url) if url else None
                    if url and key:
                        upgraded[entry[1]] = key
                        entry[0], entry[1] = url, key
        if upgraded:
            for name in _KEY_LISTS:
                for entry in result[name]:  # type: ignore[literal-required]  # one of the key lists above
                    entry[0] = upgraded.get(entry[0], entry[0])

    def _covers(self, key: str, now: float) -> bool:
        """True if the host of `key` (a canonical http:// URL) or a domain above it that includes
        its subdomains asked for https, and its max-age has not run out."""
        labels = host_of_canonical(key).split(".")
        for start in range(len(labels)):
            known = self._hosts.get(".".join(labels[start:]))
            if known is not None and known[0] > now and (start == 0 or known[1]):
                return True
        return False
