"""Sitemaps: what a node reads from one (crawler/node/sitemap.py) and what the scheduler makes of it."""

from __future__ import annotations

import dataclasses
import gzip
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
import responses

from crawler.config import FetchLimits, ImageFilter, Limits, Politeness, SchedulerConfig, Scope
from crawler.messages import make_result, make_task, read_result
from crawler.node.fetcher import new_session
from crawler.node.handlers import TaskHandler
from crawler.node.sitemap import MAX_SITEMAP_BYTES, MAX_SITEMAP_ENTRIES, SitemapError, read_sitemap
from crawler.scheduler.loop import Scheduler
from crawler.scheduler.store import MemoryStore
from crawler.urls import canonical

SITE = "http://site.test"
IMAGE_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"
        xmlns:video="http://www.google.com/schemas/sitemap-video/1.1">
  <url>
    <loc>http://site.test/gallery/harbour.html</loc>
    <lastmod>2024-06-01</lastmod>
    <image:image>
      <image:loc>http://site.test/img/harbour.jpg</image:loc>
      <image:caption>The harbour
        at dusk</image:caption>
      <image:title>Harbour</image:title>
    </image:image>
    <image:image><image:loc>http://cdn.test/img/boats.png</image:loc></image:image>
  </url>
  <url><loc> http://site.test/about.html </loc>
    <video:video><video:thumbnail_loc>http://site.test/thumbs/tour.jpg</video:thumbnail_loc></video:video>
  </url>
</urlset>"""
INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>http://site.test/sitemaps/images.xml.gz</loc><lastmod>2024-06-01</lastmod></sitemap>
  <sitemap><loc>http://site.test/sitemaps/pages.txt</loc></sitemap>
</sitemapindex>"""


# -- reading one --------------------------------------------------------------------------------

def test_an_image_sitemap_gives_pages_and_images_with_their_words() -> None:
    for body in (IMAGE_SITEMAP, gzip.compress(IMAGE_SITEMAP)):
        found = read_sitemap(body)
        assert found.pages == [("http://site.test/gallery/harbour.html", 1717200000.0),  # 2024-06-01, UTC
                               ("http://site.test/about.html", None)]
        assert found.images == [("http://site.test/img/harbour.jpg", "Harbour", "The harbour at dusk"),
                                ("http://cdn.test/img/boats.png", "", ""), ("http://site.test/thumbs/tour.jpg", "", "")]
        assert (found.sitemaps, found.truncated) == ([], False)


def test_an_index_and_a_text_sitemap() -> None:
    assert read_sitemap(INDEX).sitemaps == ["http://site.test/sitemaps/images.xml.gz", "http://site.test/sitemaps/pages.txt"]
    text = b"\xef\xbb\xbfhttp://site.test/a.html\r\n\r\nhttps://site.test/b.html\n"
    assert read_sitemap(text).pages == [("http://site.test/a.html", None), ("https://site.test/b.html", None)]


@pytest.mark.parametrize(("body", "reason"), [
    (b"<!doctype html><html><body>Not found</body></html>", "not-a-sitemap"),  # a soft 404
    (b"Page not found\n", "not-a-sitemap"),
    (b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
     b"<urlset><url><loc>&b;</loc></url></urlset>", "unsafe-sitemap"),  # billion laughs
    (b'<!DOCTYPE urlset [<!ENTITY x SYSTEM "file:///etc/passwd">]><urlset><url><loc>&x;</loc></url></urlset>',
     "unsafe-sitemap"),
    (b"<urlset><url><loc>http://site.test/a", "bad-sitemap"),
    (b"\x1f\x8b\x08\x00garbage", "corrupt-sitemap"),
    # an encoding expat does not know raised LookupError: the node called it an internal error
    (b'<?xml version="1.0" encoding="UTF-9"?><urlset><url><loc>http://site.test/a</loc></url></urlset>',
     "not-a-sitemap"),
    # a multi-byte encoding expat does not read, nor a browser (ISO-2022-KR: read as nothing), raised
    # ValueError: the node logged a traceback and failed the sitemap as internal-error
    (b'<?xml version="1.0" encoding="ISO-2022-KR"?><urlset><url><loc>http://site.test/a</loc></url></urlset>',
     "not-a-sitemap"),
])
def test_what_is_no_sitemap_says_why(body: bytes, reason: str) -> None:
    with pytest.raises(SitemapError) as caught:
        read_sitemap(body)
    assert caught.value.reason == reason


@pytest.mark.parametrize(("label", "written_in"), [("GBK", "gbk"), ("gb2312", "gbk"), ("Shift_JIS", "cp932"),
                                                  ("EUC-KR", "cp949"), ("windows-1251", "cp1251")])
def test_a_sitemap_in_another_encoding_than_utf8_is_read_in_the_one_it_declares(label: str, written_in: str) -> None:
    # expat reads no multi-byte encoding: a sitemap declaring GBK or Shift_JIS (Chinese, Japanese and
    # Korean sites write them) raised ValueError, and the node failed it as an internal error with a
    # traceback. It is read in that encoding, its label read as the Encoding standard reads it.
    text = {"gbk": "圖片", "cp932": "写真①", "cp949": "사진똠", "cp1251": "фото"}[written_in]
    body = (f'<?xml version="1.0" encoding="{label}"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f'<url><loc>http://site.test/{text}.html</loc></url></urlset>').encode(written_in)
    assert read_sitemap(body).pages == [(f"http://site.test/{text}.html", None)]


def test_a_sitemap_with_blank_lines_before_its_xml_declaration_is_read() -> None:
    # A declaration must begin the document, and expat refused what comes after blank lines (a
    # WordPress theme's stray newlines put them before every sitemap it writes): "not-a-sitemap".
    # A whole blank step of the file was passed over already; now the blanks before it are too.
    body = (b"\xef\xbb\xbf\n\n  <?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://site.test/a</loc></url></urlset>')
    assert read_sitemap(body).pages == [("http://site.test/a", None)]


RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" xmlns:atom="http://www.w3.org/2005/Atom">
  <channel>
    <title>Photo blog</title><link>http://site.test/</link>
    <atom:link href="http://site.test/feed/" rel="self" type="application/rss+xml"/>
    <image><url>http://site.test/logo.png</url><title>Photo blog</title><link>http://site.test/</link></image>
    <item><title>Harbour at dusk</title><link>http://site.test/2024/harbour/</link>
      <enclosure url="http://site.test/photos/harbour.jpg" length="1234" type="image/jpeg"/>
      <enclosure url="http://site.test/audio/waves.mp3" length="99" type="audio/mpeg"/>
      <media:content url="http://cdn.test/harbour-large.jpg" medium="image"/>
      <media:content url="http://cdn.test/clip.mp4" medium="video"/>
      <media:thumbnail url="http://cdn.test/harbour-thumb.jpg"/></item>
    <item><title>No picture</title><link> http://site.test/2024/words/ </link></item>
  </channel>
</rss>"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
  <title>A blog</title><link href="http://site.test/blog/"/><link rel="self" href="http://site.test/feeds/posts"/>
  <logo>http://site.test/blog-logo.png</logo><icon>http://site.test/icon.png</icon>
  <entry><title>Snow</title><link rel="alternate" type="text/html" href="http://site.test/blog/snow.html"/>
    <link rel="replies" href="http://site.test/blog/snow/comments"/>
    <link rel="enclosure" type="image/png" href="http://site.test/blog/snow.png"/>
    <media:thumbnail url="http://site.test/blog/snow-s72.png" height="72" width="72"/></entry>
</feed>"""


def test_a_feed_is_a_sitemap_of_its_items_pages_and_pictures() -> None:
    # RSS 2.0 and Atom feeds are sitemaps to the protocol (sitemaps.org) and to Google, and Blogger's
    # robots.txt long named its Atom feed as its sitemap; each was "not-a-sitemap". An item's link
    # is a page; its pictures (an image enclosure, Media RSS content of an image, a thumbnail) carry
    # the item's title; the feed's own logo and icon are pictures too.
    rss = read_sitemap(RSS)
    assert rss.pages == [("http://site.test/", None), ("http://site.test/2024/harbour/", None),
                         ("http://site.test/2024/words/", None)]
    assert rss.images == [("http://site.test/logo.png", "", ""),
                          ("http://site.test/photos/harbour.jpg", "Harbour at dusk", ""),
                          ("http://cdn.test/harbour-large.jpg", "Harbour at dusk", ""),
                          ("http://cdn.test/harbour-thumb.jpg", "Harbour at dusk", "")]
    atom = read_sitemap(ATOM)
    assert atom.pages == [("http://site.test/blog/", None), ("http://site.test/blog/snow.html", None)]
    assert atom.images == [("http://site.test/blog-logo.png", "", ""), ("http://site.test/icon.png", "", ""),
                           ("http://site.test/blog/snow.png", "Snow", ""),
                           ("http://site.test/blog/snow-s72.png", "Snow", "")]
    podcast = (b'<rss xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>'
               b'<itunes:image href="http://site.test/show.jpg"/><item><title>Episode 1</title>'
               b'<link>http://site.test/ep1</link><itunes:image href="http://site.test/ep1.jpg"/>'
               b'<enclosure url="http://site.test/ep1.mp3" type="audio/mpeg"/></item></channel></rss>')
    assert read_sitemap(podcast).images == [("http://site.test/show.jpg", "", ""),
                                            ("http://site.test/ep1.jpg", "Episode 1", "")]
    rdf = (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">'
           b'<channel rdf:about="http://site.test/"><link>http://site.test/</link></channel>'
           b'<item rdf:about="http://site.test/one"><title>One</title><link>http://site.test/one</link></item></rdf:RDF>')
    assert read_sitemap(rdf).pages == [("http://site.test/", None), ("http://site.test/one", None)]


def test_a_gzip_bomb_costs_at_most_the_cap() -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    body = packer.compress(b"<urlset><url><loc>http://site.test/first.html</loc></url>")
    body += b"".join(packer.compress(b" " * 1024 * 1024) for _ in range(MAX_SITEMAP_BYTES // (1024 * 1024) + 20))
    body += packer.compress(b"<url><loc>http://site.test/never.html</loc></url></urlset>") + packer.flush()
    assert len(body) < 200_000  # 70 MB inflated
    found = read_sitemap(body)
    assert found.pages == [("http://site.test/first.html", None)] and found.truncated


def test_entries_beyond_the_protocols_limit_are_cut() -> None:
    body = b"<urlset>" + b"".join(b"<url><loc>http://site.test/%d</loc></url>" % n
                                  for n in range(MAX_SITEMAP_ENTRIES + 10)) + b"</urlset>"
    found = read_sitemap(body)
    assert len(found.pages) == MAX_SITEMAP_ENTRIES and found.truncated


@responses.activate
def test_a_node_reports_a_gzipped_sitemaps_entries_as_plain_references(tmp_path: Path) -> None:
    url = f"{SITE}/sitemaps/images.xml.gz"
    responses.get(url, body=gzip.compress(IMAGE_SITEMAP), content_type="application/x-gzip")
    limits = FetchLimits()
    handler = TaskHandler("n1", limits, ImageFilter(), tmp_path)
    result = read_result(dict(handler.handle(make_task("1.1.r", "sitemap", url, 1, None, 0), new_session(limits))))
    assert result["outcome"] == "fetched"
    assert [link[0] for link in result["links"]] == [f"{SITE}/gallery/harbour.html", f"{SITE}/about.html"]
    assert result["images"][0] == [f"{SITE}/img/harbour.jpg", f"{SITE}/img/harbour.jpg", "sitemap", "", "Harbour",
                                   "The harbour at dusk"]


def handled(tmp_path: Path, url: str, limits: FetchLimits | None = None, page_url: str | None = None) -> dict:
    """What a node answers to a page task for `url` (a seed, or found on `page_url`)."""
    limits = limits or FetchLimits()
    task = make_task("1.1.r", "page", url, 0 if page_url is None else 1, page_url, 0)
    return dict(read_result(dict(TaskHandler("n1", limits, ImageFilter(), tmp_path).handle(task, new_session(limits)))))


@responses.activate
@pytest.mark.parametrize(("body", "content_type", "name"), [
    (IMAGE_SITEMAP, "text/xml", "sitemap.xml"), (gzip.compress(IMAGE_SITEMAP), "application/x-gzip", "sitemap.xml.gz"),
    (gzip.compress(IMAGE_SITEMAP), "application/octet-stream", "sitemap.xml.gz")], ids=["xml", "gzip", "nginx-gzip"])
def test_a_page_task_that_is_a_sitemap_is_read_as_one(tmp_path: Path, body: bytes, content_type: str,
                                                      name: str) -> None:
    # `crawler run https://site/sitemap.xml`: the seed is a page task. It was skipped as "not-html"
    # and the crawl ended with nothing, saying nothing. (nginx sends .gz as application/octet-stream.)
    url = f"{SITE}/{name}"
    responses.get(url, body=body, content_type=content_type)
    result = handled(tmp_path, url)
    assert (result["outcome"], result["as_sitemap"]) == ("fetched", True)
    assert [link[0] for link in result["links"]] == [f"{SITE}/gallery/harbour.html", f"{SITE}/about.html"]
    assert result["images"][0][0] == f"{SITE}/img/harbour.jpg" and result["lastmods"]


def test_an_atom_entrys_updated_time_is_its_lastmod() -> None:
    # An Atom entry's <updated> is when it last changed, as a sitemap's <lastmod> is: a re-crawl
    # skips the page it links if it was fetched since (RSS's <pubDate> is when it was published,
    # no modification time: not read).
    body = (b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><link href="http://site.test/a"/>'
            b"<updated>2024-06-01T10:00:00Z</updated></entry><entry><link href='http://site.test/b'/>"
            b"<updated>not a date</updated></entry></feed>")
    assert read_sitemap(body).pages == [("http://site.test/a", 1717236000.0), ("http://site.test/b", None)]
    rss = (b"<rss><channel><item><link>http://site.test/c</link>"
           b"<pubDate>Sat, 01 Jun 2024 10:00:00 GMT</pubDate></item></channel></rss>")
    assert read_sitemap(rss).pages == [("http://site.test/c", None)]


@responses.activate
def test_a_page_task_that_is_a_feed_is_read_as_a_sitemap(tmp_path: Path) -> None:
    # `crawler run https://blog/feed/`, or a page's link to its feed: served as application/rss+xml or
    # application/atom+xml, it was skipped as not-html.
    for name, body, content_type in (("feed/", RSS, "application/rss+xml; charset=UTF-8"),
                                     ("atom.xml", ATOM, "application/atom+xml")):
        url = f"{SITE}/{name}"
        responses.get(url, body=body, content_type=content_type)
        result = handled(tmp_path, url)
        assert (result["outcome"], result["as_sitemap"]) == ("fetched", True)
        assert f"{SITE}/blog/snow.html" in [link[0] for link in result["links"]] or name == "feed/"
        assert len(result["images"]) == 4


@responses.activate
def test_a_seed_sitemap_longer_than_a_page_may_be_is_read_whole(tmp_path: Path) -> None:
    # A seed is asked for as a page, within --max-page-bytes; a sitemap may be 50 MB, and one of
    # 50,000 URLs is some 5 to 10 MB: it was cut at 5 MiB and a third of its pages lost.
    url = f"{SITE}/sitemap.xml"
    pages = [f"{SITE}/page-{number}.html" for number in range(2000)]
    body = ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(f"<url><loc>{page}</loc></url>" for page in pages) + "</urlset>").encode()
    responses.get(url, body=body, content_type="text/xml")
    limits = FetchLimits(max_page_bytes=len(body) // 4)
    seed = handled(tmp_path, url, limits)
    assert (seed["outcome"], seed["as_sitemap"], seed["reason"]) == ("fetched", True, None)
    assert [link[0] for link in seed["links"]] == pages
    # a sitemap a page links to stays within the page's bound, read as far as it goes
    linked = handled(tmp_path, url, limits, page_url=f"{SITE}/")
    assert (linked["as_sitemap"], linked["reason"]) == (True, "truncated") and len(linked["links"]) < len(pages)


@responses.activate
def test_a_page_task_of_xml_that_is_no_sitemap_is_still_no_page(tmp_path: Path) -> None:
    url = f"{SITE}/settings.xml"
    responses.get(url, body=b"<?xml version='1.0'?><settings><link>http://site.test/a</link></settings>",
                  content_type="application/xml")
    result = handled(tmp_path, url)
    assert (result["outcome"], result["reason"], result["as_sitemap"], result["links"]) == (
        "skipped", "not-html", False, [])


# -- what the scheduler makes of them -------------------------------------------------------------

Answer = Callable[[dict], dict]


def scheduler_for(tmp_path: Path, **scope: object) -> Scheduler:
    config = SchedulerConfig(output_dir=tmp_path, authkey=b"k" * 32, seeds=(f"{SITE}/",),
                             scope=Scope(frozenset({"site.test"}), **scope),  # type: ignore[arg-type]
                             politeness=Politeness(delay_seconds=0, per_host=1), limits=Limits(max_depth=1))
    return Scheduler(config, clock=lambda: 0.0, store=MemoryStore())


def refs(*paths: str, host: str = SITE) -> list[list[str]]:
    return [[f"{host}{path}", canonical(f"{host}{path}") or ""] for path in paths]


def site(task: dict) -> dict:
    """A site whose robots.txt lists an index of two sitemaps (one an image sitemap, one nesting further)."""
    path = task["url"].removeprefix(SITE)
    if path == "/robots.txt":
        return dict(make_result(task, "n", "fetched", status=200, robots_text=(
            "User-agent: *\nDisallow: /private/\nSitemap: http://site.test/sitemap_index.xml\n")))
    if path == "/sitemap_index.xml":
        return dict(make_result(task, "n", "fetched", status=200,
                                sitemaps=refs("/sitemaps/images.xml.gz", "/sitemaps/deeper.xml")))
    if path == "/sitemaps/images.xml.gz":
        return dict(make_result(task, "n", "fetched", status=200,
                                links=refs("/gallery.html", "/private/x.html") + refs("/elsewhere.html",
                                                                                       host="http://other.test"),
                                images=[[*refs("/img/harbour.jpg")[0], "sitemap", "", "Harbour", "At dusk"]]))
    if path.startswith("/sitemaps/deeper"):  # an index that makes up a deeper one on every request
        return dict(make_result(task, "n", "fetched", status=200, sitemaps=refs(path.replace(".xml", "/d.xml"))))
    if task["kind"] == "image":
        return dict(make_result(task, "n", "failed", reason="http-404", status=404))
    return dict(make_result(task, "n", "fetched", status=200, links=refs("/linked.html")))


def drive(scheduler: Scheduler, answer: Answer) -> list[tuple[str, str, int]]:
    """Hand out every task and apply its answer; return (kind, path, depth) in the order fetched."""
    scheduler._applier.add_seeds(scheduler.config.seeds)
    fetched = []
    for _ in range(1000):
        task = scheduler._frontier.next_task(0.0)
        if task is None:
            break
        fetched.append((task["kind"], task["url"].removeprefix(SITE), task["depth"]))
        scheduler._handle(answer(dict(task)), 0.0)
    return fetched


def test_robots_sitemaps_bring_pages_at_depth_one_and_images_with_words(tmp_path: Path) -> None:
    scheduler = scheduler_for(tmp_path)
    fetched = drive(scheduler, site)
    assert fetched[:3] == [("robots", "/robots.txt", 0), ("sitemap", "/sitemap_index.xml", 0),
                           ("sitemap", "/sitemaps/images.xml.gz", 1)]
    assert ("page", "/gallery.html", 1) in fetched and ("image", "/img/harbour.jpg", 1) in fetched
    assert not any(path.startswith(("/private/", "http://other.test")) for _kind, path, _depth in fetched)
    # the index that nests forever stops at the depth bound
    assert [path for kind, path, _ in fetched if "deeper" in path] == [
        "/sitemaps/deeper.xml", "/sitemaps/deeper/d.xml", "/sitemaps/deeper/d/d.xml"]
    # a page the sitemap listed sits at depth 1: with --max-depth 1 its links are not followed
    assert ("page", "/linked.html", 1) in fetched  # linked from the seed (depth 0)
    row = scheduler._store.find_url(f"{SITE}/img/harbour.jpg")
    assert row is not None and row.found_as == "sitemap" and row.page_url == f"{SITE}/sitemaps/images.xml.gz"
    assert row.words == '{"alt": "", "title": "Harbour", "caption": "At dusk"}'
    assert scheduler.counts["sitemaps/fetched"] == 5 and scheduler.counts["sitemaps/pages"] == 2


def test_sitemaps_only_follows_no_links_and_no_sitemaps_reads_none(tmp_path: Path) -> None:
    only = [path for kind, path, _ in drive(scheduler_for(tmp_path / "only", sitemaps_only=True), site)
            if kind == "page"]
    assert only == ["/", "/gallery.html"]  # the seed and what the sitemap lists; /linked.html is not followed
    none = drive(scheduler_for(tmp_path / "none", read_sitemaps=False), site)
    assert [kind for kind, _path, _ in none].count("sitemap") == 0


def test_without_a_sitemap_line_the_usual_place_is_tried_and_its_absence_is_no_failure(tmp_path: Path) -> None:
    def bare_site(task: dict) -> dict:
        if task["kind"] == "robots":
            return dict(make_result(task, "n", "fetched", status=404))
        if task["kind"] == "sitemap":
            return dict(make_result(task, "n", "failed", reason="http-404", status=404))
        return dict(make_result(task, "n", "fetched", status=200))
    scheduler = scheduler_for(tmp_path)
    assert drive(scheduler, bare_site)[:2] == [("robots", "/robots.txt", 0), ("sitemap", "/sitemap.xml", 0)]
    scheduler._applier.record_dropped()
    assert (scheduler.counts["sitemaps/skipped"], scheduler.counts["sitemaps/failed"]) == (1, 0)


def test_a_recrawl_skips_the_pages_a_sitemap_says_are_unmodified_since_they_were_fetched(tmp_path: Path) -> None:
    import time
    now = time.time()

    def dated_site(task: dict) -> dict:
        path = task["url"].removeprefix(SITE)
        if path == "/robots.txt":
            return dict(make_result(task, "n", "fetched", status=200, robots_text="Sitemap: http://site.test/s.xml\n"))
        if path == "/s.xml":
            pages = refs("/old.html", "/edited.html")
            return dict(make_result(task, "n", "fetched", status=200, links=pages, validators={"sha256": "s"},
                                    lastmods=[[pages[0][1], now - 86400], [pages[1][1], now + 86400]]))
        return dict(make_result(task, "n", "fetched", status=200, validators={"sha256": path}))

    store = MemoryStore()
    config = SchedulerConfig(output_dir=tmp_path, authkey=b"k" * 32, seeds=(f"{SITE}/",),
                             scope=Scope(frozenset({"site.test"})), politeness=Politeness(delay_seconds=0))
    first = Scheduler(config, clock=lambda: 0.0, store=store)
    assert {path for _kind, path, _depth in drive(first, dated_site)} >= {"/old.html", "/edited.html"}
    store.resumed = True  # as a restart with --recrawl finds it
    again = Scheduler(dataclasses.replace(config, recrawl=True), clock=lambda: 0.0, store=store)
    fetched = [path for _kind, path, _depth in drive(again, dated_site)]
    assert "/edited.html" in fetched and "/old.html" not in fetched  # the sitemap dates it before our fetch
    assert again.counts["pages/unchanged-by-lastmod"] == 1
    assert store.find_url(f"{SITE}/old.html").status == "done"  # type: ignore[union-attr]


def test_a_robots_txt_sitemap_line_brings_no_control_characters() -> None:
    # The URLs of Sitemap: lines reach logs and failure records: percent-encoded, as a browser would
    from crawler.scheduler.robots import listed_sitemaps
    assert listed_sitemaps("Sitemap: http://x.test/a\x1b]0;t\x07.xml\nSitemap: http://x.test/ok.xml\n") == [
        "http://x.test/a%1B]0;t%07.xml", "http://x.test/ok.xml"]


def test_a_seed_that_is_a_sitemap_brings_its_pages_and_the_sitemaps_it_lists(tmp_path: Path) -> None:
    def sitemap_seed(task: dict) -> dict:
        path = task["url"].removeprefix(SITE)
        if path == "/robots.txt":
            return dict(make_result(task, "n", "fetched", status=404))
        if path == "/sitemap.xml":  # where a site keeps one by default: not here
            return dict(make_result(task, "n", "failed", reason="http-404", status=404))
        if path == "/sitemap_index.xml":  # the seed, a page task, that the node found to be a sitemap
            return dict(make_result(task, "n", "fetched", status=200, as_sitemap=True,
                                    sitemaps=refs("/sitemaps/pages.xml")))
        if path == "/sitemaps/pages.xml":
            return dict(make_result(task, "n", "fetched", status=200, links=refs("/a.html", "/b.html")))
        return dict(make_result(task, "n", "fetched", status=200, links=refs("/linked.html")))

    for only in (False, True):
        config = SchedulerConfig(output_dir=tmp_path / str(only), authkey=b"k" * 32,
                                 seeds=(f"{SITE}/sitemap_index.xml",),
                                 scope=Scope(frozenset({"site.test"}), sitemaps_only=only),
                                 politeness=Politeness(delay_seconds=0), limits=Limits(max_depth=1))
        scheduler = Scheduler(config, clock=lambda: 0.0, store=MemoryStore())
        fetched = drive(scheduler, sitemap_seed)
        assert ("sitemap", "/sitemaps/pages.xml", 1) in fetched
        assert ("page", "/a.html", 1) in fetched and ("page", "/b.html", 1) in fetched
        assert not any(path == "/linked.html" for _kind, path, _depth in fetched)  # --max-depth 1
        assert scheduler.counts["sitemaps/fetched"] == 2 and scheduler.counts["pages/fetched"] == 2
