"""robots.txt rules for one origin, parsed by Protego (the parser Scrapy uses)."""

from __future__ import annotations

import itertools

from protego import Protego

from crawler.urls import encode_controls

ROBOTS_AGENT = "queue-crawler"  # the product token robots.txt groups are matched against
MAX_LISTED_SITEMAPS = 100  # Sitemap: lines read from one robots.txt
# A rule with a wildcard is a pattern search for every URL of its site (Protego: 1 to 4 us each),
# in the scheduler's one thread: 15,000 of them, which a 512 KiB robots.txt holds, cost 62 ms a
# URL, so a chain of 32 tasks would hold every other site's dispatch 2 s; 1,000 cost about 1 ms.
MAX_WILDCARD_RULES = 1000


class RobotsRules:
    """What one origin's robots.txt allows us; no text (a 4xx, or robots ignored) allows everything.
    One with more than MAX_WILDCARD_RULES wildcard rules allows nothing: its rules are not read,
    and a crawl against rules left unread would be no crawl that obeys them."""

    def __init__(self, text: str | None) -> None:
        self.wildcard_rules = _wildcard_rules(text) if text else 0
        self.too_costly = self.wildcard_rules > MAX_WILDCARD_RULES
        self._parser = Protego.parse(text) if text and not self.too_costly else None

    def allows(self, url: str) -> bool:
        if self.too_costly:
            return False
        return self._parser is None or bool(self._parser.can_fetch(url, ROBOTS_AGENT))

    def crawl_delay(self) -> float | None:
        """Seconds between requests the site asks of us, or None."""
        if self._parser is None:
            return None
        delay = self._parser.crawl_delay(ROBOTS_AGENT)
        return float(delay) if delay is not None else None


ALLOW_ALL = RobotsRules(None)


def _wildcard_rules(text: str) -> int:
    """The Allow and Disallow lines of a robots.txt whose path holds a `*`, in any group."""
    count = 0
    for line in text.splitlines():
        field, colon, value = line.partition("#")[0].partition(":")
        if colon and "*" in value and field.strip().lower() in ("allow", "disallow"):
            count += 1
    return count


def listed_sitemaps(text: str | None) -> list[str]:
    """The URLs of a robots.txt's `Sitemap:` lines (they stand outside any group), at most MAX_LISTED_SITEMAPS."""
    if not text or _wildcard_rules(text) > MAX_WILDCARD_RULES:  # its site is disallowed: not parsed (0.5 s)
        return []
    return [encode_controls(url) for url in itertools.islice(Protego.parse(text).sitemaps, MAX_LISTED_SITEMAPS)]
