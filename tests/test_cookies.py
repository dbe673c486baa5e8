"""The crawl's one cookie jar: what a node notes a site set, what the scheduler keeps, what a node takes in."""

import time

import pytest
import responses

from crawler.config import FetchLimits
from crawler.errors import BadMessage
from crawler.messages import (
    MAX_COOKIE_CHARS,
    MAX_COOKIES_PER_RESULT,
    Outcome,
    make_result,
    make_task,
    read_result,
    read_task,
)
from crawler.node import cookies as node_cookies
from crawler.node.cookies import SetCookies, SharedJar
from crawler.node.fetcher import fetch, new_session
from crawler.scheduler.cookies import MAX_COOKIES_PER_DOMAIN, SharedCookies

SITE = "http://site.test"
TASK = make_task("1.1.run", "image", f"{SITE}/a.png", 1, f"{SITE}/", 0)


@responses.activate
def test_cookies_a_node_notes_what_each_task_was_set_redirects_included() -> None:
    responses.add(responses.GET, f"{SITE}/old", status=302, headers={"Location": "/page",
                                                                      "Set-Cookie": "lb=node7; Path=/"})
    responses.add(responses.GET, f"{SITE}/page", body=b"<p>x</p>", content_type="text/html",
                  headers={"Set-Cookie": "session=abc; Domain=site.test; Path=/; Secure; Max-Age=3600"})
    responses.add(responses.GET, f"{SITE}/plain", body=b"<p>y</p>", content_type="text/html")
    limits = FetchLimits()
    session = new_session(limits)
    noted = SetCookies()
    noted.watch(session)
    noted.start()
    fetch(session, f"{SITE}/old", limits, 10_000, follow_redirects=True)
    cookies = noted.taken()
    assert [entry[:5] for entry in cookies] == [["site.test", "/", "lb", "node7", False],
                                                [".site.test", "/", "session", "abc", True]]
    assert cookies[0][5] is None and abs(cookies[1][5] - (time.time() + 3600)) < 60  # a session cookie; a dated one
    assert noted.taken() == []  # once
    noted.start()
    fetch(session, f"{SITE}/plain", limits, 10_000)
    assert noted.taken() == []
    fetch(session, f"{SITE}/page", limits, 10_000)  # outside a task: nobody to tell, and no error
    assert noted.taken() == []


@responses.activate
def test_cookies_a_session_that_holds_none_sends_none_until_a_site_sets_one() -> None:
    # A request prepared from an empty jar skips requests' look into it (some 5 % of a fetch's CPU):
    # what a site sets on one answer still goes with the next request, and only to its site.
    responses.add(responses.GET, f"{SITE}/first", body=b"<p>x</p>", content_type="text/html",
                  headers={"Set-Cookie": "session=abc; Path=/"})
    responses.add(responses.GET, f"{SITE}/second", body=b"<p>y</p>", content_type="text/html")
    responses.add(responses.GET, "http://other.test/", body=b"<p>z</p>", content_type="text/html")
    limits = FetchLimits()
    session = new_session(limits)
    assert session.cookies.holds_none()
    for url in (f"{SITE}/first", f"{SITE}/second", "http://other.test/"):
        fetch(session, url, limits, 10_000)
    sent = [call.request.headers.get("Cookie") for call in responses.calls]
    assert sent == [None, "session=abc", None]
    assert not session.cookies.holds_none()


def test_cookies_the_scheduler_keeps_the_last_value_and_names_new_ones_apart() -> None:
    jar, now = SharedCookies(), time.time()
    assert jar.merge([["site.test", "/", "session", "abc", False, None]], now)
    assert (jar.version, jar.names_version) == (1, 1)
    assert not jar.merge([["site.test", "/", "session", "abc", False, None]], now)  # nothing new
    assert jar.merge([["site.test", "/", "session", "def", False, None]], now)  # a value changed: no task waits for it
    assert (jar.version, jar.names_version) == (2, 1)
    assert jar.merge([["site.test", "/shop", "session", "ghi", False, None]], now)  # another path: another cookie
    assert (jar.version, jar.names_version) == (3, 2)
    assert jar.merge([["site.test", "/", "session", "", False, int(now) - 1]], now)  # expired on the way: let go
    assert jar.published() == [4, 2, [["site.test", "/shop", "session", "ghi", False, None]]]
    many = [["site.test", "/", f"c{n}", "v", False, None] for n in range(MAX_COOKIES_PER_DOMAIN + 5)]
    jar.merge(many, now)
    assert len(jar.published()[2]) == MAX_COOKIES_PER_DOMAIN  # a site cannot fill every node's jar
    assert jar.merge([["other.test", "/", "x", "1", False, None]], now)  # another site still can set its own


def test_cookies_a_node_takes_the_crawls_jar_in_and_lets_go_of_what_it_let_go(monkeypatch) -> None:
    session = new_session(FetchLimits())
    jar = SharedJar()
    published = [[2, 1, [["site.test", "/", "session", "abc", False, None], [".cdn.test", "/", "t", "1", True, None]]]]
    reads = []

    def read_jar() -> list:
        reads.append(1)
        return published[0]

    assert jar.needs(1)
    jar.catch_up(read_jar, session, 1)
    assert {(c.domain, c.name, c.value, c.secure) for c in session.cookies} == {
        ("site.test", "session", "abc", False), (".cdn.test", "t", "1", True)}
    assert not jar.needs(1)
    jar.catch_up(read_jar, session, 1)  # another fetcher thread that waited for the same version
    assert len(reads) == 1
    published[0] = [3, 1, [["site.test", "/", "session", "abc", False, None]]]
    assert not jar.stale(3)  # a value changed: caught up with at the bulletin's pace, once a second at most
    monkeypatch.setattr(node_cookies, "_CATCH_UP_SECONDS", 0.0)
    assert jar.stale(3) and not jar.stale(2)
    jar.catch_up(read_jar, session)
    assert [c.name for c in session.cookies] == ["session"]
    jar.catch_up(lambda: "nonsense", session)  # an answer out of step changes nothing
    assert [c.name for c in session.cookies] == ["session"]


@pytest.mark.parametrize("bad", [
    [["site.test", "/", "a", "b", "yes", None]], [["site.test", "/", "a", "b", False, 1.5]],
    [["", "/", "a", "b", False, None]], [["site.test", "/", "a", "b" * MAX_COOKIE_CHARS, False, None]],
    [["site.test", "/", "a", "b", False]], [["site.test", "/", "", "", False, None]],
    [["site.test", "/" * 1025, "a", "b", False, None]],
    [["site.test", "/", "a", "b", False, None]] * (MAX_COOKIES_PER_RESULT + 1), "session=abc",
])
def test_cookies_a_result_carries_only_bounded_plain_cookies(bad: object) -> None:
    good = dict(make_result(TASK, "node", Outcome.SAVED, cookies=[["site.test", "/", "a", "b", True, 1700000000]]))
    assert read_result(good)["cookies"][0][2] == "a"
    with pytest.raises(BadMessage, match="cookies"):
        read_result({**good, "cookies": bad})


def test_cookies_a_task_names_the_jar_it_needs() -> None:
    assert read_task(dict(TASK, cookies=3))["cookies"] == 3
    for bad in (-1, "3", None, True):
        with pytest.raises(BadMessage, match="cookies"):
            read_task(dict(TASK, cookies=bad))


def _cookie_names_sent(jar: object, url: str) -> list[str]:
    import requests
    request = requests.PreparedRequest()
    request.prepare(method="GET", url=url, cookies=jar)  # type: ignore[arg-type]
    header = request.headers.get("Cookie", "")
    return sorted(header.split("; ")) if header else []


def test_cookies_a_request_reads_its_own_sites_cookies_not_every_sites() -> None:
    # The session's jar holds every cookie the node was ever set, and http.cookiejar checked each
    # of its domains for every request: a node that had crawled 500 sites which set a cookie each
    # spent 2.1 ms preparing each request (2,000 sites: 8.5 ms), where it spends some 30 us.
    import http.cookiejar

    class CountingPolicy(http.cookiejar.DefaultCookiePolicy):
        checked = 0

        def domain_return_ok(self, domain: str, request: object) -> bool:
            CountingPolicy.checked += 1
            return super().domain_return_ok(domain, request)

    jar = new_session(FetchLimits()).cookies
    jar.set_policy(CountingPolicy())
    for number in range(500):
        jar.set("sid", f"s{number}", domain=f"site{number}.test", path="/")
    jar.set("theme", "dark", domain=".shop.test", path="/")
    jar.set("gone", "1", domain=".shop.test", path="/", expires=int(time.time()) - 10)
    looked_at: list[str] = []
    is_expired = http.cookiejar.Cookie.is_expired

    def counted(cookie: http.cookiejar.Cookie, now: float | None = None) -> bool:
        looked_at.append(cookie.name)
        return is_expired(cookie, now)

    http.cookiejar.Cookie.is_expired = counted  # type: ignore[method-assign]
    try:
        for _ in range(10):
            assert _cookie_names_sent(jar, "http://www.shop.test/a.png") == ["theme=dark"]  # not the expired one
        assert _cookie_names_sent(jar, "http://site7.test/") == ["sid=s7"]
    finally:
        http.cookiejar.Cookie.is_expired = is_expired  # type: ignore[method-assign]
    assert CountingPolicy.checked <= 11 * 20, CountingPolicy.checked  # 5,511 before
    assert len(looked_at) <= 600, len(looked_at)  # every cookie for every request: 5,500 before


def test_cookies_a_request_is_sent_the_cookies_http_cookiejar_would_send() -> None:
    # The node's jar looks only at the domains that can match a request's host: the same cookies
    # as http.cookiejar's own look at every domain, for hosts, parents, IPs and single labels.
    import random

    import requests.cookies
    domains = ["a.test", ".a.test", "www.a.test", ".www.a.test", "b.a.test", "test", ".test", "other.test",
               "127.0.0.1", "intranet", "intranet.local", ".local", "x.y.z.example", ".z.example", "example",
               "", "A.TEST", ".Www.A.test"]
    urls = ["http://a.test/", "http://www.a.test/p/q.png", "https://b.a.test/", "http://c.b.a.test/",
            "http://127.0.0.1:8080/x", "http://intranet/", "http://x.y.z.example/", "http://z.example/",
            "http://nota.test/", "http://A.Test/", "http://[::1]:8080/"]
    rng = random.Random(7)
    for _ in range(40):
        ours, stock = new_session(FetchLimits()).cookies, requests.cookies.RequestsCookieJar()
        for number in range(rng.randint(1, 30)):
            domain, path = rng.choice(domains), rng.choice(["/", "/p", "/p/q.png", "/other"])
            secure = rng.random() < 0.2
            for jar in (ours, stock):
                jar.set(f"c{number}", "v", domain=domain, path=path, secure=secure)
        for url in urls:
            assert _cookie_names_sent(ours, url) == _cookie_names_sent(stock, url), url
