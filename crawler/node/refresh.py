"""A refresh (`<meta http-equiv=refresh>` or the `Refresh` header) read as the HTML standard's
"shared declarative refresh steps" do. Pure.

Sites send readers on this way: a root that moves to `/en/`, the redirect pages that Jekyll,
Hugo and Sphinx write for moved pages. A browser follows it after the delay; wget follows it too.
"""

from __future__ import annotations

import re

_DELAY = re.compile(r"[ \t\n\f\r]*([0-9]*)(\.?[0-9.]*)")
_SEPARATOR = re.compile(r"[ \t\n\f\r]*[;,]?[ \t\n\f\r]*")
_URL_LABEL = re.compile(r"url[ \t\n\f\r]*=[ \t\n\f\r]*", re.IGNORECASE)


def refresh_target(content: str) -> tuple[int, str] | None:
    """(seconds, URL as written) of a refresh to another URL; None for a reload of the page
    itself (no URL) or a value a browser ignores (no delay)."""
    delay = _DELAY.match(content)
    assert delay is not None  # the pattern matches any text, if only its empty start
    whole, fraction = delay.groups()
    if not whole and not fraction:
        return None
    rest = content[delay.end():]
    if rest and rest[0] not in " \t\n\f\r;,":
        return None  # "5x; url=…": not a refresh a browser runs
    rest = rest[_SEPARATOR.match(rest).end():]  # type: ignore[union-attr]  # matches any text too
    label = _URL_LABEL.match(rest)
    if label is not None:
        rest = rest[label.end():]
    if rest[:1] in ("'", '"'):
        quote, rest = rest[0], rest[1:]
        rest = rest.split(quote, 1)[0]
    url = rest.strip(" \t\n\f\r")
    return (int(whole or 0), url) if url else None
