"""A site's opt-outs: X-Robots-Tag and <meta name=robots> directives, rel=nofollow, as a node obeys them."""

from pathlib import Path

import pytest
import responses

from benchmarks.site import make_image
from crawler.config import FetchLimits, ImageFilter
from crawler.messages import make_task, read_result
from crawler.node.extract import extract
from crawler.node.fetcher import new_session
from crawler.node.handlers import TaskHandler
from crawler.node.optout import NO_IMAGES, agent_token, header_directives, meta_directives

AGENT = "queue-crawler"
PAGE = "http://site.test/gallery.html"


@pytest.mark.parametrize("values, expected", [
    (["noimageindex"], {"noimageindex"}),
    (["NoAI, NoImageAI"], {"noai", "noimageai"}),
    (["noindex", "nofollow"], {"noindex", "nofollow"}),  # the header sent twice
    (["googlebot: noimageindex"], set()),  # for another crawler only
    (["queue-crawler: noai"], {"noai"}),
    (["otherbot: noindex, nofollow, queue-crawler: noimageindex"], {"noimageindex"}),
    (["noarchive, otherbot: none"], {"noarchive"}),  # before a crawler's name: for everyone
    (["unavailable_after: 25 Jun 2030 15:00:00 PST, noai"], {"unavailable_after", "noai"}),  # no crawler named
    ([" , ,"], set()),
])
def test_optout_header_directives_for_us_or_everyone(values: list[str], expected: set[str]) -> None:
    assert header_directives(values, AGENT) == expected


def test_optout_agent_is_the_user_agents_product_token_and_meta_is_a_comma_list() -> None:
    assert agent_token(FetchLimits().user_agent) == AGENT
    assert agent_token("MyBot/2.0") == "mybot"
    assert meta_directives("NoImageIndex, nofollow") == {"noimageindex", "nofollow"}
    assert meta_directives(None) == set()


def test_optout_extract_reads_meta_robots_and_leaves_nofollow_links_out() -> None:
    html = (b'<html><head><meta name="robots" content="noimageindex"><meta name="queue-crawler" content="noai">'
            b'<meta name="googlebot" content="nofollow"></head><body><a href="/a.html">a</a>'
            b'<a rel="nofollow ugc" href="/b.html">b</a><img src="/x.png"></body></html>')
    obeyed = extract(html, PAGE, None, AGENT)
    assert obeyed.robots == {"noimageindex", "noai"}  # not googlebot's
    assert [pair[0] for pair in obeyed.links] == ["http://site.test/a.html"]
    ignored = extract(html, PAGE)  # --ignore-robots: no agent, nothing read
    assert ignored.robots == set()
    assert [pair[0] for pair in ignored.links] == ["http://site.test/a.html", "http://site.test/b.html"]


def node(tmp_path: Path, honour: bool = True) -> TaskHandler:
    return TaskHandler("node-1", FetchLimits(honour_opt_outs=honour), ImageFilter(), tmp_path)


def run(tmp_path: Path, kind: str, url: str, honour: bool = True) -> dict:
    limits = FetchLimits(honour_opt_outs=honour)
    return dict(read_result(dict(node(tmp_path, honour).handle(make_task("1.1", kind, url, 1, None, 0),
                                                               new_session(limits)))))


@responses.activate
def test_optout_an_image_sent_with_x_robots_tag_noai_is_skipped_unless_ignored(tmp_path: Path) -> None:
    responses.get("http://site.test/art.png", content_type="image/png", body=make_image(3, "png"),
                  headers={"X-Robots-Tag": "noai"})
    skipped = run(tmp_path, "image", "http://site.test/art.png")
    assert (skipped["outcome"], skipped["reason"]) == ("skipped", "x-robots-tag")
    assert not any(tmp_path.rglob("*.png"))
    assert run(tmp_path, "image", "http://site.test/art.png", honour=False)["outcome"] == "saved"


@responses.activate
def test_optout_a_page_that_opts_out_reports_its_links_but_withholds_its_images(tmp_path: Path) -> None:
    body = b'<html><body><a href="/next.html">n</a><img src="/x.png"><img src="/y.png"></body></html>'
    responses.get(PAGE, content_type="text/html", body=body, headers={"X-Robots-Tag": "queue-crawler: noimageindex"})
    result = run(tmp_path, "page", PAGE)
    assert result["images"] == [] and result["withheld"] == 3  # x, y and the implicit favicon
    assert [pair[0] for pair in result["links"]] == ["http://site.test/next.html"]
    ignored = run(tmp_path, "page", PAGE, honour=False)
    assert len(ignored["images"]) == 3 and ignored["withheld"] == 0


@responses.activate
def test_optout_meta_robots_nofollow_and_none(tmp_path: Path) -> None:
    responses.get("http://site.test/nofollow.html", content_type="text/html",
                  body=b'<meta name="robots" content="nofollow"><a href="/a.html">a</a><img src="/x.png">')
    responses.get("http://site.test/none.html", content_type="text/html",
                  body=b'<meta name="robots" content="none"><a href="/a.html">a</a><img src="/x.png">')
    nofollow = run(tmp_path, "page", "http://site.test/nofollow.html")
    assert nofollow["links"] == [] and len(nofollow["images"]) == 2  # the image and the favicon stay
    none = run(tmp_path, "page", "http://site.test/none.html")
    assert none["links"] == [] and none["images"] == [] and none["withheld"] == 2
    assert "none" in NO_IMAGES


@responses.activate
def test_optout_tdmrep_reservation_in_a_header_or_a_meta_keeps_images_out(tmp_path: Path) -> None:
    # TDMRep (the W3C community group's Text and Data Mining Reservation Protocol, which the EU's
    # DSM directive's article 4 opt-out is written in): `tdm-reservation: 1` reserves the site's
    # rights. The crawl read only X-Robots-Tag and <meta name=robots>, and took the images.
    responses.get("http://site.test/reserved.png", content_type="image/png", body=make_image(4, "png"),
                  headers={"tdm-reservation": " 1 ", "tdm-policy": "https://site.test/policy.json"})
    responses.get("http://site.test/free.png", content_type="image/png", body=make_image(5, "png"),
                  headers={"tdm-reservation": "0"})
    skipped = run(tmp_path, "image", "http://site.test/reserved.png")
    assert (skipped["outcome"], skipped["reason"]) == ("skipped", "tdm-reservation")
    assert run(tmp_path, "image", "http://site.test/free.png")["outcome"] == "saved"
    assert run(tmp_path, "image", "http://site.test/reserved.png", honour=False)["outcome"] == "saved"
    for headers, body in (({}, b'<meta name="tdm-reservation" content="1"><a href="/n.html">n</a><img src="/x.png">'),
                          ({"TDM-Reservation": "1"}, b'<a href="/n.html">n</a><img src="/x.png">')):
        responses.upsert(responses.GET, PAGE, content_type="text/html", body=body, headers=headers)
        page = run(tmp_path, "page", PAGE)
        assert page["images"] == [] and page["withheld"] == 2  # x and the implicit favicon
        assert [pair[0] for pair in page["links"]] == ["http://site.test/n.html"]  # mining, not following
        assert len(run(tmp_path, "page", PAGE, honour=False)["images"]) == 2
    responses.upsert(responses.GET, PAGE, content_type="text/html",
                     body=b'<meta name="tdm-reservation" content="0"><img src="/x.png">')
    assert len(run(tmp_path, "page", PAGE)["images"]) == 2
