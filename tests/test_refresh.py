"""A refresh read as the HTML standard's shared declarative refresh steps read it."""

import pytest

from crawler.node.refresh import refresh_target


@pytest.mark.parametrize(("content", "expected"), [
    ("0; url=/en/", (0, "/en/")),  # Jekyll, Hugo and Sphinx write this
    ("0;URL='/en/'", (0, "/en/")),
    ('  3 , Url = "next.html" trailing', (3, "next.html")),
    ("5, http://other.test/", (5, "http://other.test/")),  # the url= label is optional
    (".5; url=half.html", (0, "half.html")),
    ("1.5 url=z.html", (1, "z.html")),
    ("0; urlish.html", (0, "urlish.html")),  # not the label: the whole rest is the URL
])
def test_refresh_target_of_each_form_browsers_follow(content: str, expected: tuple[int, str]) -> None:
    assert refresh_target(content) == expected


@pytest.mark.parametrize("content", [
    "30",  # a reload of the page itself every 30 s
    "0; url=", "0; url=''",  # no URL: the page itself again
    "-1; url=x.html", "five; url=x.html", "", "5x; url=y.html",  # browsers ignore these
])
def test_refresh_target_is_none_for_reloads_and_what_browsers_ignore(content: str) -> None:
    assert refresh_target(content) is None
