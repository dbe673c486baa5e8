"""Strict-Transport-Security: what a node reads of the header, and how the scheduler asks for an HSTS host's URLs."""

import time

import pytest
import responses

from crawler.config import FetchLimits
from crawler.errors import BadMessage
from crawler.messages import MAX_HSTS_PER_RESULT, Outcome, make_result, make_task, read_result
from crawler.node.fetcher import fetch, new_session
from crawler.node.hsts import HstsNotes, hsts_entry
from crawler.scheduler.hsts import HstsHosts
from crawler.urls import canonical

TASK = make_task("1.1.run", "page", "https://site.test/", 0, None, 0)


@pytest.mark.parametrize(("url", "header", "entry"), [
    ("https://Site.test/a", "max-age=31536000; includeSubDomains; preload", ["site.test", 31536000, True]),
    ("https://site.test/a", 'MAX-AGE="600"', ["site.test", 600, False]),
    ("https://site.test/a", "max-age=0", ["site.test", 0, False]),  # forget the host
    ("http://site.test/a", "max-age=600", None),  # only a secure answer counts (RFC 6797 8.1)
    ("https://127.0.0.1:8443/", "max-age=600", None),  # nor one for an IP address
    ("https://site.test/a", "includeSubDomains", None),  # max-age is required
    ("https://site.test/a", "max-age=600; max-age=700", None),  # once
    ("https://site.test/a", "max-age=soon", None),
])
def test_hsts_a_header_is_read_as_rfc_6797_says(url: str, header: str, entry: list | None) -> None:
    assert hsts_entry(url, header) == entry


@responses.activate
def test_hsts_a_node_notes_what_each_tasks_https_answers_ask() -> None:
    responses.get("http://site.test/", status=301, headers={"Location": "https://site.test/",
                                                            "Strict-Transport-Security": "max-age=600"})
    responses.get("https://site.test/", body=b"<p>x</p>", content_type="text/html",
                  headers={"Strict-Transport-Security": "max-age=600; includeSubDomains"})
    limits = FetchLimits()
    session = new_session(limits)
    notes = HstsNotes()
    notes.watch(session)
    notes.start()
    fetch(session, "http://site.test/", limits, 10_000, follow_redirects=True)
    assert notes.taken() == [["site.test", 600, True]]  # the http answer's header is no word of the site's
    assert notes.taken() == []


def _result(links: list[str], images: list[str]) -> dict:
    return dict(make_result(TASK, "n1", Outcome.FETCHED, links=[[url, canonical(url)] for url in links],
                            images=[[url, canonical(url), "img", "", "", ""] for url in images],
                            referrer_policies=[[canonical(images[0]), "no-referrer"]] if images else [],
                            hsts=[["site.test", 600, True], ["shop.test", 600, False]]))


def test_hsts_the_scheduler_asks_for_an_hsts_hosts_urls_over_https() -> None:
    hosts, now = HstsHosts(), time.time()
    assert not hosts
    result = _result(["http://site.test/a.html", "http://site.test:80/b.html", "http://www.site.test:8080/c.html",
                      "http://shop.test/d.html", "http://sub.shop.test/e.html", "http://other.test/f.html",
                      "https://site.test/g.html"],
                     ["http://cdn.site.test/p.png"])
    hosts.note(read_result(result)["hsts"], now)
    hosts.upgrade(result, now)
    assert [url for url, _key in result["links"]] == [
        "https://site.test/a.html", "https://site.test/b.html", "https://www.site.test:8080/c.html",
        "https://shop.test/d.html", "http://sub.shop.test/e.html",  # shop.test does not include its subdomains
        "http://other.test/f.html", "https://site.test/g.html"]
    assert all(key == canonical(url) for url, key in result["links"])
    assert result["images"][0][:2] == ["https://cdn.site.test/p.png", "https://cdn.site.test/p.png"]
    assert result["referrer_policies"] == [["https://cdn.site.test/p.png", "no-referrer"]]  # keyed as the image
    redirect = dict(make_result(TASK, "n1", Outcome.REDIRECT, location=["http://site.test/x", "http://site.test/x"]))
    hosts.upgrade(redirect, now)  # a redirect's target too
    assert redirect["location"] == ["https://site.test/x", "https://site.test/x"]
    hosts.note([["site.test", 60, True]], now)  # a shorter max-age: upgraded until then only
    hosts.upgrade(shorter := _result(["http://site.test/a.html"], []), now + 61)
    assert shorter["links"][0][0] == "http://site.test/a.html"
    hosts.note([["site.test", 600, True]], now)  # and renewed: upgraded again
    hosts.upgrade(renewed := _result(["http://site.test/a.html"], []), now + 100)
    assert renewed["links"][0][0] == "https://site.test/a.html"
    later = _result(["http://site.test/a.html"], [])
    hosts.upgrade(later, now + 601)  # its max-age ran out
    assert later["links"][0][0] == "http://site.test/a.html"
    hosts.note([["site.test", 0, False]], now)  # max-age=0: forget it
    hosts.upgrade(again := _result(["http://site.test/a.html"], []), now)
    assert again["links"][0][0] == "http://site.test/a.html"


@pytest.mark.parametrize("bad", [
    [["site.test", -1, False]], [["site.test", 600, "yes"]], [["", 600, False]], [["site.test", 600]],
    [["site.test", 600, False]] * (MAX_HSTS_PER_RESULT + 1), "site.test",
])
def test_hsts_a_result_carries_only_bounded_plain_entries(bad: object) -> None:
    good = dict(make_result(TASK, "n1", Outcome.FETCHED, hsts=[["site.test", 600, True]]))
    assert read_result(good)["hsts"] == [["site.test", 600, True]]
    with pytest.raises(BadMessage, match="hsts"):
        read_result({**good, "hsts": bad})
