"""Failure reasons: short tokens in records and on the wire, and the sentence a person reads for each."""

from __future__ import annotations

from urllib.parse import urlsplit

from crawler.units import host_port
from crawler.urls import DEFAULT_PORTS

COULD_NOT_RESOLVE = "could-not-resolve"  # the resolver failed this time (worth another attempt)
NO_SUCH_HOST = "no-such-host"  # the DNS answered that the name does not exist: final, as in wget and curl
CONNECTION_REFUSED = "connection-refused"
CERTIFICATE_UNTRUSTED = "certificate-untrusted"  # self-signed, or by an authority this machine does not trust
CERTIFICATE_EXPIRED = "certificate-expired"  # or not valid yet
CERTIFICATE_WRONG_HOST = "certificate-wrong-host"
CONNECTION_RESET = "connection-reset"
# An https:// URL whose server answered the TLS handshake in plain text (OpenSSL's "wrong version
# number"): an http:// site, or a port of another service. Any other failed handshake is TLS_FAILED.
NO_TLS = "no-tls"
TLS_FAILED = "ssl-error"
# What came back is no HTTP a client reads (another protocol's port, a broken status line, headers
# past http.client's bounds, two lengths): asking again gets the same
BAD_RESPONSE = "bad-response"
BAD_ENCODING = "bad-encoding"  # a body its Content-Encoding (gzip, br, deflate, zstd) does not decode
INCOMPLETE_BODY = "incomplete-body"  # the connection closed before the body's announced end
# The proxy the node's environment names ($http_proxy, $https_proxy, $all_proxy), not the site,
# refused the connection, has a name the DNS does not know, or failed otherwise (closed the
# connection, would not open a tunnel to the site)
PROXY_REFUSED = "proxy-refused"
PROXY_UNKNOWN_HOST = "proxy-unknown-host"
PROXY_FAILED = "proxy-failed"
# What the proxy answered for the site, not the site (Squid's error pages, see node.fetcher): it
# could not resolve the site's name; its rules deny the site
PROXY_NO_SUCH_HOST = "proxy-no-such-host"
PROXY_DENIED = "proxy-denied"
# Failures before any server answered: they took no time of one (see StatusTracker.record_result)
NO_SERVER_REACHED = frozenset({NO_SUCH_HOST, COULD_NOT_RESOLVE, CONNECTION_REFUSED, PROXY_REFUSED,
                               PROXY_UNKNOWN_HOST, PROXY_NO_SUCH_HOST, PROXY_DENIED})
# A URL that was this slow twice will very likely be slow a third time, and every attempt holds
# one of its host's slots for up to --timeout: two attempts survive a one-off stall.
SLOW_REASONS = frozenset({"ReadTimeout", "ConnectTimeout", "too-slow"})
MAX_SLOW_ATTEMPTS = 2
# A bot check instead of the page (Cloudflare marks its challenge pages `cf-mitigated: challenge`,
# whatever their status): only a browser that runs its script gets past, so asking again is no use
BOT_CHALLENGE = "bot-challenge"
# An image its server sent with an opt-out for us: an X-Robots-Tag (noai, noimageindex…), or
# TDMRep's tdm-reservation: 1 (see node.optout). Each is counted as images/REASON.
X_ROBOTS_TAG = "x-robots-tag"
TDM_RESERVATION = "tdm-reservation"
# A chained task handed back unfetched (see Frontier.next_tasks): a task before it in its chain
# failed in a way worth another attempt (the origin or our disk is in trouble, maybe asking us to
# slow down), or the crawl is stopping, so the node stops the chain there. Not an attempt: the
# scheduler queues it again (for a --resume, when stopping).
NOT_STARTED = "not-started"


def _host_port(url: str) -> tuple[str, str]:
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
        return parts.hostname or url, host_port(parts.hostname or "", port)
    except ValueError:
        return url, url


def _proxy_sentence(reason: str, url: str, address: str) -> str:
    scheme = url.partition(":")[0].lower()
    proxy = f"the proxy the node sends {scheme}:// requests through (its ${scheme}_proxy or $all_proxy)"
    if reason == PROXY_REFUSED:
        return f"connection refused by {proxy}"
    if reason == PROXY_UNKNOWN_HOST:
        return f"the DNS knows no host by the name of {proxy}"
    if reason == PROXY_NO_SUCH_HOST:
        return f"{proxy} could not find the address of {urlsplit(url).hostname or address} (Squid's ERR_DNS_FAIL)"
    if reason == PROXY_DENIED:
        return f"{proxy} refused to fetch it: its rules deny {address}"
    return f"{proxy} failed: it closed the connection, or would not connect to {address}"


def describe_reason(reason: str, url: str) -> str:
    """Return what `reason` means for `url` in words a person can act on."""
    host, address = _host_port(url)
    if reason == COULD_NOT_RESOLVE:
        return f"could not resolve {host}"
    if reason == NO_SUCH_HOST:
        return f"no host is named {host} (the DNS says so)"
    if reason == CONNECTION_REFUSED:
        return f"connection refused by {address}"
    if reason == CONNECTION_RESET:
        return f"connection reset by {address}"
    if reason in (PROXY_REFUSED, PROXY_UNKNOWN_HOST, PROXY_FAILED, PROXY_NO_SUCH_HOST, PROXY_DENIED):
        return _proxy_sentence(reason, url, address)
    if reason == BAD_RESPONSE:
        return (f"{address} answered with something that is not HTTP a client can read (a status line or "
                "headers that are not HTTP, a head over 256 KiB or 8,192 lines or a line over 64 KiB, two lengths)")
    if reason == CERTIFICATE_UNTRUSTED:
        return (f"the certificate of {address} is not trusted (self-signed, or by an authority this machine "
                "does not know: REQUESTS_CA_BUNDLE names a CA file to trust; --no-check-certificate takes any)")
    if reason == CERTIFICATE_EXPIRED:
        return f"the certificate of {address} has expired (or is not valid yet; --no-check-certificate takes it)"
    if reason == CERTIFICATE_WRONG_HOST:
        return f"the certificate of {address} is for another host name (--no-check-certificate takes it)"
    if reason == NO_TLS:
        return f"{address} does not speak TLS: it answered https:// in plain text (an http:// site?)"
    if reason == BAD_ENCODING:
        return f"{address} sent a body that does not decode as its Content-Encoding says (gzip, br, deflate, zstd)"
    if reason == INCOMPLETE_BODY:
        return f"{address} closed the connection before the end of the body it announced"
    if reason == TLS_FAILED:
        return f"the TLS handshake with {address} failed (ssl-error)"
    if reason == BOT_CHALLENGE:
        return (f"{address} answered with a bot check (Cloudflare's challenge, cf-mitigated), which only a "
                "browser running its script gets past")
    if reason == "ConnectTimeout":
        return f"no connection to {address} within the connect timeout"
    if reason in ("ReadTimeout", "too-slow"):
        return f"{address} sent too slowly ({reason})"
    if reason.startswith("http-") and reason[5:8].isdigit():
        return f"{address} answered HTTP {reason[5:]}"
    return reason
