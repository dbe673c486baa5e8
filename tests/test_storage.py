import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crawler.errors import StorageError
from crawler.storage import (
    JsonLines,
    check_writable,
    host_folder,
    image_path,
    is_manifest_record,
    read_jsonl,
    remove_temporaries,
    rewrite_jsonl,
    save_atomic,
)

SHA = hashlib.sha256(b"x").hexdigest()


@pytest.mark.parametrize("url, folder", [
    ("http://Example.com/a.png", "example.com"),
    ("https://example.com:443/a.png", "example.com"),
    ("http://127.0.0.1:8080/a.png", "127.0.0.1_8080"),
    ("http://[::1]:81/a.png", "__1_81"),
    ("http://../etc/passwd", "unknown-host"),
    ("http://%2e%2e/x", "_2e_2e"),
    ("http://пример.рф/a.png", "xn--e1afmkfd.xn--p1ai"),  # IDNA's ASCII form of a name in another script
    ("http://B\u00fccher.example:8080/a.png", "xn--bcher-kva.example_8080"),
])
def test_storage_host_folder_is_a_safe_name(url: str, folder: str) -> None:
    assert host_folder(url) == folder


def test_storage_a_folder_of_a_host_named_in_another_script_is_shown_with_the_name_as_written() -> None:
    from crawler.storage import folder_as_shown
    assert folder_as_shown(host_folder("http://bücher.test:8080/a.png")) == "xn--bcher-kva.test_8080 (bücher.test)"
    assert folder_as_shown(host_folder("https://пример.рф/a.png")) == "xn--e1afmkfd.xn--p1ai (пример.рф)"
    assert folder_as_shown("example.com_8080") == "example.com_8080"
    long = host_folder("https://" + "ü" * 70 + ".example/a.png")  # Punycode alone, which IDNA refuses
    assert folder_as_shown(long) == long


def test_storage_hosts_named_in_other_scripts_keep_folders_of_their_own() -> None:
    # Each letter outside ASCII became a `_`: every Cyrillic name of a 6-letter label under .рф
    # shared the one folder `______.__`, and bücher.example was bächer.example's.
    hosts = ["пример.рф", "привет.рф", "bücher.example", "bächer.example", "例子.测试", "示例.测试",
             "ü" * 70 + ".example", "ü" * 71 + ".example"]  # labels IDNA refuses as too long: Punycode alone
    folders = {host_folder(f"https://{host}/a.png") for host in hosts}
    assert len(folders) == len(hosts)
    assert all(folder.isascii() and "_" not in folder for folder in folders)


def test_storage_image_path_never_comes_from_the_url_path() -> None:
    hostile = "http://example.com/../../etc/" + "A" * 5000 + ".png?x=/../../y"
    path = image_path(hostile, SHA, "png")
    assert path == f"images/example.com/{SHA}.png"
    with pytest.raises(ValueError):
        image_path("http://example.com/", "../" + SHA[3:], "png")
    with pytest.raises(ValueError):
        image_path("http://example.com/", SHA, "p/ng")


def test_storage_save_atomic_writes_once_and_leaves_no_temporaries(tmp_path: Path) -> None:
    relative = f"images/example.com/{SHA}.png"
    assert save_atomic(tmp_path, relative, b"data") is True
    assert save_atomic(tmp_path, relative, b"data") is False
    assert (tmp_path / relative).read_bytes() == b"data"
    assert [p.name for p in (tmp_path / "images/example.com").iterdir()] == [f"{SHA}.png"]


def test_storage_two_writers_of_the_same_image_leave_one_intact_file(tmp_path: Path) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB, so the writes really overlap
    relative = f"images/example.com/{hashlib.sha256(data).hexdigest()}.png"
    barrier = threading.Barrier(8)
    errors = []

    def write() -> None:
        barrier.wait()
        try:
            save_atomic(tmp_path, relative, data)
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert (tmp_path / relative).read_bytes() == data
    assert len(list((tmp_path / "images/example.com").iterdir())) == 1


def test_storage_a_forked_child_names_its_temporaries_apart_from_its_parent() -> None:
    from crawler import storage
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(writer, storage._writer_token.encode())
        os._exit(0)
    os.close(writer)
    os.waitpid(child, 0)
    with os.fdopen(reader, "rb") as pipe:
        child_token = pipe.read().decode()
    assert child_token and child_token != storage._writer_token
    assert child_token.split("-")[0] == str(child)


def test_storage_remove_temporaries_cleans_what_killed_writers_left(tmp_path: Path) -> None:
    folder = tmp_path / "images" / "h"
    folder.mkdir(parents=True)
    (folder / ".tmp-abc").write_bytes(b"half")
    (folder / f"{SHA}.png").write_bytes(b"whole")
    assert remove_temporaries(tmp_path) == 1
    assert [p.name for p in folder.iterdir()] == [f"{SHA}.png"]


def test_storage_jsonl_append_rewrite_and_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    lines = JsonLines(path)
    lines.append([{"a": 1}, {"b": "é"}])
    lines.close()
    with open(path, "a") as torn:
        torn.write('{"c": ')  # a crash in the middle of a line
    assert read_jsonl(path) == [{"a": 1}, {"b": "é"}]
    rewrite_jsonl(path, [{"z": 0}])
    assert read_jsonl(path) == [{"z": 0}]


def test_storage_jsonl_leaves_out_and_names_lines_that_are_not_its_records(tmp_path: Path,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    # a hand edit, another program's file, a damaged disk: each such line stopped `crawler inspect`
    # and `export` with a traceback (KeyError, TypeError, AttributeError, UnicodeDecodeError)
    path = tmp_path / "manifest.jsonl"
    good = {"url": "http://a.test/x.png", "path": f"images/a.test/{'0' * 64}.png", "sha256": "0" * 64}
    path.write_bytes(b"".join(json.dumps(line).encode() + b"\n" for line in (good, [1], {"a": 1}, {**good, "path": 3}))
                     + b"\xff\xfe\n" + b"\n" + json.dumps(good).encode() + b"\n" + b'{"url": ')  # a torn last line
    with caplog.at_level(logging.WARNING):
        assert read_jsonl(path, is_manifest_record) == [good, good]
    assert f"{path}: 4 lines left out, not its records (lines 2, 3, 4, 5)" in caplog.text
    caplog.clear()
    assert len(read_jsonl(path)) == 4  # any object, where no shape is asked for
    assert "lines left out" in caplog.text


def test_lines_appended_after_another_process_rewrote_the_file_land_in_it(tmp_path: Path) -> None:
    """Schedulers of one crawl append to the same records; one that stops rewrites them from the
    state while the others go on (before: their later lines went to the replaced file, unseen)."""
    path = tmp_path / "manifest.jsonl"
    still_running = JsonLines(path)
    still_running.append([{"n": 1}])
    rewrite_jsonl(path, [{"n": 1}])  # another scheduler settling at the end of its run
    still_running.append([{"n": 2}])
    still_running.close()
    assert read_jsonl(path) == [{"n": 1}, {"n": 2}]


def test_two_rewrites_at_once_do_not_share_a_temporary_file(tmp_path: Path) -> None:
    """Schedulers finishing a shared crawl together rewrite the same file (before: through one
    temporary name, so the second truncated the first's and its rename found nothing to move)."""
    path = tmp_path / "failures.jsonl"

    def slow_records(tag: str, other: Callable[[], None] | None) -> Iterator[dict[str, str]]:
        yield {"from": tag}
        if other is not None:
            other()  # the other scheduler rewrites the file while this one is half-way
        yield {"from": tag, "last": "yes"}

    rewrite_jsonl(path, slow_records("a", lambda: rewrite_jsonl(path, slow_records("b", None))))
    assert read_jsonl(path) == [{"from": "a"}, {"from": "a", "last": "yes"}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["failures.jsonl"]


def test_storage_an_output_that_is_a_file_is_named_as_such(tmp_path: Path) -> None:
    # `--output notes.txt` said "cannot write notes.txt: File exists".
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StorageError, match="notes.txt: it is a file, not a folder"):
        check_writable(tmp_path / "notes.txt")
    assert (tmp_path / "notes.txt").read_text() == "mine"
