from crawler.extract import extract, srcset_urls

PAGE = "http://site.test/dir/page.html"


def images(html: str, url: str = PAGE) -> list[str]:
    return [pair[0] for pair in extract(html.encode(), url).images]


def test_extract_every_image_form() -> None:
    html = """<html><head><meta property="og:image" content="/og.png">
    <meta name="twitter:image" content="tw.png"></head><body>
    <img src="a.png" srcset="b.png 2x, c.png 640w">
    <img data-src="lazy.png" data-srcset="lazy2.png 1x"> <img data-original="orig.png">
    <picture><source srcset="pic.webp 1x, pic2.webp 2x" type="image/webp"><img src="pic.jpg"></picture>
    <input type="image" src="button.gif"> <input type="text" src="notanimage.png">
    <link rel="image_src" href="linked.png"></body></html>"""
    found = images(html)
    expected = ["og.png", "tw.png", "a.png", "b.png", "c.png", "lazy.png", "lazy2.png", "orig.png",
                "pic.webp", "pic2.webp", "pic.jpg", "button.gif", "linked.png"]
    assert sorted(found) == sorted(
        "http://site.test/" + e if e == "og.png" else "http://site.test/dir/" + e for e in expected)
    assert "http://site.test/dir/notanimage.png" not in found


def test_extract_links_skip_non_http_and_fragments_only_duplicate() -> None:
    html = """<a href="next.html">n</a><a href="next.html#top">again</a><a href="mailto:x@y.z">m</a>
    <a href="javascript:void(0)">j</a><a href="data:text/html,hi">d</a><a href="tel:123">t</a>
    <a href="ftp://files.test/x">f</a><area href="/map.html"><a>no href</a>"""
    links = [pair[0] for pair in extract(html.encode(), PAGE).links]
    assert links == ["http://site.test/dir/next.html", "http://site.test/map.html"]


def test_extract_honours_base_href() -> None:
    html = '<head><base href="http://cdn.test/base/"></head><body><a href="p.html"></a><img src="i.png"></body>'
    refs = extract(html.encode(), PAGE)
    assert refs.links == [["http://cdn.test/base/p.html", "http://cdn.test/base/p.html"]]
    assert refs.images == [["http://cdn.test/base/i.png", "http://cdn.test/base/i.png"]]


def test_extract_data_urls_and_empty_values_are_ignored() -> None:
    assert images('<img src="data:image/png;base64,AAAA"><img src=""><img src="  ">') == []


def test_extract_gives_canonical_keys_and_dedups_within_a_page() -> None:
    refs = extract(b'<img src="/A.png"><img src="HTTP://SITE.TEST:80/A.png#x">', PAGE)
    assert refs.images == [["http://site.test/A.png", "http://site.test/A.png"]]


def test_extract_survives_malformed_and_non_utf8_html() -> None:
    html = "<html><body><img src='caf\xe9.png'><a href=x.html><div><<<>>></p></table>".encode("latin-1")
    refs = extract(html, PAGE, encoding="iso-8859-1")
    assert refs.images[0][1] == "http://site.test/dir/caf%C3%A9.png"
    assert refs.links[0][0] == "http://site.test/dir/x.html"


def test_extract_srcset_split_follows_the_spec() -> None:
    assert srcset_urls("a.jpg 1x, b.jpg 2x,c.jpg, d,e.jpg 640w") == ["a.jpg", "b.jpg", "c.jpg", "d,e.jpg"]
    assert srcset_urls("  x.png  ") == ["x.png"]
    assert srcset_urls("") == []
