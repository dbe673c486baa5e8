"""A site's opt-outs for its images and links: X-Robots-Tag headers and <meta name=robots> directives,
and TDMRep's reservation of its text-and-data-mining rights.

Both hold comma-separated directives; an X-Robots-Tag value may name the crawler it is for
(`X-Robots-Tag: otherbot: noindex, nofollow`), and then only those directives, up to the next
name, are for that crawler. What applies to us: directives for everyone and those for our name
(the product token of our User-Agent, `queue-crawler`).
"""

from __future__ import annotations

from collections.abc import Iterable

# TDMRep (the W3C community group's Text and Data Mining Reservation Protocol, in which sites write
# the opt-out of the EU's DSM directive, article 4): `tdm-reservation: 1` in a response's header or
# a page's <meta name="tdm-reservation" content="1"> reserves the site's rights. Read as one more
# directive for us. (Its /.well-known/tdmrep.json, a file per site, is not read.)
TDM_RESERVED = "tdm-reservation"
# Any of these keeps a page's images (or an image) out of the crawl: the search engines' "do not
# index images", the newer "not for AI", "none" (noindex, nofollow and everything else), and TDMRep's.
NO_IMAGES = frozenset({"noimageindex", "noai", "noimageai", "none", TDM_RESERVED})
NO_FOLLOW = frozenset({"nofollow", "none"})
# Directives that carry a value after a colon, so "unavailable_after: …" names no crawler.
_WITH_VALUE = frozenset({"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"})


def agent_token(user_agent: str) -> str:
    """The name robots directives use for us: `queue-crawler/0.1 (+URL)` → `queue-crawler`."""
    return user_agent.split("/", 1)[0].split(" ", 1)[0].strip().lower()


def header_directives(values: Iterable[str], agent: str) -> frozenset[str]:
    """The directives in X-Robots-Tag header values that apply to `agent`, lower-cased."""
    found: set[str] = set()
    for value in values:
        for_us = True  # directives before any crawler's name are for everyone
        for part in value.split(","):
            word = part.strip().lower()
            name, colon, rest = word.partition(":")
            if colon and name.strip() not in _WITH_VALUE:  # "otherbot: noindex": a name, then a directive
                for_us = name.strip() == agent
                word = rest.strip()
            if for_us and word:
                found.add(word.split(":", 1)[0].strip())
    return frozenset(found)


def meta_directives(content: object) -> frozenset[str]:
    """The directives in a <meta name=robots> (or name=our agent) content attribute, lower-cased."""
    if not isinstance(content, str):
        return frozenset()
    return frozenset(word.strip().lower() for word in content.split(",") if word.strip())


def tdm_reserved(value: object) -> bool:
    """Whether a tdm-reservation header's or meta's value reserves the rights ("1"; "0" does not)."""
    return isinstance(value, str) and value.strip() == "1"
