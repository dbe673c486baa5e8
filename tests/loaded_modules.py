"""What a fresh interpreter has imported after running some code: start-up time is paid per module,
so tests assert that a process loads only what it needs."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def modules_after(code: str, prefixes: tuple[str, ...], env: dict[str, str] | None = None) -> tuple[list[str], str]:
    """Run `code` in a new Python process from the repository; return the loaded modules in the
    packages `prefixes` ("redis." is redis and all of its modules), sorted, and the process's stderr."""
    probe = f"{code}\nimport sys\nprint(sorted(m for m in sys.modules if (m + '.').startswith({prefixes!r})))\n"
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=REPO,
                           env=dict(os.environ, **(env or {})))
    assert shown.returncode == 0, shown.stderr
    return ast.literal_eval(shown.stdout), shown.stderr
