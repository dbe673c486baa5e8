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
        # host[:port] → the hosts of _hosts that speak for it (itself; a domain above it that includes
        # its subdomains): a crawl of many http sites beside one HSTS host asks for every link (31 µs
        # a page without this). Worked out again only when a host comes or goes, or its scope changes.
        self._deciders: dict[str, tuple[str, ...]] = {}

    def __bool__(self) -> bool:
        return bool(self._hosts)

    def note(self, entries: list[list[Any]], now: float) -> None:
        """Take in a result's [host, max_age, include_subdomains] entries; max-age 0 forgets the host."""
        for host, max_age, include in entries:
            host = host.lower()
            known = self._hosts.get(host)
            if max_age == 0:
                if self._hosts.pop(host, None) is not None:
                    self._deciders.clear()
            elif known is not None or len(self._hosts) < MAX_HOSTS:
                self._hosts[host] = (now + max_age, include)
                if known is None or known[1] != include:  # a site sends it with every answer: mostly the same
                    self._deciders.clear()

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
        deciders = self._deciders.get(netloc)
        if deciders is None:
            if len(self._deciders) >= MAX_HOSTS * 10:  # a broad crawl's hosts: worked out again as they come
                self._deciders.clear()
            deciders = self._deciders[netloc] = self._deciders_of(host_of_canonical(key))
        for host in deciders:  # most are none: another site's links
            if self._hosts[host][0] > now:
                return True
        return False

    def _deciders_of(self, host: str) -> tuple[str, ...]:
        labels = host.split(".")
        return tuple(name for start in range(len(labels)) if (name := ".".join(labels[start:])) in self._hosts
                     and (start == 0 or self._hosts[name][1]))
