"""What requests carry from files, flags and the environment: headers, Netscape cookies.txt,
basic-auth credentials, proxies and a CA bundle.

Secrets never come from the command line (ps shows it to every user): an auth file, like a key
file, must be readable by its owner only.
"""

from __future__ import annotations

import http.cookiejar
import importlib.util
import os
import re
import stat
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import getproxies

from crawler.config import header_value_fault
from crawler.errors import BadAuthkey, ConfigError
from crawler.named_files import COOKIES_FILE_BYTES, SETTINGS_FILE_BYTES, check_size, read_bounded

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header name (RFC 9110 token)
_NOT_OURS = frozenset({"host", "content-length", "transfer-encoding", "connection"})  # the HTTP stack's own


def read_private_text(path: Path, what: str) -> str:
    """The text of a file only its owner may read; BadAuthkey (a line saying how to fix it) otherwise."""
    try:
        mode = path.stat().st_mode
        text = read_bounded(path, what, SETTINGS_FILE_BYTES).decode("utf-8")
    except ConfigError as exc:  # a key file must say why it is refused as a BadAuthkey does
        raise BadAuthkey(str(exc)) from exc
    except OSError as exc:
        raise BadAuthkey(f"cannot read {what} {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise BadAuthkey(f"{what} {path} is not UTF-8 text") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise BadAuthkey(f"{what} {path} is readable by other users; run: chmod 600 {path}")
    return text


def parse_header(text: str) -> tuple[str, str]:
    """("Name", "value") from `Name: value`, or ConfigError saying what is wrong."""
    name, colon, value = text.partition(":")
    name = name.strip()
    if not colon or not _TOKEN.fullmatch(name):
        raise ConfigError(f"--header {text!r} is not 'Name: value'")
    if name.lower() in _NOT_OURS:
        raise ConfigError(f"--header {name} is set by the HTTP client itself and cannot be given")
    value = value.strip()  # the space around a field's value is not part of it (RFC 9110)
    fault = header_value_fault(value)
    if fault is not None:
        raise ConfigError(f"--header {name}: a value {fault}")
    return name, value


def read_cookies(path: Path) -> tuple[tuple[str, str, str, str, bool], ...]:
    """(domain, path, name, value, secure) of every cookie in a Netscape cookies.txt (what browsers'
    add-ons export); a secure one goes over https only, as the browser sent it."""
    jar = http.cookiejar.MozillaCookieJar()
    check_size(path, "cookies file", COOKIES_FILE_BYTES)
    try:
        jar.load(str(path), ignore_discard=True, ignore_expires=True)
    except (OSError, http.cookiejar.LoadError) as exc:
        raise ConfigError(f"cannot read cookies file {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    for cookie in jar:
        fault = header_value_fault(f"{cookie.name}={cookie.value or ''}")
        if fault is not None:  # every request to its site would fail
            raise ConfigError(f"cookies file {path}: cookie {cookie.name} of {cookie.domain}: a value {fault}")
    return tuple((cookie.domain, cookie.path, cookie.name, cookie.value or "", bool(cookie.secure)) for cookie in jar)


def read_basic_auth(path: Path) -> tuple[tuple[str, str, str], ...]:
    """(host, user, password) per line `HOST USER:PASSWORD` of an auth file (mode 600; # comments)."""
    credentials = []
    for number, line in enumerate(read_private_text(path, "auth file").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        host, _space, secret = text.partition(" ")
        user, colon, password = secret.strip().partition(":")
        if not host or not colon or not user or "/" in host:
            raise ConfigError(f"{path}:{number}: expected 'HOST USER:PASSWORD'")
        credentials.append((host.lower(), user, password))
    return tuple(credentials)


_PROXY_SCHEMES = frozenset({"http", "https", "socks4", "socks4a", "socks5", "socks5h"})
_CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")  # requests' names, the first set wins
_BUNDLE_BYTES = 16 * 2**20  # a system's whole bundle is some 200 kB


def check_environment() -> None:
    """Refuse, before a crawl, what the environment tells requests and it cannot use: every
    request (or every https one) of the crawl failed with it, each said as the site's fault."""
    check_proxies()
    check_ca_bundle()


def named_ca_bundle() -> tuple[str, str] | None:
    """(variable, path) of the CA bundle the environment names for requests, or None."""
    name = next((name for name in _CA_BUNDLE_VARIABLES if os.environ.get(name)), None)
    return None if name is None else (name, os.environ[name])


def check_ca_bundle() -> None:
    """A CA bundle named in the environment must be a file of PEM certificates, or a folder of them:
    a missing one failed each https request as "internal-error: OSError", a file of no certificate
    as a failed TLS handshake."""
    named = named_ca_bundle()
    if named is None:
        return
    name, bundle = named
    if os.path.isdir(bundle):
        return  # a folder of hashed certificates (c_rehash), as OpenSSL reads one
    try:  # read, not loaded into OpenSSL: that is 20 ms for a system's bundle
        holds_a_certificate = b"-----BEGIN CERTIFICATE-----" in read_bounded(Path(bundle), f"${name}", _BUNDLE_BYTES)
    except OSError as exc:
        raise ConfigError(f"${name} names {bundle}, which cannot be read ({exc.strerror}): every https request "
                          "would fail") from None
    if not holds_a_certificate:
        raise ConfigError(f"${name} names {bundle}, which holds no PEM certificate (-----BEGIN CERTIFICATE-----): "
                          "every https request would fail")


def check_proxies() -> None:
    """Refuse a proxy the environment names for http(s) that requests cannot use: each request of
    the crawl failed with it, said as the site's fault ("bad-url")."""
    for scheme, value in getproxies().items():
        if scheme not in ("http", "https", "all"):
            continue
        url = value if "://" in value else f"http://{value}"  # a bare host:port, as requests reads it
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is no number
            usable = bool(parts.hostname) and parts.scheme.lower() in _PROXY_SCHEMES
        except ValueError:
            usable = False
        if not usable:
            raise ConfigError(f"${scheme}_proxy is {value!r}, which is no proxy URL (like http://proxy.example:3128):"
                              " every request would fail")
        if parts.scheme.lower().startswith("socks") and importlib.util.find_spec("socks") is None:
            raise ConfigError(f"${scheme}_proxy names a SOCKS proxy, which needs PySocks: "
                              "python3 -m pip install 'requests[socks]'")
