"""Cases from the HTML standard's "parse a srcset attribute" and the web-platform-tests built on it."""

import pytest

from crawler.node.srcset import srcset_urls


@pytest.mark.parametrize("value, urls", [
    ("", []),
    (",", []),
    (",,,", []),
    ("  data:,a  1x  ", ["data:,a"]),
    ("\t\tdata:,a\t\t1x\t\t", ["data:,a"]),
    ("\n\ndata:,a\n\n1x\n\n", ["data:,a"]),
    ("\f\fdata:,a\f\f1x\f\f", ["data:,a"]),
    ("data:,a", ["data:,a"]),  # commas inside a URL stay in it
    ("data:,a ", ["data:,a"]),
    ("data:,a ,", ["data:,a"]),
    ("data:,a,", ["data:,a"]),
    ("data:,a,,,", ["data:,a"]),
    ("data:,a 1x,", ["data:,a"]),
    ("a.jpg 1x, b.jpg 2x,c.jpg, d,e.jpg 640w", ["a.jpg", "b.jpg", "c.jpg", "d,e.jpg"]),
    # A comma inside parentheses does not end the candidate; an invalid descriptor drops it.
    ("data:,a ( , data:,b 1x, ), data:,c", ["data:,c"]),
    ("data:,a ((( , data:,b 1x, ), data:,c", ["data:,c"]),
    ("data:,a [ , data:,b 1x, ], data:,c", ["data:,b", "]", "data:,c"]),
    ("data:,a { , data:,b 1x, }, data:,c", ["data:,b", "}", "data:,c"]),
    ('data:,a " , data:,b 1x, ", data:,c', ["data:,b", '"', "data:,c"]),
    ("data:,a, data:,b (", ["data:,a"]),
    ("data:,a, data:,b (  ", ["data:,a"]),
    ("data:,a, data:,b (,", ["data:,a"]),
    ("data:,a, data:,b (x", ["data:,a"]),
    ("data:,a, data:,b ()", ["data:,a"]),
    ("data:,a (, data:,b", []),
    ("data:,a /*, data:,b, data:,c */", ["data:,b"]),
    ("data:,a //, data:,b", ["data:,b"]),
    # Descriptors: one of w or x, h only with w, numbers as the spec writes them.
    ("data:,a 1x 2x", []),
    ("data:,a 1w 1x", []),
    ("data:,a 100w 50h", ["data:,a"]),
    ("data:,a 50h", []),
    ("data:,a 0w", []),
    ("data:,a -1w", []),
    ("data:,a 1.5w", []),
    ("data:,a 1.5x", ["data:,a"]),
    ("data:,a .5x", ["data:,a"]),
    ("data:,a 1e1x", ["data:,a"]),
    ("data:,a -1x", []),
    ("data:,a 1.x", []),
    ("data:,a +1x", []),
    ("data:,a 1X", []),  # descriptor letters are lower case
    ("data:,a 1 x", []),
    ("data:,a foo", []),
    ("\u00a0data:,a 1x", ["\u00a0data:,a"]),  # a no-break space is not ASCII whitespace
])
def test_srcset_parses_like_the_html_standard(value: str, urls: list[str]) -> None:
    assert srcset_urls(value) == urls
