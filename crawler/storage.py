"""The shared output directory: content-addressed, atomic image files and JSON Lines records.

Layout under the output directory:
    images/<host>/<sha256>.<ext>   each distinct image once, named by its content
    manifest.jsonl                 one record per saved image (written by the scheduler only)
    failures.jsonl                 one record per URL that failed or was skipped
    .crawler/                      the scheduler's state (SQLite) for resume
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import json
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import unquote, urlsplit

from crawler.errors import StorageError
from crawler.units import plural
from crawler.urls import DEFAULT_PORTS

log = logging.getLogger(__name__)

IMAGES_DIR = "images"
MANIFEST_NAME = "manifest.jsonl"
FAILURES_NAME = "failures.jsonl"
STATE_DIR = ".crawler"
RUNS_NAME = "runs.jsonl"  # under STATE_DIR: one summary per scheduler run
CRAWL_ID_NAME = "crawl-id"  # under STATE_DIR: which crawl this output holds (a node checks it is there)
CONTACT_NAME = "contact.json"  # under STATE_DIR: where the running scheduler listens
LOCK_NAME = "lock"  # under STATE_DIR: held by the scheduler of a crawl kept in SQLite while it runs
GALLERY_NAME = "index.html"  # what `crawler inspect` writes
THUMBNAILS_DIR = "thumbnails"  # the gallery's, beside it
_TEMP_PREFIX = ".tmp-"
_UNSAFE_HOST_CHARS = re.compile(r"[^a-z0-9._-]")


def scheduler_at_work(output_dir: Path) -> bool:
    """Whether a scheduler is crawling into `output_dir` now: it noted where it listens, and holds
    the state's lock (a killed one leaves its note behind, not the lock; a crawl kept in Redis has
    the note alone)."""
    state = output_dir / STATE_DIR
    if not (state / CONTACT_NAME).is_file():
        return False
    try:
        lock = open(state / LOCK_NAME)
    except OSError:  # none (a Redis crawl), or not ours to open: the note is all there is to go by
        return True
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        return False  # closing the file lets it go


def host_folder(url: str) -> str:
    """Return a safe folder name for the host of `url`: `example.com`, or `127.0.0.1_8080` with a port."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        host, port = "", None
    host = _ascii_host(host)
    if port is not None and port != DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}_{port}"
    name = _UNSAFE_HOST_CHARS.sub("_", host).strip(".")[:120]
    return name if name and name not in (".", "..") else "unknown-host"


def _ascii_host(host: str) -> str:
    """A host name in its ASCII form, as DNS holds it (IDNA: `пример.рф` is `xn--e1afmkfd.xn--p1ai`).
    Each letter outside ASCII became a `_` in its folder's name, and every Cyrillic name of a
    6-letter label under .рф shared the one folder `______.__`."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:  # what IDNA 2003 refuses (a label too long once encoded): Punycode, label by label
        return ".".join(label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
                        for label in host.split("."))


def folder_as_shown(folder: str) -> str:
    """A host folder as `crawler inspect` names it: one of a name in another script with the name
    as people write it, `xn--bcher-kva.test_8080 (bücher.test)`."""
    if "xn--" not in folder:
        return folder
    name, _, port = folder.rpartition("_")
    try:
        written = (name if port.isdigit() else folder).encode("ascii").decode("idna")
    except UnicodeError:  # not IDNA's (a label encoded as Punycode alone): the folder says it all
        return folder
    return f"{folder} ({written})"


# The one rule for a file or folder name taken from a URL: percent-decoded, then no separators, no
# control characters (C0, C1, and the bidirectional ones, with which a file manager shows
# "photo\u202egnp.exe" as "photoexe.png") and none of the characters Windows refuses, no leading
# dots (no "..", no hidden files), no name Windows keeps for a device (CON, AUX.png…), at most
# _MAX_NAME_BYTES of UTF-8 (file systems take 255), the extension kept.
_UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f-\x9f/\\:*?"<>|\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]')
_MAX_NAME_BYTES = 200
# Names Windows keeps for devices, with any extension ("CON.png", "aux.tar.gz"): no file there can have one
_WINDOWS_DEVICES = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)),
                              *(f"LPT{n}" for n in range(1, 10))})


def safe_name(segment: str) -> str:
    """`segment` (one path segment of a URL, still percent-encoded) as a safe file name, or "" if nothing is left."""
    return safe_file_name(unquote(segment, errors="replace"))


def safe_file_name(text: str) -> str:
    """`text` as a safe file name (no separators, control or reserved characters, no leading dot,
    at most _MAX_NAME_BYTES), or "" if nothing is left."""
    name = _UNSAFE_NAME_CHARS.sub("_", text).strip().lstrip(".").rstrip(" .")
    if name.partition(".")[0].rstrip().upper() in _WINDOWS_DEVICES:
        name = "_" + name
    if len(name.encode("utf-8")) > _MAX_NAME_BYTES:
        stem, dot, extension = name.rpartition(".")
        if not dot or len(extension) > 10:
            stem, extension = name, ""
        keep = _MAX_NAME_BYTES - len(extension.encode("utf-8")) - 1
        stem = stem.encode("utf-8")[:keep].decode("utf-8", errors="ignore")
        name = f"{stem}.{extension}" if extension else stem
    return name


def original_name(url: str, given: str | None = None) -> str | None:
    """The image's own file name, made safe: the one its server `given` it (Content-Disposition),
    else the last segment of its URL's path; None if it has none."""
    named = safe_file_name(given) if given else ""
    if named:
        return named
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    return safe_name(path.rpartition("/")[2]) or None


def host_folder_of_path(path: str) -> str:
    """The host folder of a manifest path (`images/<host>/<file>`), or "?" for another shape."""
    parts = path.split("/")
    return parts[1] if len(parts) > 2 else "?"


def assigned_image_path(url: str, path: str, sha256: str) -> bool:
    """True if `path` is the very path image_path() gives content `sha256` found at `url` (the
    extension is the path's own): a node's claim about where it saved an image is checked by this."""
    extension = path.rpartition(".")[2]
    try:
        return path == image_path(url, sha256, extension)
    except ValueError:
        return False


def image_path(url: str, sha256: str, extension: str) -> str:
    """Return the relative path an image with this content, found at `url`, is saved under."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256) or not re.fullmatch(r"[a-z0-9]{1,5}", extension):
        raise ValueError(f"bad sha256 or extension: {sha256!r}, {extension!r}")
    return f"{IMAGES_DIR}/{host_folder(url)}/{sha256}.{extension}"


_STORAGE_REASONS = {errno.ENOSPC: "disk-full", errno.EDQUOT: "quota-exceeded", errno.EROFS: "read-only",
                    errno.EACCES: "permission-denied", errno.EPERM: "permission-denied"}
STORAGE_REASONS = frozenset(_STORAGE_REASONS.values()) | {"storage-error"}


def _storage_error(exc: OSError, where: Path) -> StorageError:
    reason = _STORAGE_REASONS.get(exc.errno or 0, "storage-error")
    return StorageError(f"cannot write {where}: {exc.strerror or exc}", reason)


_made_folders: set[str] = set()  # folders this process has created or found, so mkdir runs once each
_temp_numbers = itertools.count()


def _new_writer_token() -> None:
    # Random per process (and again in a forked child): with the counter it names temporary files
    # uniquely among all writers of a shared disk, without a syscall per file.
    global _writer_token
    _writer_token = f"{os.getpid()}-{os.urandom(6).hex()}"


_writer_token = ""
_new_writer_token()
os.register_at_fork(after_in_child=_new_writer_token)


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view):]


def save_atomic(root: Path, relative_path: str, data: bytes) -> bool:
    """Write `data` to root/relative_path via a temporary file and a rename; False if it was already there.

    A reader never sees half a file under its final name, and two nodes saving the same content
    at once both succeed with one intact file (the name is the content's hash). Files are not
    fsynced: that guards against a killed process, not a power cut (fsync per image cost more
    than the download itself on a local disk).
    """
    final = os.path.join(root, relative_path)
    try:
        if os.stat(final).st_size == len(data):
            return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise _storage_error(exc, Path(final)) from exc
    folder = os.path.dirname(final)
    temp_name = None
    try:
        if folder not in _made_folders:
            os.makedirs(folder, exist_ok=True)
            _made_folders.add(folder)
        # O_EXCL makes a clash of names an error, not a shared file. Plain os.write: a Python
        # file object would add three syscalls per image, each a GIL hand-off between fetchers.
        temp_name = os.path.join(folder, f"{_TEMP_PREFIX}{_writer_token}-{next(_temp_numbers)}")
        descriptor = os.open(temp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            _write_all(descriptor, data)
        finally:
            os.close(descriptor)
        os.replace(temp_name, final)
        temp_name = None
        return True
    except OSError as exc:
        _made_folders.discard(folder)  # it may have been removed under us; look again next time
        raise _storage_error(exc, Path(final)) from exc
    finally:
        if temp_name is not None:
            try:
                os.unlink(temp_name)
            except OSError:
                pass


def check_writable(root: Path, create: bool = True) -> None:
    """Raise StorageError unless files can be created under `root` (made if missing and `create`)."""
    if root.exists() and not root.is_dir():  # mkdir would say "File exists"
        raise _storage_error(NotADirectoryError(errno.ENOTDIR, "it is a file, not a folder"), root)
    try:
        if create:
            root.mkdir(parents=True, exist_ok=True)
        descriptor, probe = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=root)
        os.close(descriptor)
        os.unlink(probe)
    except OSError as exc:
        raise _storage_error(exc, root) from exc


def crawl_id_of(root: Path) -> str | None:
    """The id of the crawl whose output `root` holds, or None if it holds none (or cannot be read)."""
    try:
        return (root / STATE_DIR / CRAWL_ID_NAME).read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def mark_crawl(root: Path, keep: bool) -> str:
    """Write the crawl's id under `root` (a new random one, or with `keep` the one there if any);
    return it. Nodes compare it with the scheduler's to know they write to the crawl's output."""
    crawl_id = crawl_id_of(root) if keep else None
    if crawl_id is None:
        crawl_id = secrets.token_hex(8)
        path = root / STATE_DIR / CRAWL_ID_NAME
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_text(path, crawl_id + "\n")
        except OSError as exc:
            raise _storage_error(exc, path) from exc
    return crawl_id


def replace_text(path: Path, text: str) -> None:
    """Write a small file whole or not at all: a reader sees the old text or the new, never half."""
    temp = path.with_name(path.name + ".new")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def check_crawl_output(root: Path, crawl_id: str, scheduler_path: str) -> None:
    """Raise StorageError unless `root` exists and holds crawl `crawl_id` (a node's check before work).

    A typo in --output, or a shared disk that did not mount (the path is then a local folder),
    would otherwise take images that never reach the crawl's output.
    """
    mounted_hint = ("mount the shared output here or give --output where it is "
                    f"(the scheduler saves to {scheduler_path})")
    if not root.is_dir():
        raise StorageError(f"{root} does not exist on this machine: {mounted_hint}", "wrong-output")
    found = crawl_id_of(root)
    if found != crawl_id:
        held = "another crawl's output" if found else "no crawl's output"
        raise StorageError(f"{root} holds {held} (its {STATE_DIR}/{CRAWL_ID_NAME} does not match the scheduler's): "
                           f"{mounted_hint}", "wrong-output")
    check_writable(root, create=False)


def is_the_crawls_own(output_dir: Path, path: Path) -> bool:
    """Whether `path` is one of the files the crawl and its gallery write in `output_dir`, or in one
    of their folders: an export or a log written there would overwrite them, or mix with them."""
    target, output = path.resolve(), output_dir.resolve()
    if target in [output / name for name in (MANIFEST_NAME, FAILURES_NAME, GALLERY_NAME)]:
        return True
    folders = [output / name for name in (IMAGES_DIR, STATE_DIR, THUMBNAILS_DIR)]
    return any(target == folder or folder in target.parents for folder in folders)


def remove_temporaries(root: Path) -> int:
    """Delete temporary files left by killed writers under root/images; return how many."""
    removed = 0
    images = root / IMAGES_DIR
    if images.is_dir():
        for temp in images.glob(f"*/{_TEMP_PREFIX}*"):
            try:
                temp.unlink()
                removed += 1
            except OSError:
                pass
    return removed


class JsonLines:
    """An append-only JSON Lines file, flushed after every batch so a crash loses no finished line.

    Several schedulers of one crawl append to the same file, and one that ends its run rewrites it
    from the state (rewrite_jsonl) while the others go on: each batch goes to the file that is
    under the name now, not to the one it replaced.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = self._open()

    def _open(self) -> TextIO:
        try:
            return open(self.path, "a", encoding="utf-8")
        except OSError as exc:
            raise _storage_error(exc, self.path) from exc

    def _replaced(self) -> bool:
        try:
            return os.stat(self.path).st_ino != os.fstat(self._file.fileno()).st_ino
        except FileNotFoundError:
            return True

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        self.append_lines(json.dumps(record, ensure_ascii=False, sort_keys=True) for record in records)

    def append_lines(self, encoded: Iterable[str]) -> None:
        """Append JSON texts, one per line."""
        lines = "".join(line + "\n" for line in encoded)
        if not lines:
            return
        try:
            if self._replaced():
                self._file.close()
                self._file = self._open()
            self._file.write(lines)
            self._file.flush()
        except OSError as exc:
            raise _storage_error(exc, self.path) from exc

    def close(self) -> None:
        self._file.close()


def rewrite_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Replace `path` atomically with `records` (the records rebuilt from the state, on resume and
    at the end of a run)."""
    temp = path.with_name(f"{path.name}.rebuild-{os.getpid()}-{secrets.token_hex(4)}")  # one per writer
    try:
        with open(temp, "w", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except OSError as exc:
        raise _storage_error(exc, path) from exc
    finally:
        temp.unlink(missing_ok=True)  # there only if something failed before the rename


# What the output's readers (inspect, export, the gallery) take each file's records to be. The
# crawl writes more fields; a line without these (a hand edit, another program's file, a damaged
# disk) stopped them with a traceback.
Accept = Callable[[dict[str, Any]], bool]


def _fields(**kinds: type) -> Accept:
    return lambda record: all(isinstance(record.get(field), kind) for field, kind in kinds.items())


_MANIFEST_FIELDS = _fields(url=str, path=str, sha256=str)
# images/<a host folder as host_folder makes it>/<sha256>.<extension>: what image_path() gives
_STORE_PATH = re.compile(rf"{IMAGES_DIR}/[a-z0-9_-][a-z0-9._-]{{0,119}}/([0-9a-f]{{64}})\.[a-z0-9]{{1,5}}")


def is_manifest_record(record: dict[str, Any]) -> bool:
    """A record with a URL, and a path of the store's own making for its sha256: whoever can write the
    shared output could forge one, and `inspect` read the picture a forged path named outside the
    output and wrote its thumbnail where a forged sha256 led."""
    if not _MANIFEST_FIELDS(record) or not isinstance(record.get("bytes", 0), int):
        return False
    stored = _STORE_PATH.fullmatch(record["path"])
    return stored is not None and stored.group(1) == record["sha256"]


is_failure_record = _fields(url=str, outcome=str, reason=str)


def is_run_record(record: dict[str, Any]) -> bool:
    """A run's summary whose counts and time are numbers, as the readers add them up."""
    counts = record.get("counts")
    return (isinstance(counts, dict) and all(isinstance(count, int) for count in counts.values())
            and isinstance(record.get("seconds", 0), (int, float)))


_LINES_NAMED = 5  # of the lines left out, those a warning names
_SAID_LEFT_OUT: set[tuple[str, int]] = set()  # (file, lines left out) a warning has named


def read_jsonl(path: Path, accept: Accept | None = None) -> list[dict[str, Any]]:
    """Return the records of a JSON Lines file: its objects, those `accept` takes where given. The
    other lines are left out, and a warning names them; a torn last line (a crash's) goes unsaid."""
    records: list[dict[str, Any]] = []
    if not path.exists():
        return records
    left_out: list[int] = []
    with open(path, "rb") as source:
        for number, line in enumerate(source, start=1):
            try:
                record = json.loads(line)
            except ValueError:  # not JSON, or not UTF-8
                record = None
            if isinstance(record, dict) and (accept is None or accept(record)):
                records.append(record)
            elif line.endswith(b"\n") and line.strip():
                left_out.append(number)
    if left_out and (str(path), len(left_out)) not in _SAID_LEFT_OUT:  # inspect reads the manifest twice: said once
        _SAID_LEFT_OUT.add((str(path), len(left_out)))
        named = ", ".join(map(str, left_out[:_LINES_NAMED])) + (", …" if len(left_out) > _LINES_NAMED else "")
        log.warning("%s: %s left out, not its records (line%s %s)", path, plural(len(left_out), "line"),
                    "s" if len(left_out) > 1 else "", named)
    return records
