import re
from pathlib import Path

import pytest

from crawler.broker import read_authkey_file
from crawler.credentials import check_ca_bundle, check_proxies, parse_header, read_basic_auth, read_cookies
from crawler.errors import BadAuthkey, ConfigError
from tests.endless_input import outcome_of_reading_endless


def test_credentials_headers_are_name_and_value() -> None:
    assert parse_header("Accept-Language:  en-GB ") == ("Accept-Language", "en-GB")
    assert parse_header("X-Empty:") == ("X-Empty", "")
    for bad in ("no colon", "Bad Name: x", ": x", "Host: evil.test", "X-A: b\r\nX-B: c"):
        with pytest.raises(ConfigError):
            parse_header(bad)
    assert parse_header("X-Latin: café") == ("X-Latin", "café")  # Latin-1, as http.client sends it


@pytest.mark.parametrize("bad, words", [
    ("X-A: ☃", "--header X-A: a value cannot hold '☃': a header goes as Latin-1 text"),
    ("X-A: a\x00b", "--header X-A: a value cannot hold the control character '\\x00'"),
    ("X-A: a\x7fb", "--header X-A: a value cannot hold the control character '\\x7f'"),
])
def test_credentials_a_header_value_http_cannot_send_is_refused(bad: str, words: str) -> None:
    # each was taken, and every request of the crawl failed, said as bad-url ("the seed was
    # skipped: its site's robots.txt could not be read: bad-url")
    with pytest.raises(ConfigError, match=re.escape(words)):
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


def test_credentials_a_cookie_no_request_can_carry_is_refused(tmp_path: Path) -> None:
    # it was taken, and every request to its site failed, said as bad-url
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\nsite.test\tFALSE\t/\tFALSE\t0\tsession\tv☃l\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"cookies file {cookies}: cookie session of site.test: a value "
                                                    "cannot hold '☃': a header goes as Latin-1 text")):
        read_cookies(cookies)


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


@pytest.mark.parametrize("what", ["auth file", "authkey file"])
def test_credentials_a_file_that_never_ends_is_refused_not_read_for_ever(tmp_path: Path, what: str) -> None:
    # `--auth-file /dev/zero`, `--authkey-file /dev/zero`: read until the memory was gone, the
    # command saying nothing. A key or auth file is a few hundred bytes; past 1 MiB it is another file.
    read = read_basic_auth if what == "auth file" else read_authkey_file
    refused = outcome_of_reading_endless(tmp_path, read)
    assert isinstance(refused, BadAuthkey) and str(refused).startswith(f"{what} ")
    assert "is larger than 1MiB: no such file is; was another file given?" in str(refused)


def test_credentials_a_device_for_a_cookies_file_is_refused() -> None:
    # `--cookies /dev/zero` read one endless line; a pipe (`--cookies <(…)`) is still read
    with pytest.raises(ConfigError, match="cookies file /dev/zero is a device, not a file"):
        read_cookies(Path("/dev/zero"))


def _only_proxy(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    for variable in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(variable, raising=False)
        monkeypatch.delenv(variable.upper(), raising=False)
    monkeypatch.setenv(name, value)


@pytest.mark.parametrize("value", ["http://[::1", "http://proxy.example:abc", "ftp://proxy.example:21", "http://:3128"])
def test_credentials_a_proxy_requests_cannot_use_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    # every request of the crawl failed with it, each recorded as the site's "bad-url"
    _only_proxy(monkeypatch, "https_proxy", value)
    with pytest.raises(ConfigError) as refused:
        check_proxies()
    assert str(refused.value) == (f"$https_proxy is {value!r}, which is no proxy URL (like http://proxy.example:3128):"
                                  " every request would fail")


@pytest.mark.parametrize("value", ["http://proxy.example:3128", "proxy.example:3128", "https://user:pw@proxy.example/",
                                   "socks5h://127.0.0.1:1080"])
def test_credentials_a_proxy_requests_can_use_passes(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    if value.startswith("socks"):
        pytest.importorskip("socks", reason="SOCKS proxies need PySocks (requests[socks])")
    _only_proxy(monkeypatch, "all_proxy", value)
    check_proxies()


def test_credentials_a_ca_bundle_of_certificates_or_a_folder_passes(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    bundle = tmp_path / "ca.pem"
    bundle.write_text("# our CA\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    for named in (bundle, tmp_path):  # a file of PEM certificates, a folder of hashed ones
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(named))
        check_ca_bundle()
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.setenv("CURL_CA_BUNDLE", str(tmp_path / "missing.pem"))  # requests reads this name too
    with pytest.raises(ConfigError, match=r"\$CURL_CA_BUNDLE names .*missing.pem, which cannot be read"):
        check_ca_bundle()
