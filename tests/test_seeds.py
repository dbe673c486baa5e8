from pathlib import Path

import pytest

from crawler.errors import ConfigError
from crawler.seeds import read_seeds
from tests.endless_input import outcome_of_reading_endless


def test_seeds_read_urls_skipping_blanks_and_comments(tmp_path: Path) -> None:
    seed_file = tmp_path / "seeds.txt"
    seed_file.write_text("# my sites\n\nhttps://example.com/\n   http://Example.org/a  \n# end\n")
    seeds = read_seeds([str(seed_file)])
    assert seeds.urls == ["https://example.com/", "http://Example.org/a"]
    assert seeds.problems == []


def test_seeds_report_bad_lines_with_file_and_line_and_keep_going(tmp_path: Path) -> None:
    seed_file = tmp_path / "seeds.txt"
    seed_file.write_text("ftp://files.example.com/\nexample.com\nhttps://good.example/\nhttp://\n")
    seeds = read_seeds([str(seed_file)])
    assert seeds.urls == ["https://good.example/"]
    assert len(seeds.problems) == 3
    assert seeds.problems[0].startswith(f"{seed_file}:1: not an http(s) URL")
    assert seeds.problems[1].startswith(f"{seed_file}:2:") and "did you mean https://example.com" in seeds.problems[1]
    assert seeds.problems[2].startswith(f"{seed_file}:4:")


def test_seeds_an_http_url_a_browser_refuses_is_named_as_such(tmp_path: Path) -> None:
    seed_file = tmp_path / "seeds.txt"
    seed_file.write_text("https://exa mple.com/\nhttp://256.1.1.1/\nhttp://e.com:99999/\n")
    seeds = read_seeds([str(seed_file)])
    assert seeds.urls == []  # before: "not an http(s) URL", of URLs that plainly were
    assert seeds.problems == [f"{seed_file}:{line}: an http(s) URL a browser would refuse (its host, port or "
                              f"length): {url!r}" for line, url in enumerate(
                                  ("https://exa mple.com/", "http://256.1.1.1/", "http://e.com:99999/"), start=1)]


def test_seeds_accept_several_files_and_command_line_urls(tmp_path: Path) -> None:
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("https://a.example/\n")
    second.write_text("https://b.example/\n")
    seeds = read_seeds([str(first), "https://c.example/x", str(second)])
    assert seeds.urls == ["https://a.example/", "https://c.example/x", "https://b.example/"]


def test_seeds_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read seed file"):
        read_seeds([str(tmp_path / "nope.txt")])


def test_seeds_a_file_with_a_byte_order_mark_reads_line_one(tmp_path: Path) -> None:
    seed_file = tmp_path / "seeds.txt"
    seed_file.write_bytes("\ufeffhttps://example.com/\r\nhttps://example.org/\r\n".encode("utf-8"))
    seeds = read_seeds([str(seed_file)])
    assert seeds.urls == ["https://example.com/", "https://example.org/"] and seeds.problems == []


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le"])
def test_seeds_a_file_in_utf16_with_its_byte_order_mark_is_read(tmp_path: Path, encoding: str) -> None:
    # What Windows Notepad saves as "Unicode": every line was "not an http(s) URL" (h\0t\0t\0p\0...)
    seed_file = tmp_path / "seeds.txt"
    seed_file.write_bytes("\ufeffhttps://example.com/\r\nhttps://example.org/\r\n".encode(encoding))
    seeds = read_seeds([str(seed_file)])
    assert seeds.urls == ["https://example.com/", "https://example.org/"] and seeds.problems == []


def test_seeds_a_file_that_is_no_text_is_one_error_not_a_line_per_line(tmp_path: Path) -> None:
    # `crawler run photo.png` (a picture, or any binary file, given for a list): a warning for each
    # of its "lines", 79,232 of them for 3 MB
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40)
    with pytest.raises(ConfigError, match=r"photo.png is not a list of URLs \(it holds binary data\)"):
        read_seeds([str(photo)])


def test_seeds_a_binary_stream_is_refused_from_its_first_bytes(tmp_path: Path) -> None:
    # `crawler run /dev/zero` (or a 4 GB video given for a list) was read whole before its NUL
    # bytes were seen: the command hung, its memory growing, until it was killed.
    refused = outcome_of_reading_endless(tmp_path, lambda pipe: read_seeds([str(pipe)]))
    assert isinstance(refused, ConfigError) and "holds binary data" in str(refused)


@pytest.mark.parametrize(("typed", "meant"), [
    ("example.com", "example.com/"), ("www.example.com/gallery", "www.example.com/gallery"),
    ("www.example.com/a/", "www.example.com/a/"),  # before: https://www.example.com/a//
    ("localhost:8080", "localhost:8080/"), ("localhost", "localhost/"),  # before: "cannot read seed file"
    ("127.0.0.1:8741/x?y=1", "127.0.0.1:8741/x?y=1")])
def test_seeds_a_bare_host_on_the_command_line_gets_a_suggestion(typed: str, meant: str) -> None:
    with pytest.raises(ConfigError) as raised:
        read_seeds([typed])
    assert str(raised.value) == (f"{typed!r} is neither a seed file nor a URL; "
                                 f"did you mean https://{meant} (or http://{meant})?")


def test_seeds_a_dash_reads_the_list_from_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    # `grep … | crawler run -`, as wget -i - and gallery-dl -i - read theirs; it was "cannot read seed file -".
    import io
    import sys
    stdin = io.TextIOWrapper(io.BytesIO("\ufeffhttps://example.com/\n# a comment\nexample.org\n".encode()))
    monkeypatch.setattr(sys, "stdin", stdin)
    seeds = read_seeds(["-", "https://other.example/"])
    assert seeds.urls == ["https://example.com/", "https://other.example/"]
    assert len(seeds.problems) == 1 and seeds.problems[0].startswith("standard input:3:")


def test_seeds_a_url_with_a_password_is_refused_for_the_auth_file() -> None:
    # http://bob:secret@host/ was crawled with the password sent nowhere and written into every
    # manifest and failure record of the pages and pictures found under it (and shown by ps).
    seeds = read_seeds(["http://bob:secret@example.com/", "https://alice@example.org/a", "https://example.net/"])
    assert seeds.urls == ["https://example.net/"]
    assert [problem.split(": ", 1)[0] for problem in seeds.problems] == ["command line", "command line"]
    assert all("--auth-file" in problem and "secret" not in problem for problem in seeds.problems)
