"""The HTTP Link header (RFC 8288), read as Chromium reads a page's: `<URL>; name=value; …`, the
link-values separated by commas that are neither inside the `<…>` nor inside a quoted value (an
`imagesrcset="a.jpg 1x, b.jpg 2x"` holds commas of its own). requests' `parse_header_links` splits
each parameter at every "=", and gives up on the rest of a link at a value with a query in it
(`imagesrcset="/h.jpg?w=640 640w"`)."""

from __future__ import annotations

import re

# A header of a page is bounded by http.client (64 KiB a line); the links read from it are bounded too.
MAX_LINKS = 100

_PARAMETER = re.compile(r"""\s*;\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"?|[^;,\s]*))?""",
                        re.DOTALL)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)


def parse_link_header(header: str) -> list[tuple[str, dict[str, str]]]:
    """Each link of `header`: its URL reference as written, and its parameters (names lower-cased,
    values unquoted; the first of a name counts, as RFC 8288 says of `rel`). A link-value that is
    not `<…>` is skipped up to the next comma, as a browser skips it."""
    links: list[tuple[str, dict[str, str]]] = []
    position, end = 0, len(header)
    while position < end and len(links) < MAX_LINKS:
        start = header.find("<", position)
        if start < 0:
            break
        close = header.find(">", start + 1)
        if close < 0:
            break
        target, parameters = header[start + 1:close].strip(), dict[str, str]()
        position = close + 1
        while (match := _PARAMETER.match(header, position)) is not None:
            name, value = match.group(1).lower(), match.group(2) or ""
            if value.startswith('"'):
                value = _QUOTED_PAIR.sub(r"\1", value[1:-1] if len(value) > 1 and value.endswith('"') else value[1:])
            parameters.setdefault(name, value)
            position = match.end()
        links.append((target, parameters))
        following = header.find(",", position)  # anything else before it is not a parameter: ignored
        if following < 0:
            break
        position = following + 1
    return links
