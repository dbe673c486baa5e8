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
        # host[:port] → until when its http:// URLs go over https (0: never), worked out from _hosts: a
        # crawl of many http sites beside one HSTS host asks this for every link (31 µs a page, uncached)
        self._until: dict[str, float] = {}

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
            self._until.clear()

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
        end = key.find("/", 7)
        netloc = key[7:] if end < 0 else key[7:end]  # host and port, cheaper to cut than the host alone
        until = self._until.get(netloc)
        if until is None:
            if len(self._until) >= MAX_HOSTS * 10:  # a broad crawl's hosts: worked out again as they come
                self._until.clear()
            until = self._until[netloc] = self._work_out(host_of_canonical(key))
        return until > now

    def _work_out(self, host: str) -> float:
        """Until when `host` is asked for over https: its own max-age, or that of a domain above it
        that includes its subdomains, whichever lasts longer; 0 if none."""
        labels = host.split(".")
        until = 0.0
        for start in range(len(labels)):
            known = self._hosts.get(".".join(labels[start:]))
            if known is not None and (start == 0 or known[1]):
                until = max(until, known[0])
        return until
