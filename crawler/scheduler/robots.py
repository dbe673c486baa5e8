"""robots.txt rules for one origin, parsed by Protego (the parser Scrapy uses)."""

from __future__ import annotations

import itertools

from protego import Protego

from crawler.urls import encode_controls

ROBOTS_AGENT = "queue-crawler"  # the product token robots.txt groups are matched against
MAX_LISTED_SITEMAPS = 100  # Sitemap: lines read from one robots.txt


class RobotsRules:
    """What one origin's robots.txt allows us; no text (a 4xx, or robots ignored) allows everything."""

    def __init__(self, text: str | None) -> None:
        self._parser = Protego.parse(text) if text else None

    def allows(self, url: str) -> bool:
        return self._parser is None or bool(self._parser.can_fetch(url, ROBOTS_AGENT))

    def crawl_delay(self) -> float | None:
        """Seconds between requests the site asks of us, or None."""
        if self._parser is None:
            return None
        delay = self._parser.crawl_delay(ROBOTS_AGENT)
        return float(delay) if delay is not None else None


ALLOW_ALL = RobotsRules(None)


def listed_sitemaps(text: str | None) -> list[str]:
    """The URLs of a robots.txt's `Sitemap:` lines (they stand outside any group), at most MAX_LISTED_SITEMAPS."""
    if not text:
        return []
    return [encode_controls(url) for url in itertools.islice(Protego.parse(text).sitemaps, MAX_LISTED_SITEMAPS)]
