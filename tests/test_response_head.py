"""node/response_head.py reads a plain response head itself: the same message http.client's parser makes."""

from __future__ import annotations

import http.client
import io
import random
from typing import Any

import pytest

from crawler.node import response_head

NGINX = (b"Server: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 21:30:00 GMT\r\nContent-Type: image/png\r\n"
         b"Content-Length: 1234\r\nLast-Modified: Mon, 07 Dec 2026 21:00:00 GMT\r\nConnection: keep-alive\r\n"
         b'ETag: "6571f0c8-4d2"\r\nAccept-Ranges: bytes\r\n\r\nthe body, not read')

HEADS = [
    NGINX,
    b"Set-Cookie: a=1\r\nset-cookie: b=2; Path=/\r\nSET-COOKIE: c=3\r\nContent-Length: 0\r\n\r\n",  # repeated fields
    b"X-Empty:\r\nX-Blank: \r\nX-Tabs:\t \tvalue \t\r\nX-Colons: a:b::c\r\n\r\n",  # blanks kept at the end only
    b"Content-Type: text/html\nContent-Length: 5\n\n",  # bare LF line ends
    b"X-Latin: caf\xe9\r\nX-Utf8: \xc3\x85ngstr\xc3\xb6m\r\nX-Nel: a\x85b\x0bc\x0cd\x1ce\r\n\r\n",  # bytes over 127
    b"X-Cr: a\rb\r\nContent-Length: 1\r\n\r\n",  # a bare CR: two lines for email's parser
    b"X-Folded: a\r\n  b\r\n\tc\r\nX-After: d\r\n\r\n",  # obs-fold continuation lines
    b" X-Leading: continuation first\r\nX-Then: e\r\n\r\n",
    b"Garbage without a colon\r\nX-Lost: f\r\n\r\n",  # the rest becomes the parser's body
    b": no name\r\nX-Kept: g\r\n\r\n",
    b"Bad Name: h\r\nX-Kept: i\r\n\r\n",  # a space in a name: not a field for the parser
    b"From nobody Mon Dec  7 21:30:00 2026\r\nX-Kept: j\r\n\r\n",  # a mail envelope line
    b"X-Kept: k\r\nFrom nobody\r\n\r\n",
    b"Content-Type: multipart/byteranges; boundary=THIS\r\nContent-Length: 9\r\n\r\n",  # a body the parser reads
    b"Content-Type: multipart/x-mixed-replace;boundary=frame\r\n\r\n",  # an MJPEG stream's
    b"Content-Type: message/http\r\n\r\n",
    b"Content-Type: MESSAGE/delivery-status\r\n\r\n",
    b"Content-Type: text/plain; charset=utf-8\r\nX-Ok: l\r\n",  # the connection closed before the blank line
    b"Content-Type: text/plain\r\nX-Cut: m",  # ... in the middle of a line
    b"\r\n",  # no fields at all
    b"",
]


def _model(message: Any) -> tuple[type, dict[str, Any]]:
    """Everything a message holds, its defects by kind and text and its parts likewise (each
    compares by identity)."""
    state = dict(vars(message))
    state["defects"] = [(type(defect).__name__, str(defect)) for defect in message.defects]
    if isinstance(state["_payload"], list):  # a multipart's or message/*'s parts
        state["_payload"] = [_model(part) for part in state["_payload"]]
    return type(message), state


def _both(head: bytes) -> tuple[Any, Any]:
    ours = response_head.parse_headers(io.BytesIO(head))
    stock = response_head._stock_parse_headers(io.BytesIO(head))
    return _model(ours), _model(stock)


@pytest.mark.parametrize("head", HEADS)
def test_response_head_is_the_message_http_clients_parser_makes(head: bytes) -> None:
    ours, stock = _both(head)
    assert ours == stock


def test_response_head_matches_http_clients_parser_on_random_heads() -> None:
    pieces = [b"Content-Type", b"content-type", b"X-A", b"Set-Cookie", b"From", b"Bad Name", b"", b" ", b"\t",
              b":", b": ", b"multipart/mixed", b"message/rfc822", b"text/html", b"image/png", b"\r", b"\n", b"\r\n",
              b"\x85", b"\xff", b"\x00", b"\x7f", b"a=1", b";", b"boundary=x", b"From ", b"  "]
    rng = random.Random(20261207)

    def line() -> bytes:
        if rng.random() < 0.6:  # a field, as servers send them, with any byte in its value but a line break
            name = bytes(rng.choice(b"ABCXYZabcxyz-_0~!") for _ in range(rng.randint(1, 12)))
            value = bytes(rng.choice([n for n in range(256) if n not in b"\r\n"]) for _ in range(rng.randint(0, 12)))
            return name + b":" + rng.choice([b"", b" ", b"\t ", b"  "]) + value
        return b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))

    for _ in range(2_000):
        lines = [line() + rng.choice([b"\r\n", b"\n"]) for _ in range(rng.randint(0, 8))]
        head = b"".join(lines) + rng.choice([b"\r\n", b"", b"\n"])
        ours, stock = _both(head)
        assert ours == stock, head


def test_response_head_reads_a_plain_head_without_emails_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    # email's parser took some 27 µs of a fetch's 400 for nginx's ten lines
    assert http.client.parse_headers is response_head.parse_headers  # what HTTPResponse.begin() calls
    by_email: list[bytes] = []
    monkeypatch.setattr(response_head, "_by_email", lambda lines, _class: by_email.append(b"".join(lines)))
    message = response_head.parse_headers(io.BytesIO(NGINX))
    assert by_email == []
    assert message["content-length"] == "1234" and message.get_content_type() == "image/png"
    response_head.parse_headers(io.BytesIO(b"X-Folded: a\r\n b\r\n\r\n"))
    assert by_email == [b"X-Folded: a\r\n b\r\n\r\n"]  # what it does not read itself


def test_response_head_keeps_http_clients_bounds() -> None:
    with pytest.raises(http.client.LineTooLong):
        response_head.parse_headers(io.BytesIO(b"X-Long: " + b"a" * 70_000 + b"\r\n\r\n"))
    with pytest.raises(http.client.HTTPException, match="got more than"):
        response_head.parse_headers(io.BytesIO(b"X: y\r\n" * (response_head.HEAD_LINES + 1) + b"\r\n"))
