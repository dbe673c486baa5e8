from pathlib import Path

import pytest

from crawler.credentials import parse_header, read_basic_auth, read_cookies
from crawler.errors import BadAuthkey, ConfigError


def test_credentials_headers_are_name_and_value() -> None:
    assert parse_header("Accept-Language:  en-GB ") == ("Accept-Language", "en-GB")
    assert parse_header("X-Empty:") == ("X-Empty", "")
    for bad in ("no colon", "Bad Name: x", ": x", "Host: evil.test", "X-A: b\r\nX-B: c"):
        with pytest.raises(ConfigError):
            parse_header(bad)


def test_credentials_netscape_cookies_file(tmp_path: Path) -> None:
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n"
                       ".example.com\tTRUE\t/\tFALSE\t0\tsession\tabc123\n"
                       "shop.example.com\tFALSE\t/cart\tTRUE\t2147483647\tcart\t42\n")
    # the fourth field says the cookie goes over https only (a browser's session cookie, often)
    assert set(read_cookies(cookies)) == {(".example.com", "/", "session", "abc123", False),
                                          ("shop.example.com", "/cart", "cart", "42", True)}
    (tmp_path / "bad.txt").write_text("not a cookies file\n")
    with pytest.raises(ConfigError, match="cannot read cookies file"):
        read_cookies(tmp_path / "bad.txt")


def test_credentials_auth_file_must_be_private_and_well_formed(tmp_path: Path) -> None:
    auth = tmp_path / "auth"
    auth.write_text("# host user:password\nPhotos.Example.com alice:s3cr3t:with:colons\n")
    auth.chmod(0o644)
    with pytest.raises(BadAuthkey, match="chmod 600"):
        read_basic_auth(auth)
    auth.chmod(0o600)
    assert read_basic_auth(auth) == (("photos.example.com", "alice", "s3cr3t:with:colons"),)
    auth.write_text("photos.example.com alice\n")
    with pytest.raises(ConfigError, match="HOST USER:PASSWORD"):
        read_basic_auth(auth)
