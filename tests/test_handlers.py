"""What a node does with a task, against HTTP mocks (responses): stylesheets and SVG images."""

import tempfile
import time
from pathlib import Path

import responses

from crawler.config import FetchLimits, ImageFilter
from crawler.messages import make_task, read_result
from crawler.node.fetcher import new_session
from crawler.node.handlers import TaskHandler

LIMITS = FetchLimits()
CSS_URL = "http://site.test/static/css/site.css"


def handler(tmp_path: Path) -> TaskHandler:
    return TaskHandler("node-1", LIMITS, ImageFilter(), tmp_path)


@responses.activate
def test_handlers_stylesheet_reports_images_against_its_own_url_and_its_imports(tmp_path: Path) -> None:
    responses.get(CSS_URL, content_type="text/css", body=(
        b'@import "theme.css"; @font-face { src: url(../fonts/a.woff2) }\n'
        b".hero { background: url(../img/hero.jpg) } .flag { background: url('/flags/fr.svg') }"))
    task = make_task("3.1", "stylesheet", CSS_URL, 0, "http://site.test/", 0)
    result = read_result(dict(handler(tmp_path).handle(task, new_session(LIMITS))))
    assert result["outcome"] == "fetched"
    assert result["images"] == [
        ["http://site.test/static/img/hero.jpg", "http://site.test/static/img/hero.jpg", "css-linked", "", "", ""],
        ["http://site.test/flags/fr.svg", "http://site.test/flags/fr.svg", "css-linked", "", "", ""]]
    assert result["stylesheets"] == [["http://site.test/static/css/theme.css", "http://site.test/static/css/theme.css"]]


@responses.activate
def test_handlers_an_error_page_where_a_stylesheet_was_expected_is_skipped(tmp_path: Path) -> None:
    responses.get(CSS_URL, content_type="text/html", body=b"<html><body><img src=/x.png></body></html>")
    result = handler(tmp_path).handle(make_task("3.1", "stylesheet", CSS_URL, 0, None, 0), new_session(LIMITS))
    assert (result["outcome"], result["reason"], result["images"]) == ("skipped", "not-css", [])


@responses.activate
def test_handlers_svg_is_saved_as_is_and_an_entity_bomb_is_refused(tmp_path: Path) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><script>alert(1)</script></svg>'
    responses.get("http://site.test/logo.svg", content_type="image/svg+xml", body=svg)
    responses.get("http://site.test/bomb.svg", content_type="image/svg+xml",
                  body=b'<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><svg>&b;</svg>')
    session = new_session(LIMITS)
    saved = handler(tmp_path).handle(make_task("4.1", "image", "http://site.test/logo.svg", 1, None, 0), session)
    assert saved["outcome"] == "saved" and saved["image"] is not None
    image = saved["image"]
    assert (image["content_type"], image["width"], image["height"]) == ("image/svg+xml", 8, 8)
    assert (tmp_path / saved["image"]["path"]).read_bytes() == svg  # stored byte for byte, never rewritten
    refused = handler(tmp_path).handle(make_task("5.1", "image", "http://site.test/bomb.svg", 1, None, 0), session)
    assert (refused["outcome"], refused["reason"]) == ("failed", "unsafe-svg")


@responses.activate
def test_handlers_a_link_to_a_picture_is_held_to_the_image_cap_not_the_page_cap(tmp_path: Path) -> None:
    from benchmarks.site import make_image
    picture = make_image(7, "png") + b"\0" * 3000  # a real PNG, with trailing bytes to make it large
    limits = FetchLimits(max_page_bytes=1000, max_image_bytes=10_000)
    node = TaskHandler("node-1", limits, ImageFilter(), tmp_path)
    responses.get("http://site.test/full.png", content_type="image/png", body=picture)
    responses.get("http://site.test/huge.png", content_type="image/png", body=picture * 4)
    saved = node.handle(make_task("6.1", "page", "http://site.test/full.png", 1, None, 0), new_session(limits))
    assert saved["outcome"] == "saved"  # before: too-large, at the 1000-byte page cap
    refused = node.handle(make_task("7.1", "page", "http://site.test/huge.png", 1, None, 0), new_session(limits))
    assert (refused["outcome"], refused["reason"]) == ("failed", "too-large")  # over the image cap


@responses.activate
def test_handlers_a_link_to_a_picture_its_server_has_no_type_for_is_read_by_its_bytes(tmp_path: Path) -> None:
    # An open directory's links to .heic and .jxl photos on nginx (Debian's mime.types has neither:
    # application/octet-stream), to .webp on an old server (text/plain), an SVG sent as XML, a
    # picture sent with no type (Apache's for an extension it does not know): each was skipped
    # as `not-html`, where the same file in an <img> was saved.
    from benchmarks.site import make_image
    from tests.test_images import _JXL_24X16
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>'
    served = {"a.jxl": ("application/octet-stream", _JXL_24X16),
              "b.webp": ("text/plain; charset=UTF-8", make_image(1, "webp")),
              "c.svg": ("text/xml", svg),
              "d.jpg": ("binary/octet-stream", make_image(2, "jpg")),
              "e.png": ("", make_image(3, "png")),
              "f.jfif": ("application/octet-stream", make_image(4, "jpg"))}  # a JPEG as Windows names it
    for name, (content_type, body) in served.items():
        responses.get(f"http://site.test/photos/{name}", body=body, content_type=content_type or None)
    node, session = handler(tmp_path), new_session(LIMITS)
    for number, (name, (_type, body)) in enumerate(served.items()):
        result = node.handle(make_task(f"{number}.1", "page", f"http://site.test/photos/{name}", 1, None, 0), session)
        assert result["outcome"] == "saved", (name, result["reason"])
        assert (tmp_path / result["image"]["path"]).read_bytes() == body


@responses.activate
def test_handlers_a_download_link_that_names_a_picture_file_is_read_by_its_bytes(tmp_path: Path) -> None:
    # A gallery's "download the original" (Piwigo's action.php?…&download, a forum's attachment)
    # sends the full-size photo as application/octet-stream with its file name in
    # Content-Disposition: it was skipped as `not-html`, unread.
    from benchmarks.site import make_image
    photo = make_image(5, "jpg")
    generic = "application/octet-stream"
    responses.get("http://site.test/action.php?id=12&part=e&download", body=photo, content_type=generic,
                  headers={"Content-Disposition": 'attachment; filename="lake at dawn.jpg"'})
    responses.get("http://site.test/action.php?id=13&download", body=b"%PDF-1.4", content_type=generic,
                  headers={"Content-Disposition": 'attachment; filename="menu.pdf"'})
    node, session = handler(tmp_path), new_session(LIMITS)
    saved = node.handle(make_task("1.1", "page", "http://site.test/action.php?id=12&part=e&download", 1, None, 0),
                        session)
    assert saved["outcome"] == "saved" and saved["image"]["filename"] == "lake at dawn.jpg"
    assert (tmp_path / saved["image"]["path"]).read_bytes() == photo
    other = node.handle(make_task("2.1", "page", "http://site.test/action.php?id=13&download", 1, None, 0), session)
    assert (other["outcome"], other["reason"], other["bytes"]) == ("skipped", "not-html", 0)  # left unread


@responses.activate
def test_handlers_a_picture_named_link_that_is_no_picture_is_read_as_before(tmp_path: Path) -> None:
    limits = FetchLimits(max_page_bytes=1000, max_image_bytes=10_000)
    node, session = TaskHandler("node-1", limits, ImageFilter(), tmp_path), new_session(limits)
    responses.get("http://site.test/notes.jpg", content_type="application/octet-stream", body=b"\x01" * 500)
    responses.get("http://site.test/view.jpg", body=b"<html><img src=photo.jpg>" + b" " * 2000, content_type=None)
    responses.get("http://site.test/huge.jxl", content_type="application/octet-stream", body=b"\xff\x0a" * 6000)
    skipped = node.handle(make_task("1.1", "page", "http://site.test/notes.jpg", 1, None, 0), session)
    assert (skipped["outcome"], skipped["reason"]) == ("skipped", "not-html")
    page = node.handle(make_task("2.1", "page", "http://site.test/view.jpg", 1, None, 0), session)
    assert page["outcome"] == "fetched" and page["reason"] == "truncated"  # at the page cap, as a page is
    assert "http://site.test/photo.jpg" in [image[0] for image in page["images"]]
    refused = node.handle(make_task("3.1", "page", "http://site.test/huge.jxl", 1, None, 0), session)
    assert (refused["outcome"], refused["reason"]) == ("failed", "too-large")  # held to the image cap


@responses.activate
def test_handlers_a_recrawl_reads_nothing_again_when_the_bytes_are_the_same(tmp_path: Path) -> None:
    import hashlib
    page, image = "http://site.test/p.html", "http://site.test/i.svg"
    body = b'<a href="/next.html">next</a>'
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>'
    responses.get(page, body=body, content_type="text/html")  # a server that sends no validators
    responses.get(image, status=304)
    known = {"sha256": hashlib.sha256(body).hexdigest()}
    result = read_result(dict(handler(tmp_path).handle(make_task("1.1.r", "page", page, 0, None, 0, known),
                                                       new_session(LIMITS))))
    assert (result["outcome"], result["links"], result["bytes"]) == ("unchanged", [], len(body))  # not parsed
    result = read_result(dict(handler(tmp_path).handle(make_task("2.1.r", "image", image, 0, page, 0, {"etag": "x"}),
                                                       new_session(LIMITS))))
    assert (result["outcome"], result["bytes"], result["validators"]) == ("unchanged", 0, {"etag": "x"})
    responses.replace(responses.GET, image, body=svg, content_type="image/svg+xml")  # changed: saved anew
    result = read_result(dict(handler(tmp_path).handle(make_task("2.2.r", "image", image, 0, page, 0, {"etag": "x"}),
                                                       new_session(LIMITS))))
    assert result["outcome"] == "saved" and result["validators"] == {"sha256": hashlib.sha256(svg).hexdigest()}


@responses.activate
def test_handlers_a_page_that_refreshes_at_once_is_a_redirect(tmp_path: Path) -> None:
    # The root of many a site (GitHub Pages, Sphinx, Hugo aliases): a browser goes on to /en/ at once.
    responses.get("http://site.test/", content_type="text/html", body=(
        b'<html><head><meta http-equiv="refresh" content="0; url=/en/"></head>'
        b'<body><img src="/never-shown.png">Redirecting...</body></html>'))
    responses.get("http://site.test/old.html", content_type="text/html", headers={"Refresh": "0; url=new.html"},
                  body=b"<html><body>moved</body></html>")
    session = new_session(LIMITS)
    for url, target in (("http://site.test/", "http://site.test/en/"),
                        ("http://site.test/old.html", "http://site.test/new.html")):
        result = read_result(dict(handler(tmp_path).handle(make_task("6.1", "page", url, 0, None, 0), session)))
        assert (result["outcome"], result["location"], result["images"]) == ("redirect", [target, target], [])


@responses.activate
def test_handlers_send_the_referer_a_browser_sends_so_hotlink_protection_lets_images_through(tmp_path: Path) -> None:
    from benchmarks.site import make_image
    from crawler.config import RequestOptions
    picture = make_image(3, "png")

    def hotlink_protected(request):  # type: ignore[no-untyped-def]
        allowed = request.headers.get("Referer", "").startswith("http://site.test/")
        return (200, {"Content-Type": "image/png"}, picture) if allowed else (403, {}, b"no hotlinking")

    responses.add_callback(responses.GET, "http://cdn.test/photo.png", callback=hotlink_protected)
    responses.add_callback(responses.GET, "http://site.test/img/own.png", callback=hotlink_protected)
    session = new_session(LIMITS)
    found_on = "http://site.test/gallery/page.html#top"
    saved = handler(tmp_path).handle(make_task("7.1", "image", "http://cdn.test/photo.png", 1, found_on, 0), session)
    assert saved["outcome"] == "saved"
    assert responses.calls[-1].request.headers["Referer"] == "http://site.test/"  # another origin: the origin
    handler(tmp_path).handle(make_task("7.2", "image", "http://site.test/img/own.png", 1, found_on, 0), session)
    assert responses.calls[-1].request.headers["Referer"] == "http://site.test/gallery/page.html"
    # A seed has none; a Referer given with --header is sent as given.
    responses.get("http://site.test/", content_type="text/html", body=b"<p>seed</p>")
    handler(tmp_path).handle(make_task("7.3", "page", "http://site.test/", 0, None, 0), session)
    assert "Referer" not in responses.calls[-1].request.headers
    options = RequestOptions(headers=(("Referer", "http://mine.test/"),))
    mine = TaskHandler("node-1", LIMITS, ImageFilter(), tmp_path, options)
    mine.handle(make_task("7.4", "image", "http://cdn.test/photo.png", 1, found_on, 0), new_session(LIMITS, options))
    assert responses.calls[-1].request.headers["Referer"] == "http://mine.test/"


@responses.activate
def test_handlers_the_referer_of_a_page_whose_url_is_no_ascii_is_its_url_as_sent(tmp_path: Path) -> None:
    # The Referer went as the page's URL as the crawl keeps it, in Unicode: http.client writes a
    # header in Latin-1, so every picture of a page named in Cyrillic, Greek, Chinese (a sitemap's
    # <loc>, a link to /wiki/Москва) failed as bad-url, never asked for, and a Latin-1 one went out as
    # raw bytes. A browser sends the URL as it asked for it, percent-encoded (and a host in IDNA).
    from benchmarks.site import make_image
    responses.get("http://site.test/b.png", body=make_image(4, "png"), content_type="image/png")
    responses.get("http://xn--bcher-kva.test/c.png", body=make_image(5, "png"), content_type="image/png")
    session = new_session(LIMITS)
    for number, (page, picture, sent) in enumerate((
            ("http://site.test/圖/頁.html?q=圖", "http://site.test/b.png",
             "http://site.test/%E5%9C%96/%E9%A0%81.html?q=%E5%9C%96"),
            ("http://site.test/Москва", "http://site.test/b.png", "http://site.test/%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0"),
            ("http://site.test/café.html", "http://site.test/b.png", "http://site.test/caf%C3%A9.html"),
            ("http://bücher.test/ß.html", "http://xn--bcher-kva.test/c.png", "http://xn--bcher-kva.test/%C3%9F.html"))):
        result = handler(tmp_path).handle(make_task(f"8.{number}", "image", picture, 1, page, 0), session)
        assert result["outcome"] in ("saved", "duplicate"), result  # (one picture, shown on two pages)
        assert responses.calls[-1].request.headers["Referer"] == sent


@responses.activate
def test_handlers_a_saved_image_carries_the_file_name_its_server_gives() -> None:
    # Forums and galleries serve pictures from attachment.php?id=…: the name is in Content-Disposition
    # (RFC 6266: filename* wins over filename), as a browser's "Save image as" and wget
    # --content-disposition use it. Sent as the server sent it: the scheduler makes it safe.
    from benchmarks.site import make_image
    given = {"1": "inline; filename=\"Harbour at dusk.jpg\"",
             "2": "attachment; filename=\"fallback.png\"; filename*=UTF-8''%E5%86%99%E7%9C%9F.png",
             "3": 'attachment; filename="../../etc/passwd"',
             "4": 'attachment; filename="\xd1\x84\xd0\xbe\xd1\x82\xd0\xbe.gif"',  # raw UTF-8, as servers send it
             "5": "inline", "6": 'attachment; filename=""',
             "8": 'attachment; filename="=?utf-8?B?5YaZ55yfLnBuZw==?="',  # MIME encoded words, as some PHP sends
             # a charset no codec can be (a NUL in it): the picture failed as bad-url, lost
             "9": "attachment; filename=\"plain.png\"; filename*=a\x00b''broken.png"}
    for number, header in given.items():
        responses.get(f"http://site.test/attachment.php?id={number}", body=make_image(int(number), "png"),
                      headers={"Content-Disposition": header}, content_type="application/octet-stream")
    responses.get("http://site.test/attachment.php?id=7", body=make_image(7, "png"), content_type="image/png")
    session = new_session(LIMITS)
    names = []
    with tempfile.TemporaryDirectory() as folder:
        for number in range(1, 10):
            task = make_task(f"{number}.1", "image", f"http://site.test/attachment.php?id={number}", 1, None, 0)
            result = read_result(dict(handler(Path(folder)).handle(task, session)))
            assert result["outcome"] == "saved" and result["image"] is not None
            names.append(result["image"]["filename"])
    assert names == ["Harbour at dusk.jpg", "写真.png", "../../etc/passwd", "фото.gif", None, None, None, "写真.png",
                     "plain.png"]


@responses.activate
def test_handlers_a_page_and_a_stylesheet_report_the_referrer_policy_their_header_sets(tmp_path: Path) -> None:
    responses.get(CSS_URL, content_type="text/css", body=b".a { background: url(/a.png) }",
                  headers={"Referrer-Policy": "no-referrer"})
    responses.get("http://site.test/", content_type="text/html", headers={"Referrer-Policy": "origin, same-origin"},
                  body=b'<img src="/b.png"><img src="/c.png" referrerpolicy="unsafe-url">')
    session = new_session(LIMITS)
    sheet = handler(tmp_path).handle(make_task("3.1", "stylesheet", CSS_URL, 0, "http://site.test/", 0), session)
    assert sheet["referrer_policy"] == "no-referrer"
    page = read_result(dict(handler(tmp_path).handle(make_task("1.1", "page", "http://site.test/", 0, None, 0),
                                                     session)))
    assert page["referrer_policy"] == "same-origin"  # the last policy the header names that a browser knows
    assert page["referrer_policies"] == [["http://site.test/c.png", "unsafe-url"]]


def test_handlers_a_link_to_a_video_or_an_archive_is_skipped_without_reading_it(tmp_path: Path) -> None:
    # Sites link downloads (zip, mp4, pdf) as they link pages; the body of one was read up to the
    # page cap (5 MB) before it was found to be no page, holding a fetcher all that time.
    from tests.test_fetcher import _dripping_server
    head = b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 100000\r\n\r\n"
    started = time.monotonic()
    with _dripping_server(head, b"x" * 100, every=0.2) as base:  # reading it would take 20 s
        result = handler(tmp_path).handle(make_task("9.1", "page", base + "movie.mp4", 1, None, 0),
                                          new_session(LIMITS))
    assert (result["outcome"], result["reason"], result["bytes"]) == ("skipped", "not-html", 0)
    assert time.monotonic() - started < 3


@responses.activate
def test_handlers_a_page_or_stylesheet_of_more_references_than_a_result_holds_says_so(tmp_path: Path,
                                                                                      monkeypatch) -> None:
    # Past MAX_REFS_PER_PAGE (50,000) references the rest of a page is left out; the result said
    # nothing of it, so the page counted as read in full. (A cap of 100 here, for the test's speed.)
    import crawler.node.extract
    cap = 100
    monkeypatch.setattr(crawler.node.extract, "MAX_REFS_PER_PAGE", cap)
    many = range(cap + 10)
    responses.get("http://site.test/index.html", content_type="text/html",
                  body="".join(f'<a href="/p/{n}.html">{n}</a>' for n in many))
    responses.get(CSS_URL, content_type="text/css", body="".join(f".i{n}{{background:url(/i/{n}.png)}}" for n in many))
    responses.get("http://site.test/small.html", content_type="text/html", body='<a href="/p/1.html">1</a>')
    page = read_result(dict(handler(tmp_path).handle(make_task("1.1", "page", "http://site.test/index.html", 0, None,
                                                               0), new_session(LIMITS))))
    assert (page["outcome"], page["reason"], len(page["links"])) == ("fetched", "too-many-references", cap)
    sheet = read_result(dict(handler(tmp_path).handle(make_task("2.1", "stylesheet", CSS_URL, 0, None, 0),
                                                      new_session(LIMITS))))
    assert (sheet["outcome"], sheet["reason"]) == ("fetched", "too-many-references")
    small = read_result(dict(handler(tmp_path).handle(make_task("3.1", "page", "http://site.test/small.html", 0, None,
                                                                0), new_session(LIMITS))))
    assert (small["outcome"], small["reason"]) == ("fetched", None)
