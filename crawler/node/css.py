"""CSS text → the image URLs and imported stylesheets it refers to, read with tinycss2's tokenizer. Pure.

What a browser may load from CSS as an image: `url()` and `image-set()` values in declarations
(backgrounds, borders, masks, list markers, `content`). Not images: `@font-face` sources,
`@namespace` URIs and fragment-only references (`url(#gradient)` points into the same document).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import tinycss2
from tinycss2.ast import AtRule, Declaration, FunctionBlock, Node, QualifiedRule

# At-rules whose block holds whole rules (so a nested @font-face is still recognised as one).
_RULE_BLOCKS = frozenset({"media", "supports", "layer", "container", "document", "-moz-document", "scope",
                          "starting-style"})
_NOT_IMAGES = frozenset({"font-face", "namespace", "charset", "import"})
_IMAGE_SET = frozenset({"image-set", "-webkit-image-set"})
# Fonts, IE behaviours, and cursors (loaded only while the pointer is over the element).
_NOT_IMAGE_SUFFIXES = (".woff", ".woff2", ".ttf", ".otf", ".eot", ".htc", ".cur", ".ani")
_MAX_NODES = 1_000_000  # tokens visited in one stylesheet at most; the page-size cap comes first in practice
# Blocks, rules and functions nested deeper are not read: a few KB of "((((" nested thousands deep
# ran the walk out of Python's stack, and the whole page failed. Real stylesheets nest a handful.
_MAX_NESTING = 64


@dataclass
class CssRefs:
    """URLs as written in the CSS (relative ones still relative), in source order."""

    images: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)


class _Walker:
    def __init__(self) -> None:
        self.refs = CssRefs()
        self._budget = _MAX_NODES

    def rules(self, rules: Iterable[Node], depth: int = 0) -> None:
        if depth > _MAX_NESTING:
            return
        for rule in rules:
            if isinstance(rule, QualifiedRule):
                self.block(rule.content, depth + 1)
            elif isinstance(rule, AtRule):
                self.at_rule(rule, depth + 1)

    def at_rule(self, rule: AtRule, depth: int) -> None:
        keyword = rule.lower_at_keyword
        if keyword == "import":
            target = next((t for t in rule.prelude if t.type not in ("whitespace", "comment")), None)
            url = _url_of(target) if target is not None else None
            if url:
                self.refs.imports.append(url)
        elif keyword in _RULE_BLOCKS and rule.content is not None:
            self.rules(tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True), depth)
        elif keyword not in _NOT_IMAGES and rule.content is not None:  # @page, @keyframes and the like
            self.block(rule.content, depth)

    def block(self, content: list[Node] | None, depth: int) -> None:
        """Read a `{}` block: declarations, and rules nested in it (CSS nesting)."""
        for item in tinycss2.parse_blocks_contents(content or [], skip_comments=True, skip_whitespace=True):
            if isinstance(item, Declaration):
                self.values(item.value, depth)
            elif isinstance(item, (QualifiedRule, AtRule)):
                self.rules([item], depth)

    def values(self, tokens: Iterable[Node] | None, depth: int = 0) -> None:
        """Collect url() and image-set() values from component values, nested blocks and functions included."""
        if depth > _MAX_NESTING:
            return
        for token in tokens or ():
            self._budget -= 1
            if self._budget < 0:
                return
            if token.type == "url":
                self._image(token.value)
            elif isinstance(token, FunctionBlock):
                if token.lower_name == "url":
                    self._image(_url_of(token))
                    continue
                if token.lower_name in _IMAGE_SET:  # a bare string inside image-set() is a URL too
                    for argument in token.arguments:
                        if argument.type == "string":
                            self._image(argument.value)
                        else:
                            self.values([argument], depth + 1)
                else:
                    self.values(token.arguments, depth + 1)
            elif token.type in ("() block", "[] block", "{} block"):
                self.values(token.content, depth + 1)

    def _image(self, url: str | None) -> None:
        if not url or url.startswith("#"):
            return
        path = url.split("?", 1)[0].split("#", 1)[0].lower()
        if not path.endswith(_NOT_IMAGE_SUFFIXES):
            self.refs.images.append(url)


def _url_of(token: Node) -> str | None:
    """The URL of a `url(x)`, `url("x")` or string token, or None."""
    if token.type in ("url", "string"):
        return str(token.value).strip()
    if isinstance(token, FunctionBlock) and token.lower_name == "url":
        argument = next((a for a in token.arguments if a.type == "string"), None)
        return str(argument.value).strip() if argument is not None else None
    return None


def might_refer(text: str) -> bool:
    """A quick test before tokenizing: can `text` hold a URL at all? (Most style attributes cannot.)"""
    lowered = text.lower()
    return "url(" in lowered or "image-set(" in lowered or "@import" in lowered


def stylesheet_refs(css: str | bytes, encoding: str | None = None) -> CssRefs:
    """Return the images and imports of a whole stylesheet (`<style>` block or a fetched .css file).

    Bytes are decoded as browsers do: BOM, then the HTTP charset, then `@charset`, then UTF-8.
    """
    if isinstance(css, bytes):
        rules, _encoding = tinycss2.parse_stylesheet_bytes(css, protocol_encoding=encoding, skip_comments=True,
                                                          skip_whitespace=True)
    else:
        rules = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
    walker = _Walker()
    walker.rules(rules)
    return walker.refs


def inline_style_images(declarations: str) -> list[str]:
    """Return the image URLs of a `style` attribute's declarations."""
    walker = _Walker()
    walker.values(tinycss2.parse_component_value_list(declarations, skip_comments=True))
    return walker.refs.images
