"""A deliberately hostile web server on 127.0.0.1: every way a site can hurt a crawler, each bounded."""

from __future__ import annotations

import base64
import gzip
import io
import os
import posixpath
import struct
import threading
import time
import zlib
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler
from urllib.parse import quote, unquote, urlsplit

from PIL import Image

from tests.integration.loopback import LoopbackServer

LONG_NAME = "a" * 5000 + ".png"
TRAVERSAL = "..%2f..%2f..%2fetc%2fpasswd.png"
SAME_FORMS = ["/img/same.png", "/img/./same.png", "/x/../img/same.png", "/img/same.png#again", "/img/%73ame.png"]


def png(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (10, 10), (seed * 40 % 256, 99, seed * 7 % 256)).save(out, "PNG")
    return out.getvalue()


def png_bomb() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b""))


GZIP_BOMB = gzip.compress(b"\0" * 30_000_000, compresslevel=9)  # ~30 KB on the wire, 30 MB inflated
GOOD_IMAGES = {"/flap.png": png(1), "/busy.png": png(2), "/img/same.png": png(3),
               "/img/" + TRAVERSAL: png(4), "/img/" + LONG_NAME: png(5), "/latin.png": png(6),
               "/malformed.png": png(7), "/before-tangle.png": png(8), "/hinted.png": png(10),
               "/odd-header.png": png(11)}
# Scripts, figures and tags that the page ends inside, tens of thousands of them: the extractor
# read on to the end of the page from each of them (minutes for these 235 KB).
TANGLE = b'<img src="/before-tangle.png">' + b"<script>" * 8_000 + b"<figure " * 12_000 + b"<a " * 25_000


def month_path(month: int) -> str:
    """The calendar's page of a month counted from year 0 (year * 12 + month - 1)."""
    return f"/events/month/{month // 12:04d}-{month % 12 + 1:02d}/"


def this_month() -> int:
    today = time.gmtime()
    return today.tm_year * 12 + today.tm_mon - 1


def calendar_page(path: str) -> bytes:
    """An events calendar's month view (this month's at /events/), with its previous and next months
    (`path` as the handler normalised it: no trailing slash)."""
    shown = this_month() if path == "/events" else int(path[14:18]) * 12 + int(path[19:21]) - 1
    return (f'<html><body><a href="{month_path(shown - 1)}">previous</a> <a href="{month_path(shown + 1)}">next</a>'
            "</body></html>").encode()


def shop_page() -> bytes:
    """A shop that writes a new Tomcat session id into each of its links (it never sees its cookie
    come back): its three items, and itself."""
    links = [f"/shop/item-{n}" for n in (1, 2, 3)] + ["/shop/"]
    return ("<html><body>" + "".join(f'<a href="{link};jsessionid={os.urandom(16).hex().upper()}">x</a>'
                                     for link in links) + "</body></html>").encode()


def index_page() -> bytes:
    links = ["/drip.html", "/endless.html", "/loop-a", "/chain-0", "/to-file", "/latin1.html", "/malformed.html",
             "/soft/", "/deep/", "/tangle.html", "/events/", "/shop/"]
    images = ["/flap.png", "/busy.png", "/lie.png", "/bomb.png", "/html-as.jpg", "/png-bomb.png",
              "/drip.png", "/endless.png", "/img/" + TRAVERSAL, "/img/" + LONG_NAME, *SAME_FORMS,
              "/hinted.png", "/odd-header.png", "/ssh.png"]
    body = "".join(f'<a href="{link}">x</a>' for link in links)
    body += "".join(f'<img src="{image}">' for image in images)
    # Pictures written into the page: a decompression bomb, and an SVG entity bomb ("billion laughs")
    laughs = '<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><svg>&b;</svg>'
    body += f'<img src="data:image/png;base64,{base64.b64encode(png_bomb()).decode()}">'
    body += f'<img src="data:image/svg+xml,{quote(laughs)}">'
    return f"<html><body>{body}</body></html>".encode()


class HostileServer(LoopbackServer):
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.times: dict[str, list[float]] = defaultdict(list)
        self._lock = threading.Lock()
        server = self

        class Handler(_HostileHandler):
            site = server

        self._serve(Handler)

    def record(self, path: str) -> int:
        with self._lock:
            self.hits[path] += 1
            self.times[path].append(time.monotonic())
            return self.hits[path]


class _HostileHandler(BaseHTTPRequestHandler):
    site: HostileServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _send(self, status: int, body: bytes = b"", content_type: str = "text/html", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        if "Content_Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, target: str) -> None:
        self._send(302, Location=target)

    def _drip(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.end_headers()
        for _ in range(30):  # one byte a second, for at most 30 seconds
            self.wfile.write(b"<")
            self.wfile.flush()
            time.sleep(1)

    def _endless(self, content_type: str, prefix: bytes = b"") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.end_headers()
        self.wfile.write(prefix)
        chunk = b"<p>" + b"x" * 65_533
        for _ in range(800):  # stops by itself after ~50 MB
            self.wfile.write(chunk)

    def do_GET(self) -> None:
        path = posixpath.normpath(unquote(urlsplit(self.path).path))
        path = path if path != "." else "/"
        if self.path.lower().startswith("/img/..%2f"):
            path = "/img/" + TRAVERSAL  # the server's own name for that file
        count = self.site.record(path)
        try:
            self._route(path, count)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _route(self, path: str, count: int) -> None:
        if path == "/":
            self._send(200, index_page())
        elif path == "/drip.html":
            self._drip("text/html")
        elif path == "/drip.png":
            self._drip("image/png")
        elif path == "/endless.html":
            self._endless("text/html", b'<html><body><a href="/after-endless.html">more</a>')
        elif path == "/endless.png":
            self._endless("image/png")
        elif path == "/after-endless.html":
            self._send(200, b"<html><body>reached past the endless page</body></html>")
        elif path == "/loop-a":
            self._redirect("/loop-b")
        elif path == "/loop-b":
            self._redirect("/loop-a")
        elif path.startswith("/chain-"):
            self._redirect(f"/chain-{int(path[7:]) + 1}")
        elif path == "/to-file":
            self._redirect("file:///etc/passwd")
        elif path == "/flap.png" and count == 1:
            self._send(500, b"oops")
        elif path == "/busy.png" and count == 1:
            self._send(429, b"slow down", Retry_After="1")
        elif path == "/lie.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", "5000")
            self.end_headers()
            self.wfile.write(png(9)[:100])
            self.close_connection = True
        elif path == "/bomb.png":
            self._send(200, GZIP_BOMB, "image/png", Content_Encoding="gzip")
        elif path == "/html-as.jpg":
            self._send(200, b"<html><body>Sorry, not found</body></html>", "image/jpeg")
        elif path == "/png-bomb.png":
            self._send(200, png_bomb(), "image/png")
        elif path == "/latin1.html":  # really ISO-8859-1, and says so
            self._send(200, '<html><body>Caf\xe9 <img src="/latin.png"></body></html>'.encode("latin-1"),
                       "text/html; charset=iso-8859-1")
        elif path == "/malformed.html":  # claims UTF-8 but is not, and its markup is broken
            self._send(200, b"<html><body><div><<table>\xff\xfe<img src='/malformed.png'></p></b></html",
                       "text/html; charset=utf-8")
        elif path == "/tangle.html":
            self._send(200, TANGLE)
        elif (path + "/").startswith("/soft/"):  # a soft 404: any path is a page, with a relative link deeper
            self._send(200, b'<html><body>Not found. <a href="again/">Try again</a></body></html>')
        elif (path + "/").startswith("/deep/"):  # every page links one folder deeper, each folder a new name
            self._send(200, f'<html><body><a href="{path.count("/")}/">deeper</a></body></html>'.encode())
        elif path == "/shop" or path.startswith("/shop/"):  # a new session id in every link, cookie or not
            self._send(200, shop_page())
        elif path == "/events" or path.startswith("/events/month/"):  # a calendar: on to the next month for ever
            self._send(200, calendar_page(path))
        elif path == "/hinted.png":  # a 103 Early Hints before the answer (Node's writeEarlyHints, Go's net/http)
            self.wfile.write(b"HTTP/1.1 103 Early Hints\r\nLink: </hinted.png>; rel=preload; as=image\r\n\r\n")
            self._send(200, GOOD_IMAGES[path], "image/png")
        elif path == "/odd-header.png":  # a header line with no colon: http.client stops reading headers there
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\nNo colon here\r\n\r\n"
                             + GOOD_IMAGES[path])
            self.close_connection = True
        elif path == "/ssh.png":  # a port that speaks another protocol
            self.wfile.write(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
            self.close_connection = True
        elif path in GOOD_IMAGES:
            self._send(200, GOOD_IMAGES[path], "image/png")
        else:
            self._send(404, b"not here")
