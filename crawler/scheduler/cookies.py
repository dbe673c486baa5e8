"""The crawl's one cookie jar, kept by the scheduler from what its nodes report (see node.cookies).

Keyed as a browser keys cookies (domain, path, name); the last value reported wins. Bounded as
Chromium bounds its jar (180 cookies a domain, 3,300 in all), lower, since every node reads it
whole: a site that sets more finds the rest ignored, said once.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

log = logging.getLogger("crawler")

MAX_COOKIES = 300
MAX_COOKIES_PER_DOMAIN = 50


class SharedCookies:
    def __init__(self) -> None:
        self._jar: dict[tuple[str, str, str], list[Any]] = {}
        self._per_domain: Counter[str] = Counter()
        self.version = 0  # bumped by any change
        self.names_version = 0  # bumped by a new cookie (or one back after it expired): what tasks name
        self._said_full = False

    def merge(self, entries: list[list[Any]], now: float) -> bool:
        """Take in the cookies a result reports (checked by messages.is_cookie); True if the jar changed."""
        changed = False
        for entry in entries:
            domain, path, name, value, _secure, expires = entry
            key = (domain.lower(), path, name)
            known = self._jar.get(key)
            if expires is not None and expires <= now:  # expired on the way (a node's clock ahead of ours)
                if known is not None:
                    del self._jar[key]
                    self._per_domain[key[0]] -= 1
                    changed = True
                continue
            if known is None:
                if len(self._jar) >= MAX_COOKIES or self._per_domain[key[0]] >= MAX_COOKIES_PER_DOMAIN:
                    self._say_full(domain)
                    continue
                self._per_domain[key[0]] += 1
                self.names_version += 1
            elif known == entry:
                continue
            self._jar[key] = list(entry)
            changed = True
        if changed:
            self.version += 1
        return changed

    def published(self) -> list[Any]:
        """What a node reads: [version, names_version, entries]."""
        return [self.version, self.names_version, list(self._jar.values())]

    def _say_full(self, domain: str) -> None:
        if not self._said_full:
            self._said_full = True
            log.warning("scheduler: the crawl keeps %d cookies (%d a domain); more that %s set are not shared "
                        "with every node", MAX_COOKIES, MAX_COOKIES_PER_DOMAIN, domain)
