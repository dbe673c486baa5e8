import pytest

from crawler.node.css import inline_style_images, might_refer, stylesheet_refs

SITE_CSS = """@charset "utf-8";
@import url("base.css");
@import 'theme/colours.css' screen and (min-width: 40em);
@import url(print.css) print;
/* .old { background: url(commented-out.png) } */
@font-face { font-family: Brand; src: url(../fonts/brand.woff2) format("woff2"), url('../fonts/brand.ttf'); }
@namespace svg url(http://www.w3.org/2000/svg);
.masthead { background: #123 URL( ../img/masthead.jpg ) no-repeat; }
.flag-fr { background-image: url("flags/fr.svg"); }
.hero { background-image: -webkit-image-set("hero.png" 1x, url(hero@2x.png) 2x);
        background-image: image-set(url(hero.avif) type("image/avif"), "hero.png" 1x); }
.gradient { fill: url(#grad); background: linear-gradient(red, blue), url(layer.png); }
.list { list-style: square url(bullet.gif); border-image: url(border.png) 30 round; }
.cursor { cursor: url(pointer.cur), auto; }
@media (min-width: 800px) { .wide { background: url(wide.jpg); }
  @font-face { font-family: Wide; src: url(wide.woff); } }
@supports (display: grid) { @media print { .deep { background: url(deep.png) } } }
.card { & .icon { mask-image: url(icons/mask.svg); } }
@page { background: url(page.png); }
@keyframes pulse { from { background-image: url(pulse-1.png); } to { background-image: url(pulse-2.png); } }
"""


def test_css_stylesheet_images_and_imports_in_source_order() -> None:
    refs = stylesheet_refs(SITE_CSS)
    assert refs.imports == ["base.css", "theme/colours.css", "print.css"]
    assert refs.images == ["../img/masthead.jpg", "flags/fr.svg", "hero.png", "hero@2x.png", "hero.avif",
                           "hero.png", "layer.png", "bullet.gif", "border.png", "wide.jpg", "deep.png",
                           "icons/mask.svg",
                           "page.png", "pulse-1.png", "pulse-2.png"]


def test_css_bytes_follow_bom_then_http_charset_then_at_charset() -> None:
    text = '.a { background: url("caf\u00e9.png") }'
    assert stylesheet_refs(text.encode("latin-1"), "iso-8859-1").images == ["caf\u00e9.png"]
    assert stylesheet_refs(b"\xef\xbb\xbf" + text.encode("utf-8")).images == ["caf\u00e9.png"]
    assert stylesheet_refs(b'@charset "iso-8859-1"; ' + text.encode("latin-1")).images == ["caf\u00e9.png"]


def test_css_broken_stylesheets_still_give_what_is_readable() -> None:
    broken = ".a { background: url(a.png) ; } .b { background: url(b.png) } } } .c { background: url('c.png"
    assert stylesheet_refs(broken).images == ["a.png", "b.png", "c.png"]
    assert stylesheet_refs("").images == [] and stylesheet_refs("@import ;").imports == []


def test_css_inline_style_attribute() -> None:
    assert inline_style_images("background-image: url('/img/avatar.jpg'); color: red") == ["/img/avatar.jpg"]
    assert inline_style_images("background: url(a.png), image-set('b.png' 1x, 'c.png' 2x)") == [
        "a.png", "b.png", "c.png"]
    assert inline_style_images("color: red; font: 12px serif") == []


def test_css_might_refer_is_a_cheap_prefilter_that_misses_nothing() -> None:
    assert might_refer("background: URL(x.png)") and might_refer("@IMPORT 'x.css'")
    assert might_refer("background: -webkit-image-set('a.png' 1x)")
    assert not might_refer("color: red; margin: 0")


@pytest.mark.parametrize("nested", [
    "b{x:" + "(" * 5000 + "url(deep.png)}",  # blocks
    "b{x:" + "f(" * 5000 + "url(deep.png)}",  # functions
    "b{x:" + "image-set(" * 5000 + "url(deep.png)}",
    "b{" * 5000 + "x:url(deep.png)",  # nested rules
    "@media screen{" * 5000 + "b{x:url(deep.png)}",
], ids=["blocks", "functions", "image-sets", "rules", "at-rules"])
def test_css_nested_thousands_deep_is_read_to_a_bound_not_a_crash(nested: str) -> None:
    # A few KB of "((((" ran the walk out of Python's stack (RecursionError): the whole page failed.
    assert stylesheet_refs("a{background:url(top.png)}" + nested).images == ["top.png"]
    assert inline_style_images("background:url(top.png);" + nested[4:]) == ["top.png"]


def test_css_nesting_as_deep_as_real_stylesheets_go_is_read() -> None:
    assert stylesheet_refs("@media print{" * 3 + "b{" * 20 + "x:" + "f(" * 20 + "url(deep.png)").images == ["deep.png"]
