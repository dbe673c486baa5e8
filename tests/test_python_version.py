"""The Python the package says it needs (pyproject's requires-python) is one its code runs on."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import tomllib
from pathlib import Path
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parser  # type: ignore[attr-defined]
from typing import Any

import crawler

REPO = Path(__file__).resolve().parents[1]
_PATTERN_FUNCTIONS = {"compile", "match", "fullmatch", "search", "sub", "subn", "split", "findall", "finditer"}
# Atomic groups (?>…) and possessive quantifiers (*+, ++, ?+, {m,n}+) came with Python 3.11.
_SINCE_3_11 = {sre_constants.ATOMIC_GROUP, sre_constants.POSSESSIVE_REPEAT}


def _patterns() -> list[tuple[str, str | bytes, int]]:
    """Every regular expression of crawler/, with where it is and its flags: those its modules
    compile (built from pieces too), and the literal ones given to the re module's functions."""
    found: list[tuple[str, str | bytes, int]] = []
    for info in pkgutil.walk_packages(crawler.__path__, "crawler."):
        if info.name.endswith(".__main__"):  # importing it runs the command line
            continue
        module = importlib.import_module(info.name)
        found += [(f"{info.name}.{name}", value.pattern, value.flags) for name, value in vars(module).items()
                  if isinstance(value, re.Pattern)]
    for path in sorted((REPO / "crawler").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "re"
                    and node.func.attr in _PATTERN_FUNCTIONS and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, (str, bytes))):
                found.append((f"{path.relative_to(REPO)}:{node.lineno}", node.args[0].value, 0))
    return found


def _opcodes(parsed: Any) -> set[Any]:
    """The opcodes anywhere in a parsed pattern (sre's tree of SubPatterns, tuples and lists)."""
    seen: set[Any] = set()
    stack = [parsed]
    while stack:
        item = stack.pop()
        if isinstance(item, sre_parser.SubPattern):
            for op, argument in item:
                seen.add(op)
                stack.append(argument)
        elif isinstance(item, (tuple, list)):
            stack.extend(item)
    return seen


def test_the_declared_python_reads_every_regular_expression_of_the_package() -> None:
    # requires-python said >=3.10, so pip installed the package on 3.10 (Ubuntu 22.04's), and every
    # command then died importing crawler.node.extract: re.error "unknown extension ?>".
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    bound = re.fullmatch(r">=\s*3\.(\d+)", declared)
    assert bound is not None, f"requires-python {declared!r} is not a lower bound this test reads"
    patterns = _patterns()
    assert len(patterns) > 20  # the scan finds the package's patterns (94 on 2026-12-06)
    newer = [where for where, pattern, flags in patterns
             if _opcodes(sre_parser.parse(pattern, flags)) & _SINCE_3_11]
    assert not newer or int(bound.group(1)) >= 11, (
        f"requires-python {declared!r}, but these patterns need Python 3.11: {', '.join(newer)}")
