"""Script menus: the navigation data the pages of Doxygen, DocFX and LibreOffice's help build their
menus from, and the data fgallery's page draws its gallery from (crawler/node/menus.py), what a
node answers for one, and what the scheduler makes of it."""

from __future__ import annotations

from pathlib import Path

import pytest
import responses

from crawler.config import FetchLimits, ImageFilter, Limits, Politeness, SchedulerConfig, Scope
from crawler.messages import make_result, make_task, read_result
from crawler.node.extract import extract
from crawler.node.fetcher import new_session
from crawler.node.handlers import TaskHandler
from crawler.node.menus import MAX_TREE_INDEX_FILES, is_menu_file, read_menu
from crawler.scheduler.loop import Scheduler
from crawler.scheduler.store import MemoryStore
from crawler.urls import canonical
from tests.test_sitemaps import drive

SITE = "http://site.test"
# As fgallery 1.9.1 writes it (two photos; the second with a caption and its original kept)
FGALLERY_DATA = (
    '{"name":"Holiday","version":"1.9.1","download":"files/album.zip","blur":[600,336],"thumb":[[150,112],[267,200]],'
    '"data":[{"thumb":["thumbs/p00.jpg",[150,113]],"img":["imgs/p00.jpg",[1600,1200]],"blur":"blurs/p00.jpg",'
    '"stamp":1},{"stamp":2,"blur":"blurs/p01.jpg","img":["imgs/p01.jpg",[1600,1200]],"file":["files/p01.jpg",'
    '[3200,2400]],"caption":["Lake","At dawn"],"thumb":["thumbs/p01.jpg",[150,113]],"date":"2026-05-01 06:12"},'
    '{"img":7},"not an item"]}')
# As Doxygen 1.9.4 writes them (cut short)
MENUDATA = """/*
 @licstart  The following is the entire license notice for the JavaScript code in this file.
 @licend  The above is the entire license notice for the JavaScript code in this file
*/
var menudata={children:[
{text:"Main Page",url:"index.html"},
{text:"Classes",url:"annotated.html",children:[
{text:"Class List",url:"annotated.html"},
{text:"Class Index",url:"classes.html"},
{text:"Class Members",url:"functions.html",children:[
{text:"All",url:"functions.html",children:[
{text:"a",url:"functions.html#index_a"}]}]}]},
{text:"Files",url:"files.html"}]}
"""
NAVTREEDATA = """var NAVTREE =
[
  [ "Doxygen", "index.html", [
    [ "Installation", "install.html", [
      [ "Compiling from source on UNIX", "install.html#install_src_unix", null ]
    ] ],
    [ "Classes", "annotated.html", "annotated_dup" ]
  ] ]
];

var NAVTREEINDEX =
[
"annotated.html",
"config.html#config_docbook"
];

var SYNCONMSG = 'click to disable panel synchronisation';
"""
NAVTREEINDEX1 = """var NAVTREEINDEX1 =
{
"config.html#config_docbook":[5,1],
"starting.html":[3],
"sub/page.html#step1":[3,0]
};
"""


def test_a_menu_bar_lists_its_pages_and_a_tree_its_index_files() -> None:
    assert read_menu(MENUDATA, "menudata.js").pages == [
        "index.html", "annotated.html", "annotated.html", "classes.html", "functions.html", "functions.html",
        "functions.html#index_a", "files.html"]
    tree = read_menu(NAVTREEDATA, "navtreedata.js")
    assert tree.pages == ["index.html", "install.html", "install.html#install_src_unix", "annotated.html",
                          "annotated.html", "config.html#config_docbook"]
    assert tree.menus == ["navtreeindex0.js", "navtreeindex1.js"]  # one a NAVTREEINDEX entry
    index = read_menu(NAVTREEINDEX1, "navtreeindex1.js")
    assert index.pages == ["config.html#config_docbook", "starting.html", "sub/page.html#step1"]
    assert index.menus == []
    # text that names no HTML file is no page: titles, messages, the licence
    assert read_menu('var x = ["index", "a.js", "page.html5", "no page.html", "img.png"];', "menudata.js").pages == []


# LibreOffice's help (cut short): its pages' <base href> is the help's root, whose language
# folder holds these, and their links are relative to that root
CONTENTS = """document.getElementById("Contents").innerHTML='\\
    <ul><li><input type="checkbox" id="02"><label for="02">Text Documents (Writer)</label><ul>\\
    <li><a target="_top" href="en-US/text/swriter/main0000.html?DbPAR=WRITER">Welcome</a></li>\\
    <li><a target="_top" href="en-US/text/swriter/guide/main.html?DbPAR=WRITER">Instructions</a></li>\\
    </ul></li></ul>\\
';
"""
BOOKMARKS = """var bookmarks = [
{url:"en-US/text/swriter/guide/calculate.html?DbPAR=WRITER#bm_id3149909", app:"WRITER", text:"= -- in tables"},
{url:"en-US/text/scalc/01/04060106.html?DbPAR=CALC#bm_id3159069", app:"CALC", text:"ABS function"},
];
"""


def test_libreoffices_help_lists_its_pages_from_the_helps_root() -> None:
    contents = read_menu(CONTENTS, "contents.js")
    assert contents.pages == ["en-US/text/swriter/main0000.html?DbPAR=WRITER",
                              "en-US/text/swriter/guide/main.html?DbPAR=WRITER"]
    assert contents.base == "../"  # the folder above the language's, which holds the file
    bookmarks = read_menu(BOOKMARKS, "bookmarks.js")
    assert bookmarks.pages == ["en-US/text/swriter/guide/calculate.html?DbPAR=WRITER#bm_id3149909",
                               "en-US/text/scalc/01/04060106.html?DbPAR=CALC#bm_id3159069"]
    assert bookmarks.base == "../"
    # a file of one of those names that is not LibreOffice's lists nothing: its strings are a script's
    assert read_menu('var pages = ["intro.html"];', "contents.js").pages == []
    assert read_menu(MENUDATA, "menudata.js").base == ""


@pytest.mark.timeout(30)  # read from each "NAVTREEINDEX = [" on to a "]" that never comes, this took hours
def test_a_hostile_menu_is_read_once_and_within_bounds() -> None:
    text = 'NAVTREEINDEX = ["a", ' * 250_000  # 5 MB: --max-page-bytes
    assert len(read_menu(text, "navtreedata.js").menus) == MAX_TREE_INDEX_FILES
    assert read_menu('"' + ("a" * 3000 + '"') * 1500, "menudata.js").pages == []  # long quoted runs, no page among them


def test_only_navigation_data_counts_as_a_menu() -> None:
    for src in ("menudata.js", "../menudata.js", "/docs/api/navtreedata.js", "navtreeindex12.js", "menudata.js?v=2",
                "en-US/contents.js", "../../../pt-BR/bookmarks.js", "/latest/de/contents.js"):
        assert is_menu_file(src), src
    for src in ("jquery.js", "menu.js", "navtree.js", "mymenudata.js", "menudata.json", "menudata.js.map",
                "contents.js", "static/contents.js", "en-US/langnames.js"):
        assert not is_menu_file(src), src


def test_fgallery_data_lists_every_size_of_every_photo() -> None:
    # fgallery (Debian's package) writes a page with no picture in it: its script draws the gallery
    # from data.json beside the page. A crawl found the viewer's icons alone, none of the photos.
    entries = read_menu(FGALLERY_DATA, "data.json")
    assert entries.pages == [] and entries.menus == []
    assert entries.images == [(["thumbs/p00.jpg", "blurs/p00.jpg", "imgs/p00.jpg"], None, None),
                              (["thumbs/p01.jpg", "blurs/p01.jpg", "imgs/p01.jpg", "files/p01.jpg"], "Lake", "At dawn")]
    for other in ('{"data": "x"}', "[1, 2]", "not json", '{"data": [{"thumb": [7]}]}', '[' * 100_000):
        assert read_menu(other, "data.json").images == [], other


def test_an_fgallery_page_names_its_data() -> None:
    html = (b'<html><head><script src="mootools-core-1.4.js" type="text/javascript"></script>'
            b'<script src="mootools-mooswipe.js" type="text/javascript"></script>'
            b'<script src="index.js" type="text/javascript"></script></head>'
            b'<body><div id="gallery"></div></body></html>')
    refs = extract(html, f"{SITE}/photos/2026/")
    assert [url for url, _key in refs.menus] == [f"{SITE}/photos/2026/data.json"]  # as its script asks, from the page
    assert extract(html.replace(b"mooswipe", b"more"), f"{SITE}/photos/2026/").menus == []


@responses.activate
def test_a_node_answers_fgallery_data_with_its_photos(tmp_path: Path) -> None:
    result = answered(tmp_path, f"{SITE}/photos/data.json", FGALLERY_DATA, "application/json")
    assert result["outcome"] == "fetched" and result["links"] == []
    assert [(url, form, title, caption) for url, _key, form, _alt, title, caption in result["images"]] == [
        (f"{SITE}/photos/{path}", "gallery", *words) for path, words in [
            ("thumbs/p00.jpg", ("", "")), ("blurs/p00.jpg", ("", "")), ("imgs/p00.jpg", ("", "")),
            ("thumbs/p01.jpg", ("Lake", "At dawn")), ("blurs/p01.jpg", ("Lake", "At dawn")),
            ("imgs/p01.jpg", ("Lake", "At dawn")), ("files/p01.jpg", ("Lake", "At dawn"))]]


def test_a_page_names_the_navigation_data_its_scripts_load() -> None:
    html = (b'<html><head><script type="text/javascript" src="jquery.js"></script>'
            b'<script type="text/javascript" src="../menudata.js"></script>'
            b"<script SRC='navtreedata.js' async></script>"
            b'<script data-src="navtreeindex0.js"></script>'  # no src of its own: nothing a browser loads
            b'<script>var s = "<script src=menudata.js>";</script></head>'  # text in a script, not a tag
            b"<body><a href=\"annotated.html\">Classes</a></body></html>")
    refs = extract(html, f"{SITE}/api/index.html")
    assert [url for url, _key in refs.menus] == [f"{SITE}/menudata.js", f"{SITE}/api/navtreedata.js"]
    assert [url for url, _key in refs.links] == [f"{SITE}/api/annotated.html"]


def answered(tmp_path: Path, url: str, body: str, content_type: str) -> dict:
    responses.add(responses.GET, url, body=body, content_type=content_type)
    limits = FetchLimits()
    task = make_task("1.1.r", "menu", url, 2, f"{SITE}/api/index.html", 0)
    return dict(read_result(dict(TaskHandler("n1", limits, ImageFilter(), tmp_path).handle(task, new_session(limits)))))


@responses.activate
def test_a_node_answers_a_menu_with_its_pages_resolved_against_the_menu_itself(tmp_path: Path) -> None:
    result = answered(tmp_path, f"{SITE}/api/navtreedata.js", NAVTREEDATA, "application/javascript")
    assert result["outcome"] == "fetched"
    assert [url for url, _key in result["links"]] == [  # once each, fragments dropped
        f"{SITE}/api/index.html", f"{SITE}/api/install.html", f"{SITE}/api/annotated.html",
        f"{SITE}/api/config.html"]
    assert [url for url, _key in result["menus"]] == [f"{SITE}/api/navtreeindex0.js", f"{SITE}/api/navtreeindex1.js"]


def test_a_docfx_page_names_its_navigation_as_each_template_reads_it() -> None:
    html = (b'<meta property="docfx:navrel" content="../toc.html"><meta property="docfx:tocrel" content="toc.html">'
            b'<meta name="docfx:navrel" content="../../toc.html"><meta name="docfx:tocrel" content="../api/TOC.HTML">'
            b'<meta name="docfx:rel" content="../">')  # the way back to the site's root: no page of its own
    refs = extract(html, f"{SITE}/docs/guide/start.html")
    # the default template shows the links of these pages: pages like any other
    assert [url for url, _key in refs.links] == [f"{SITE}/docs/toc.html", f"{SITE}/docs/guide/toc.html"]
    # the modern one reads the same lists as JSON
    assert [url for url, _key in refs.menus] == [f"{SITE}/toc.json", f"{SITE}/docs/api/TOC.json"]


@responses.activate
def test_a_docfx_table_of_contents_gives_its_pages_resolved_against_itself(tmp_path: Path) -> None:
    toc = ('{"items":[{"name":"Intro","href":"intro.html"},{"name":"API","href":"api/index.html","items":['
           '{"name":"Widget","href":"api/Sample.Widget.html"}]},{"name":"GitHub","href":"https://github.com/x/y"}],'
           '"pdf":false}')
    result = answered(tmp_path, f"{SITE}/docs/toc.json", toc, "application/json")
    assert [url for url, _key in result["links"]] == [f"{SITE}/docs/intro.html", f"{SITE}/docs/api/index.html",
                                                      f"{SITE}/docs/api/Sample.Widget.html"]


@responses.activate
def test_a_menu_answered_with_a_web_page_is_no_menu(tmp_path: Path) -> None:
    # A site whose "not found" page comes with 200: its links are the page's, read where it is one
    result = answered(tmp_path, f"{SITE}/api/menudata.js", '<a href="x.html">Not found</a>', "text/html")
    assert (result["outcome"], result["reason"], result["links"]) == ("skipped", "not-a-menu", [])


def refs(*urls: str) -> list[list[str]]:
    return [[url, canonical(url) or ""] for url in urls]


def site(task: dict) -> dict:
    """A Doxygen site whose main page links nothing: its menu bar lists the rest."""
    path = task["url"].removeprefix(SITE)
    if task["kind"] == "robots":
        return dict(make_result(task, "n", "fetched", status=404))
    if path == "/api/":
        return dict(make_result(task, "n", "fetched", status=200, links=[],
                                menus=refs(f"{SITE}/api/menudata.js", "http://other.test/menudata.js")))
    if path == "/api/menudata.js":
        return dict(make_result(task, "n", "fetched", status=200, links=refs(f"{SITE}/api/annotated.html"),
                                menus=refs(f"{SITE}/api/navtreeindex0.js")))
    if path == "/api/annotated.html":
        return dict(make_result(task, "n", "fetched", status=200, links=refs(f"{SITE}/api/class_a.html"),
                                menus=refs(f"{SITE}/api/menudata.js")))
    return dict(make_result(task, "n", "fetched", status=200))


def crawl(tmp_path: Path, limits: Limits, sitemaps_only: bool = False) -> tuple[Scheduler, list[tuple[str, str, int]]]:
    scope = Scope(frozenset({"site.test"}), read_sitemaps=sitemaps_only, sitemaps_only=sitemaps_only)
    config = SchedulerConfig(output_dir=tmp_path, authkey=b"k" * 32, seeds=(f"{SITE}/api/",), scope=scope,
                             politeness=Politeness(delay_seconds=0, per_host=1), limits=limits)
    scheduler = Scheduler(config, clock=lambda: 0.0, store=MemoryStore())
    return scheduler, drive(scheduler, site)


@pytest.mark.parametrize(("max_depth", "pages"), [(None, ["/api/", "/api/annotated.html", "/api/class_a.html"]),
                                                  (1, ["/api/", "/api/annotated.html"]), (0, ["/api/"])])
def test_the_pages_a_menu_lists_are_one_hop_from_the_page_that_loads_it(tmp_path: Path, max_depth: int | None,
                                                                        pages: list[str]) -> None:
    scheduler, fetched = crawl(tmp_path, Limits(max_depth=max_depth))
    assert [path for kind, path, _depth in fetched if kind == "page"] == pages
    menus = [(path, depth) for kind, path, depth in fetched if kind == "menu"]
    # once each, none on another host; none where no page they list would be taken
    assert menus == ([("/api/menudata.js", 0), ("/api/navtreeindex0.js", 0)] if max_depth != 0 else [])
    assert scheduler.counts["menus/pages"] == (1 if max_depth != 0 else 0)


def test_sitemaps_only_reads_no_menus(tmp_path: Path) -> None:
    _scheduler, fetched = crawl(tmp_path, Limits(), sitemaps_only=True)  # menus are links: not followed
    assert [(kind, path) for kind, path, _depth in fetched] == [("robots", "/robots.txt"), ("sitemap", "/sitemap.xml"),
                                                                ("page", "/api/")]


def gallery_site(task: dict) -> dict:
    """An fgallery page: no picture in it, its data file lists them."""
    path = task["url"].removeprefix(SITE)
    if path == "/photos/":
        return dict(make_result(task, "n", "fetched", status=200,
                                menus=refs(f"{SITE}/photos/data.json", f"{SITE}/photos/menudata.js")))
    if path == "/photos/data.json":
        return dict(make_result(task, "n", "fetched", status=200,
                                images=[[f"{SITE}/photos/imgs/a.jpg", canonical(f"{SITE}/photos/imgs/a.jpg") or "",
                                         "gallery", "", "Lake", ""]]))
    return dict(make_result(task, "n", "fetched", status=404 if task["kind"] == "robots" else 200))


@pytest.mark.parametrize(("max_depth", "sitemaps_only"), [(None, False), (0, False), (None, True)])
def test_a_gallery_s_data_gives_its_pictures_at_any_depth(tmp_path: Path, max_depth: int | None,
                                                           sitemaps_only: bool) -> None:
    # --max-depth 0 on a gallery's page left its data unread, and the crawl saved none of its photos:
    # depth bounds the pages a menu lists, not the pictures a page shows (nor does --sitemaps-only).
    config = SchedulerConfig(output_dir=tmp_path, authkey=b"k" * 32, seeds=(f"{SITE}/photos/",),
                             scope=Scope(frozenset({"site.test"}), read_sitemaps=sitemaps_only,
                                         sitemaps_only=sitemaps_only),
                             politeness=Politeness(delay_seconds=0, per_host=1), limits=Limits(max_depth=max_depth))
    scheduler = Scheduler(config, clock=lambda: 0.0, store=MemoryStore())
    fetched = [(kind, path) for kind, path, _depth in drive(scheduler, gallery_site)]
    assert ("menu", "/photos/data.json") in fetched and ("image", "/photos/imgs/a.jpg") in fetched
    navigation = max_depth is None and not sitemaps_only
    assert (("menu", "/photos/menudata.js") in fetched) == navigation  # as deep as the pages it lists
    assert scheduler.counts["menus/fetched"] == (1 if navigation else 0)  # a gallery's data is no menu


@responses.activate
@pytest.mark.parametrize(("robots", "reads_data"), [("nofollow", True), ("noimageindex", False)])
def test_a_gallery_page_s_opt_outs_are_those_of_its_pictures(tmp_path: Path, robots: str, reads_data: bool) -> None:
    page = (f'<html><head><meta name="robots" content="{robots}"><script src="mootools-mooswipe.js"></script>'
            '</head><body><a href="other.html">other</a></body></html>')
    responses.add(responses.GET, f"{SITE}/photos/", body=page, content_type="text/html")
    limits = FetchLimits()
    task = make_task("1.1.p", "page", f"{SITE}/photos/", 0, None, 0)
    handler = TaskHandler("n1", limits, ImageFilter(), tmp_path)  # opt-outs honoured, as by default
    result = read_result(dict(handler.handle(task, new_session(limits))))
    assert (result["links"] == []) == reads_data  # nofollow: no link; noimageindex: links, no picture
    assert [url for url, _key in result["menus"]] == ([f"{SITE}/photos/data.json"] if reads_data else [])


MANIFEST = """{"name": "Probe", "start_url": "/", "display": "standalone",
 "icons": [{"src": "img/icon-192.png", "sizes": "192x192", "type": "image/png"},
           {"src": "/icons/icon-512.png", "sizes": "512x512"}, {"src": "https://cdn.test/m.png", "purpose": "maskable"},
           {"sizes": "1x1"}, {"src": 7}, "icon.png"],
 "screenshots": [{"src": "img/wide.jpg"}]}"""


def test_a_web_app_manifest_gives_its_icons() -> None:
    # Chromium reads a page's web app manifest and loads an icon of it (of three, the 192-pixel one on
    # a probe page); the crawl read no manifest. Its icons are the site's, as its favicons are.
    entries = read_menu(MANIFEST, "site.webmanifest")
    assert entries.icons == ["img/icon-192.png", "/icons/icon-512.png", "https://cdn.test/m.png"]
    assert entries.pages == [] and entries.images == []
    for other in ('{"icons": "x"}', "[1]", "not json", "[" * 100_000):
        assert read_menu(other, "manifest.json").icons == [], other


def test_a_page_names_its_web_app_manifest_by_the_names_sites_give_it() -> None:
    # and those web applications give it: DokuWiki's lib/exe/manifest.php (Chromium loaded its
    # wiki:dokuwiki.svg, the crawl read no manifest), the WordPress PWA plugin's REST route, a bare
    # /manifest
    for name in ("site.webmanifest", "manifest.webmanifest", "manifest.json", "app.webmanifest?v=3",
                 "lib/exe/manifest.php", "wp-json/wp/v2/web-app-manifest", "manifest", "Manifest.JSON"):
        html = f'<html><head><link rel="manifest" href="/static/{name}"></head><body></body></html>'.encode()
        assert [url for url, _key in extract(html, f"{SITE}/a/page.html").menus] == [f"{SITE}/static/{name}"], name
    other = b'<link rel="manifest" href="/api/app-config">'  # a name no other rule shares is not read: said
    assert extract(other, f"{SITE}/a/page.html").menus == []
    for name in ("manifest.php", "web-app-manifest", "manifest"):
        assert read_menu(MANIFEST, name).icons[0] == "img/icon-192.png", name
    for name in ("manifesto.json", "manifest.js", "no-manifest.html"):  # no manifest's names
        assert read_menu(MANIFEST, name).icons == [], name


@responses.activate
def test_a_node_answers_a_web_app_manifest_with_its_icons(tmp_path: Path) -> None:
    result = answered(tmp_path, f"{SITE}/static/site.webmanifest", MANIFEST, "application/manifest+json")
    assert result["outcome"] == "fetched" and result["links"] == []
    assert [(url, form) for url, _key, form, *_words in result["images"]] == [
        (f"{SITE}/static/img/icon-192.png", "icon"), (f"{SITE}/icons/icon-512.png", "icon"),
        ("https://cdn.test/m.png", "icon")]


def test_a_missing_manifest_or_gallery_data_is_no_failed_script_menu(tmp_path: Path) -> None:
    # A page whose manifest is gone (a 404) closed with "(0 pages from 0 script menus, 1 failed)":
    # the failure is recorded, but a file of the page's pictures is no script menu.
    def site(task: dict) -> dict:
        path = task["url"].removeprefix(SITE)
        if path == "/photos/":
            return dict(make_result(task, "n", "fetched", status=200,
                                    menus=refs(f"{SITE}/site.webmanifest", f"{SITE}/photos/data.json")))
        if path in ("/site.webmanifest", "/photos/data.json"):
            return dict(make_result(task, "n", "failed", status=404, reason="http-404"))
        return dict(make_result(task, "n", "fetched", status=404 if task["kind"] == "robots" else 200))

    config = SchedulerConfig(output_dir=tmp_path, authkey=b"k" * 32, seeds=(f"{SITE}/photos/",),
                             scope=Scope(frozenset({"site.test"})), politeness=Politeness(delay_seconds=0, per_host=1))
    scheduler = Scheduler(config, clock=lambda: 0.0, store=MemoryStore())
    fetched = [(kind, path) for kind, path, _depth in drive(scheduler, site)]
    scheduler._applier.record_dropped()  # as the scheduler's loop does after each batch of answers
    assert ("menu", "/site.webmanifest") in fetched and ("menu", "/photos/data.json") in fetched
    assert not scheduler.counts.get("menus/failed") and not scheduler.counts.get("menus/fetched")
    assert scheduler.counts["picture-data/failed"] == 2  # counted apart; failures.jsonl names each
