"""`crawler export --layout names`: the saved images under the names their sites gave them.

The store keeps each image once, named by its content (images/HOST/SHA256.EXT). People look for
`sunset.jpg`; this writes EXPORT/HOST/PATH/NAME beside it, a hard link to the stored file where
the file system allows (no second copy of the bytes), else a copy. Every folder and file name
comes through storage's one rule (safe_name for a URL's segments, safe_file_name for the
manifest's names, which are decoded already), and every target is checked to lie inside the
export folder, whatever a URL or a server says. Two images that want the same name get `name-2.ext`, `name-3.ext`, …
A name ends with the extension of what the file is (sniffed when saved), as viewers go by it.
"""

from __future__ import annotations

import filecmp
import itertools
import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from crawler.errors import ConfigError, StorageError
from crawler.storage import (
    IMAGES_DIR,
    MANIFEST_NAME,
    host_folder,
    is_manifest_record,
    is_the_crawls_own,
    read_jsonl,
    safe_file_name,
    safe_name,
)

_MAX_FOLDERS = 16  # path segments of a URL kept as folders (deeper ones join the last)
_MAX_TRIES = 1000  # name-2 … name-1000, then the content hash decides
# The extensions people give each stored type (the store's own: images.py), lower-cased.
_TYPE_OF_EXTENSION = {"jpg": "jpg", "jpeg": "jpg", "jpe": "jpg", "jfif": "jpg", "png": "png", "gif": "gif",
                      "webp": "webp", "bmp": "bmp", "tif": "tif", "tiff": "tif", "ico": "ico", "avif": "avif",
                      "jxl": "jxl", "heic": "heic", "heif": "heif", "svg": "svg"}


@dataclass
class ExportCount:
    linked: int = 0  # hard links made
    copied: int = 0  # copies (the export folder is on another file system, or links are refused)
    present: int = 0  # already there from an earlier export
    renamed: int = 0  # given name-N.ext because another image had the name
    missing: int = 0  # manifest records whose file is not in the output


def export_by_name(output_dir: Path, into: Path) -> ExportCount:
    """Write every saved image as INTO/HOST/PATH/NAME; return what was done."""
    root = into.resolve()
    if root == output_dir.resolve() or is_the_crawls_own(output_dir, into):
        raise ConfigError(f"{into} would mix with the crawl's own files; choose another export folder")
    count, ready = ExportCount(), set[Path]()
    try:
        root.mkdir(parents=True, exist_ok=True)
        for record in read_jsonl(output_dir / MANIFEST_NAME, is_manifest_record):
            source = _stored_file(output_dir, record)
            if source is None:
                count.missing += 1
                continue
            _place(source, root, _wanted_path(record), str(record.get("sha256", ""))[:16], count, ready)
    except OSError as exc:
        raise StorageError(f"cannot export into {into}: {exc.strerror or exc}") from exc
    return count


def _stored_file(output_dir: Path, record: dict[str, Any]) -> Path | None:
    """The record's file in the store, if its path is a plain relative one under images/ and it is there."""
    path = PurePosixPath(str(record.get("path", "")))
    if path.is_absolute() or not path.parts or path.parts[0] != IMAGES_DIR or any(
            part in ("", ".", "..") for part in path.parts):
        return None
    source = output_dir.joinpath(*path.parts)
    return source if source.is_file() else None


def _wanted_path(record: dict[str, Any]) -> list[str]:
    """[HOST, folder, …, NAME] for a record, every part a safe name."""
    url = str(record.get("url", ""))
    if url.startswith("data:"):  # a picture written into its page: it goes beside that page
        url = str(record.get("page_url") or "")
    try:
        segments = urlsplit(url).path.split("/")[1:-1]
    except ValueError:
        segments = []
    folders = [name for name in (safe_name(segment) for segment in segments) if name]
    if len(folders) > _MAX_FOLDERS:
        folders = [*folders[:_MAX_FOLDERS - 1], safe_file_name("_".join(folders[_MAX_FOLDERS - 1:]))]
    stored = PurePosixPath(str(record.get("path", "")))
    name = safe_file_name(str(record.get("name") or ""))  # a name (decoded from its URL already), not a segment
    if not name:
        return [host_folder(url), *folders, f"{str(record.get('sha256', 'image'))[:16]}{stored.suffix}"]
    return [host_folder(url), *folders, _with_its_type(name, stored.suffix[1:])]


def _with_its_type(name: str, extension: str) -> str:
    """`name` ending as what the file is: kept when its extension says so (photo.JPEG for a
    JPEG), the extension replaced when it names another image type (a CDN's logo.png that sent
    WebP: logo.webp), added when it names none (image.php, 12345: image.php.jpg, 12345.jpg)."""
    stem, dot, given = name.rpartition(".")
    given_type = _TYPE_OF_EXTENSION.get(given.lower()) if dot and stem else None
    if not extension or given_type == extension:
        return name
    return safe_file_name(f"{stem if given_type else name}.{extension}")


def _place(source: Path, root: Path, parts: list[str], tag: str, count: ExportCount, ready: set[Path]) -> None:
    folder = root.joinpath(*parts[:-1])
    stem, dot, extension = parts[-1].rpartition(".")
    if not dot:
        stem, extension = parts[-1], ""
    # Made one at a time, as they are tried: nearly every image takes the first (a list of all 1,001
    # was 60 % of an export's time).
    candidates = itertools.chain([parts[-1]], (f"{stem}-{n}{dot}{extension}" for n in range(2, _MAX_TRIES + 1)),
                                 [f"{stem}-{tag}{dot}{extension}"])
    if folder not in ready:  # made and checked once an export: a site's images share a few folders
        folder.mkdir(parents=True, exist_ok=True)
        resolved = folder.resolve()
        if resolved != root and root not in resolved.parents:  # a symlink planted in the export folder
            raise ConfigError(f"{folder} leads outside {root}; refusing to write there")
        ready.add(folder)
    for attempt, name in enumerate(candidates):
        target = folder / name
        if target.exists() or target.is_symlink():
            if target.is_file() and not target.is_symlink() and (
                    os.path.samefile(target, source) or filecmp.cmp(target, source, shallow=False)):
                count.present += 1
                return
            continue
        try:
            os.link(source, target)
            count.linked += 1
        except OSError:  # another file system, or hard links refused: a copy
            shutil.copyfile(source, target)
            count.copied += 1
        count.renamed += attempt > 0
        return
