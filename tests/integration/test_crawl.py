"""A real distributed crawl: HTTP server, `crawler scheduler` and two `crawler worker` processes."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import ssl
from pathlib import Path

import pytest

from benchmarks.servers import self_signed_certificate
from benchmarks.site import generate_site, make_image
from tests.integration.conftest import finish

pytestmark = pytest.mark.slow


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_crawl_saves_every_reachable_image_once_with_two_workers(tmp_path: Path, serve_site, processes) -> None:
    elsewhere = serve_site(tmp_path / "cdn")  # another host name: its pages are out of scope, its images not
    truth = generate_site(tmp_path / "site", pages=200, images=500, external_base=f"http://localhost:{elsewhere.port}/",
                          external_root=tmp_path / "cdn")
    site = serve_site(tmp_path / "site", redirects=truth.redirects)
    output = tmp_path / "output"

    scheduler, port = processes.start_scheduler(site.url, "--output", str(output), "--delay", "0",
                                                "--per-host", "8")
    workers = [processes.start_worker(port, "--threads", "4", "--node-id", f"node-{n}") for n in (1, 2)]
    code, stdout, stderr = finish(scheduler)
    assert code == 0, stderr
    assert "Crawl finished" in stdout
    for worker in workers:
        worker_code, _, worker_err = finish(worker, timeout=30)
        assert worker_code == 0, worker_err

    # Every page and every image URL was requested exactly once; the other host's pages never,
    # its images (a CDN's, and the picture the home page links to there) once each, after its robots.txt.
    assert set(elsewhere.hits) == {"robots.txt"} | {url.rsplit("/", 1)[1] for url in truth.cdn_images}
    assert max(elsewhere.hits.values()) == 1
    for page in truth.pages:
        assert site.hits[page] == 1, page
    for image in truth.images:
        assert site.hits[image] == 1, image
    for stylesheet in truth.stylesheets:  # linked, and @imported from a <style> block and from a stylesheet
        assert site.hits[stylesheet] == 1, stylesheet
    assert site.hits["fonts/brand.woff2"] == 0  # a font in a stylesheet is not an image
    assert site.hits["favicon.ico"] == 1  # no page declares an icon: the implicit one, once per crawl
    assert site.hits["robots.txt"] == 1
    assert site.hits["moved.html"] == 1 and site.hits["img/moved.png"] == 1  # redirects, then deduped
    for broken in truth.broken:
        assert site.hits[broken] == 1, broken  # a 404 is final: no retries

    # Each distinct image is stored once, named by its content, and the manifest matches the files.
    manifest = read_jsonl(output / "manifest.jsonl")
    site_records = [r for r in manifest if r["url"].startswith(site.url)]
    files = sorted(p.relative_to(output).as_posix() for p in (output / "images").rglob("*") if p.is_file())
    assert len(files) == truth.distinct_images() + len(truth.cdn_images) == len(manifest)
    assert sorted(r["path"] for r in manifest) == files
    for record in manifest:
        data = (output / record["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == record["sha256"] and len(data) == record["bytes"]
        assert record["path"].endswith({"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif",
                                        "image/webp": ".webp"}[record["content_type"]])
        assert record["node"] in ("node-1", "node-2") and record["page_url"].startswith(site.url)
        assert (record["width"], record["height"]) == (24, 16)
    assert {r["sha256"] for r in site_records} == set(truth.images.values())
    assert {r["sha256"] for r in manifest} - set(truth.images.values()) == set(truth.cdn_images.values())
    assert {r["node"] for r in manifest} == {"node-1", "node-2"}  # both nodes did real work
    # Each record says how the first page that showed it referred to it; every form is found.
    for record in site_records:
        path = record["url"].removeprefix(site.url)
        assert record["found_as"] in truth.forms.get(path, set()) | {"img"}, record  # img: the moved.png redirect
    assert {r["found_as"] for r in site_records} == {form for forms in truth.forms.values() for form in forms}

    failures = {r["url"].removeprefix(site.url): r for r in read_jsonl(output / "failures.jsonl")}
    guessed = failures.pop("sitemap.xml")  # the site lists no sitemap: the usual place was tried, once
    assert (guessed["outcome"], guessed["reason"], site.hits["sitemap.xml"]) == ("skipped", "no-sitemap", 1)
    assert set(failures) == set(truth.broken)
    assert all(r["reason"] == "http-404" and r["attempts"] == 1 for r in failures.values())
    # Nothing but images, the records and the state under the output path.
    assert {p.name for p in output.iterdir()} == {"images", "manifest.jsonl", "failures.jsonl", ".crawler"}


@pytest.mark.parametrize("proxy", ["closed", "http://[::1"])
def test_crawl_demo_command_reaches_its_own_server_past_a_proxy(tmp_path: Path, processes,
                                                               monkeypatch: pytest.MonkeyPatch, proxy: str) -> None:
    # On a machine whose environment names a proxy ($http_proxy, as many offices' and CI's do, with
    # no $no_proxy), the README's main command sent its requests for its own 127.0.0.1 server to
    # the proxy, which cannot reach it: "0 pages fetched", exit 4. Nor does a proxy setting it does
    # not use stop it.
    if proxy == "closed":
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            proxy = f"http://127.0.0.1:{closed.getsockname()[1]}"
    for name in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", proxy)
    monkeypatch.setenv("HTTP_PROXY", proxy)
    result = processes.run("demo", "--output", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "14 images saved" in result.stdout


def test_crawl_demo_command_crawls_the_shipped_site(tmp_path: Path, processes) -> None:
    result = processes.run("demo", "--output", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 0, result.stderr
    summary = next(line for line in result.stdout.splitlines() if line.startswith("Crawl "))
    assert summary.startswith("Crawl finished in ") and "(finished)" not in summary
    # pages and images counted apart, in words that fit the numbers
    assert "6 pages fetched (1 failed, 1 skipped); 14 images saved (39 kB, 1 duplicate avoided)" in summary
    manifest = read_jsonl(tmp_path / "out" / "manifest.jsonl")
    found = {r["url"].rsplit("/", 1)[1]: r["found_as"] for r in manifest}
    # sea-copy.jpg has the same bytes as sea.jpg: stored once, under whichever of the two parallel
    # fetchers saved first. secret.png is only on a page robots.txt forbids.
    if "sea-copy.jpg" in found:
        assert found.pop("sea-copy.jpg") == "srcset"
        found["sea.jpg"] = "img"
    assert found == {"sun.png": "meta", "sea.jpg": "img", "robin.jpg": "img", "finch.png": "img", "owl.webp": "img",
                     "sail.gif": "img", "ferry.jpg": "img", "logo.png": "img", "logo.svg": "img",
                     "heron.jpg": "noscript", "wave.png": "css-inline", "masthead.jpg": "css-linked",
                     "badge.svg": "css-linked", "favicon.ico": "favicon"}
    failures = read_jsonl(tmp_path / "out" / "failures.jsonl")
    assert {(r["url"].rsplit("/", 1)[1], r["reason"]) for r in failures} == {
        ("notes.html", "robots"), ("nowhere.html", "http-404"), ("sitemap.xml", "no-sitemap")}


def test_crawl_run_with_several_processes_per_node(tmp_path: Path, serve_site, processes) -> None:
    truth = generate_site(tmp_path / "site", pages=30, images=90)
    site = serve_site(tmp_path / "site", redirects=truth.redirects, image_delay=0.02)
    output = tmp_path / "out"
    result = processes.run("run", site.url, "--output", str(output), "--workers", "1", "--processes", "2",
                           "--threads", "2", "--delay", "0", "--per-host", "8", "--quiet")
    assert result.returncode == 0, result.stderr
    manifest = read_jsonl(output / "manifest.jsonl")
    assert {r["sha256"] for r in manifest} == set(truth.images.values())
    assert {r["node"] for r in manifest} == {"local-1-p1", "local-1-p2"}  # both processes of the node worked
    assert max(site.hits[path] for path in truth.images) == 1


def test_crawl_verbose_says_what_became_of_each_url_and_log_file_keeps_it(tmp_path: Path, serve_site,
                                                                         processes) -> None:
    from tests.integration.conftest import REPO
    site = serve_site(REPO / "seeds" / "demo-site")
    log_file = tmp_path / "urls.jsonl"
    result = processes.run("run", site.url, "--output", str(tmp_path / "out"), "--delay", "0", "-v",
                           "--log-file", str(log_file))
    assert result.returncode == 0, result.stderr
    assert f"404 {site.url}nowhere.html" in result.stderr
    assert f"skipped {site.url}private/notes.html (robots)" in result.stderr
    assert f"saved {site.url}img/heron.jpg → images/" in result.stderr and "(4.2 kB, 320×200)" in result.stderr
    assert "Starting new HTTP connection" not in result.stderr  # urllib3's debug lines stay quiet
    # What became of the URLs is the closing line's to say: the nodes counted "attempts failed" (2
    # here) beside "6 pages fetched (1 failed, 1 skipped)", the guessed /sitemap.xml among them.
    nodes_done = re.findall(r"worker \S+: done: (.*)", result.stderr)
    assert len(nodes_done) == 2 and all(re.fullmatch(r"\d+ tasks?", line) for line in nodes_done), nodes_done
    events = [json.loads(line) for line in log_file.read_text().splitlines()]
    by_url = {event["url"].removeprefix(site.url): event for event in events}
    assert by_url["img/heron.jpg"]["outcome"] == "saved" and by_url["img/heron.jpg"]["found_as"] == "noscript"
    assert by_url["img/sea-copy.jpg"]["outcome"] == "duplicate"
    assert (by_url["nowhere.html"]["outcome"], by_url["nowhere.html"]["reason"]) == ("failed", "http-404")
    assert by_url["css/theme.css"]["outcome"] == "fetched" and all("time" in event for event in events)
    quiet = processes.run("run", site.url, "--output", str(tmp_path / "quiet"), "--delay", "0", "--quiet",
                          "--log-file", str(tmp_path / "quiet.jsonl"))
    assert "saved" not in quiet.stderr  # the terminal asked for less; the file still has every URL
    assert len((tmp_path / "quiet.jsonl").read_text().splitlines()) == len(events)


def test_crawl_reads_words_and_sitemaps_and_honours_the_sites_opt_outs_unless_told_to_ignore_robots(
        tmp_path: Path, serve_site, processes) -> None:
    import gzip
    site_root = tmp_path / "site"
    (site_root / "img").mkdir(parents=True)
    (site_root / "sitemaps").mkdir()
    for number, name in enumerate(("ok", "art", "shared", "private", "listed", "blocked")):
        (site_root / "img" / f"{name}.png").write_bytes(make_image(100 + number, "png"))
    (site_root / "index.html").write_text(
        '<a href="/a.html">a</a> <a rel="nofollow" href="/hidden.html">hidden</a>'
        '<figure><img src="/img/ok.png" alt="An  honest\n image" title="OK"><figcaption>Shown <b>gladly</b>'
        '</figcaption></figure><img src="/img/art.png"><img src="/img/shared.png"><img src="/img/blocked.png">')
    (site_root / "a.html").write_text('<meta name="robots" content="noimageindex">'
                                      '<img src="/img/shared.png"><img src="/img/private.png">')
    (site_root / "hidden.html").write_text("<p>not for crawlers</p>")
    (site_root / "listed.html").write_text('<img src="/img/listed.png" alt="Listed, and shown">')  # no link leads here
    site = serve_site(site_root)
    site.response_headers["img/art.png"] = {"X-Robots-Tag": "queue-crawler: noai"}
    # robots.txt → a gzipped sitemap index → a gzipped image sitemap with a caption
    (site_root / "robots.txt").write_text(f"User-agent: *\nDisallow: /img/blocked.png\n\n"
                                             f"Sitemap: {site.url}sitemap_index.xml.gz\n")
    (site_root / "sitemap_index.xml.gz").write_bytes(gzip.compress(
        f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{site.url}sitemaps/images.xml.gz</loc></sitemap></sitemapindex>".encode()))
    (site_root / "sitemaps" / "images.xml.gz").write_bytes(gzip.compress(
        f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"><url><loc>{site.url}listed.html</loc>'
        f"<image:image><image:loc>{site.url}img/listed.png</image:loc><image:caption>A listed  image"
        f"</image:caption><image:title>Listed</image:title></image:image></url></urlset>".encode()))

    def crawl(output: Path, *options: str) -> tuple[set[str], dict[str, str], str]:
        result = processes.run("run", site.url, "--output", str(output), "--delay", "0", *options, timeout=60)
        assert result.returncode == 0, result.stderr
        saved = {json.loads(line)["url"].rsplit("/", 1)[1] for line in (output / "manifest.jsonl").open()}
        failures = {json.loads(line)["url"].rsplit("/", 1)[1]: json.loads(line)["reason"]
                    for line in (output / "failures.jsonl").open()}
        return saved, failures, result.stdout

    saved, failures, stdout = crawl(tmp_path / "obeyed")
    assert saved == {"ok.png", "shared.png", "listed.png"}  # shared.png is also on a page that does not opt out
    assert failures["art.png"] == "x-robots-tag" and failures["blocked.png"] == "robots"
    assert (f"1 image the pages show was left out at their sites' request: {site.url}robots.txt disallows it;"
            " --ignore-robots fetches such images from a site of your own.") in stdout
    assert site.hits["img/private.png"] == 0 and site.hits["hidden.html"] == 0
    assert "Left out at the sites' request: 3 image references" in stdout and "1 image sent with" in stdout
    assert site.hits["listed.html"] == 1 and "1 page from 2 sitemaps" in stdout
    manifest = {json.loads(line)["name"]: json.loads(line) for line in (tmp_path / "obeyed/manifest.jsonl").open()}
    fields = ("found_as", "page_url", "alt", "title", "caption", "pages")
    assert {name: tuple(record[field] for field in fields) for name, record in manifest.items()} == {
        "ok.png": ("img", site.url, "An honest image", "OK", "Shown gladly", 1),
        "shared.png": ("img", site.url, None, None, None, 1),  # a.html opted out: its reference does not count
        # the sitemap named it first (its words come from there); listed.html showed it too
        "listed.png": ("sitemap", f"{site.url}sitemaps/images.xml.gz", None, "Listed", "A listed image", 2)}
    saved, failures, stdout = crawl(tmp_path / "ignored", "--ignore-robots")
    assert saved == {"ok.png", "art.png", "shared.png", "private.png", "blocked.png"}
    assert "robots.txt disallows" not in stdout
    assert site.hits["hidden.html"] == 1


def test_crawl_of_a_sitemap_given_as_the_seed_fetches_what_it_lists(tmp_path: Path, serve_site, processes) -> None:
    # Before, the seed was a page task answered "not-html": 0 pages fetched (1 skipped), and nothing said why.
    import gzip
    site_root = tmp_path / "site"
    site_root.mkdir()
    for number, name in enumerate(("first", "second")):
        (site_root / f"{name}.html").write_text(f'<img src="/{name}.png">')  # no link leads to either
        (site_root / f"{name}.png").write_bytes(make_image(200 + number, "png"))
    site = serve_site(site_root)

    def urlset(name: str) -> bytes:
        return (f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<url><loc>{site.url}{name}.html</loc></url></urlset>").encode()

    (site_root / "sitemap-first.xml").write_bytes(urlset("first"))  # text/xml
    (site_root / "sitemap-second.xml.gz").write_bytes(gzip.compress(urlset("second")))  # application/gzip
    for seed, saved in (("sitemap-first.xml", "first.png"), ("sitemap-second.xml.gz", "second.png")):
        output = tmp_path / seed
        result = processes.run("run", site.url + seed, "--output", str(output), "--delay", "0", timeout=60)
        assert result.returncode == 0, result.stderr
        assert [record["name"] for record in read_jsonl(output / "manifest.jsonl")] == [saved]
        assert "1 page from 1 sitemap" in result.stdout
    assert site.hits["first.html"] == 1 and site.hits["second.html"] == 1


def _doxygen_page(title: str, scripts: str, body: str) -> str:
    """A page as Doxygen 1.9 writes it: its menu bar or tree view is drawn by scripts from data files."""
    return (f'<html><head><title>{title}</title><script type="text/javascript" src="jquery.js"></script>'
            f"{scripts}</head><body><div id=\"main-nav\"></div>{body}</body></html>")


def test_crawl_of_sites_whose_menus_scripts_draw_reaches_the_pages_they_list(tmp_path: Path, serve_site,
                                                                            processes) -> None:
    # Doxygen, DocFX and LibreOffice's help, and an fgallery gallery. Before, each main page (which
    # links no other page, or shows no photo) was all there was: 0 of the 9 pictures saved.
    site_root = tmp_path / "site"
    menu_bar, tree, docfx, help_root = site_root / "api", site_root / "manual", site_root / "net", site_root / "help"
    gallery = site_root / "photos"
    for folder in (menu_bar, tree, docfx / "docs", help_root / "en-US" / "text" / "swriter", help_root / "media",
                   gallery / "thumbs", gallery / "imgs", gallery / "blurs"):
        folder.mkdir(parents=True)
    (site_root / "index.html").write_text(
        '<a href="api/index.html">API</a> <a href="manual/index.html">Manual</a> <a href="net/">.NET</a>'
        ' <a href="help/en-US/text/swriter/main.html">Help</a> <a href="photos/">Photos</a>')
    # fgallery's page: its viewer draws the gallery from data.json beside the page
    (gallery / "index.html").write_text(
        '<html><head><script src="mootools-core-1.4.js"></script><script src="mootools-mooswipe.js"></script>'
        '<script src="index.js"></script></head><body><div id="gallery"></div></body></html>')
    (gallery / "data.json").write_text(json.dumps({"name": "Photos", "data": [
        {"thumb": ["thumbs/lake.jpg", [150, 113]], "img": ["imgs/lake.jpg", [1600, 1200]], "blur": "blurs/lake.jpg",
         "caption": ["Lake", "At dawn"]}]}))
    for number, size in enumerate(("thumbs", "imgs", "blurs")):
        (gallery / size / "lake.jpg").write_bytes(make_image(320 + number, "jpg"))
    (menu_bar / "index.html").write_text(_doxygen_page(
        "API", '<script type="text/javascript" src="menudata.js"></script>', "<p>The main page.</p>"))
    (menu_bar / "menudata.js").write_text(
        'var menudata={children:[\n{text:"Main Page",url:"index.html"},\n'
        '{text:"Classes",url:"annotated.html",children:[\n{text:"Class List",url:"annotated.html"}]}]}\n')
    (menu_bar / "annotated.html").write_text(_doxygen_page(
        "Classes", '<script src="menudata.js"></script>', '<a href="class_a.html">A</a> <a href="class_b.html">B</a>'))
    (tree / "index.html").write_text(_doxygen_page(
        "Manual", '<script type="text/javascript" src="navtreedata.js"></script>', "<p>Start here.</p>"))
    (tree / "navtreedata.js").write_text(
        'var NAVTREE =\n[\n  [ "Manual", "index.html", [\n    [ "Install", "install.html", null ]\n  ] ]\n];\n\n'
        'var NAVTREEINDEX =\n[\n"index.html",\n"usage.html#step2"\n];\n')
    (tree / "navtreeindex0.js").write_text('var NAVTREEINDEX0 =\n{\n"index.html":[],\n"install.html":[0]\n};\n')
    (tree / "navtreeindex1.js").write_text('var NAVTREEINDEX1 =\n{\n"usage.html#step2":[1,1]\n};\n')
    # DocFX's modern template: its navbar and table of contents are drawn from JSON
    (docfx / "index.html").write_text('<meta name="docfx:navrel" content="toc.html"><main>Welcome</main>')
    (docfx / "toc.json").write_text('{"items":[{"name":"Docs","href":"docs/intro.html"}]}')
    (docfx / "docs" / "toc.json").write_text('{"items":[{"name":"Intro","href":"intro.html"},'
                                             '{"name":"Widgets","href":"widgets.html"}],"pdf":false}')
    (docfx / "docs" / "intro.html").write_text('<meta name="docfx:tocrel" content="toc.html"><p>Read on.</p>')
    # LibreOffice's help: every page's base is the help's root, and its contents come from a script
    help_page = ('<html><head><base href="../../../"><script type="text/javascript" src="en-US/contents.js" defer>'
                 '</script></head><body><div id="Contents"></div>{}</body></html>')
    (help_root / "en-US" / "text" / "swriter" / "main.html").write_text(help_page.format("<h1>Writer</h1>"))
    (help_root / "en-US" / "contents.js").write_text(
        'document.getElementById("Contents").innerHTML=\'\\\n    <ul><li><a target="_top" '
        'href="en-US/text/swriter/shapes.html?DbPAR=WRITER">Shapes</a></li></ul>\\\n\';\n')
    (help_root / "en-US" / "text" / "swriter" / "shapes.html").write_text(
        help_page.format('<img src="media/shapes.png">'))
    (help_root / "media" / "shapes.png").write_bytes(make_image(299, "png"))
    pictures = {menu_bar / "class_a.html": "class_a__inherit__graph.png", menu_bar / "class_b.html": "class_b.png",
                tree / "install.html": "install.png", tree / "usage.html": "usage.png",
                docfx / "docs" / "widgets.html": "widget.png"}
    for number, (page, picture) in enumerate(pictures.items()):
        navigation = {menu_bar: '<script src="menudata.js"></script>', tree: '<script src="navtreedata.js"></script>',
                      docfx / "docs": '<meta name="docfx:tocrel" content="toc.html">'}[page.parent]
        page.write_text(_doxygen_page(page.stem, navigation, f'<img src="{picture}">'))
        (page.parent / picture).write_bytes(make_image(300 + number, "png"))
    site = serve_site(site_root)
    output = tmp_path / "out"
    result = processes.run("run", site.url, "--output", str(output), "--delay", "0", timeout=60)
    assert result.returncode == 0, result.stderr
    saved = read_jsonl(output / "manifest.jsonl")
    assert sorted(record["name"] for record in saved) == sorted([*pictures.values(), "shapes.png", *["lake.jpg"] * 3])
    assert {record["url"].rsplit("/", 2)[1]: (record["title"], record["caption"]) for record in saved
            if record["name"] == "lake.jpg"} == {size: ("Lake", "At dawn") for size in ("thumbs", "imgs", "blurs")}
    assert "from 7 script menus" in result.stdout
    assert site.hits["photos/data.json"] == 1 and site.hits["photos/index.js"] == 0
    # each data file once; jquery.js, a script like any other, is not asked for
    assert site.hits["api/menudata.js"] == 1 and site.hits["manual/navtreeindex1.js"] == 1
    assert site.hits["api/jquery.js"] == 0
    assert not read_jsonl(output / "failures.jsonl") or all(  # no data file asked for where there is none
        record["kind"] != "menu" for record in read_jsonl(output / "failures.jsonl"))


def test_crawl_follows_a_site_whose_root_refreshes_to_its_pages(tmp_path: Path, serve_site, processes) -> None:
    # As Jekyll, Hugo and Sphinx write a moved page; a browser (and wget) go on to /en/ at once.
    site_root = tmp_path / "site"
    (site_root / "en").mkdir(parents=True)
    (site_root / "index.html").write_text(
        '<html><head><meta http-equiv="refresh" content="0; url=en/">'
        '<noscript><meta http-equiv="refresh" content="0; url=/nojs.html"></noscript></head>'
        "<body>Redirecting…</body></html>")
    (site_root / "en" / "index.html").write_text(
        '<img src="cover.png"><meta http-equiv="refresh" content="3; url=/en/later.html">')
    (site_root / "en" / "later.html").write_text('<img src="later.png">')
    (site_root / "en" / "cover.png").write_bytes(make_image(1, "png"))
    (site_root / "en" / "later.png").write_bytes(make_image(2, "png"))
    site = serve_site(site_root)
    output = tmp_path / "out"
    result = processes.run("run", site.url, "--output", str(output), "--delay", "0", "--max-depth", "1",
                           timeout=60)
    assert result.returncode == 0, result.stderr
    manifest = {record["name"]: record for record in read_jsonl(output / "manifest.jsonl")}
    # The redirect costs no depth (as an HTTP one); the delayed refresh is a link of the page it is on.
    assert set(manifest) == {"cover.png", "later.png"}
    assert manifest["cover.png"]["page_url"] == site.url + "en/"
    assert site.hits["nojs.html"] == 0


def _server_tls(tmp_path: Path) -> ssl.SSLContext:
    """A server's TLS context with a self-signed certificate (the test skips without openssl)."""
    certificate = self_signed_certificate(tmp_path / "tls")
    if certificate is None:
        pytest.skip("needs the openssl command to make a self-signed certificate")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(*certificate)
    return tls


def test_crawl_of_a_site_with_a_self_signed_certificate_needs_no_check_certificate(tmp_path: Path, serve_site,
                                                                                     processes) -> None:
    # wget users reach for --no-check-certificate (curl's -k) on an intranet's or a test server's site;
    # the crawl had no such option: the site was skipped, its certificate untrusted.
    tls = _server_tls(tmp_path)
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text('<img src="photo.jpg">')
    (tmp_path / "site" / "photo.jpg").write_bytes(make_image(1, "jpg"))
    site = serve_site(tmp_path / "site", tls=tls)
    refused = processes.run("run", site.url, "--output", str(tmp_path / "refused"), "--delay", "0", timeout=60)
    assert "is not trusted" in refused.stdout + refused.stderr and "--no-check-certificate" in refused.stdout
    result = processes.run("run", site.url, "--output", str(tmp_path / "out"), "--delay", "0",
                           "--no-check-certificate", timeout=60)
    assert result.returncode == 0, result.stderr
    assert [record["name"] for record in read_jsonl(tmp_path / "out" / "manifest.jsonl")] == ["photo.jpg"]
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1 and "--no-check-certificate: TLS certificates are NOT checked" in warnings[0]
    assert "Unverified HTTPS request" not in result.stderr  # said once, not for every request


def test_crawl_asks_an_hsts_sites_http_links_over_https(tmp_path: Path, serve_site, processes) -> None:
    # A site served over https only says so (Strict-Transport-Security) and still links a page as
    # http://: a browser asks for it over https; the crawl asked over http, where nothing answers
    # HTTP, and lost the page and its picture (elsewhere: a redirect more for every such link).
    tls = _server_tls(tmp_path)
    (tmp_path / "site").mkdir()
    site = serve_site(tmp_path / "site", tls=tls)
    origin = f"localhost:{site.port}"  # a name: HSTS is for host names, not addresses
    (tmp_path / "site" / "index.html").write_text(f'<a href="http://{origin}/more.html">more</a>')
    (tmp_path / "site" / "more.html").write_text('<img src="photo.jpg">')
    (tmp_path / "site" / "photo.jpg").write_bytes(make_image(1, "jpg"))
    site.response_headers[""] = {"Strict-Transport-Security": "max-age=600"}
    result = processes.run("run", f"https://{origin}/", "--output", str(tmp_path / "out"), "--delay", "0",
                           "--no-check-certificate", timeout=60)
    assert result.returncode == 0, result.stderr
    assert [record["name"] for record in read_jsonl(tmp_path / "out" / "manifest.jsonl")] == ["photo.jpg"]
    assert site.hits["more.html"] == 1


def test_crawl_passes_a_sites_cookie_check_as_a_browser_does(tmp_path: Path, serve_site, processes) -> None:
    # The page sets a cookie and sends the visitor to itself again: the crawl called it a
    # redirect loop, and a site whose every page checks so gave nothing.
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text('<img src="photo.jpg"><a href="more.html">more</a>')
    (tmp_path / "site" / "more.html").write_text('<img src="other.png">')
    (tmp_path / "site" / "photo.jpg").write_bytes(make_image(1, "jpg"))
    (tmp_path / "site" / "other.png").write_bytes(make_image(2, "png"))
    site = serve_site(tmp_path / "site")
    site.cookie_checked.update({"", "more.html"})
    result = processes.run("run", site.url, "--output", str(tmp_path / "out"), "--delay", "0", "--workers", "1",
                           timeout=60)
    assert result.returncode == 0, result.stderr
    assert sorted(r["name"] for r in read_jsonl(tmp_path / "out" / "manifest.jsonl")) == ["other.png", "photo.jpg"]
    assert (site.hits[""], site.hits["more.html"]) == (2, 1)  # one check, then the cookie is the node's
    assert not (tmp_path / "out" / "failures.jsonl").read_text().count("redirect-loop")


def test_crawl_shares_the_cookies_a_site_sets_with_every_node(tmp_path: Path, serve_site, processes) -> None:
    # The site's first page sets a session cookie and every picture asks for it, as a browser sends
    # it from its one jar. Each node had its own: the pictures the others fetched were refused.
    site_root = tmp_path / "site"
    site_root.mkdir()
    pages = [f"p{number}.html" for number in range(6)]
    (site_root / "index.html").write_text("".join(f'<a href="{page}">{page}</a>' for page in pages))
    for number, page in enumerate(pages):
        names = [f"i{number}-{n}.png" for n in range(4)]
        (site_root / page).write_text("".join(f'<img src="{name}">' for name in names))
        for n, name in enumerate(names):
            (site_root / name).write_bytes(make_image(number * 4 + n, "png"))
    site = serve_site(site_root)
    site.response_headers[""] = {"Set-Cookie": "session=s3cr3t; Path=/"}
    site.cookie_required.update({f"i{number}-{n}.png": "session=s3cr3t" for number in range(6) for n in range(4)})
    output = tmp_path / "out"
    result = processes.run("run", site.url, "--output", str(output), "--delay", "0", "--workers", "3",
                           "--threads", "2", timeout=60)
    assert result.returncode == 0, result.stderr
    assert len(read_jsonl(output / "manifest.jsonl")) == 24
    assert "http-403" not in (output / "failures.jsonl").read_text()
    assert site.hits[""] == 1


def test_crawl_gets_images_past_hotlink_protection_as_a_browser_does(tmp_path: Path, serve_site, processes) -> None:
    # Image hosts that refuse hotlinking answer 403 without a Referer from the site; a browser sends one.
    (tmp_path / "cdn").mkdir()
    (tmp_path / "cdn" / "photo.jpg").write_bytes(make_image(1, "jpg"))
    cdn = serve_site(tmp_path / "cdn")
    site_root = tmp_path / "site"
    (site_root / "css").mkdir(parents=True)
    (site_root / "css" / "site.css").write_text(".hero { background: url(../own.png) }")
    (site_root / "own.png").write_bytes(make_image(2, "png"))
    (site_root / "index.html").write_text(f'<link rel="stylesheet" href="css/site.css"><a href="page.html">on</a>'
                                          f'<img src="http://localhost:{cdn.port}/photo.jpg">')
    (site_root / "page.html").write_text("<p>no images</p>")
    site = serve_site(site_root)
    cdn.hotlink_protected["photo.jpg"] = site.url
    site.hotlink_protected["own.png"] = site.url + "css/site.css"  # an image in CSS: the stylesheet sends it
    output = tmp_path / "out"
    result = processes.run("run", site.url, "--output", str(output), "--delay", "0", timeout=60)
    assert result.returncode == 0, result.stderr
    assert {record["name"] for record in read_jsonl(output / "manifest.jsonl")} == {"photo.jpg", "own.png"}
    assert site.headers["page.html"]["Referer"] == site.url and "Referer" not in site.headers[""]


def test_crawl_of_a_site_whose_urls_are_in_any_script_saves_every_picture(tmp_path: Path, serve_site,
                                                                          processes) -> None:
    # Pages and pictures named in Cyrillic, Chinese, Greek, Arabic, with an emoji, a space or a quote:
    # the Referer of each picture was its page's URL in Unicode, which a Latin-1 header cannot hold,
    # so 8 of these 10 pictures failed as bad-url, never asked for (and the Windows-1251 page too).
    root = tmp_path / "site"
    pictures = ["фото/кот.png", "写真/猫.jpg", "φωτό/γάτα.png", "emoji/😀 smile.png", "space dir/a b.png",
                "ünï/çödé.png", "q/quote'.png", "arabic/صورة.png", "Москва/фон.png", "中文/背景.jpg"]
    for number, name in enumerate(pictures):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(make_image(number, name.rsplit(".", 1)[1]))
    pages = {
        "index.html": '<link rel="stylesheet" href="/стиль/главный.css"><a href="/страницы/первая.html">1</a>'
                      '<a href="/%E9%A0%81/%E4%BA%8C.html">2</a><img src="/фото/кот.png">',
        "стиль/главный.css": "body { background: url('../中文/背景.jpg') }",
        "страницы/первая.html": '<img src="../写真/猫.jpg"><img srcset="/φωτό/γάτα.png 1x, /emoji/😀%20smile.png 2x">'
                                '<a href="/cp1251.html">cp</a>',
        "頁/二.html": '<img src="/space dir/a b.png"><img src="/ünï/çödé.png"><img src="/q/quote\'.png">'
                     '<img src="/arabic/صورة.png">',
    }
    for name, text in pages.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text('<meta charset="utf-8">' * name.endswith(".html") + text, encoding="utf-8")
    (root / "cp1251.html").write_bytes('<meta charset="windows-1251"><img src="/Москва/фон.png">'.encode("cp1251"))
    site = serve_site(root)
    output = tmp_path / "out"
    result = processes.run("run", site.url, "--output", str(output), "--delay", "0", "--no-sitemaps", timeout=60)
    assert result.returncode == 0, result.stderr
    saved = {record["sha256"] for record in read_jsonl(output / "manifest.jsonl")}
    assert saved == {hashlib.sha256((root / name).read_bytes()).hexdigest() for name in pictures}
    assert [record for record in read_jsonl(output / "failures.jsonl") if record["outcome"] == "failed"] == []


def test_crawl_names_an_image_as_its_server_does_and_exports_it_so(tmp_path: Path, serve_site, processes) -> None:
    # A picture served as attachment.php?id=3 or /files/get/1 has its name in Content-Disposition;
    # before, the manifest called both "1" and "2", and `export --layout names` wrote 1.png, 2.png.
    site_root = tmp_path / "site"
    (site_root / "files" / "get").mkdir(parents=True)
    (site_root / "index.html").write_text('<img src="files/get/1"><img src="files/get/2"><img src="own.png">')
    (site_root / "files" / "get" / "1").write_bytes(make_image(1, "png"))
    (site_root / "files" / "get" / "2").write_bytes(make_image(2, "png"))
    (site_root / "own.png").write_bytes(make_image(3, "png"))
    site = serve_site(site_root)
    site.response_headers["files/get/1"] = {"Content-Disposition": 'inline; filename="Harbour at dusk.png"'}
    site.response_headers["files/get/2"] = {
        "Content-Disposition": "attachment; filename=\"photo.jpg\"; filename*=UTF-8''%E5%86%99%E7%9C%9F.jpg"}
    output = tmp_path / "out"
    result = processes.run("run", site.url, "--output", str(output), "--delay", "0", timeout=60)
    assert result.returncode == 0, result.stderr
    assert {record["name"] for record in read_jsonl(output / "manifest.jsonl")} == {
        "Harbour at dusk.png", "写真.jpg", "own.png"}
    exported = tmp_path / "named"
    result = processes.run("export", str(output), "--layout", "names", "--into", str(exported), timeout=60)
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in exported.rglob("*") if path.is_file()) == [
        "Harbour at dusk.png", "own.png", "写真.png"]  # a PNG sent under a .jpg name is exported as what it is


def test_crawl_asks_for_images_with_the_referrer_policy_their_page_sets(tmp_path: Path, serve_site, processes) -> None:
    # Image hosts that refuse other sites' Referer (Weibo's, WeChat's) serve pages that embed their
    # pictures with no-referrer set, for the page or for one <img>: a browser sends none, and gets them.
    (tmp_path / "cdn").mkdir()
    for number in (1, 2, 3):
        (tmp_path / "cdn" / f"{number}.jpg").write_bytes(make_image(number, "jpg"))
    cdn = serve_site(tmp_path / "cdn")
    cdn.other_sites_refused.update({"1.jpg", "2.jpg", "3.jpg"})
    site_root = tmp_path / "site"
    site_root.mkdir()
    on_cdn = f"http://localhost:{cdn.port}"
    (site_root / "index.html").write_text(
        f'<a href="blog.html">blog</a><a href="plain.html">plain</a>'
        f'<img src="{on_cdn}/1.jpg" referrerpolicy="no-referrer">')
    (site_root / "blog.html").write_text(
        f'<head><meta name="referrer" content="no-referrer"></head><img src="{on_cdn}/2.jpg">')
    (site_root / "plain.html").write_text(f'<img src="{on_cdn}/3.jpg">')  # the default: the site's origin is sent
    site = serve_site(site_root)
    output = tmp_path / "out"
    result = processes.run("run", site.url, "--output", str(output), "--delay", "0", timeout=60)
    assert result.returncode in (0, 3), result.stderr
    assert {record["name"] for record in read_jsonl(output / "manifest.jsonl")} == {"1.jpg", "2.jpg"}
    assert [record["url"] for record in read_jsonl(output / "failures.jsonl") if record["reason"] == "http-403"] == [
        f"{on_cdn}/3.jpg"]  # as in a browser: refused with the site's Referer
    assert "Referer" not in cdn.headers["1.jpg"] and "Referer" not in cdn.headers["2.jpg"]


APACHE_LISTING = """<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">
<html>
 <head>
  <title>Index of /album</title>
 </head>
 <body>
<h1>Index of /album</h1>
<pre>      <a href="?C=N;O=D">Name</a>                    <a href="?C=M;O=A">Last modified</a>
      <a href="?C=S;O=A">Size</a>  <a href="?C=D;O=A">Description</a><hr>      <a href="/">Parent Directory</a>
      <a href="p0.png">p0.png</a>                  2026-12-07 18:25   77
      <a href="p1.png">p1.png</a>                  2026-12-07 18:25   77
<hr></pre>
</body></html>
"""  # what Apache 2.4's mod_autoindex writes for a folder of two pictures (FancyIndexing; one line cut in two)


def test_crawl_of_a_directory_listing_takes_it_once_not_in_every_order(tmp_path: Path, serve_site,
                                                                      processes) -> None:
    # Apache's listing links itself sorted by name, date, size and description, either way: each
    # folder was fetched 9 times (21 listings, 189 pages), its pictures then said to be "drawn with
    # scripts" since no page showed them. wget users reject "index.html?*" for the same reason.
    site_root = tmp_path / "site"
    (site_root / "album").mkdir(parents=True)
    (site_root / "index.html").write_text('<a href="album/">album</a>')
    (site_root / "album" / "index.html").write_text(APACHE_LISTING)  # served for every ?C=…;O=… as Apache does
    for n in range(2):
        (site_root / "album" / f"p{n}.png").write_bytes(make_image(n, "png"))
    site = serve_site(site_root)
    output = tmp_path / "out"
    result = processes.run("run", site.url, "--output", str(output), "--delay", "0", timeout=60)
    assert result.returncode == 0, result.stderr
    assert site.hits["album/"] == 1
    assert {record["name"] for record in read_jsonl(output / "manifest.jsonl")} == {"p0.png", "p1.png"}
    assert "No picture on the" not in result.stdout
    report = processes.run("inspect", str(output), "--no-gallery", timeout=60).stdout
    assert "links to a directory listing's other sort orders left out: 4" in report


def test_crawl_of_a_page_drawn_by_scripts_says_why_it_found_no_picture(tmp_path: Path, serve_site, processes) -> None:
    # A single-page app sends an empty <div> and a script; before, the crawl said "0 images saved"
    # and nothing more, which reads like a defect of the crawler.
    site_root = tmp_path / "app"
    site_root.mkdir()
    (site_root / "index.html").write_text('<div id="root"></div><script src="app.js"></script>')
    (site_root / "app.js").write_text('document.getElementById("root").innerHTML = \'<img src="/p.png">\';')
    (site_root / "favicon.ico").write_bytes(make_image(1, "png"))
    site = serve_site(site_root)
    result = processes.run("run", site.url, "--output", str(tmp_path / "out"), "--delay", "0", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "No picture on the 1 page fetched (a favicon aside): where a browser shows some, the site draws them" \
        in result.stdout
    shown = tmp_path / "shown"
    shown.mkdir()
    (shown / "index.html").write_text('<img src="p.png">')
    (shown / "p.png").write_bytes(make_image(2, "png"))
    result = processes.run("run", serve_site(shown).url, "--output", str(tmp_path / "out2"), "--delay", "0",
                           timeout=60)
    assert result.returncode == 0, result.stderr
    assert "No picture" not in result.stdout


def test_crawl_with_srcset_largest_keeps_one_copy_of_each_picture(tmp_path: Path, serve_site, processes) -> None:
    # WordPress writes every picture in several sizes; by default each is fetched (a browser may load
    # any of them), with --srcset largest only the widest is.
    site_root = tmp_path / "site"
    site_root.mkdir()
    sizes = {"p-300x200.jpg": 300, "p-768x512.jpg": 768, "p-1024x683.jpg": 1024, "p.jpg": 2560}
    for number, name in enumerate(sizes):
        (site_root / name).write_bytes(make_image(number, "jpg"))
    candidates = ", ".join(f"{name} {width}w" for name, width in sizes.items())
    (site_root / "index.html").write_text(f'<img src="p-1024x683.jpg" srcset="{candidates}" alt="Dusk">')
    site = serve_site(site_root)
    for option, expected in (([], set(sizes)), (["--srcset", "largest"], {"p.jpg"})):
        output = tmp_path / f"out{len(option)}"
        result = processes.run("run", site.url, "--output", str(output), "--delay", "0", *option, timeout=60)
        assert result.returncode == 0, result.stderr
        assert {record["name"] for record in read_jsonl(output / "manifest.jsonl")} == expected
    assert site.hits["p-300x200.jpg"] == 1  # the first crawl only


def test_crawl_shows_the_pictures_an_svg_document_loads_but_not_those_of_an_svg_image(tmp_path: Path, serve_site,
                                                                                      processes) -> None:
    # An SVG shown as a document (<object>, <embed>, <iframe>, a link, a sprite sheet a <use> names)
    # loads its <image href>s, as Chromium does; one shown through <img> or CSS loads none (browsers
    # block them there).
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="8" height="8">'
           '<symbol id="i"><image href="{0}" width="8" height="8"/></symbol><image xlink:href="#local"/>{1}</svg>')
    site_root = tmp_path / "site"
    (site_root / "art").mkdir(parents=True)
    for name, shown, more in (("diagram.svg", "in-object.png", ""), ("framed.svg", "in-frame.png", ""),
                              ("icon.svg", "in-img.png", ""), ("more.svg", "in-used-sprite.png", ""),
                              ("sprite.svg", "in-sprite.png", '<use href="more.svg#i"/>')):
        (site_root / "art" / name).write_text(svg.format(shown, more))
    pictures = ("in-object.png", "in-frame.png", "in-img.png", "in-sprite.png", "in-used-sprite.png")
    for number, name in enumerate(pictures):
        (site_root / "art" / name).write_bytes(make_image(number, "png"))
    (site_root / "index.html").write_text('<object data="art/diagram.svg" type="image/svg+xml"></object>'
                                          '<iframe src="art/framed.svg"></iframe><img src="art/icon.svg">'
                                          '<svg width="8" height="8"><use href="art/sprite.svg#i"/></svg>')
    site = serve_site(site_root)
    output = tmp_path / "out"
    result = processes.run("run", site.url, "--output", str(output), "--delay", "0", timeout=60)
    assert result.returncode == 0, result.stderr
    manifest = {record["name"]: record for record in read_jsonl(output / "manifest.jsonl")}
    assert set(manifest) == {"diagram.svg", "framed.svg", "icon.svg", "sprite.svg", "more.svg", "in-object.png",
                             "in-frame.png", "in-sprite.png", "in-used-sprite.png"}
    assert manifest["in-object.png"]["page_url"] == site.url + "art/diagram.svg"
    assert manifest["in-object.png"]["found_as"] == "svg-image"
    assert manifest["sprite.svg"]["found_as"] == manifest["more.svg"]["found_as"] == "svg-use"
    assert site.hits["art/in-img.png"] == 0



def test_crawl_that_fetched_nothing_says_why_in_its_closing_lines(tmp_path: Path, serve_site, processes) -> None:
    # The seed's warning scrolls by among the nodes' lines; the summary said "0 pages fetched (1
    # skipped)" and no more. What happened to each seed that came to nothing now closes the run.
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text('<img src="a.png">')
    (tmp_path / "site" / "robots.txt").write_text("User-agent: *\nDisallow: /\n")
    site = serve_site(tmp_path / "site")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/"
    result = processes.run("run", site.url, closed, "--output", str(tmp_path / "out"), "--delay", "0",
                           "--max-attempts", "1", timeout=60)
    assert result.returncode == 4, result.stderr  # nothing could be fetched
    closing = result.stdout[result.stdout.index("Crawl finished"):].splitlines()
    assert set(closing[1:]) == {
        f"The seed {closed} was skipped: its site's robots.txt could not be read: connection refused by "
        f"{closed[7:-1]}.",
        f"The seed {site.url} is disallowed by its site's robots.txt; skipped (--ignore-robots crawls a site of "
        "your own anyway)."} and len(closing) == 3


def test_crawl_saves_the_pictures_written_into_a_report(tmp_path: Path, serve_site, processes) -> None:
    # R Markdown, Quarto, notebooks exported to HTML and pandoc's --embed-resources write every
    # plot into the page as a data: URI. Before, no request brought them: the crawl saved none of
    # the pictures such a report shows, and said the site drew them with scripts.
    import base64
    plots = [make_image(number, "png", (64, 48)) for number in (1, 2)]
    icon = "%3Csvg xmlns='http://www.w3.org/2000/svg' width='8' height='8'%3E%3Crect width='8' height='8'/%3E%3C/svg%3E"
    placeholder = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw=="
    site_root = tmp_path / "report"
    site_root.mkdir()
    (site_root / "index.html").write_text(
        '<link rel="stylesheet" href="theme.css"><h1>Results</h1>' + "".join(
            f'<figure><img src="data:image/png;base64,{base64.b64encode(plot).decode()}" alt="plot {n}">'
            f"<figcaption>Figure {n}</figcaption></figure>" for n, plot in enumerate(plots, 1))
        + f'<img class="lazyload" src="{placeholder}" data-src="photo.png">')
    (site_root / "theme.css").write_text(f'.note {{ background: url("data:image/svg+xml,{icon}") }}')
    (site_root / "photo.png").write_bytes(make_image(3, "png"))
    site = serve_site(site_root)
    output = tmp_path / "out"
    result = processes.run("run", site.url, "--output", str(output), "--delay", "0", timeout=60)
    assert result.returncode == 0, result.stderr
    manifest = read_jsonl(output / "manifest.jsonl")
    written_in = {record["sha256"]: record for record in manifest if record["url"].startswith("data:")}
    # Not the placeholder, nor the stylesheet's icon (a theme's icons are mostly on no element of the page)
    assert set(written_in) == {hashlib.sha256(plot).hexdigest() for plot in plots}
    for n, plot in enumerate(plots, 1):
        record = written_in[hashlib.sha256(plot).hexdigest()]
        assert (record["alt"], record["caption"], record["page_url"]) == (f"plot {n}", f"Figure {n}", site.url)
        assert (output / record["path"]).read_bytes() == plot
    assert len(manifest) == 3  # and photo.png, which the placeholder stood for
    assert "3 images saved" in result.stdout and "2 of them written into the pages as data: URIs" in result.stdout
    exported = tmp_path / "exported"
    result = processes.run("export", str(output), "--layout", "names", "--into", str(exported), timeout=60)
    assert result.returncode == 0, result.stderr
    host = f"127.0.0.1_{site.port}"
    assert sorted(path.parent.name for path in exported.rglob("*") if path.is_file()) == [host] * 3
    # A report larger than --max-page-bytes is read up to the cut, and the closing lines say how to read it whole
    (site_root / "long.html").write_text("".join(
        f'<img src="data:image/png;base64,{base64.b64encode(make_image(n, "png", (64, 48))).decode()}">'
        + "<p>Discussion.</p>" * 500 for n in (4, 5)))
    result = processes.run("run", site.url + "long.html", "--output", str(tmp_path / "cut"), "--delay", "0",
                           "--max-page-bytes", "6k", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "1 page cut at --max-page-bytes (6.0 kB): what came after was not read." in result.stdout
    assert "1 of them written into the pages" in result.stdout  # the first plot, before the cut


def test_crawl_with_its_scheduler_on_ipv6(tmp_path: Path, serve_site, processes) -> None:
    # On an IPv6-only network nodes could not join at all: `--listen [::1]:PORT` said "cannot listen
    # on ::1:PORT: Address family for hostname not supported".
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("this machine has no IPv6 loopback (::1)")
    generate_site(tmp_path / "site", pages=10, images=20)
    site = serve_site(tmp_path / "site")
    scheduler = processes.start("scheduler", site.url, "--output", str(tmp_path / "apart"), "--delay", "0",
                                "--listen", "[::1]:0")
    assert scheduler.stdout is not None
    listening = scheduler.stdout.readline()
    address = re.search(r"listening on (\[::1\]:\d+),", listening)
    assert address, listening
    watch = scheduler.stdout.readline()
    assert f"crawler status {address[1]} " in watch, watch  # as the user gives it back
    worker = processes.start("worker", "--connect", address[1], "--threads", "2")
    code, stdout, stderr = finish(scheduler)
    assert code == 0 and "Crawl finished" in stdout, stderr
    worker_code, _, worker_log = finish(worker, timeout=30)
    assert worker_code == 0 and f"connected to {address[1]} " in worker_log, worker_log
    # `crawler run`: its own workers reach it there too
    result = processes.run("run", site.url, "--output", str(tmp_path / "together"), "--delay", "0",
                           "--listen", "[::1]:0", "--quiet")
    assert result.returncode == 0, result.stderr
    for output in ("apart", "together"):
        assert len(read_jsonl(tmp_path / output / "manifest.jsonl")) >= 20, output
