"""The HTML standard's "parse a srcset attribute", reduced to what a crawler needs: the valid
candidates' URLs, and which of them is the widest."""

from __future__ import annotations

import re

_ASCII_WHITESPACE = " \t\n\f\r"  # only these split; a no-break space is part of a URL
_NON_NEGATIVE_INTEGER = re.compile(r"[0-9]+")
_FLOAT = re.compile(r"-?(?:[0-9]+|[0-9]*\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def srcset_urls(value: str) -> list[str]:
    """Return the URLs of the valid image candidates of a `srcset` value, in order."""
    return [url for url, _descriptors in _candidates(value)]


def widest_candidate(value: str) -> tuple[str, tuple[int, float]] | None:
    """The valid candidate of a `srcset` value a browser would take on the widest, densest screen,
    and its size as (width, density) to compare it with another srcset's: a `w` candidate by its
    width, an `x` one (or one without descriptor, 1x) by its density; None if there is none."""
    best: tuple[str, tuple[int, float]] | None = None
    for url, descriptors in _candidates(value):
        width, density = 0, 1.0
        for descriptor in descriptors:
            if descriptor[-1:] == "w":
                width = int(descriptor[:-1])
            elif descriptor[-1:] == "x":
                density = float(descriptor[:-1])
        if best is None or (width, density) > best[1]:
            best = (url, (width, density))
    return best


def _candidates(value: str) -> list[tuple[str, list[str]]]:
    """The valid candidates of a `srcset` value, in order: (URL, descriptors)."""
    candidates: list[tuple[str, list[str]]] = []
    position, length = 0, len(value)
    while True:
        while position < length and (value[position] in _ASCII_WHITESPACE or value[position] == ","):
            position += 1
        if position >= length:
            return candidates
        start = position
        while position < length and value[position] not in _ASCII_WHITESPACE:
            position += 1
        url = value[start:position]
        descriptors: list[str] = []
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            position, descriptors = _tokenize_descriptors(value, position)
        if url and _descriptors_valid(descriptors):
            candidates.append((url, descriptors))


def _tokenize_descriptors(value: str, position: int) -> tuple[int, list[str]]:
    """The spec's descriptor tokenizer: return where the candidate ends and its descriptors."""
    length = len(value)
    while position < length and value[position] in _ASCII_WHITESPACE:
        position += 1
    descriptors: list[str] = []
    current = ""
    state = "in descriptor"
    while True:
        char = value[position] if position < length else ""
        if state == "in descriptor":
            if char and char in _ASCII_WHITESPACE:
                if current:
                    descriptors.append(current)
                    current, state = "", "after descriptor"
            elif char == ",":
                if current:
                    descriptors.append(current)
                return position + 1, descriptors
            elif char == "(":
                current += char
                state = "in parens"
            elif not char:
                if current:
                    descriptors.append(current)
                return position, descriptors
            else:
                current += char
        elif state == "in parens":
            if not char:
                descriptors.append(current)
                return position, descriptors
            current += char
            if char == ")":
                state = "in descriptor"
        else:  # after descriptor
            if not char:
                return position, descriptors
            if char not in _ASCII_WHITESPACE:
                state = "in descriptor"
                continue  # reconsume this character
        position += 1


def _descriptors_valid(descriptors: list[str]) -> bool:
    """The spec's descriptor parser: a candidate with an invalid descriptor is dropped, as browsers do."""
    width = density = height = False
    for descriptor in descriptors:
        number, kind = descriptor[:-1], descriptor[-1:]
        if kind == "w" and not (width or density) and _NON_NEGATIVE_INTEGER.fullmatch(number) and int(number) > 0:
            width = True
        elif (kind == "x" and not (width or density or height) and _FLOAT.fullmatch(number)
              and float(number) >= 0):
            density = True
        elif kind == "h" and not (height or density) and _NON_NEGATIVE_INTEGER.fullmatch(number) and int(number) > 0:
            height = True
        else:
            return False
    return not height or width
