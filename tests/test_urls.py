import random
from collections.abc import Callable, Iterator
from unittest import mock

import pytest

from crawler import urls
from crawler.config import Scope
from crawler.urls import (
    ScopeRules,
    absolute,
    canonical,
    is_another_listing_order,
    origin_of,
    referrer,
    referrer_policy,
)


@pytest.mark.parametrize("url, expected", [
    ("HTTP://Example.COM:80/a/../b?z=1&a=2#frag", "http://example.com/b?a=2&z=1"),
    ("https://example.com:443", "https://example.com/"),
    ("http://example.com:8080", "http://example.com:8080/"),
    ("http://example.com/%7euser/a b", "http://example.com/~user/a%20b"),
    ("http://bücher.de/x", "http://xn--bcher-kva.de/x"),
    ("http://[::1]:80/x", "http://[::1]/x"),
])
def test_urls_canonical_normalises(url: str, expected: str) -> None:
    assert canonical(url) == expected


@pytest.mark.parametrize("url", ["ftp://example.com/", "mailto:a@b.c", "http://", "http://e.com:99999/",
                                 "javascript:alert(1)", "http://e.com/" + "a" * 9000,
                                 # hosts a browser's URL parser refuses (they went out to the DNS as seeds and links)
                                 "https://exa mple.com/", "http://a<b.test/", "http://a|b.test/x", "http://a^b.test/",
                                 # port 0: urllib3 reads it as none given and connected to port 80 (443)
                                 "http://127.0.0.1:0/", "https://e.com:00/x"])
def test_urls_canonical_refuses_what_is_not_crawlable(url: str) -> None:
    assert canonical(url) is None


def test_urls_equivalent_forms_share_one_key() -> None:
    forms = ["http://example.com/img/a.png", "HTTP://EXAMPLE.COM:80/img/./a.png#x",
             "http://example.com/img/../img/a.png", "http://example.com/img/%61.png"]
    assert len({canonical(f) for f in forms}) == 1


def test_urls_an_ipv4_address_has_one_key_whatever_its_form_and_one_out_of_range_none() -> None:
    # The URL standard reads a host that ends in a number as an IPv4 address in any form inet_aton
    # reads; a browser goes to 127.0.0.1 for each of these, and refuses the ones out of range.
    # Before, each form was a host of its own (a page fetched once per spelling, an origin per
    # spelling for --per-host), and an impossible address was asked of the name server.
    forms = ["http://127.0.0.1/a", "http://127.1/a", "http://0x7f.0.0.1/a", "http://0X7F.1/a", "http://017700000001/a",
             "http://2130706433/a", "http://127.0.0.1./a"]
    assert {canonical(form) for form in forms} == {"http://127.0.0.1/a"}
    assert canonical("http://u:p@0x7f.1:8080/") == "http://u:p@127.0.0.1:8080/"
    assert canonical("http://0xffffffff/") == "http://255.255.255.255/"
    for refused in ("http://256.1.1.1/", "http://1.2.3.4.5/", "http://09.1.1.1/", "http://4294967296/",
                    "http://a.1/", "http://shop.0x/"):
        assert canonical(refused) is None, refused
    for name in ("http://example.com./", "http://1.example/", "http://x1/", "http://[::ffff:1.2.3.4]/"):
        assert canonical(name) is not None, name


def test_urls_session_ids_are_no_part_of_a_key() -> None:
    # A server that has not yet given a client its cookie writes a session id into every link
    # (Tomcat's ;jsessionid=, PHP's PHPSESSID, phpBB's sid, ASP's, ColdFusion's): every node of a
    # crawl, each with its own session, met each page of such a site under URLs of its own, and
    # fetched it again under each. The key leaves them out, as Heritrix's does.
    page = "http://forum.test/viewtopic.php?f=2&t=17"
    forms = [page, "http://forum.test/viewtopic.php?f=2&sid=0f3e7c2a9b1d4e5f6a7b8c9d0e1f2a3b&t=17",
             "http://forum.test/viewtopic.php?f=2&t=17&PHPSESSID=8k2n1vq9d0c3hj4l5m6p7r8s9t",
             "http://forum.test/viewtopic.php;jsessionid=A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6?f=2&t=17",
             "http://forum.test/viewtopic.php?ASPSESSIONIDQASDTCRB=KLMNOPQRSTUVWXYZABCDEFGH&f=2&t=17",
             "http://forum.test/viewtopic.php?CFID=12345&CFTOKEN=67890&f=2&t=17"]
    assert {canonical(form) for form in forms} == {page}
    assert canonical("http://shop.test/item?sid=7") == "http://shop.test/item?sid=7"  # a short sid is an id
    # a key is its own key: the id goes before dot segments are resolved, and after "%73" is read as "s"
    for url in ("http://shop.test/a/..;jsessionid=1/b", "http://shop.test/?%73id=0f3e7c2a9b1d4e5f6a7b8c9d0e1f2a3b"):
        key = canonical(url)
        assert key in ("http://shop.test/b", "http://shop.test/") and canonical(key) == key, key
    assert canonical("http://shop.test/a;jsessionid=X1/b.png;v=2") == "http://shop.test/a/b.png;v=2"
    assert canonical("http://shop.test/?sessionid=5&psid=0f3e7c2a9b1d4e5f6a7b8c9d0e1f2a3b") == (
        "http://shop.test/?psid=0f3e7c2a9b1d4e5f6a7b8c9d0e1f2a3b&sessionid=5")


def test_urls_absolute_resolves_and_drops_non_http() -> None:
    assert absolute("http://a.com/x/y.html", " ../img/a.png\n") == "http://a.com/img/a.png"
    assert absolute("http://a.com/", "//b.com/x#frag") == "http://b.com/x"
    assert absolute("http://a.com/", "javascript:void(0)") is None
    assert absolute("http://a.com/", "data:image/png;base64,AAAA") is None
    assert absolute("http://a.com/", "   ") is None
    # control characters are percent-encoded, as a browser sends them: raw, a page's reached the
    # logs and `crawler inspect` as terminal escape sequences
    assert absolute("http://a.com/", "/a\x1b]0;title\x07b\x85.png") == "http://a.com/a%1B]0;title%07b%C2%85.png"


@pytest.mark.parametrize("base, ref, expected", [
    # Debian's debian-handbook: every page shows <img src="Common_Content/images//image_left.png">;
    # Chromium asks for that, the crawl asked for images/image_left.png (CPython's urljoin drops
    # the empty segments of a relative path, gh-84774), which a server may not have (an S3 key
    # "/a.png" is not "a.png"; Wikipedia's /wiki//Python is not /wiki/Python)
    ("http://a.test/en-US/x.html", "Common_Content/images//image_left.png",
     "http://a.test/en-US/Common_Content/images//image_left.png"),
    ("http://a.test/wiki//Python/page.html", "img.png", "http://a.test/wiki//Python/img.png"),
    ("http://a.test/a//b/c.html", "../d.png", "http://a.test/a//d.png"),
    ("http://a.test/a//b/c.html", "./e//f/../g.png?x=1#top", "http://a.test/a//b/e//g.png?x=1"),
    ("http://a.test/a/b.html", "c//", "http://a.test/a/c//"),
    ("http://a.test/a//b/c.html", "..", "http://a.test/a//"),
    ("http://a.test/a//b/c.html", "?q", "http://a.test/a//b/c.html?q"),
    # an empty query replaces the page's (CPython's urljoin kept it, gh-76960): "clear the filters"
    ("http://a.test/list.html?page=2&colour=red", "?", "http://a.test/list.html"),
    ("http://a.test/list.html?page=2", "?#top", "http://a.test/list.html"),
    ("http://a.test/a/b.html", "/x//y.png", "http://a.test/x//y.png"),  # these urljoin kept
    ("http://a.test/a/b.html", "/..//y.png", "http://a.test//y.png"),  # not this one (Node's URL agrees)
    ("http://a.test/a/b.html", "//cdn.test/p//q.png", "http://cdn.test/p//q.png"),
    ("http://a.test/a/b/c.html", "../../../../d.png", "http://a.test/d.png"),
])
def test_urls_a_path_keeps_its_empty_segments_as_a_browser_resolves_it(base: str, ref: str, expected: str) -> None:
    assert absolute(base, ref) == expected
    assert urls.join(base, ref).split("#")[0] == expected  # redirects' Location too


@pytest.mark.parametrize("ref", ["///cdn.test/x.png", "////cdn.test/x.png", "http:///cdn.test/x.png",
                                 "https:////cdn.test/x.png", "\\\\\\cdn.test\\x.png"])
def test_urls_more_slashes_before_a_host_are_one_pair_as_a_browser_reads_them(ref: str) -> None:
    # A template's "/" + "//cdn.test/x.png" makes ///cdn.test/x.png: a browser skips the extra
    # slashes and asks cdn.test for it; the crawl asked the page's own host for /cdn.test/x.png
    # (or, with the scheme written, refused the URL).
    scheme = "https" if ref.startswith("https") else "http"
    assert absolute("http://a.test/d/p.html", ref) == f"{scheme}://cdn.test/x.png"


def test_urls_a_backslash_before_the_query_is_a_slash_as_browsers_read_it() -> None:
    # Pages written on Windows name pictures with backslashes. A browser reads each as a slash in an
    # http(s) URL; before, `images\\photo.jpg` was asked for as images%5Cphoto.jpg (a 404 on most
    # servers) and `\\img\\b.png` resolved inside the page's folder.
    page = "http://site.test/dir/page.html"
    assert absolute(page, "images\\photo.jpg") == "http://site.test/dir/images/photo.jpg"
    assert absolute(page, "..\\img\\a.png") == "http://site.test/img/a.png"
    assert absolute(page, "\\img\\b.png") == "http://site.test/img/b.png"
    assert absolute(page, "\\\\cdn.test\\c.png") == "http://cdn.test/c.png"
    assert absolute(page, "HTTPS:\\\\cdn.test\\d.png") == "https://cdn.test/d.png"
    assert absolute(page, "e.png?path=a\\b") == "http://site.test/dir/e.png?path=a\\b"  # the query keeps it
    assert absolute(page, "javascript:go('a\\b')") is None


@pytest.mark.parametrize(("base", "ref", "expected"), [
    # what resolves against the base's folder, shared by the pages in it (and remembered for them)
    ("http://a.com/x/one.html?p=1", "img/a.png", "http://a.com/x/img/a.png"),
    ("http://a.com/x/two.html", "img/a.png", "http://a.com/x/img/a.png"),
    ("http://a.com/x/two.html", "/top.png", "http://a.com/top.png"),
    ("http://a.com/x/two.html;s=1", ";v=2", "http://a.com/x/;v=2"),
    ("http://a.com", "img/a.png", "http://a.com/img/a.png"),
    # what keeps the base's whole path (and query): no path nor host of its own
    ("http://a.com/x/one.html?p=1", "?p=2", "http://a.com/x/one.html?p=2"),
    ("http://a.com/x/one.html?p=1", "#top", "http://a.com/x/one.html?p=1"),
    ("http://a.com/x/one.html?p=1", "http:", "http://a.com/x/one.html?p=1"),
    ("http://a.com/x/one.html?p=1", "//", "http://a.com/x/one.html?p=1"),
    ("http://a.com/x/one.html?p=1", "http:?p=3", "http://a.com/x/one.html?p=3"),
])
def test_urls_absolute_resolves_against_the_page_or_its_folder_as_urljoin_does(base: str, ref: str,
                                                                                 expected: str) -> None:
    assert absolute(base, ref) == expected


def _random_urls(rng: random.Random, count: int) -> Iterator[str]:
    """URLs mostly of plain characters, now and then with one a fast path must not take."""
    plain = "abcXYZ0189.-_~!$&'()*+,=:@%/"
    odd = [";", "?", "=", "#", "/./", "/../", "..", "[", "]", " ", "\\", "é", ":", "//", "%7e", "%41", "sessionid",
           "xn--", "A"]
    for _ in range(count):
        host = rng.choice(["xn--", "", ""]) + "".join(rng.choice("ab0f9x.-") for _ in range(rng.randint(1, 8)))
        if rng.random() < 0.2:  # an address, in a form of its own or as a dotted quad
            host = rng.choice(["0x", ""]) + ".".join(str(rng.randrange(300)) for _ in range(rng.choice([2, 4])))
        port = rng.choice(["", "", ":8080", ":80", ":443", ":0", ":080", ":65536", ":"])
        path = "".join(rng.choice(plain) if rng.random() < 0.93 else rng.choice(odd)
                       for _ in range(rng.randint(0, 20)))
        yield f"{rng.choice(['http', 'https', 'HTTP'])}://{host}{port}{rng.choice(['/', ''])}{path}"


def _resolved_the_long_way(url: str) -> str | None:
    resolved = {urls._joined(base, url) for base in ("http://a.example/b/c.html", "https://h:8443/p?q#f", "http://a")}
    return resolved.pop() if len(resolved) == 1 else None  # whatever the page, the same URL


def _the_long_way_to_a_key(url: str) -> str | None:
    with mock.patch.object(urls, "_is_its_own_key", return_value=False):
        return urls.canonical.__wrapped__(url)  # type: ignore[attr-defined]  # lru_cache's


@pytest.mark.parametrize(("fast_path", "long_way"), [
    # absolute() gives such a URL back as it is (42 us a seed to resolve, 1.3 us to recognise)
    (urls._resolves_to_itself, _resolved_the_long_way),
    # canonical() takes such a URL as its own key (1 us, where canonicalize_url takes 40)
    (urls._is_its_own_key, _the_long_way_to_a_key),
])
def test_urls_a_fast_path_gives_what_the_long_way_gives(fast_path: Callable[[str], bool],
                                                        long_way: Callable[[str], str | None]) -> None:
    taken = 0
    for url in _random_urls(random.Random(7), 20_000):
        if fast_path(url):
            taken += 1
            assert long_way(url) == url
    assert 300 < taken < 15_000  # the draw reaches the fast path often, and the long way too


def test_urls_origin_keeps_port_and_drops_userinfo() -> None:
    assert origin_of("http://user:pw@example.com:8080/x") == "http://example.com:8080"


def test_urls_scope_seed_hosts_allowed_domains_and_deny() -> None:
    rules = ScopeRules(Scope(frozenset({"www.example.com"}), ("cdn.net",), (r"/private/",)))
    assert rules.allows("http://www.example.com/a")
    assert rules.allows("https://www.example.com:8443/a")  # scope is by host, any port
    assert not rules.allows("http://images.example.com/a")  # another host
    assert rules.allows("http://img.cdn.net/x.png") and rules.allows("http://cdn.net/x.png")
    assert not rules.allows("http://evilcdn.net/x.png")
    assert not rules.allows("http://www.example.com/private/a")


def test_urls_scope_a_seed_host_and_its_www_twin_are_one_site() -> None:
    # `crawler run https://example.com/` of a site that lives at www.example.com (or the other way
    # round) redirected out of scope at once: a crawl of nothing.
    rules = ScopeRules(Scope(frozenset({"example.com", "www.site.test", "127.0.0.1", "localhost"}),
                             parent_prefixes=("https://example.com/docs/",)))
    assert rules.allows("https://www.example.com/docs/a.html") and rules.allows("http://site.test/")
    assert not rules.allows("https://www.example.com/blog/")  # --no-parent holds on the twin too
    # and across http and https, as wget's does: a site that moved to https escaped it
    assert not rules.allows("http://example.com/blog/") and rules.allows("http://www.example.com/docs/b.html")
    assert not rules.allows("http://www.www.site.test/") and not rules.allows("http://shop.example.com/")
    assert not rules.allows("http://www.127.0.0.1/") and not rules.allows("http://www.localhost/")
    assert rules.has_pages_on("https://www.example.com")  # its sitemaps are read


def test_urls_scope_pages_by_host_images_from_anywhere_unless_same_host() -> None:
    rules = ScopeRules(Scope(frozenset({"site.test"}), deny_patterns=(r"\.gif$",)))
    assert not rules.allows("http://cdn.example.net/a.png")  # not a page of the crawl
    assert rules.allows_resource("http://cdn.example.net/a.png")  # but an image a page shows
    assert not rules.allows_resource("http://cdn.example.net/a.gif")  # deny rules hold for images too
    strict = ScopeRules(Scope(frozenset({"site.test"}), same_host_images=True))
    assert not strict.allows_resource("http://cdn.example.net/a.png")
    assert strict.allows_resource("http://site.test/a.png")


def test_urls_scope_accept_and_no_parent_are_for_pages() -> None:
    rules = ScopeRules(Scope(frozenset({"site.test", "other.test"}), accept_patterns=(r"/gallery/",),
                             parent_prefixes=("http://site.test/gallery/2024/",)))
    assert rules.allows("http://site.test/gallery/2024/june.html")
    assert not rules.allows("http://site.test/gallery/2023/may.html")  # above the seed's folder
    assert not rules.allows("http://site.test/blog/")  # not accepted
    assert rules.allows("http://other.test/gallery/x.html")  # --no-parent is per site, like wget's
    assert rules.allows_resource("http://site.test/img/a.png")  # images come whatever their URL


@pytest.mark.parametrize(("target", "a_folder"), [
    ("https://example.com/photos/", True),
    ("https://www.example.com/photos/", True),  # the site's twin, as a redirect to it often is
    ("http://example.com/photos/", True),  # to http: the folder rule holds over both
    ("https://example.com/photos/index.html", False),  # a page of its own, not the slash added
    ("https://example.com/photos/?page=1", False),
    ("https://cdn.example.com/photos/", False),
])
def test_urls_scope_no_parent_keeps_to_a_seed_its_server_shows_is_a_folder(target: str, a_folder: bool) -> None:
    rules = ScopeRules(Scope(frozenset({"example.com"}), parent_prefixes=("https://example.com/",)))
    assert rules.seed_redirected("https://example.com/photos", "https://example.com/photos", target) is a_folder
    assert rules.allows("https://example.com/about.html") is not a_folder
    assert rules.allows("https://example.com/photos/2024/a.html")


@pytest.mark.parametrize(("page_url", "url", "expected"), [
    ("http://site.test/a/page.html#part", "http://site.test/img/x.png", "http://site.test/a/page.html"),
    ("https://site.test/a/page.html?q=1", "https://cdn.test/x.png", "https://site.test/"),  # origin only
    ("https://site.test/a/page.html", "http://site.test/x.png", None),  # never from https to http
    ("http://site.test/page.html", "https://site.test/x.png", "http://site.test/"),  # another origin
    ("http://user:secret@site.test:8080/p.html", "http://site.test:8080/x.png", "http://site.test:8080/p.html"),
    (None, "http://site.test/", None),  # a seed: nobody sent the browser there
])
def test_urls_referrer_is_what_a_browser_sends_by_default(page_url: str | None, url: str,
                                                          expected: str | None) -> None:
    assert referrer(page_url, url) == expected


PAGE = "https://site.test/a/page.html?q=1"


@pytest.mark.parametrize(("policy", "same_origin", "cross_origin", "downgrade"), [
    ("no-referrer", None, None, None),
    ("same-origin", PAGE, None, None),
    ("origin", "https://site.test/", "https://site.test/", "https://site.test/"),
    ("strict-origin", "https://site.test/", "https://site.test/", None),
    ("origin-when-cross-origin", PAGE, "https://site.test/", "https://site.test/"),
    ("strict-origin-when-cross-origin", PAGE, "https://site.test/", None),
    ("no-referrer-when-downgrade", PAGE, PAGE, None),
    ("unsafe-url", PAGE, PAGE, PAGE),
])
def test_urls_referrer_follows_the_policy_a_page_sets(policy: str, same_origin: str | None, cross_origin: str | None,
                                                      downgrade: str | None) -> None:
    # Pages that embed pictures from hosts refusing other sites' Referer (Weibo's, WeChat's) set
    # no-referrer: a browser then sends none, and the host serves the picture.
    assert referrer(PAGE, "https://site.test/x.png", policy) == same_origin
    assert referrer(PAGE, "https://cdn.test/x.png", policy) == cross_origin
    assert referrer(PAGE, "http://cdn.test/x.png", policy) == downgrade


@pytest.mark.parametrize(("value", "policy"), [
    ("no-referrer", "no-referrer"), (" No-Referrer ", "no-referrer"), ("never", "no-referrer"),  # legacy names
    ("always", "unsafe-url"), ("origin-when-crossorigin", "origin-when-cross-origin"),
    ("default", "strict-origin-when-cross-origin"),
    ("unsafe-url, no-referrer", "no-referrer"), ("no-referrer, made-up", "no-referrer"),  # the last one known
    ("made-up", None), ("", None), (None, None)])
def test_urls_referrer_policy_reads_the_header_and_meta_values(value: str | None, policy: str | None) -> None:
    assert referrer_policy(value) == policy


def test_urls_scope_an_international_domain_name_is_in_scope_as_its_pages_are_keyed() -> None:
    # Pages are keyed in punycode: with the seed's host kept as typed, every link of `crawler run
    # http://bücher.example/` was out of scope, and the crawl ended after its first page.
    rules = ScopeRules(Scope(frozenset({"bücher.example"}), ("café.test",)))
    assert rules.allows(canonical("http://bücher.example/a.html") or "")
    assert rules.allows(canonical("http://www.Bücher.example/") or "")  # and its www twin
    assert rules.allows(canonical("http://menu.café.test/") or "")  # an allowed domain too
    assert rules.has_pages_on("http://xn--bcher-kva.example")
    assert not rules.allows(canonical("http://bucher.example/") or "")


@pytest.mark.parametrize(("link", "another_order"), [
    # Apache's directory listing (mod_autoindex) links itself sorted by each column, either way
    ("http://h/album/?C=N;O=D", True), ("http://h/album/?C=M;O=A", True), ("http://h/album/?O=D&C=S", True),
    ("http://h/album/?C=N;O=D;F=2;V=1", True), ("http://h/album/?C=D;O=A;P=*.png", True),
    ("http://h/other/?C=N;O=D", False),  # another folder's listing: its files are others
    ("http://h/album/?C=2&P=3", False),  # a category and a page, whatever their names
    ("http://h/album/?C=N;O=D;page=2", False), ("http://h/album/?sort=name", False), ("http://h/album/", False),
    # Caddy's (file_server browse): ?sort=name&order=desc, by each of its columns (limit= where it lists so many)
    ("http://h/album/?sort=namedirfirst&order=desc", True), ("http://h/album/?sort=size&order=asc", True),
    ("http://h/album/?order=asc&sort=time&limit=100", True),
    ("http://h/album/?sort=name&order=asc&offset=100", False),  # the listing's next part: other files
    ("http://h/album/?sort=price&order=asc", False), ("http://h/album/?sort=name&order=up", False),
    ("http://h/other/?sort=name&order=asc", False), ("http://h/album/?sort=name&C=N", False),
])
def test_a_directory_listings_links_to_itself_in_another_order_are_known(link: str, another_order: bool) -> None:
    assert is_another_listing_order(link, "http://h/album/") is another_order


def test_crawler_traps_are_paths_that_repeat_themselves_or_grow_without_end() -> None:
    from crawler.urls import MAX_PATH_SEGMENTS, is_a_crawler_trap
    deep = "http://a.test/" + "/".join(f"f{n}" for n in range(MAX_PATH_SEGMENTS))
    for url in ("http://a.test/", "http://a.test", "http://a.test/soft/again/again/", "http://a.test/a/b/a/b/c",
                "http://a.test/2024/01/01/post.html", "http://a.test/x?next=/a/a/a/a/", deep, deep + "/"):
        assert not is_a_crawler_trap(url), url
    for url in ("http://a.test/soft/again/again/again/", "http://a.test/a/b/a/b/a/b/x.html", "http://a.test/x////",
                deep + "/one-more"):
        assert is_a_crawler_trap(url), url


def test_crawler_traps_a_calendar_is_followed_three_years_either_way_and_its_days_three_months() -> None:
    # An events calendar's "next month" leads on for ever: a step to another date in the page's own
    # URL is followed up to CALENDAR_YEARS from today. Before, a calendar kept a crawl going for ever.
    # Its day view steps a day at a time: 3 years of them were some 2,190 pages; CALENDAR_DAYS each way.
    from datetime import date

    from crawler.urls import CALENDAR_DAYS, CALENDAR_YEARS, is_a_calendar_trap
    today = date(2026, 12, 6)
    steps = [("http://a.test/events/month/2029-12/", "http://a.test/events/month/2030-01/"),  # 37 months on
             ("http://a.test/events/month/2023-12/", "http://a.test/events/month/2023-11/"),  # 37 months back
             ("http://a.test/cal/?day=2031-05-17&view=day", "http://a.test/cal/?day=2031-05-18&view=day"),
             ("http://a.test/events/2027-03-10/", "http://a.test/events/2027-03-11/"),  # a day over 3 months on
             ("http://a.test/events/2026-09-01/", "http://a.test/events/2026-08-31/"),  # and back
             ("http://a.test/cal.php?month=1&year=2030", "http://a.test/cal.php?month=2&year=2030"),
             ("http://a.test/2019/11/", "http://a.test/2019/10/")]  # a blog's archive, one month to the last
    for page, link in steps:
        assert is_a_calendar_trap(link, page, today), link
    kept = [("http://a.test/events/month/2029-11/", "http://a.test/events/month/2029-12/"),  # 36 months on
            ("http://a.test/events/2027-03-04/", "http://a.test/events/2027-03-05/"),  # a day 89 days on
            ("http://a.test/", "http://a.test/2001/05/"),  # an archive listed from an undated page
            ("http://a.test/2001/05/one.html", "http://a.test/2001/04/two.html"),  # posts of other dates
            ("http://a.test/comic/1999/", "http://a.test/comic/2000/"),  # a year alone is a number, not a date
            ("http://a.test/events/month/2040-01/", "http://a.test/events/month/2040-01/?print=1"),
            ("http://a.test:2040/05/", "http://a.test:2040/06/"),  # a port is no year
            ("http://a.test/map?x=7&y=2100", "http://a.test/map?x=7&y=2101")]  # nor a tile's row
    for page, link in kept:
        assert not is_a_calendar_trap(link, page, today), link
    assert (CALENDAR_YEARS, CALENDAR_DAYS) == (3, 92)
