"""Pictures Galleria shows from data a page's script gives it.

Galleria (galleria.io: sigal's `galleria` theme, Galleria's WordPress and Drupal modules) builds
its stage and thumbnail strip from a list of items, most often written into the page as a
JavaScript literal and passed to `Galleria.run(…, {dataSource: data})`:

    var data = [{thumb: "thumbnails/p00.jpg", image: "p00.jpg", big: "full/p00.jpg",
                 title: "Lake", description: "At dawn"}, …];

It shows each item's `thumb` in the strip, its `image` on the stage and its `big` in full screen,
relative to the page as an `<img src>` is. The page's markup names none of them: a crawl of a
sigal gallery found its theme's two icons and none of its photos. The items are read only on a
page that loads Galleria (a `<script src>` whose file is `galleria….js`): elsewhere such keys
are some other script's business.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

SIZES = ("thumb", "image", "big")  # smallest first: --srcset largest keeps the last one given
_SCRIPT_FILE = re.compile(r"(?:^|/)galleria[\w.-]{0,64}\.js(?:[?#]|$)", re.IGNORECASE)
# An item: a flat object literal (an item with nested objects is read from its innermost one)
_ITEM = re.compile(r"\{[^{}]{1,8192}\}")
# key: "string" or 'string', the key bare or quoted (JSON); what a variable or an expression gives is not known
_PAIR = re.compile(r"""(?<![\w$.-])["']?(thumb|image|big|title|description)["']?\s*:\s*"""
                   r"""(?:"((?:[^"\\\n]|\\.){0,4096})"|'((?:[^'\\\n]|\\.){0,4096})')""")
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|(.))", re.DOTALL)
_SINGLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
MAX_ITEMS = 10_000  # a page's items; the page's references are bounded anyway (extract)


class Item(NamedTuple):
    sizes: list[str]  # the URLs as written, smallest first
    title: str | None
    description: str | None


def is_galleria_script(src: str) -> bool:
    """Whether a `<script src>` loads Galleria (its core, a build of it, or one of its themes)."""
    return _SCRIPT_FILE.search(src) is not None


def _text(literal: str) -> str:
    """A JavaScript string literal's content, its escapes read (`\\/`, `\\u00e9`, `\\x41`, `\\n`)."""
    if "\\" not in literal:
        return literal
    return _ESCAPE.sub(lambda m: chr(int(m[1] or m[2], 16)) if m[1] or m[2] else _SINGLE_ESCAPES.get(m[3], m[3]),
                       literal)


def items(script: str) -> Iterator[Item]:
    """The items of Galleria data in a script's text that name at least one picture."""
    count = 0
    for item in _ITEM.finditer(script):
        values: dict[str, str] = {}
        for pair in _PAIR.finditer(item.group()):
            value = pair.group(2) if pair.group(2) is not None else pair.group(3)
            values.setdefault(pair.group(1), _text(value).strip())
        sizes = [values[size] for size in SIZES if values.get(size)]
        if sizes:
            yield Item(sizes, values.get("title") or None, values.get("description") or None)
            count += 1
            if count >= MAX_ITEMS:
                return
