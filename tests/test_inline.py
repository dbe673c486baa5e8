"""Pictures written into a page as data: URIs: found as a browser shows them, decoded, saved by
the node, and recorded by the scheduler once their files are on the disk."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from urllib.parse import quote

import pytest
import responses

from benchmarks.site import make_image
from crawler.config import FetchLimits, ImageFilter
from crawler.errors import BadMessage
from crawler.messages import MAX_INLINE_IMAGES, Kind, Outcome, make_result, make_task, read_result
from crawler.node.extract import extract
from crawler.node.fetcher import new_session
from crawler.node.handlers import TaskHandler
from crawler.node.images import NotAnImage
from crawler.node.inline import decoded
from crawler.scheduler.store import MemoryStore, UrlStatus
from crawler.storage import read_jsonl
from tests.test_scheduler import SITE, idle_scheduler, page_task

PAGE = "http://site.test/report.html"
PNG = make_image(1, "png")
OTHER_PNG = make_image(2, "png")
LIMITS = FetchLimits()


def data_uri(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def inline_of(html: str) -> list[list[str]]:
    return extract(html.encode(), PAGE).inline


def test_inline_pictures_are_found_where_a_browser_shows_them_with_their_words() -> None:
    svg = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='4' height='4'/%3E"
    html = f"""<style>.icon {{ background: url("{svg}") }}</style>
    <figure><img alt="Figure 1: the fit" src=" {data_uri(PNG)}"><figcaption>Residuals</figcaption></figure>
    <img src="{data_uri(PNG)}" title="again">
    <div style="background-image: url({data_uri(OTHER_PNG)})"></div>
    <meta property="og:image" content="{data_uri(OTHER_PNG, 'image/jpeg')}">
    <script type="application/ld+json">{{"image": "{data_uri(PNG, 'image/gif')}"}}</script>
    <img src="/plain.png">"""
    refs = extract(html.encode(), PAGE)
    assert [(uri[:30], found_as, alt, title, caption) for uri, _, found_as, alt, title, caption in refs.inline] == [
        (data_uri(PNG)[:30], "img", "Figure 1: the fit", "again", "Residuals"),  # once, with its words
        (data_uri(OTHER_PNG)[:30], "css-inline", "", "", ""),
    ]  # metadata (og:image, JSON-LD) names pictures for others to show, a <style> an interface's icons
    assert refs.inline[0][0] == data_uri(PNG)  # whole, the whitespace around it gone
    assert "http://site.test/plain.png" in [entry[0] for entry in refs.images]
    assert not any(entry[0].startswith("data:") for entry in refs.images)


def test_inline_a_lazy_loaders_placeholder_is_no_picture_of_the_page() -> None:
    gif = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw=="
    html = f"""<img class="lazyload" src="{gif}" data-src="/real.jpg">
    <img src="{gif}" data-lazy-srcset="/a.jpg 1x">
    <img aria-hidden="true" data-placeholder-image="" src="{data_uri(OTHER_PNG)}">
    <img src="/photo.jpg" style="background-image:url({data_uri(OTHER_PNG)})">
    <picture><source srcset="{gif}" data-srcset="/b.webp"><img src="/b.jpg"></picture>
    <img src="{data_uri(PNG)}" data-lazy="true">"""
    assert [entry[0] for entry in inline_of(html)] == [data_uri(PNG)]  # a switch, not a lazy source


def test_inline_the_sizer_of_gatsbys_and_next_js_images_is_no_picture_of_the_page() -> None:
    # Before each picture, Gatsby's image component (constrained layout) and Next.js's before 13
    # (intrinsic and responsive layouts) put an <img> of an SVG that only has a width and a height:
    # it holds the picture's room in the layout and draws nothing. Each was saved as a picture of
    # the page, a blank file for every size of picture on a site (two of three "pictures" of a page).
    gatsby = ("data:image/svg+xml;charset=utf-8,%3Csvg%20height='533'%20width='800'%20"
              "xmlns='http://www.w3.org/2000/svg'%20version='1.1'%3E%3C/svg%3E")
    next_js = ("data:image/svg+xml,%3csvg%20xmlns=%27http://www.w3.org/2000/svg%27%20version=%271.1%27%20"
               "width=%27640%27%20height=%27480%27/%3e")
    as_base64 = data_uri(b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30">\n</svg>', "image/svg+xml")
    drawn = data_uri(b"<svg xmlns='http://www.w3.org/2000/svg' width='4' height='3'><rect width='4' height='3'/></svg>",
                     "image/svg+xml")
    html = f"""<div data-gatsby-image-wrapper=""><div style="max-width:800px"><img alt="" role="presentation"
    aria-hidden="true" src="{gatsby}"></div><picture><img data-main-image="" data-src="/p.jpg" alt="p"></picture></div>
    <span><span><img alt="" aria-hidden="true" src="{next_js}"></span><img src="/q.jpg" data-nimg="intrinsic"></span>
    <img src="{as_base64}"><img src="{drawn}">"""
    assert [entry[0] for entry in inline_of(html)] == [drawn]  # an SVG that draws something is a picture
    assert [entry[0] for entry in extract(html.encode(), PAGE).images][:2] == ["http://site.test/p.jpg",
                                                                                 "http://site.test/q.jpg"]


def test_inline_a_page_of_more_pictures_than_a_result_holds_says_so() -> None:
    html = "".join(f'<img src="data:image/png;base64,{n:08d}">' for n in range(MAX_INLINE_IMAGES + 5))
    refs = extract(html.encode(), PAGE)
    assert len(refs.inline) == MAX_INLINE_IMAGES and refs.capped


def test_inline_data_uris_are_decoded_as_a_browser_decodes_them() -> None:
    assert decoded(data_uri(PNG), 10_000) == PNG
    wrapped = base64.b64encode(PNG).decode().rstrip("=")  # no padding, broken over lines as in e-mails
    assert decoded("data:image/png;BASE64 ," + "\n".join(wrapped[i:i + 60] for i in range(0, len(wrapped), 60)),
                   10_000) == PNG
    svg = b"<svg xmlns='http://www.w3.org/2000/svg'><text>50% &amp; \xc3\xa9</text></svg>"
    assert decoded("data:image/svg+xml;charset=utf-8," + quote(svg), 10_000) == svg
    assert decoded("data:," + quote(svg), 10_000) == svg  # no type: the bytes say what they are
    for uri, reason in ((data_uri(PNG), "too-large"), ("data:image/png;base64,AAAAA", "corrupt-image"),
                        ("data:image/png;base64,AA!A", "corrupt-image"), ("data:image/png", "not-an-image")):
        with pytest.raises(NotAnImage) as caught:
            decoded(uri, 100 if reason == "too-large" else 10_000)
        assert caught.value.reason == reason


@responses.activate
def test_inline_a_node_saves_the_pictures_written_into_a_page(tmp_path: Path) -> None:
    html = (f'<img src="{data_uri(PNG)}" alt="plot"><img src="{data_uri(b"not a picture")}">'
            f'<img src="{data_uri(make_image(3, "png", (2, 2)))}">')
    responses.get(PAGE, body=html, content_type="text/html")
    node = TaskHandler("node-1", LIMITS, ImageFilter(min_width=10), tmp_path)
    result = read_result(dict(node.handle(make_task("1.1.r", "page", PAGE, 0, None, 0), new_session(LIMITS))))
    sha = hashlib.sha256(PNG).hexdigest()
    assert [entry["image"]["path"] for entry in result["inline"]] == [f"images/site.test/{sha}.png"]
    assert (result["inline"][0]["found_as"], result["inline"][0]["alt"]) == ("img", "plot")
    assert (tmp_path / f"images/site.test/{sha}.png").read_bytes() == PNG
    assert result["inline_unsaved"] == {"not-an-image": 1, "too-narrow": 1}  # checked and filtered as any image
    assert len(list((tmp_path / "images/site.test").iterdir())) == 1


@responses.activate
def test_inline_a_page_that_opts_out_of_its_images_withholds_those_written_into_it_too(tmp_path: Path) -> None:
    responses.get(PAGE, body=f'<meta name="robots" content="noimageindex"><img src="{data_uri(PNG)}">',
                  content_type="text/html")
    node = TaskHandler("node-1", LIMITS, ImageFilter(), tmp_path)
    result = node.handle(make_task("1.1.r", "page", PAGE, 0, None, 0), new_session(LIMITS))
    assert (result["inline"], result["withheld"]) == ([], 2)  # the picture and the implicit favicon
    assert not (tmp_path / "images").exists()


def _inline_entry(path: str, data: bytes = PNG, alt: str = "") -> dict:
    return {"found_as": "img", "alt": alt, "title": "", "caption": "",
            "image": {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                      "content_type": "image/png", "width": 24, "height": 16, "filename": None}}


def test_inline_a_result_of_forged_inline_pictures_is_refused() -> None:
    good = dict(make_result(make_task("1.1.r", Kind.PAGE, PAGE, 0, None, 0), "n1", Outcome.FETCHED))
    sha = hashlib.sha256(PNG).hexdigest()
    read_result({**good, "inline": [_inline_entry(f"images/site.test/{sha}.png")], "inline_unsaved": {"x": 1}})
    for bad in ({"inline": [_inline_entry("../../etc/cron.d/x")]}, {"inline": [{**_inline_entry("a/b"), "x": 1}]},
                {"inline": [{**_inline_entry("a/b"), "found_as": "script"}]},
                {"inline": [_inline_entry("a/b")] * (MAX_INLINE_IMAGES + 1)}, {"inline": {}},
                {"inline_unsaved": {"x": -1}}, {"inline_unsaved": {str(n): 1 for n in range(50)}}):
        with pytest.raises(BadMessage):
            read_result({**good, **bad})


def _write(output: Path, path: str, data: bytes = PNG) -> None:
    (output / path).parent.mkdir(parents=True, exist_ok=True)
    (output / path).write_bytes(data)


def test_inline_pictures_are_recorded_once_their_files_are_on_the_disk(tmp_path: Path) -> None:
    scheduler = idle_scheduler(tmp_path)
    task = page_task(scheduler, "/report.html")
    sha = hashlib.sha256(PNG).hexdigest()
    path = f"images/site.test/{sha}.png"
    _write(tmp_path, path)
    scheduler._handle(dict(make_result(task, "n1", Outcome.FETCHED, status=200, validators={"etag": '"1"'},
                                       inline=[_inline_entry(path, alt="the fit")], inline_unsaved={"too-narrow": 2})),
                      0.0)
    store = scheduler._store
    assert isinstance(store, MemoryStore)
    row = store.find_url(f"{SITE}/report.html")
    # Killed now, the page is read again, whole (no validators noted to ask whether it changed)
    assert row is not None and row.status == UrlStatus.LEASED and row.id not in store._pending_fetches
    scheduler._applier.collect_checked(0.0, wait_seconds=2)
    row = store.find_url(f"{SITE}/report.html")
    assert row is not None and row.status == UrlStatus.DONE and row.id in store._pending_fetches
    scheduler._records.commit()
    (record,) = read_jsonl(tmp_path / "manifest.jsonl")
    assert (record["url"], record["page_url"], record["path"], record["alt"], record["name"], record["pages"]) == (
        f"data:image/png;sha256,{sha}", f"{SITE}/report.html", path, "the fit", None, 1)
    assert (scheduler.counts["images/saved"], scheduler.counts["images/inline"],
            scheduler.counts["images/inline-not-saved"], scheduler.counts["images/referenced"]) == (1, 1, 2, 3)
    again = page_task(scheduler, "/other.html")  # the same picture in another page: stored once
    scheduler._handle(dict(make_result(again, "n1", Outcome.FETCHED, status=200, inline=[_inline_entry(path)])), 0.0)
    assert (scheduler.counts["images/saved"], scheduler.counts["images/duplicate"]) == (1, 1)
    assert scheduler._store.find_url(f"{SITE}/other.html").status == UrlStatus.DONE  # type: ignore[union-attr]


def test_inline_a_picture_not_on_the_disk_or_not_where_assigned_has_its_page_read_again(tmp_path: Path) -> None:
    scheduler = idle_scheduler(tmp_path)
    sha = hashlib.sha256(PNG).hexdigest()
    missing = page_task(scheduler, "/missing.html")
    scheduler._handle(dict(make_result(missing, "n1", Outcome.FETCHED, status=200,
                                       inline=[_inline_entry(f"images/site.test/{sha}.png")])), 0.0)
    scheduler._applier.collect_checked(0.0, wait_seconds=2)
    forged = page_task(scheduler, "/forged.html")
    _write(tmp_path, "manifest.jsonl", b"keep me")
    scheduler._handle(dict(make_result(forged, "n1", Outcome.FETCHED, status=200,
                                       inline=[_inline_entry("manifest.jsonl")])), 0.0)
    assert (tmp_path / "manifest.jsonl").read_bytes() == b"keep me"
    assert scheduler.counts["images/saved"] == 0
    assert (scheduler.counts["images/not-on-disk"], scheduler.counts["messages/malformed"]) == (1, 1)
    assert scheduler._frontier.delayed == 2  # both pages go out again
    assert json.loads(json.dumps(scheduler.counts))  # plain figures
