"""Reading the small files a user names on the command line (a crawl file, an auth or key file, a
cookies.txt): at most a size no such file comes near, so `/dev/zero`, an endless pipe or a video
given by mistake is one error line, not a command that reads until the memory is gone."""

from __future__ import annotations

import stat
from pathlib import Path

from crawler.errors import ConfigError
from crawler.units import size_option

SETTINGS_FILE_BYTES = 2**20  # a crawl file, an auth file, a key file: a few hundred bytes each
COOKIES_FILE_BYTES = 64 * 2**20  # a browser's whole jar, exported, is a few MB


def read_bounded(path: Path, what: str, limit: int) -> bytes:
    """The bytes of `path`, which may be a pipe; ConfigError past `limit` bytes. OSError as open() raises it."""
    with open(path, "rb") as source:
        data = source.read(limit + 1)
    if len(data) > limit:
        raise _too_large(path, what, limit)
    return data


def check_size(path: Path, what: str, limit: int) -> None:
    """For a file read by another library: refuse a device (`/dev/zero` has no end) or a file larger
    than `limit`. A pipe passes: its size is known only once read."""
    try:
        status = path.stat()
    except OSError:
        return  # the reader says why, as it would have
    if stat.S_ISCHR(status.st_mode) or stat.S_ISBLK(status.st_mode):
        raise ConfigError(f"{what} {path} is a device, not a file")
    if stat.S_ISREG(status.st_mode) and status.st_size > limit:
        raise _too_large(path, what, limit)


def _too_large(path: Path, what: str, limit: int) -> ConfigError:
    return ConfigError(f"{what} {path} is larger than {size_option(limit)}: no such file is; was another file given?")
