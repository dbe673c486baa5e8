"""robots.txt rules for one origin, parsed by Protego (the parser Scrapy uses)."""

from __future__ import annotations

import itertools
import re

from protego import Protego

from crawler.urls import encode_controls

ROBOTS_AGENT = "queue-crawler"  # the product token robots.txt groups are matched against
MAX_LISTED_SITEMAPS = 100  # Sitemap: lines read from one robots.txt
# A rule with a wildcard is a pattern search for every URL of its site (Protego: 1 to 4 us each),
# in the scheduler's one thread: 15,000 of them, which a 512 KiB robots.txt holds, cost 62 ms a
# URL, so a chain of 32 tasks would hold every other site's dispatch 2 s; 1,000 cost about 1 ms.
MAX_WILDCARD_RULES = 1000
# A User-agent line in the forms Protego reads ("User-agent: x", "User agent x", "useragent: x"):
# its value, to a comment; the product token in a value is its leading letters, "-" and "_".
_USER_AGENT_LINE = re.compile(r"\s*user[- ]?agent(?:\s*:|\s)([^#]*)", re.IGNORECASE)
_NOT_IN_A_PRODUCT_TOKEN = re.compile(r"[^A-Za-z_-]")


class RobotsRules:
    """What one origin's robots.txt allows us; no text (a 4xx, or robots ignored) allows everything.
    One with more than MAX_WILDCARD_RULES wildcard rules allows nothing: its rules are not read,
    and a crawl against rules left unread would be no crawl that obeys them."""

    def __init__(self, text: str | None) -> None:
        self.wildcard_rules = _wildcard_rules(text) if text else 0
        self.too_costly = self.wildcard_rules > MAX_WILDCARD_RULES
        self._parser = Protego.parse(_as_read(text)) if text and not self.too_costly else None

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
    return [encode_controls(url) for url in itertools.islice(Protego.parse(_as_read(text)).sitemaps,
                                                             MAX_LISTED_SITEMAPS)]


def _as_read(text: str) -> str:
    """The robots.txt as RFC 9309 and Google's parser read it, for Protego: without a byte order mark
    (which Google's skips: its first line was no directive, and a group's rules were dropped), and
    each User-agent line naming everyone (`*`), us, or no one. It is us where its product token is
    ours, whole and in any case, as Google's parser takes it from `queue-crawler/1.0`; Protego took
    any start of our name ("queue") for us, and no name with a version after it."""
    lines = text.removeprefix("\ufeff").splitlines()
    for number, line in enumerate(lines):
        if (named := _USER_AGENT_LINE.match(line)) is not None:
            value = named.group(1).strip()
            if value == "*" or value[:2] in ("* ", "*\t"):
                name = "*"
            else:
                name = ROBOTS_AGENT if _NOT_IN_A_PRODUCT_TOKEN.split(value, 1)[0].lower() == ROBOTS_AGENT else ""
            lines[number] = f"User-agent: {name}"  # empty: another robot's group, no one's here
    return "\n".join(lines)
