import codecs
import json
import re

import pytest

from crawler.messages import MAX_REFS_PER_PAGE, Found
from crawler.node.extract import _TAGS, MAX_SHADOW_DEPTH, Collector, _alternation, extract
from crawler.urls import canonical

PAGE = "http://site.test/dir/page.html"
FAVICON = "http://site.test/favicon.ico"


def images(html: str, url: str = PAGE) -> list[str]:
    return [triple[0] for triple in extract(html.encode(), url).images]


def found(html: str, url: str = PAGE) -> dict[str, str]:
    """{url: found_as} of the page's images."""
    return {triple[0]: triple[2] for triple in extract(html.encode(), url).images}


def test_extract_img_srcset_picture_lazy_input_and_meta_forms() -> None:
    html = """<html><head><meta property="og:image" content="/og.png">
    <meta name="twitter:image" content="tw.png"><meta itemprop="image" content="micro.jpg"></head><body>
    <img src="a.png" srcset="b.png 2x, c.png 640w">
    <img data-src="lazy.png" data-srcset="lazy2.png 1x"> <img data-original="orig.png">
    <picture><source srcset="pic.webp 1x, pic2.webp 2x" type="image/webp"><img src="pic.jpg"></picture>
    <input type="image" src="button.gif"> <input type="text" src="notanimage.png">
    <link rel="image_src" href="linked.png"></body></html>"""
    forms = found(html)
    expected = {"og.png": "meta", "tw.png": "meta", "micro.jpg": "meta", "a.png": "img", "b.png": "srcset",
                "c.png": "srcset", "lazy.png": "lazy", "lazy2.png": "lazy", "orig.png": "lazy",
                "pic.webp": "picture", "pic2.webp": "picture", "pic.jpg": "img", "button.gif": "img",
                "linked.png": "link"}
    assert forms == {**{("http://site.test/" if name == "og.png" else "http://site.test/dir/") + name: form
                        for name, form in expected.items()}, FAVICON: "favicon"}


def test_extract_backslashes_in_a_windows_authored_page_are_slashes() -> None:
    # (In CSS a backslash starts an escape: url(..\bg) is "..", U+000B and "g", in a browser too.)
    html = ('<img src="images\\photo.jpg"><img src="..\\bg\\tile.gif">'
            '<img srcset="thumbs\\a.jpg 1x, thumbs\\b.jpg 2x"><a href="sub\\next.html">next</a>')
    page = "http://site.test/dir/page.html"
    assert set(found(html, page)) == {"http://site.test/dir/images/photo.jpg", "http://site.test/bg/tile.gif",
                                      "http://site.test/dir/thumbs/a.jpg", "http://site.test/dir/thumbs/b.jpg",
                                      "http://site.test/favicon.ico"}
    assert [link[0] for link in extract(html.encode(), page).links] == ["http://site.test/dir/sub/next.html"]


def test_extract_lazy_gallery_reads_the_noscript_fallback() -> None:
    html = """<div class="gallery">
      <img class="lazyload" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-sizes="auto">
      <noscript><img src="/photos/harbour-1600.jpg" alt="Harbour at dusk"></noscript>
      <noscript><picture><source srcset="/photos/bridge.avif 1x"><img src="/photos/bridge.jpg"></picture></noscript>
    </div>"""
    forms = found(html)
    assert forms["http://site.test/photos/harbour-1600.jpg"] == "noscript"
    assert forms["http://site.test/photos/bridge.avif"] == "noscript"
    assert forms["http://site.test/photos/bridge.jpg"] == "noscript"


def test_extract_inline_styles_on_any_element_and_style_blocks() -> None:
    html = """<head><style>
      @import url("/css/print.css") print;
      .masthead { background: #000 url('../img/masthead.jpg') no-repeat; }
      @font-face { font-family: Brand; src: url(/fonts/brand.woff2) format("woff2"); }
    </style></head><body>
    <header class="hero" style="background-image: url(&quot;/img/hero@2x.jpg&quot;)">Hi</header>
    <section STYLE="background: image-set('sky.png' 1x, url(sky-2x.png) 2x)"></section>
    <span style="color: red">no image here</span>
    <p>a text that mentions style="background:url(not-a-tag.png)" is not markup</p></body>"""
    refs = extract(html.encode(), PAGE)
    forms = {url: form for url, _key, form, *_words in refs.images}
    assert forms == {"http://site.test/img/hero@2x.jpg": "css-inline", "http://site.test/dir/sky.png": "css-inline",
                     "http://site.test/dir/sky-2x.png": "css-inline", "http://site.test/img/masthead.jpg": "css-style",
                     FAVICON: "favicon"}
    assert refs.stylesheets == [["http://site.test/css/print.css", "http://site.test/css/print.css"]]


def test_extract_linked_stylesheets_and_preloaded_ones() -> None:
    html = """<link rel="stylesheet" href="/static/site.css"><link rel="alternate stylesheet" href="dark.css">
    <link rel="preload" as="style" href="/static/async.css" onload="this.rel='stylesheet'">
    <link rel="preload" as="font" href="/fonts/x.woff2">"""
    refs = extract(html.encode(), PAGE)
    assert [url for url, _key in refs.stylesheets] == [
        "http://site.test/static/site.css", "http://site.test/dir/dark.css", "http://site.test/static/async.css"]
    assert [url for url, *_rest in refs.images] == [FAVICON]  # a font is not an image


def test_extract_a_stylesheet_a_pages_own_script_switches_a_link_to() -> None:
    # Qt's offline documentation (every page qdoc writes): the <link> names a plain stylesheet and
    # the page's script points it at the full one at once; Chromium loads both, and the second's
    # pictures (its notes' icons, its lists' bullets) were named nowhere the crawl read.
    qt = """<head><link rel="stylesheet" type="text/css" href="style/offline-simple.css" />
    <script type="text/javascript">
      document.getElementsByTagName("link").item(0).setAttribute("href", "style/offline.css");
    </script></head>"""
    assert [url for url, _key in extract(qt.encode(), PAGE).stylesheets] == [
        "http://site.test/dir/style/offline-simple.css", "http://site.test/dir/style/offline.css"]
    # the same told other ways: a property, single quotes, a query, Filament Group's loadCSS
    others = """<script>document.getElementById('theme').href = '/css/theme.css?v=3';
      loadCSS( "https://cdn.test/fonts.css" );
      link.setAttribute('href','print.CSS')</script>"""
    assert [url for url, _key in extract(others.encode(), PAGE).stylesheets] == [
        "http://site.test/css/theme.css?v=3", "https://cdn.test/fonts.css", "http://site.test/dir/print.CSS"]
    # what is no stylesheet a script loads: a link to a page, a string that only ends in css, a
    # script file's (read by the browser, not run by the crawl), text in a comment or a <noscript>
    none = """<script>a.href = "next.html"; var s = "no.css is here"; x.setAttribute("src", "a.css")</script>
    <script type="application/json">{"href": "theme.css", "assets": ["app.css", "a b.css"]}</script>
    <script src="/js/app.js">el.href = "not-run.css"</script><!-- <script>l.href = "old.css"</script> -->"""
    assert extract(none.encode(), PAGE).stylesheets == []


def test_extract_icons_and_the_implicit_favicon() -> None:
    declared = """<link rel="icon" type="image/svg+xml" href="/icon.svg"><link rel="shortcut icon" href="/fav.ico">
    <link rel="apple-touch-icon" sizes="180x180" href="/apple.png"><link rel="mask-icon" href="/mask.svg" color="#000">
    <link rel="apple-touch-icon-precomposed" href="/pre.png">
    <link rel="preload" as="image" href="/hero.webp" imagesrcset="/hero-800.webp 800w, /hero-1600.webp 1600w">"""
    forms = found(declared)
    assert forms == {"http://site.test/icon.svg": "icon", "http://site.test/fav.ico": "icon",
                     "http://site.test/apple.png": "icon", "http://site.test/mask.svg": "icon",
                     "http://site.test/pre.png": "icon", "http://site.test/hero.webp": "preload",
                     "http://site.test/hero-800.webp": "preload", "http://site.test/hero-1600.webp": "preload"}
    # Without a declared icon a browser asks for /favicon.ico of the page's own origin (not <base>'s).
    assert found('<base href="http://cdn.test/"><img src="x.png">', "http://site.test:8080/a/b.html") == {
        "http://cdn.test/x.png": "img", "http://site.test:8080/favicon.ico": "favicon"}
    # apple-touch-icon alone is not what a browser shows in the tab: it still asks for /favicon.ico.
    assert FAVICON in found('<link rel="apple-touch-icon" href="/apple.png">')


def test_extract_poster_svg_object_embed_background_and_frames() -> None:
    html = """<body background="paper.gif"><video poster="/media/poster.jpg" src="/media/clip.mp4"></video>
    <svg width="10" height="10"><image href="/svg/inner.png"/><image xlink:href="/svg/legacy.png"/>
      <use href="#local-symbol"/><use xlink:href="/sprites/icons.svg#cart"/>
      <filter id="f"><feImage href="/svg/texture.png"/><feImage xlink:href="#shape"/></filter></svg>
    <object data="/chart.svg" type="image/svg+xml"></object><object data="/doc.pdf"></object>
    <object data="/movie.swf" type="application/x-shockwave-flash"></object><embed src="/diagram.png">
    <object data="/widget.html" type="text/html"></object><embed src="/map.xhtml" type="application/xhtml+xml">
    <table background="/tiles/t.png"><tr><td background="/tiles/td.png">x</td><th background="/tiles/th.png">y</th>
    </tr></table><iframe src="/embedded.html"></iframe><frameset><frame src="frame.html"></frameset>
    <a href="/photos/full.jpg">full size</a></body>"""
    refs = extract(html.encode(), PAGE)
    forms = {url: form for url, _key, form, *_words in refs.images}
    assert forms == {
        "http://site.test/dir/paper.gif": "background", "http://site.test/media/poster.jpg": "poster",
        "http://site.test/svg/inner.png": "svg-image", "http://site.test/svg/legacy.png": "svg-image",
        "http://site.test/sprites/icons.svg": "svg-use",  # a document: the pictures it names load too
        "http://site.test/chart.svg": "object",
        "http://site.test/svg/texture.png": "svg-image",  # a filter's picture: Chromium loads it, applied or not
        "http://site.test/diagram.png": "object", "http://site.test/tiles/t.png": "background",
        "http://site.test/tiles/td.png": "background", "http://site.test/tiles/th.png": "background",
        FAVICON: "favicon"}
    # Frames are pages, and so is what <object> and <embed> show that is no picture (a browser loads
    # it as a frame: an HTML type, or none, which it decides by what the server sends); a link
    # straight to a picture stays a link (the node saves it as an image).
    assert [url for url, _key in refs.links] == [
        "http://site.test/doc.pdf", "http://site.test/widget.html", "http://site.test/map.xhtml",
        "http://site.test/embedded.html", "http://site.test/dir/frame.html", "http://site.test/photos/full.jpg"]


def test_extract_an_https_page_asks_for_its_http_pictures_over_https_as_chromium_does() -> None:
    # Chromium upgrades a secure page's http:// pictures (mixed content it can upgrade: <img>, CSS
    # backgrounds, posters, SVG <image>) to https, port 80 to 443, and loads them so; it blocks those
    # of srcset and <picture> (taken as written), and a link is a navigation. The crawl asked for
    # them over http: a redirect more each on a site that moved to https, and nothing where http is
    # closed (after three attempts at that origin's robots.txt).
    html = """<img src="http://site.test/a.jpg" alt="A"><img src="http://site.test:80/b.png">
    <img src="http://cdn.test:8080/c.png"><div style="background: url(http://site.test/d.png)"></div>
    <video poster="http://site.test/e.jpg"></video><svg><image href="http://site.test/f.png"/></svg>
    <img srcset="http://site.test/g.png 2x"><a href="http://site.test/h.jpg">h</a>
    <img src="https://site.test/a.jpg" title="again, as written over https">"""
    refs = extract(html.encode(), "https://site.test/dir/page.html")
    assert {url: (form, alt, title) for url, _key, form, alt, title, _caption in refs.images} == {
        "https://site.test/a.jpg": ("img", "A", "again, as written over https"),
        "https://site.test/b.png": ("img", "", ""), "https://cdn.test:8080/c.png": ("img", "", ""),
        "https://site.test/d.png": ("css-inline", "", ""), "https://site.test/e.jpg": ("poster", "", ""),
        "https://site.test/f.png": ("svg-image", "", ""), "http://site.test/g.png": ("srcset", "", ""),
        "https://site.test/favicon.ico": ("favicon", "", "")}
    assert [url for url, _key in refs.links] == ["http://site.test/h.jpg"]
    assert all(key == canonical(url) for url, key, *_rest in refs.images)
    # over http, nothing changes
    assert "http://site.test/a.jpg" in {url for url, *_rest in extract(html.encode(), "http://site.test/").images}
    stylesheet = Collector("https://site.test/css/site.css")  # a secure stylesheet's pictures too
    stylesheet.image("http://site.test/bg.png", Found.CSS_LINKED)
    assert [url for url, *_rest in stylesheet.refs.images] == ["https://site.test/bg.png"]


def test_extract_an_html_image_tag_is_an_img_as_the_html_parser_makes_it() -> None:
    # Outside SVG a browser's parser turns <image> into <img> (old hand-written pages use it); its src
    # was read as nothing, since an SVG <image> has only href.
    html = """<p><IMAGE SRC="/old/photo.jpg" alt="Old" srcset="/old/photo-2x.jpg 2x"></p>
    <svg><image href="/svg/inner.png" width="4" height="4"/></svg>"""
    refs = extract(html.encode(), PAGE)
    assert {url: (form, alt) for url, _key, form, alt, *_words in refs.images} == {
        "http://site.test/old/photo.jpg": ("img", "Old"), "http://site.test/old/photo-2x.jpg": ("srcset", "Old"),
        "http://site.test/svg/inner.png": ("svg-image", ""), FAVICON: ("favicon", "")}


def test_extract_json_ld_images_in_every_shape() -> None:
    data = {"@context": "https://schema.org", "@graph": [
        {"@type": "Article", "image": "/ld/article.jpg", "author": {"@type": "Person", "image": ["/ld/a1.jpg", {
            "@type": "ImageObject", "url": "/ld/a2.jpg"}]}},
        {"@type": "Organization", "logo": {"@type": "ImageObject", "contentUrl": "/ld/logo.png"}},
        {"@type": "VideoObject", "thumbnailUrl": ["/ld/thumb.jpg"], "name": "not an image.jpg"},
        {"@type": ["ImageObject"], "contentUrl": "/ld/standalone.jpg", "url": "/ld/standalone-page.jpg"}]}
    html = f'<script type="application/ld+json">{json.dumps(data)}</script><script type="application/ld+json">{{bad'
    html += "</script><script>var img = '<img src=\"/in-script.png\">';</script>"
    assert set(found(html)) == {"http://site.test/ld/article.jpg", "http://site.test/ld/a1.jpg",
                                "http://site.test/ld/a2.jpg", "http://site.test/ld/logo.png",
                                "http://site.test/ld/thumb.jpg", "http://site.test/ld/standalone.jpg",
                                "http://site.test/ld/standalone-page.jpg", FAVICON}
    assert set(found(html).values()) == {"json-ld", "favicon"}


def test_extract_the_pictures_of_a_magento_product_gallery() -> None:
    # A Magento product page sends one <img> and the gallery as data for its script, which shows each
    # picture's thumb and img, and full in full screen: a crawl found the first picture alone.
    cdn = "https://media.shop.test/catalog/product/cache"
    data = {"[data-gallery-role=gallery-placeholder]": {"mage/gallery/gallery": {
        "mixins": ["magnifier/magnify"], "magnifierOpts": {"enabled": False},
        "data": [{"thumb": f"{cdn}/t/scale.jpg", "img": f"{cdn}/i/scale.jpg", "full": f"{cdn}/f/scale.jpg",
                  "caption": "Smart scale", "position": "0", "isMain": True, "type": "image", "videoUrl": None},
                 {"thumb": f"{cdn}/t/side.jpg", "img": f"{cdn}/i/side.jpg", "full": f"{cdn}/f/side.jpg",
                  "caption": None, "type": "video", "videoUrl": "https://www.youtube.com/watch?v=x"},
                 "not an item", {"img": 7}]}}}
    html = (f'<div data-gallery-role="gallery-placeholder"><img alt="main product photo" '
            f'class="gallery-placeholder__image" src="{cdn}/i/scale.jpg"></div>'
            # Magento writes the data with escaped slashes
            f'<script type="text/x-magento-init">{json.dumps(data).replace("/", chr(92) + "/")}</script>'
            '<script type="text/x-magento-init">{"*": {"Magento_Ui/js/core/app": {"gallery": "no"}}}</script>'
            '<script type="text/x-magento-init">{"*": {"mage/gallery/gallery": {"data": [{"img": "/x.jpg"</script>')
    refs = extract(html.encode(), PAGE)
    assert {url: (form, alt, caption) for url, _key, form, alt, _title, caption in refs.images} == {
        f"{cdn}/i/scale.jpg": ("img", "main product photo", "Smart scale"),
        f"{cdn}/t/scale.jpg": ("gallery", "", "Smart scale"), f"{cdn}/f/scale.jpg": ("gallery", "", "Smart scale"),
        f"{cdn}/t/side.jpg": ("gallery", "", ""), f"{cdn}/i/side.jpg": ("gallery", "", ""),
        f"{cdn}/f/side.jpg": ("gallery", "", ""), FAVICON: ("favicon", "", "")}
    largest = extract(html.encode(), PAGE, srcset="largest")  # one size of each picture: the full one
    assert [url for url, _key, form, *_words in largest.images if form == "gallery"] == [
        f"{cdn}/f/scale.jpg", f"{cdn}/f/side.jpg"]


def forms_and_words(html: str) -> dict[str, tuple[str, str, str]]:
    """{url: (found_as, title, caption)} of the page's images."""
    refs = extract(html.encode(), PAGE)
    return {url: (form, title, caption) for url, _key, form, _alt, title, caption in refs.images}


def test_extract_the_pictures_jetpacks_carousel_opens() -> None:
    # Jetpack's carousel (on every WordPress.com site, and on self-hosted WordPress with Jetpack)
    # opens a picture full screen from what its <img> names in data- attributes: the original,
    # larger than any size of its srcset (WordPress stops its srcset at 2048 pixels), named nowhere
    # else, and the large size it shows on most screens.
    up = "https://blog.test/wp-content/uploads/2024/06/"
    html = (f'<img data-attachment-id="42" data-orig-file="{up}harbour.jpg" data-orig-size="4032,3024" '
            f'data-image-title="harbour" data-medium-file="{up}harbour-300x225.jpg" '
            f'data-large-file="{up}harbour-1024x768.jpg" src="{up}harbour-1024x768.jpg" '
            f'srcset="{up}harbour-1024x768.jpg 1024w, {up}harbour-300x225.jpg 300w, {up}harbour-2048x1536.jpg 2048w">')
    found = {url.rsplit("/", 1)[1]: form for url, _key, form, *_words in extract(html.encode(), PAGE).images}
    assert found == {"harbour-1024x768.jpg": "img", "harbour-300x225.jpg": "srcset", "harbour-2048x1536.jpg": "srcset",
                     "harbour.jpg": "lazy", "favicon.ico": "favicon"}
    largest = [url for url, *_rest in extract(html.encode(), PAGE, srcset="largest").images]
    assert largest == [f"{up}harbour.jpg", FAVICON]  # the original, not the srcset's widest


def largest_of_gallery(html: str) -> list[str]:
    """The gallery pictures of the page with --srcset largest: one size of each."""
    return [url for url, _key, form, *_words in extract(html.encode(), PAGE, srcset="largest").images
            if form == "gallery"]


def test_extract_the_pictures_of_a_galleria_gallery() -> None:
    # Galleria (the gallery of sigal's galleria theme, of Galleria's WordPress and Drupal modules)
    # shows pictures it is given as data in a script: a crawl of a sigal gallery found 2 of the 16
    # pictures Chromium loaded (the theme's icons), none of its 12 photos. Each item's thumb (the
    # strip), image (the stage) and big (full screen), relative to the page as an <img src>.
    html = ('<html><head><base href="/photos/"></head><body><div id="gallery"></div>'
            '<script src="static/galleria-1.6.1.min.js"></script>'
            '<script>var data = [\n{\n  title: "Lake",\n  description: "At dawn",\n'
            '  thumb: "thumbnails/p00.jpg",\n  image: "p00.jpg"\n},\n'
            """{ 'thumb': 'thumbnails/p01.jpg', 'image': 'p01.jpg', 'big': 'big\\/p01 \\u00e9.jpg' },\n"""
            '{ image: someVariable, thumb: "" }, { video: "https://video.test/v" }];\n'
            "Galleria.run('#gallery', {dataSource: data});\n"
            "$('#gallery').css({'background-image': 'url(bg.png)', 'data.thumb': 'x.png'});</script></body></html>")
    assert forms_and_words(html) == {
        "http://site.test/photos/thumbnails/p00.jpg": ("gallery", "Lake", "At dawn"),
        "http://site.test/photos/p00.jpg": ("gallery", "Lake", "At dawn"),
        "http://site.test/photos/thumbnails/p01.jpg": ("gallery", "", ""),
        "http://site.test/photos/p01.jpg": ("gallery", "", ""),
        "http://site.test/photos/big/p01 é.jpg": ("gallery", "", ""), FAVICON: ("favicon", "", "")}
    assert largest_of_gallery(html) == [  # one size of each picture: the largest given
        "http://site.test/photos/p00.jpg", "http://site.test/photos/big/p01 é.jpg"]
    # The same data on a page that does not load Galleria is some other script's business
    alone = html.replace("galleria-1.6.1.min.js", "app.js")
    assert [url for url, _key, form, *_words in extract(alone.encode(), PAGE).images] == [FAVICON]


def test_extract_the_pictures_of_nanogallery2_items_in_a_script() -> None:
    # nanogallery2 given its items in a script: Chromium loaded each thumbnail (srct, else src), a
    # crawl none. Relative URLs follow itemsBaseURL, as the script puts them together.
    html = ('<script src="/js/jquery.nanogallery2.min.js"></script><div id="ng"></div><script>'
            'jQuery("#ng").nanogallery2({items: [\n'
            "{ src: 'berlin1.jpg', srct: 'berlin1_t.jpg', title: 'Berlin 1', description: 'Museum' },\n"
            '{ "src": "https://cdn.test/berlin2.jpg", "title": "Berlin 2" },\n'
            "{ src: 'berlin3.jpg', srct: '' }], thumbnailWidth: 150,\n"
            "itemsBaseURL: 'https://nanogallery2.test/samples/'});</script>")
    assert forms_and_words(html) == {
        "https://nanogallery2.test/samples/berlin1_t.jpg": ("gallery", "Berlin 1", "Museum"),
        "https://nanogallery2.test/samples/berlin1.jpg": ("gallery", "Berlin 1", "Museum"),
        "https://cdn.test/berlin2.jpg": ("gallery", "Berlin 2", ""),
        "https://nanogallery2.test/samples/berlin3.jpg": ("gallery", "", ""), FAVICON: ("favicon", "", "")}
    assert largest_of_gallery(html) == [
        "https://nanogallery2.test/samples/berlin1.jpg", "https://cdn.test/berlin2.jpg",
        "https://nanogallery2.test/samples/berlin3.jpg"]


def test_extract_the_slides_of_a_vegas_slideshow() -> None:
    # Vegas (a jQuery background slideshow, many themes' full-screen hero) shows each slide's src in
    # turn: Chromium loaded 3 of 4 in 5 s, the crawl none (the page names them only in its script).
    html = ('<script src="/wp-content/themes/x/js/jquery.vegas.min.js"></script><body><script>'
            '$("body").vegas({ delay: 7000, slides: [ { src: "img/s0.jpg" }, { src: "/img/s1.jpg" },\n'
            '{ src: "poster.jpg", video: { src: ["v.mp4", "v.webm"], loop: true } } ] });</script></body>')
    assert found(html) == {"http://site.test/dir/img/s0.jpg": "gallery", "http://site.test/img/s1.jpg": "gallery",
                           FAVICON: "favicon"}  # a video's slide is its video (its poster, a nested object, left)


def test_extract_the_pictures_of_fotorama_and_backstretch() -> None:
    # Fotorama (Magento's gallery, and many a site's own) shows each frame's picture, its thumbnail
    # and, in full screen, its data-full; Backstretch a slideshow of the URLs it is called with.
    # With Chromium: Fotorama's first frames and Backstretch's 3 slides loaded; the crawl found
    # none of Backstretch's, nor Fotorama's data-img, data-full or scripted frames.
    fotorama = ('<script src="/js/fotorama.js"></script><div class="fotorama" data-nav="thumbs">'
                '<a href="img/big0.jpg" data-thumb="img/th0.jpg" data-full="img/full0.jpg"></a><a data-full="true"></a>'
                '<div data-img="img/big1.jpg" data-thumb="img/th1.jpg"></div>'
                '<img src="img/big2.jpg" data-full="img/full2.jpg"></div><div id="f2"></div><script>'
                "$('#f2').fotorama({nav: 'thumbs', data: [{img: 'img/big3.jpg', thumb: 'img/th3.jpg', "
                "full: 'img/full3.jpg', caption: 'Three'}]});</script>")
    refs = extract(fotorama.encode(), PAGE)
    assert {url.rsplit("/", 1)[1]: (form, caption) for url, _key, form, _alt, _title, caption in refs.images} == {
        "th0.jpg": ("lazy", ""), "big1.jpg": ("lazy", ""), "th1.jpg": ("lazy", ""), "big2.jpg": ("img", ""),
        "full2.jpg": ("lazy", ""), "th3.jpg": ("gallery", "Three"), "big3.jpg": ("gallery", "Three"),
        "full3.jpg": ("gallery", "Three"), "favicon.ico": ("favicon", "")}
    assert [url.rsplit("/", 1)[1] for url, _key in refs.links] == ["big0.jpg", "full0.jpg"]  # saved as pictures
    largest = extract(fotorama.encode(), PAGE, srcset="largest")  # each frame's full-screen picture, else its own
    assert [url.rsplit("/", 1)[1] for url, *_rest in largest.images] == ["big1.jpg", "full2.jpg", "full3.jpg",
                                                                          "favicon.ico"]
    assert [url.rsplit("/", 1)[1] for url, _key in largest.links] == ["full0.jpg"]
    backstretch = ('<script src="js/jquery.backstretch.min.js"></script><div id="hero"></div><script>'
                   '$.backstretch(["img/s0.jpg", \'img/s1.jpg\'], {duration: 3000, fade: 750});\n'
                   "$('#hero').backstretch('img/s2.jpg'); $('#hero').backstretch('pause');\n"
                   "$.backstretch([{url: 'img/s3.jpg', fade: 500}]); $.backstretch(slides);</script>")
    assert found(backstretch) == {f"http://site.test/dir/img/s{n}.jpg": "gallery" for n in range(4)} | {
        FAVICON: "favicon"}


def test_extract_the_pictures_lightgallery_and_photoswipe_open_from_a_script() -> None:
    # lightGallery's dynamic mode and PhotoSwipe are given their slides in a script, and show each
    # when the visitor opens the gallery (its thumbnail, in lightGallery's strip, at once): the
    # markup names none, so a crawl found none. A slide that is a video is no picture: its
    # thumbnail or PhotoSwipe's placeholder (msrc) is.
    lightgallery = ('<script src="/assets/lightgallery/lightgallery.umd.js"></script><button id="open">Open</button>'
                    "<script>const gallery = lightGallery(document.getElementById('open'), {dynamic: true,\n"
                    "  dynamicEl: [{src: 'img/1.jpg', thumb: 'img/thumb-1.jpg', subHtml: '<h4>Fading light</h4>'},\n"
                    '    {"src": "img/2.jpg", "thumb": "img/thumb-2.jpg"},\n'
                    "    {src: 'https://www.youtube.com/watch?v=EIUJfXk3_3w', thumb: 'img/yt.jpg'},\n"
                    "    {src: 'media/clip.mp4?v=2', thumb: 'img/clip.jpg'}]});</script>")
    assert found(lightgallery) == {f"http://site.test/dir/img/{name}.jpg": "gallery" for name in (
        "1", "thumb-1", "2", "thumb-2", "yt", "clip")} | {FAVICON: "favicon"}
    assert largest_of_gallery(lightgallery) == [f"http://site.test/dir/img/{name}.jpg"
                                                for name in ("1", "2", "yt", "clip")]
    photoswipe4 = ('<script src="js/photoswipe.min.js"></script><script src="js/photoswipe-ui-default.min.js">'
                   "</script><script>var items = [{src: 'big/a.jpg', msrc: 'small/a.jpg', w: 1200, h: 900, "
                   "title: 'Harbour'}, {html: '<div>Hello</div>'}];\n"
                   "var gallery = new PhotoSwipe(pswpElement, PhotoSwipeUI_Default, items, {index: 0});</script>")
    assert forms_and_words(photoswipe4) == {"http://site.test/dir/small/a.jpg": ("gallery", "Harbour", ""),
                                            "http://site.test/dir/big/a.jpg": ("gallery", "Harbour", ""),
                                            FAVICON: ("favicon", "", "")}
    # PhotoSwipe 5 is an ES module: the page imports it from its own script instead of a <script src>
    photoswipe5 = ('<script type="module">\nimport PhotoSwipeLightbox from "/js/photoswipe-lightbox.esm.min.js";\n'
                   "const lightbox = new PhotoSwipeLightbox({dataSource: [\n"
                   "  {src: '/photos/b.jpg', width: 1500, height: 1000, alt: 'Bridge'}],\n"
                   "  pswpModule: () => import('/js/photoswipe.esm.min.js')});\nlightbox.init();</script>")
    assert found(photoswipe5) == {"http://site.test/photos/b.jpg": "gallery", FAVICON: "favicon"}
    elsewhere = photoswipe5.replace("photoswipe", "app")  # the same keys are another script's business
    assert found(elsewhere) == {FAVICON: "favicon"}


def test_extract_the_pictures_fancybox_opens_from_a_script() -> None:
    # Fancybox 4 and 5 opened by a script (Fancybox.show([...])): after a click Chromium loaded each
    # picture and its thumbnail (3 and 4 on two probe pages); the crawl found none. Slides of
    # another type (an iframe, HTML, an element of the page, a video) are no pictures.
    html = ('<script src="/vendor/@fancyapps/ui/dist/fancybox/fancybox.umd.js"></script><script>\n'
            "document.getElementById('open').addEventListener('click', () => Fancybox.show([\n"
            "  {src: 'img/a.jpg', thumbSrc: 'img/a_t.jpg', caption: 'Harbour'},\n"
            '  {src: "img/b.jpg", thumb: "img/b_t.jpg", type: "image"},\n'
            "  {src: '#dialog', type: 'inline'}, {src: 'form.html', type: 'iframe'},\n"
            "  {src: '<p>Hi</p>', type: 'html'},\n"
            "  {src: 'https://www.youtube.com/watch?v=z2X2HaTvkl8'}, {src: 'img/c.jpg', thumb: 'img/c_t.jpg', "
            "type: 'iframe'}]));</script>")
    assert forms_and_words(html) == {
        "http://site.test/dir/img/a_t.jpg": ("gallery", "", "Harbour"),
        "http://site.test/dir/img/a.jpg": ("gallery", "", "Harbour"),
        "http://site.test/dir/img/b_t.jpg": ("gallery", "", ""), "http://site.test/dir/img/b.jpg": ("gallery", "", ""),
        FAVICON: ("favicon", "", "")}
    assert largest_of_gallery(html) == ["http://site.test/dir/img/a.jpg", "http://site.test/dir/img/b.jpg"]


def test_extract_the_pictures_of_a_webflow_lightbox() -> None:
    # Webflow (and every site exported from it) writes a lightbox as a link to "#" around its
    # thumbnail, with the pictures it opens in a JSON script of class w-json: the picture itself
    # was named nowhere else, and the crawl saved the thumbnail alone.
    html = """<a href="#" class="lightbox-link w-inline-block w-lightbox"><img src="images/Road-2-p-500.jpeg" alt="">
    <script type="application/json" class="w-json">{
      "items": [{"_id": "5ece", "origFileName": "Layer 9.jpg", "fileName": "Layer 9.jpg", "fileSize": 273778,
                 "height": 1068, "url": "https://uploads-ssl.webflow.com/6423/6423_Layer%209.jpg", "width": 1600,
                 "type": "image", "caption": "The road"},
                {"url": "images/second.jpg", "thumbnailUrl": "images/second-thumb.jpg"},
                {"url": "https://www.youtube.com/watch?v=x", "originalUrl": "https://www.youtube.com/watch?v=x",
                 "html": "<iframe></iframe>", "thumbnailUrl": "https://i.ytimg.com/vi/x/hqdefault.jpg",
                 "type": "video"}],
      "group": "Gallery"}</script></a>
    <script type="application/json" class="w-json">{"items": [], "group": ""}</script>
    <script type="application/json" class="w-json">not json</script>"""
    assert forms_and_words(html) == {
        "http://site.test/dir/images/Road-2-p-500.jpeg": ("img", "", ""),
        "https://uploads-ssl.webflow.com/6423/6423_Layer%209.jpg": ("gallery", "", "The road"),
        "http://site.test/dir/images/second-thumb.jpg": ("gallery", "", ""),
        "http://site.test/dir/images/second.jpg": ("gallery", "", ""),
        "https://i.ytimg.com/vi/x/hqdefault.jpg": ("gallery", "", ""), FAVICON: ("favicon", "", "")}
    assert largest_of_gallery(html) == ["https://uploads-ssl.webflow.com/6423/6423_Layer%209.jpg",
                                        "http://site.test/dir/images/second.jpg",
                                        "https://i.ytimg.com/vi/x/hqdefault.jpg"]


def test_extract_nanogallery2_markup_after_its_items_base_url() -> None:
    # nanogallery2's own example: the container's options give itemsBaseURL, and each <a>'s href,
    # data-ngthumb and data-ngsrc follow it (as its script joins them); they were resolved against
    # the page, and each was a 404.
    html = """<div data-nanogallery2='{"itemsBaseURL": "https://nanogallery2.test/samples/", "thumbnailHeight": 150}'>
    <a href="berlin1.jpg" data-ngthumb="berlin1_t.jpg">Berlin 1</a>
    <a href="https://cdn.test/berlin2.jpg" data-ngthumb="berlin2_t.jpg">Berlin 2</a>
    <a data-ngsrc="berlin3.jpg" data-ngthumb="berlin3_t.jpg">Berlin 3</a></div>
    <a href="about.html">About</a>
    <div data-nanogallery2='{"thumbnailHeight": 100}'><a href="own.jpg" data-ngthumb="own_t.jpg">Own</a></div>"""
    refs = extract(html.encode(), PAGE)
    assert [url for url, _key, form, *_words in refs.images if form == "lazy"] == [
        "https://nanogallery2.test/samples/berlin1_t.jpg", "https://nanogallery2.test/samples/berlin2_t.jpg",
        "https://nanogallery2.test/samples/berlin3_t.jpg", "http://site.test/dir/own_t.jpg"]
    assert [url for url, _key in refs.links] == [
        "https://nanogallery2.test/samples/berlin1.jpg", "https://cdn.test/berlin2.jpg",
        "https://nanogallery2.test/samples/berlin3.jpg", "http://site.test/dir/about.html",
        "http://site.test/dir/own.jpg"]


def test_extract_the_pictures_of_unite_gallery_and_nanogallery2_markup() -> None:
    # Unite Gallery (its WordPress and Joomla plugins) shows each <img>'s data-image in its slider,
    # the src in its strip; nanogallery2 draws each <a>'s data-ngthumb as a thumbnail, and opens its
    # href (or data-ngsrc). A crawl read the thumbnails of the first and the pictures of the second:
    # none of the 6 big pictures of a Unite Gallery nor the 6 thumbnails of a nanogallery2 one.
    html = """<div id="gallery" style="display:none">
    <img alt="Lake" src="thumbs/lake.jpg" data-image="big/lake.jpg" data-description="At dawn">
    <img alt="Ship" src="thumbs/ship.jpg" data-image="true"></div>
    <div data-nanogallery2='{"thumbnailHeight": 150}'>
    <a href="big/tree.jpg" data-ngthumb="thumbs/tree.jpg" data-ngdesc="Oak">Tree</a>
    <a data-ngsrc="big/hill.jpg" data-ngthumb="thumbs/hill.jpg">Hill</a></div>"""
    assert found(html) == {
        "http://site.test/dir/thumbs/lake.jpg": "img", "http://site.test/dir/big/lake.jpg": "lazy",
        "http://site.test/dir/thumbs/ship.jpg": "img", "http://site.test/dir/thumbs/tree.jpg": "lazy",
        "http://site.test/dir/thumbs/hill.jpg": "lazy", FAVICON: "favicon"}
    # links straight to pictures, saved as pictures (found_as link)
    assert [url for url, _key in extract(html.encode(), PAGE).links] == [
        "http://site.test/dir/big/tree.jpg", "http://site.test/dir/big/hill.jpg"]
    # --srcset largest: one size of each picture, as of a srcset and of a gallery script's data (a
    # thumbnail beside its picture on one element was kept: both sizes of every picture)
    largest = extract(html.encode(), PAGE, srcset="largest")
    assert [url for url, _key, *_rest in largest.images] == [
        "http://site.test/dir/big/lake.jpg", "http://site.test/dir/thumbs/ship.jpg", FAVICON]
    assert [url for url, _key in largest.links] == [
        "http://site.test/dir/big/tree.jpg", "http://site.test/dir/big/hill.jpg"]


def test_extract_links_skip_non_http_and_fragments_only_duplicate() -> None:
    html = """<a href="next.html">n</a><a href="next.html#top">again</a><a href="mailto:x@y.z">m</a>
    <a href="javascript:void(0)">j</a><a href="data:text/html,hi">d</a><a href="tel:123">t</a>
    <a href="ftp://files.test/x">f</a><area href="/map.html"><a>no href</a>"""
    links = [pair[0] for pair in extract(html.encode(), PAGE).links]
    assert links == ["http://site.test/dir/next.html", "http://site.test/map.html"]


def test_extract_follows_the_links_of_an_inline_svg_map() -> None:
    # A clickable SVG map (regions, floors, an org chart) names its pages in xlink:href (SVG 1.1),
    # which a browser follows when clicked; only href was read. href wins where both are (SVG 2).
    html = """<svg viewBox="0 0 10 10"><a xlink:href="north.html"><path d="M0 0h5v5z"/></a>
    <a href="/south.html" xlink:href="/old-south.html"><path d="M5 5h5v5z"/></a></svg>"""
    links = [pair[0] for pair in extract(html.encode(), PAGE).links]
    assert links == ["http://site.test/dir/north.html", "http://site.test/south.html"]


def test_extract_follows_a_pages_next_and_previous_in_its_head() -> None:
    # A gallery that scrolls on for ever loads its next page from <link rel=next> (and says the
    # previous one): often the only way there in the markup. wget follows them; this did not.
    html = """<head><link rel="next" href="/gallery/page/3/"><link rel="Prev" href="/gallery/page/1/">
    <link rel="previous" href="2.html"><link rel="next nofollow" href="/hidden/next/">
    <link rel="alternate" hreflang="fr" href="/fr/gallery/"><link rel="alternate" type="application/rss+xml"
    href="/feed/"><link rel="canonical" href="/gallery/page/2/"></head>"""
    links = [pair[0] for pair in extract(html.encode(), PAGE).links]
    assert links == ["http://site.test/gallery/page/3/", "http://site.test/gallery/page/1/",
                     "http://site.test/dir/2.html", "http://site.test/hidden/next/"]
    followed = [pair[0] for pair in extract(html.encode(), PAGE, agent="queue-crawler").links]
    assert "http://site.test/hidden/next/" not in followed and len(followed) == 3  # rel=nofollow, as for <a>


def test_extract_honours_base_href() -> None:
    html = '<head><base href="http://cdn.test/base/"></head><body><a href="p.html"></a><img src="i.png"></body>'
    refs = extract(html.encode(), PAGE)
    assert refs.links == [["http://cdn.test/base/p.html", "http://cdn.test/base/p.html"]]
    assert refs.images[0] == ["http://cdn.test/base/i.png", "http://cdn.test/base/i.png", "img", "", "", ""]


def test_extract_data_urls_and_empty_values_are_ignored() -> None:
    assert images('<img src="data:image/png;base64,AAAA"><img src=""><img src="  "><div style="x:url()">') == [
        FAVICON]


def test_extract_gives_canonical_keys_and_dedups_within_a_page() -> None:
    refs = extract(b'<img src="/A.png"><img src="HTTP://SITE.TEST:80/A.png#x"><div style="background:url(/A.png)">',
                   PAGE)
    # the first form wins
    assert refs.images[0] == ["http://site.test/A.png", "http://site.test/A.png", "img", "", "", ""]
    assert len(refs.images) == 2  # and the implicit favicon


def test_extract_survives_malformed_and_non_utf8_html() -> None:
    html = "<html><body><img src='caf\xe9.png'><a href=x.html><div><<<>>></p></table>".encode("latin-1")
    refs = extract(html, PAGE, encoding="iso-8859-1")
    assert refs.images[0][1] == "http://site.test/dir/caf%C3%A9.png"
    assert refs.links[0][0] == "http://site.test/dir/x.html"


@pytest.mark.parametrize("charset", ["idna", "undefined", "base64", "rot13", "unicode_escape", "punycode"])
def test_extract_a_codec_that_is_no_charset_is_as_none_declared(charset: str) -> None:
    # Python has codecs that are no charset a page is written in: charset=idna (a server's mistake or
    # mischief) raised a UnicodeError as the page was decoded, and the page failed as internal-error;
    # base64 and rot13 raised LookupError, undefined always raises
    html = ("<a href='/" + "long-page-name-" * 10 + ".html'>x</a><img src='caf\xe9.png'>").encode("utf-8")
    refs = extract(html, PAGE, encoding=charset)
    assert refs.links[0][0] == "http://site.test/" + "long-page-name-" * 10 + ".html"
    assert refs.images[0][1] == "http://site.test/dir/caf%C3%A9.png"


def test_extract_unclosed_and_oddly_placed_tags_lose_nothing() -> None:
    # An HTML tree builder drops a second <body>, re-parents table cells and swallows what follows
    # an unclosed <iframe>; the extractor sees every tag.
    html = ('<iframe src="a.html"><td background="td.png"><body background="b.png"><video poster="p.png">'
            + "".join(f'<div style="background:url(d{n}.png)">' for n in range(400)))
    refs = extract(html.encode(), PAGE)
    assert [url.rsplit("/", 1)[1] for url, *_rest in refs.images[:3]] == ["td.png", "b.png", "p.png"]
    assert len(refs.images) == 3 + 400 + 1


def test_extract_a_page_of_more_references_than_a_result_holds_is_bounded() -> None:
    candidates = ", ".join(f"/bg/{n}.png {n + 1}w" for n in range(MAX_REFS_PER_PAGE + 5000))
    refs = extract(f'<img srcset="{candidates}"><div style="background:url(/bg/last.png)"></div>'.encode(), PAGE)
    assert len(refs.images) == MAX_REFS_PER_PAGE
    assert refs.capped  # what was left out is said: the page is recorded as partial (before: nowhere)
    assert not extract(b'<img src="/a.png"><a href="/b.html">b</a>', PAGE).capped


def test_extract_reads_utf16_pages_by_their_bom_or_charset() -> None:
    html = '<html><body><img src="/café.png" alt="x"><a href="/next.html">next</a></body></html>'
    for encoded, charset in ((html.encode("utf-16"), None),  # a BOM and no charset (before: nothing found)
                             (codecs.BOM_UTF16_BE + html.encode("utf-16-be"), "iso-8859-1"),  # the BOM wins
                             (html.encode("utf-16-le"), "UTF-16LE")):  # no BOM: the HTTP charset says it
        refs = extract(encoded, PAGE, charset)
        assert [triple[0] for triple in refs.images] == ["http://site.test/café.png", FAVICON]
        assert [pair[0] for pair in refs.links] == ["http://site.test/next.html"]


def test_extract_keeps_a_result_small_whatever_the_page() -> None:
    from crawler.messages import MAX_REF_CHARS_PER_PAGE
    long_path = "x" * 7000  # near the URL length limit: 50,000 of them would be a 700 MB result
    html = "".join(f'<a href="/{n}{long_path}">' for n in range(MAX_REF_CHARS_PER_PAGE // 7000 + 200))
    refs = extract(html.encode(), PAGE)
    chars = sum(len(part) for pair in refs.links for part in pair)
    assert MAX_REF_CHARS_PER_PAGE <= chars < MAX_REF_CHARS_PER_PAGE + 20_000


def words_of(html: str) -> dict[str, tuple[str, str, str]]:
    """{image file name: (alt, title, caption)} of a page's images."""
    return {entry[0].rsplit("/", 1)[1]: tuple(entry[3:]) for entry in extract(html.encode(), PAGE).images}


def test_extract_words_alt_title_and_the_figures_caption_as_wordpress_writes_them() -> None:
    html = """<figure class="wp-block-image size-large"><img decoding="async" width="1024" height="683"
      src="/wp-content/uploads/2024/06/sunset-1024x683.jpg" alt="Sunset over
      the   harbour" class="wp-image-42" srcset="/wp-content/uploads/2024/06/sunset-300x200.jpg 300w"
      title="Harbour &amp; boats"/><figcaption class="wp-element-caption">The <em>harbour</em> at dusk,
      <a href="/about">photo by Ana</a></figcaption></figure>
    <p><img src="/logo.png" alt=""></p>"""
    assert words_of(html) == {
        "sunset-1024x683.jpg": ("Sunset over the harbour", "Harbour & boats", "The harbour at dusk, photo by Ana"),
        "sunset-300x200.jpg": ("Sunset over the harbour", "Harbour & boats", "The harbour at dusk, photo by Ana"),
        "logo.png": ("", "", ""), "favicon.ico": ("", "", "")}
    # text inside a word's markup stays one word, as a browser shows it; blocks stay apart
    assert words_of('<figure><img src="/p/o.png"><figcaption>An owl (<i>Tyto</i> alba), <b>2</b>'
                    '<sup>nd</sup> shot<div>Photo: Ana</div></figcaption></figure>')["o.png"] == (
        "", "", "An owl (Tyto alba), 2nd shot Photo: Ana")


def test_extract_words_of_a_picture_come_from_its_img_and_nested_figures_from_the_nearest_caption() -> None:
    html = """<figure><picture><source type="image/avif" srcset="/p/cat.avif">
      <source type="image/webp" srcset="/p/cat.webp"><img src="/p/cat.jpg" alt="A cat asleep"></picture>
      <figcaption>Our cat</figcaption></figure>
    <figure><figure><img src="/p/inner.png" alt="inner"></figure><figcaption>Outer words</figcaption></figure>
    <figure><figcaption>Caption first</figcaption><img src="/p/after.png"></figure>
    <img src="/p/plain.png" title="  a   title ">"""
    found = words_of(html)
    assert found["cat.avif"] == found["cat.webp"] == found["cat.jpg"] == ("A cat asleep", "", "Our cat")
    assert found["inner.png"] == ("inner", "", "Outer words")  # its own figure had no caption
    assert found["after.png"] == ("", "", "Caption first")
    assert found["plain.png"] == ("", "a title", "")


def test_extract_words_of_captions_written_before_figure_by_wordpress_and_mediawiki() -> None:
    # WordPress's caption and gallery where the theme has not asked for HTML5's (Twenty Ten to
    # Twenty Twelve and many a theme since), and MediaWiki's thumbnail and gallery (before 1.40, and
    # on many a wiki still): the captions were read only from a <figcaption>, so these had none.
    html = """<div id="attachment_7" style="width: 310px" class="wp-caption alignright"><a href="/big.jpg">
      <img aria-describedby="caption-attachment-7" src="/wp/boat-300x200.jpg" alt="boat" class="size-medium"></a>
      <p id="caption-attachment-7" class="wp-caption-text">A <b>boat</b> &amp; its crew</p></div>
    <img src="/wp/after.jpg">
    <dl class='gallery-item'><dt class='gallery-icon landscape'><a href='/wp/g1.jpg'><img src='/wp/g1-150x150.jpg'
      class='attachment-thumbnail' alt='' /></a></dt><dd class='wp-caption-text gallery-caption' id='gallery-1-9'>
      First of the gallery</dd></dl><dl class='gallery-item'><dt class='gallery-icon'><img src='/wp/g2-150x150.jpg'>
      </dt></dl><br style="clear: both" />
    <div class="thumb tright"><div class="thumbinner" style="width:222px;"><a href="/wiki/File:Owl.jpg"
      class="image"><img alt="" src="/w/220px-Owl.jpg" class="thumbimage" srcset="/w/330px-Owl.jpg 1.5x"></a>
      <div class="thumbcaption"><div class="magnify"><a href="/wiki/File:Owl.jpg" class="internal"
      title="Enlarge"></a></div>A barn owl <div class="note">(<i>Tyto alba</i>)</div> in flight</div></div></div>
    <ul class="gallery mw-gallery-traditional"><li class="gallerybox" style="width: 155px"><div style="width: 155px">
      <div class="thumb" style="width: 150px;"><div style="margin:15px auto;"><a href="/wiki/File:Fox.jpg"
      class="image"><img alt="" src="/w/120px-Fox.jpg"></a></div></div><div class="gallerytext">
      <p>A red fox</p></div></div></li><li class="gallerybox"><div><div class="thumb"><img src="/w/120px-Hen.jpg">
      </div><div class="gallerytext"></div></div></li></ul>
    <div class="wp-caption-text">no container: no one's caption</div><img src="/wp/last.jpg">"""
    found = words_of(html)
    assert found["boat-300x200.jpg"] == ("boat", "", "A boat & its crew")
    assert found["g1-150x150.jpg"] == ("", "", "First of the gallery")
    assert found["220px-Owl.jpg"] == found["330px-Owl.jpg"] == ("", "", "A barn owl (Tyto alba) in flight")
    assert found["120px-Fox.jpg"] == ("", "", "A red fox")
    assert found["after.jpg"] == found["g2-150x150.jpg"] == found["120px-Hen.jpg"] == found["last.jpg"] == (
        "", "", "")
    # DocBook's stylesheets (a figure's title, before or after it: Debian's debian-handbook has 1,276),
    # and docutils before 0.17 (Sphinx sites built before 2021) and many a page written by hand
    docbook = """<div class="figure"><a id="id-1.4"></a><div class="figure-contents"><div class="mediaobject">
      <img src="images/developers-map.png" alt="Map"></div></div><p class="title"><strong>Figure 1.1.
      Developers around the world</strong></p></div><div class="figure"><p class="title"><b>Figure 1.2. Before</b>
      </p><div class="figure-contents"><img src="images/before.png"></div></div>
    <div class="figure align-center" id="id1"><img alt="graph" src="_images/graph.png" />
      <p class="caption"><span class="caption-text">A graph</span><a class="headerlink" href="#id1">¶</a></p></div>
    <div class="figure-contents"><img src="images/none.png"><p class="title">not a figure's</p></div>"""
    found = words_of(docbook)
    assert found["developers-map.png"] == ("Map", "", "Figure 1.1. Developers around the world")
    assert found["before.png"] == ("", "", "Figure 1.2. Before")
    assert found["graph.png"] == ("graph", "", "A graph")  # not its permalink's ¶, shown on hover
    assert found["none.png"] == ("", "", "")
    # Blogger's caption table (every captioned picture of a Blogspot post) and Bootstrap 3's thumbnail
    blogger = """<table align="center" cellpadding="0" cellspacing="0" class="tr-caption-container"><tbody><tr>
      <td style="text-align: center;"><a href="https://blogger.test/img/s1600/beach.jpg"><img border="0"
      src="https://blogger.test/img/s320/beach.jpg" width="320" /></a></td></tr><tr><td class="tr-caption"
      style="text-align: center;">The beach at <b>noon</b></td></tr></tbody></table><img src="/p/after-table.png">
    <div class="row"><div class="col-sm-6"><div class="thumbnail"><img src="/p/bs.jpg" alt="A boat">
      <div class="caption"><h3>Harbour</h3><p>Boats at rest</p></div></div></div></div>"""
    found = words_of(blogger)
    assert found["beach.jpg"] == ("", "", "The beach at noon")  # the picture and the link to its full size
    assert found["after-table.png"] == ("", "", "")
    assert found["bs.jpg"] == ("A boat", "", "Harbour Boats at rest")
    # unclosed, nested thousands deep: each caption is read to a bound, and no text twice
    from crawler.messages import MAX_WORDS_CHARS
    hostile = ('<div class="wp-caption"><img src="/p/h.png"><p class="wp-caption-text">' + "x" * 40_000
               + '<div class="thumbinner"><div class="thumbcaption">y' * 5000 + '<img src="/p/last.png">')
    found = words_of(hostile)
    assert found["h.png"][2] == "x" * MAX_WORDS_CHARS and found["last.png"] == ("", "", "y")


def test_extract_words_carry_no_control_characters() -> None:
    # `crawler inspect --search` prints the words: a page's escape sequences would reach the terminal
    assert words_of('<img src="/p/x.png" alt="a\x1b]0;owned\x07 b\x85c" title="\x1b[2Jt">')["x.png"] == (
        "a]0;owned b c", "[2Jt", "")  # NEL (U+0085) is whitespace


def test_extract_words_from_a_later_reference_fill_what_the_first_lacked() -> None:
    html = '<a href="/"><img src="/p/x.png"></a><img src="/p/x.png" alt="Second says" title="t">'
    assert words_of(html)["x.png"] == ("Second says", "t", "")
    assert words_of('<img src="/p/x.png" alt="first"><img src="/p/x.png" alt="second">')["x.png"] == ("first", "", "")


def test_extract_words_are_bounded_and_captions_of_hostile_markup_end() -> None:
    from crawler.messages import MAX_WORDS_CHARS
    long_alt = "word " * 1000
    html = (f'<figure><img src="/p/a.png" alt="{long_alt}"><figcaption>' + "x" * 40_000 + "</figure>"
            + '<figcaption>"quoted" <b>& <i>tags</figcaption><img src="/p/b.png">' + "<figure>" * 5000)
    found = words_of(html)
    assert len(found["a.png"][0]) == MAX_WORDS_CHARS and found["a.png"][0].startswith("word word")
    assert 0 < len(found["a.png"][2]) <= MAX_WORDS_CHARS  # an unclosed caption is read so far, no further
    assert found["b.png"] == ("", "", "")  # a caption outside any figure belongs to nothing


def test_extract_a_style_nested_thousands_deep_costs_its_page_nothing() -> None:
    # The CSS walk recursed into each nested block: a few KB of "((((" in a <style> or a style=""
    # raised RecursionError, and the node failed the page, losing its other pictures and links.
    html = ('<img src="/p/a.png"><style>b{x:' + "(" * 5000 + '}</style><a href="/next.html">next</a>'
            '<div style="background:url(/p/bg.png) ' + "[" * 5000 + '"></div><img src="/p/b.png">')
    assert sorted(images(html)) == ["http://site.test/favicon.ico", "http://site.test/p/a.png",
                                    "http://site.test/p/b.png", "http://site.test/p/bg.png"]


def test_extract_the_attributes_of_the_common_lazy_loading_scripts() -> None:
    # What slick, Flickity, lazysizes (bgset, unveilhooks), vanilla-lazyload, lozad, Swiper and WP Rocket
    # read to show an image once the page's script runs: a browser shows these, so a crawler must.
    html = """<div class="slider"><img data-lazy="slide1.jpg"><img data-flickity-lazyload="slide2.jpg"
      data-flickity-lazyload-srcset="slide2-2x.jpg 2x"></div>
    <section class="lazyload"
      data-bgset="/bg/small.jpg 480w, /bg/large.jpg 1200w [(min-width: 800px)] | /bg/p.jpg"></section>
    <div class="lazyload" data-bg="/bg/unveil.jpg"></div>
    <div class="rocket-lazyload" data-bg="url(&quot;/bg/rocket.jpg&quot;)"></div>
    <div class="lazy" data-bg-multi="url(/bg/m1.jpg), linear-gradient(#fff, #000), url('/bg/m2.png')"></div>
    <div class="lazy" data-bg-set="url(/bg/s1.jpg) 1x, url(/bg/s2.jpg) 2x | url(/bg/s3.jpg)"></div>
    <div class="lozad" data-background-image="/bg/lozad.jpg"></div>
    <div class="swiper-slide swiper-lazy" data-background="/bg/swiper.jpg"></div>
    <div data-flickity-bg-lazyload="/bg/flickity.jpg"></div>
    <video class="lazyload" data-poster="/media/poster.jpg"></video>"""
    expected = {"dir/slide1.jpg", "dir/slide2.jpg", "dir/slide2-2x.jpg", "bg/small.jpg", "bg/large.jpg",
                "bg/p.jpg", "bg/unveil.jpg", "bg/rocket.jpg", "bg/m1.jpg", "bg/m2.png", "bg/s1.jpg",
                "bg/s2.jpg", "bg/s3.jpg", "bg/lozad.jpg", "bg/swiper.jpg", "bg/flickity.jpg", "media/poster.jpg"}
    assert found(html) == {**{"http://site.test/" + path: "lazy" for path in expected}, FAVICON: "favicon"}


def test_extract_the_lazy_attributes_site_builders_and_page_rewriters_write() -> None:
    # Slider Revolution (on millions of WordPress sites, through its themes) keeps a slide's image in
    # data-lazyload; Ezoic and Cloudflare rewrite every <img src> of the pages they serve into
    # data-ezsrc / data-cfsrc; echo.js and unveil read data-echo and data-src-retina. WooCommerce's
    # product gallery and Slider Revolution's navigation show the thumbnails in data-thumb, on any
    # element. A browser running their scripts shows each of these.
    html = """<li data-thumb="/thumbs/slide1-100x50.jpg"><img src="/dummy.png" data-lazyload="/slides/one.jpg"
      class="rev-slidebg"></li>
    <div class="woocommerce-product-gallery__image" data-thumb="http://site.test/shop/mug-100x100.jpg">
      <a href="/shop/mug.jpg"><img src="/shop/mug-600x600.jpg"></a></div>
    <img class="ezlazyload" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-ezsrc="/ez/one.png"
      data-ezsrcset="/ez/one-2x.png 2x">
    <img data-cfsrc="/cf/logo.png" style="display:none;visibility:hidden;">
    <img data-echo="/echo/a.jpg"><div data-echo-background="/echo/bg.jpg"></div>
    <img class="owl-lazy" data-src="/owl/a.jpg" data-src-retina="/owl/a@2x.jpg">
    <img class="lazyload" data-src=" /photos/my photo.jpg ">
    <iframe class="ezlazyload" data-ezsrc="/embed/video.html"></iframe>"""
    refs = extract(html.encode(), PAGE)
    shown = {url: form for url, _key, form, _alt, _title, _caption in refs.images}
    lazy = {"thumbs/slide1-100x50.jpg", "slides/one.jpg", "shop/mug-100x100.jpg", "ez/one.png", "ez/one-2x.png",
            "cf/logo.png", "echo/a.jpg", "echo/bg.jpg", "owl/a.jpg", "owl/a@2x.jpg", "photos/my photo.jpg"}
    assert shown == {**{"http://site.test/" + path: "lazy" for path in lazy},
                     "http://site.test/dummy.png": "img", "http://site.test/shop/mug-600x600.jpg": "img",
                     FAVICON: "favicon"}
    assert [url for url, _key in refs.links] == ["http://site.test/shop/mug.jpg", "http://site.test/embed/video.html"]


def test_extract_the_lazy_attributes_of_splide_optimole_lozad_sets_and_vanilla_lazyload() -> None:
    # Splide's slider keeps a slide's image in data-splide-lazy(-srcset); Optimole (a WordPress image
    # CDN) rewrites <img src> into data-opt-src; lozad sets data-background-image-set as image-set();
    # vanilla-lazyload's data-bg-multi-hidpi is the high-density twin of data-bg-multi.
    html = """<li class="splide__slide"><img data-splide-lazy="/slides/a.jpg"
      data-splide-lazy-srcset="/slides/a-640.jpg 640w, /slides/a-960.jpg 960w"></li>
    <img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=" data-opt-src="https://cdn.test/w:auto/h:auto/q:75/a.jpg">
    <div class="lozad" data-background-image-set="url('/bg/set.jpg') 1x, url('/bg/set@2x.jpg') 2x"></div>
    <div class="lozad" data-background-image-set='"/bg/quoted.jpg" 1x, "/bg/quoted@2x.jpg" 2x'></div>
    <div class="lozad" data-background-image-set="/bg/bare.jpg 1x, /bg/bare@2x.jpg 2x"></div>
    <div class="lazy" data-bg-multi="url(/bg/m.jpg)" data-bg-multi-hidpi="url(/bg/m@2x.jpg)"></div>
    <img data-opt-src="" data-splide-lazy="true">"""
    lazy = {"slides/a.jpg", "slides/a-640.jpg", "slides/a-960.jpg", "bg/set.jpg", "bg/set@2x.jpg", "bg/quoted.jpg",
            "bg/quoted@2x.jpg", "bg/bare.jpg", "bg/m.jpg", "bg/m@2x.jpg"}
    assert found(html) == {**{"http://site.test/" + path: "lazy" for path in lazy},
                           "https://cdn.test/w:auto/h:auto/q:75/a.jpg": "lazy", FAVICON: "favicon"}


def test_extract_the_images_of_an_amp_page() -> None:
    # AMP pages (news sites' /amp/ versions, WordPress's AMP plugin) have no <img>: the AMP runtime
    # renders <amp-img> and <amp-anim> as images, <amp-video> with its poster, <amp-iframe> as a frame.
    html = """<figure><amp-img src="/amp/hero.jpg" srcset="/amp/hero-2x.jpg 2x" width="800" height="400"
      layout="responsive" alt="Hero"></amp-img><figcaption>The hero</figcaption></figure>
    <amp-carousel type="slides"><amp-img src="/amp/s1.webp" width="4" height="3"></amp-img></amp-carousel>
    <amp-anim src="/amp/loop.gif" width="1" height="1"></amp-anim>
    <amp-video poster="/amp/poster.jpg" width="16" height="9"><source src="/amp/v.mp4"></amp-video>
    <amp-iframe src="/amp/map.html" width="1" height="1"></amp-iframe>"""
    refs = extract(html.encode(), PAGE)
    assert {url: (form, alt, caption) for url, _key, form, alt, _title, caption in refs.images} == {
        "http://site.test/amp/hero.jpg": ("img", "Hero", "The hero"),
        "http://site.test/amp/hero-2x.jpg": ("srcset", "Hero", "The hero"),
        "http://site.test/amp/s1.webp": ("img", "", ""), "http://site.test/amp/loop.gif": ("img", "", ""),
        "http://site.test/amp/poster.jpg": ("poster", "", ""), FAVICON: ("favicon", "", "")}
    assert [url for url, _key in refs.links] == ["http://site.test/amp/map.html"]


def test_extract_a_lazy_url_with_a_width_placeholder_is_asked_for_at_its_widest() -> None:
    # lazysizes' rias plugin (Shopify's Debut theme on every product) writes {width} in data-src and
    # data-srcset and fills it in from data-widths (or its own list, up to 3024) as the browser's
    # layout asks; {height} becomes empty unless a ratio is set. Asked for literally, each is a 404.
    html = """<img class="lazyload" data-src="//cdn.site.test/p/mug_{width}x.jpg?v=1"
      data-widths="[180, 360, 1080, 540]" data-sizes="auto">
    <picture><source data-srcset="/p/cup_{ width }x{height}.webp" data-widths="[100,200]">
      <img data-src="/p/cup_{width}x.jpg"></picture>
    <img data-src="/p/bad_{width}.jpg" data-widths="not a list"><img data-src="/p/{unknown}.jpg">
    <img data-src="/p/{quality}/pot.jpg" data-quality="80">"""
    assert found(html) == {"http://cdn.site.test/p/mug_1080x.jpg?v=1": "lazy",
                           "http://site.test/p/cup_200x.webp": "lazy", "http://site.test/p/cup_3024x.jpg": "lazy",
                           "http://site.test/p/bad_3024.jpg": "lazy", "http://site.test/p/80/pot.jpg": "lazy",
                           FAVICON: "favicon"}


def test_extract_a_lazy_attribute_used_as_a_switch_is_no_image() -> None:
    # The same names serve as on/off switches: <img data-lazy="true"> must not become a request for
    # /dir/true that fails as a 404 in the crawl's failures.
    html = """<img src="/a.png" data-lazy="true"><img src="/b.png" data-lazyload="true" data-src="1">
    <div class="slider" data-thumb="false"></div><img src="/c.png" data-echo="">"""
    assert found(html) == {"http://site.test/a.png": "img", "http://site.test/b.png": "img",
                           "http://site.test/c.png": "img", FAVICON: "favicon"}


def test_extract_lazy_background_attributes_that_hold_no_image_are_left_alone() -> None:
    # Themes use the same names for colours and switches: none of these is a picture.
    html = """<div data-bg="dark"></div><div data-background="#f5f5f5"></div><div data-bg="rgb(0, 0, 0)"></div>
    <div data-background="true"></div><div data-bg="p:center center;r:no-repeat;c:#ffffff;"></div>
    <div data-bg=""></div><div data-bgset=""></div><div data-background-image="light blue"></div>"""
    assert found(html) == {FAVICON: "favicon"}


def test_extract_reads_an_iframe_srcdoc_as_part_of_the_page() -> None:
    # An iframe's srcdoc is a document the browser shows in place (lazy video embeds put their
    # thumbnail there); its relative URLs resolve against the page's base.
    html = """<figure><iframe src="/player.html" srcdoc="<style>.p{background:url(/thumb/bg.png)}</style>
      <a href='/watch?v=1'><img src='/thumb/hq.jpg' alt='Video'></a>
      <iframe srcdoc=&quot;<img src='inner.png'>&quot;></iframe>"></iframe>
      <img src="/after.png"><figcaption>Clip</figcaption></figure>"""
    refs = extract(html.encode(), PAGE)
    assert {url: (form, caption) for url, _key, form, _alt, _title, caption in refs.images} == {
        "http://site.test/thumb/bg.png": ("css-style", ""), "http://site.test/thumb/hq.jpg": ("img", ""),
        "http://site.test/dir/inner.png": ("img", ""), "http://site.test/after.png": ("img", "Clip"),
        FAVICON: ("favicon", "")}
    assert [url for url, _key in refs.links] == ["http://site.test/player.html", "http://site.test/watch?v=1"]


def test_extract_a_lazily_loaded_frame_is_a_page_like_any_frame() -> None:
    html = """<iframe class="lazyload" data-src="/map.html"></iframe>
    <iframe src="about:blank" data-lazy-src="/embed/video.html"></iframe>"""
    assert [url for url, _key in extract(html.encode(), PAGE).links] == [
        "http://site.test/map.html", "http://site.test/embed/video.html"]


def test_extract_nested_srcdoc_frames_are_read_to_a_bounded_depth() -> None:
    from crawler.node.extract import MAX_SRCDOC_DEPTH

    def nested(levels: int) -> str:
        markup = "<img src='/deep.png'>"
        for _level in range(levels):  # each level escapes the one inside it, as an attribute value must
            markup = '<iframe srcdoc="' + markup.replace("&", "&amp;").replace('"', "&quot;") + '"></iframe>'
        return markup

    assert "http://site.test/deep.png" in images(nested(MAX_SRCDOC_DEPTH))
    assert images(nested(MAX_SRCDOC_DEPTH + 1)) == images(nested(60)) == [FAVICON]


def test_extract_reads_a_bounded_number_of_srcdoc_documents_in_a_page() -> None:
    from crawler.node.extract import MAX_SRCDOCS
    frames = "".join(f'<iframe srcdoc="<img src=/f{number}.png>"></iframe>' for number in range(MAX_SRCDOCS + 50))
    assert len(images(frames)) == MAX_SRCDOCS + 1  # and the favicon


def test_extract_a_refresh_at_once_is_where_the_page_sends_its_reader() -> None:
    html = b"""<head><base href="/docs/"><noscript><meta http-equiv="refresh" content="0; url=/nojs.html"></noscript>
    <meta http-equiv="Refresh" content="0; URL='en/index.html'"><meta http-equiv="refresh" content="0; url=/2nd">
    </head><body><iframe srcdoc="<meta http-equiv='refresh' content='0; url=/framed'>"></iframe></body>"""
    # The first one outside <noscript> (a browser running scripts ignores that one) and srcdocs counts,
    # resolved against <base href>.
    assert extract(html, PAGE).refresh == ["http://site.test/docs/en/index.html"] * 2
    # The Refresh header comes first, resolved against the page's own URL.
    assert extract(html, PAGE, refresh_header="0;url=moved.html").refresh == ["http://site.test/dir/moved.html"] * 2


def test_extract_a_refresh_after_a_delay_is_a_link_and_one_to_the_page_itself_is_nothing() -> None:
    later = extract(b'<meta http-equiv="refresh" content="5; url=/next.html"><img src="/shown.png">', PAGE)
    assert later.refresh is None and [url for url, _key in later.links] == ["http://site.test/next.html"]
    assert "http://site.test/shown.png" in [entry[0] for entry in later.images]  # shown for those 5 seconds
    for reload in ('<meta http-equiv="refresh" content="0; url=page.html#top">',
                   '<meta http-equiv="refresh" content="60">', '<meta http-equiv="refresh" content="soon">'):
        refs = extract(reload.encode(), PAGE)
        assert (refs.refresh, refs.links) == (None, [])


def test_extract_reads_declarative_shadow_roots_and_no_other_template() -> None:
    # <template shadowrootmode> is rendered in place (web components rendered on the server); any
    # other <template> is inert until a script clones it.
    html = """<my-card><template shadowrootmode="open"><style>:host { background: url(/card-bg.png) }</style>
      <img src="/in-shadow.png"><script>let x = '<img src="/in-script.png">'</script><slot></slot></template>
      <img src="/light.png"></my-card><template id="row"><img src="/inert.png"></template>
    <x-gallery><template ShadowRootMode='closed'><picture><source srcset="/closed.webp"></picture>
    </template></x-gallery>"""
    assert set(images(html)) == {"http://site.test/in-shadow.png", "http://site.test/light.png",
                                 "http://site.test/closed.webp", "http://site.test/card-bg.png", FAVICON}


def test_the_tag_pattern_matches_exactly_the_tags_extraction_reads() -> None:
    pattern = re.compile(_alternation(_TAGS), re.IGNORECASE)
    assert all(pattern.fullmatch(name.encode()) for name in _TAGS)
    assert all(pattern.fullmatch(name.upper().encode()) for name in _TAGS)
    near_misses = [b"ar", b"are", b"amp", b"amp-", b"amp-im", b"im", b"imag", b"ifram", b"t", b"tab", b"b", b"span"]
    assert not any(pattern.fullmatch(word) for word in near_misses)


def test_extract_reads_the_referrer_policy_a_page_and_its_images_set() -> None:
    # Pages embedding pictures from hosts that refuse other sites' Referer say no-referrer, for the
    # page (a <meta>, after the Referrer-Policy header) or for one <img>: a browser then sends none.
    html = """<head><meta name="referrer" content="origin"><meta name="referrer" content="no-referrer"></head>
    <img src="https://cdn.test/a.jpg"><img src="https://cdn.test/b.jpg" referrerpolicy="unsafe-url">
    <img src="https://cdn.test/c.jpg" referrerpolicy="made-up">
    <link rel="icon" href="/i.png" referrerpolicy="origin">"""
    refs = extract(html.encode(), PAGE, refresh_header=None, referrer_header="unsafe-url")
    assert refs.referrer_policy == "no-referrer"
    assert refs.referrer_policies == {"https://cdn.test/b.jpg": "unsafe-url", "http://site.test/i.png": "origin"}
    plain = extract(b'<img src="/a.png">', PAGE, referrer_header="same-origin, made-up")
    assert (plain.referrer_policy, plain.referrer_policies) == ("same-origin", {})
    assert extract(b'<img src="/a.png">', PAGE).referrer_policy is None


def test_extract_the_images_a_pages_link_header_preloads() -> None:
    # Chromium fetches a `Link: <…>; rel=preload; as=image` of a page's response as it reads the
    # header (a site's hero picture, its srcset in imagesrcset); a crawl reading only the markup missed it.
    header = ('</hero.jpg>; rel=preload; as=image; fetchpriority=high, <sizes/h-640.jpg>; rel="preload"; '
              'as="image"; imagesrcset="sizes/h-640.jpg 640w, sizes/h-1280.jpg 1280w", '
              '<https://cdn.test/x.png>; rel=preload; as=image; referrerpolicy=no-referrer, '
              '</shown.png>; rel=preload; as=image, </theme.css>; rel=preload; as=style, '
              '</s.css>; rel=stylesheet, </i.png>; rel=icon, </later.jpg>; rel=prefetch; as=image')
    html = b'<head><base href="http://elsewhere.test/b/"></head><img src="http://site.test/shown.png" alt="S">'
    refs = extract(html, PAGE, link_header=header)
    assert {url: (form, alt) for url, _key, form, alt, _title, _caption in refs.images} == {
        "http://site.test/shown.png": ("img", "S"),  # the page's own form names it
        "http://site.test/hero.jpg": ("preload", ""),
        "http://site.test/dir/sizes/h-640.jpg": ("preload", ""),  # relative to the page, not to <base href>
        "http://site.test/dir/sizes/h-1280.jpg": ("preload", ""),
        "https://cdn.test/x.png": ("preload", ""),
        FAVICON: ("favicon", ""),  # the header's icon is none: browsers take no icon nor stylesheet from it
    }
    assert refs.referrer_policies == {"https://cdn.test/x.png": "no-referrer"} and refs.stylesheets == []
    widest = extract(html, PAGE, link_header=header, srcset="largest")
    assert "http://site.test/dir/sizes/h-640.jpg" not in [entry[0] for entry in widest.images]


def test_extract_with_one_size_takes_the_widest_candidate_of_an_images_srcsets() -> None:
    # WordPress writes six sizes of every picture in srcset; a browser loads one, and `--srcset
    # largest` asks for the widest only (its src and the rest are the same picture, smaller).
    html = """<img src="/p-1024x683.jpg" alt="Dusk" srcset="/p-300x200.jpg 300w, /p-1024x683.jpg 1024w,
      /p-2048x1365.jpg 2048w, /p-768x512.jpg 768w">
    <img src="/logo.png" srcset="/logo@2x.png 2x, /logo@3x.png 3x">
    <img class="lazyload" data-src="/q-600.jpg" data-srcset="/q-600.jpg 600w, /q-1200.jpg 1200w">
    <img src="/only.png">
    <picture><source type="image/webp" srcset="/r-800.webp 800w, /r-1600.webp 1600w">
      <img src="/r-800.jpg" srcset="/r-800.jpg 800w, /r-1600.jpg 1600w"></picture>
    <link rel="preload" as="image" imagesrcset="/h-640.jpg 640w, /h-1280.jpg 1280w">"""
    widest = extract(html.encode(), PAGE, srcset="largest")
    assert {url: (form, alt) for url, _key, form, alt, _title, _caption in widest.images} == {
        "http://site.test/p-2048x1365.jpg": ("srcset", "Dusk"), "http://site.test/logo@3x.png": ("srcset", ""),
        "http://site.test/q-1200.jpg": ("lazy", ""), "http://site.test/only.png": ("img", ""),
        "http://site.test/r-1600.webp": ("picture", ""), "http://site.test/r-1600.jpg": ("srcset", ""),
        "http://site.test/h-1280.jpg": ("preload", ""), FAVICON: ("favicon", "")}
    assert len(extract(html.encode(), PAGE).images) == 17  # every candidate by default, as before


def test_extract_a_srcdoc_with_a_base_of_its_own_resolves_against_it() -> None:
    # An embed's srcdoc may say where its thumbnails are (<base href>); the page's own relative URLs
    # stay the page's, before and after it.
    html = """<img src="a.jpg"><iframe srcdoc="<base href='https://cdn.test/embed/'><img src='a.jpg'>
      <img src='b.jpg'>"></iframe><img src="b.jpg">"""
    assert images(html) == ["http://site.test/dir/a.jpg", "https://cdn.test/embed/a.jpg",
                            "https://cdn.test/embed/b.jpg", "http://site.test/dir/b.jpg", FAVICON]


def test_extract_a_theme_style_block_on_every_page_resolves_against_each_pages_own_base() -> None:
    # A site's pages carry the same large <style> (a theme's, JupyterLab's in every exported
    # notebook): it is tokenized once, and its relative URLs still resolve page by page.
    theme = "<style>" + ".x { color: red } " * 400 + ".hero { background: url(img/hero.png) }</style>"
    assert len(theme) > 4096
    first = extract(theme.encode(), "http://site.test/a/page.html").images
    second = extract(theme.encode(), "http://site.test/b/page.html").images
    assert [entry[0] for entry in first if entry[2] == "css-style"] == ["http://site.test/a/img/hero.png"]
    assert [entry[0] for entry in second if entry[2] == "css-style"] == ["http://site.test/b/img/hero.png"]


def test_extract_elementor_galleries_and_background_slideshows() -> None:
    # Elementor (on millions of WordPress sites): its Gallery widget sends each picture as a
    # <div data-thumbnail> that its script gives a background; a background slideshow is data for
    # its script in data-settings. Before, neither was read (data-thumb was, data-thumbnail not).
    settings = json.dumps({"background_background": "slideshow", "background_slideshow_gallery": [
        {"id": 7, "url": "https://site.test/wp-content/uploads/hero-1.jpg"},
        {"id": 8, "url": "/wp-content/uploads/hero-2.jpg"}, {"id": 9}], "background_slideshow_loop": "yes"})
    html = f"""<section class="elementor-section" data-settings='{settings.replace("'", "&#39;")}'></section>
    <section data-settings='{{"background_background":"classic","background_slideshow_gallery":[{{"url":"/no.jpg"}}]}}'>
    </section>
    <a class="e-gallery-item" href="/wp-content/uploads/full.jpg"><div class="e-gallery-image
       elementor-gallery-item__image" data-thumbnail="/wp-content/uploads/full-768x512.jpg" data-width="768"></div></a>
    <div data-thumbnail="true"></div>"""
    assert {url: form for url, form in found(html).items() if "uploads" in url} == {
        "https://site.test/wp-content/uploads/hero-1.jpg": "gallery",
        "http://site.test/wp-content/uploads/hero-2.jpg": "gallery",
        "http://site.test/wp-content/uploads/full-768x512.jpg": "lazy"}
    assert "http://site.test/no.jpg" not in found(html)  # a slideshow's pictures show only in a slideshow


def test_extract_parallax_backgrounds_of_wpbakery_and_parallax_js() -> None:
    # WPBakery's rows and parallax.js sections name their background picture in an attribute that
    # their script turns into the background a browser shows; before, neither was read.
    html = """<div data-vc-parallax="1.5" data-vc-parallax-image="https://site.test/uploads/bg-cta.jpg"
      class="vc_row vc_parallax"></div>
    <section class="parallax-window" data-parallax="scroll" data-image-src="img/booktour.jpg"></section>"""
    assert {url: form for url, form in found(html).items() if form != "favicon"} == {
        "https://site.test/uploads/bg-cta.jpg": "lazy", "http://site.test/dir/img/booktour.jpg": "lazy"}


def test_extract_a_lightbox_links_its_full_size_picture_in_data_src() -> None:
    # Fancybox, lightGallery and Magnific Popup anchors often have no href: the picture they open
    # is in data-src (data-mfp-src). Before, only href was read, and the full-size pictures missed.
    html = """<a data-fancybox="gallery" data-src="big/1.jpg"><img src="t1.jpg"></a>
    <a class="popup" data-mfp-src="/big/2.jpg" href="javascript:void(0)"><img src="t2.jpg"></a>
    <a data-fancybox data-src="#popup-1">Quick view</a>"""
    links = [url for url, _key in extract(html.encode(), PAGE).links]
    assert links == ["http://site.test/dir/big/1.jpg", "http://site.test/big/2.jpg"]


def test_extract_data_src_on_an_element_with_no_src_of_its_own() -> None:
    # jQuery Lazy and bLazy make an element's data-src its background; lightGallery opens the
    # picture an <li>'s data-src names. Before, data-src was read on <img> (and <iframe>, <a>) alone.
    html = """<div class="b-lazy" data-src="/img/hero.jpg" style="height:300px"></div>
    <section class="lazy"
        data-src="../img/band.webp"></section>
    <ul id="lightgallery"><li data-src="/photos/7/full"><img src="t7.png"></li></ul>
    <div data-src="true"></div><div class="data-src">x</div><div data-srcset="no.png 1x"></div>
    <video data-src="movie.mp4"></video><img data-src="lazy.png">
    <p>write data-src="text.png" on a div</p>"""
    refs = extract(html.encode(), PAGE)
    assert {url: form for url, _key, form, *_words in refs.images} == {
        "http://site.test/img/hero.jpg": "lazy", "http://site.test/img/band.webp": "lazy",
        "http://site.test/dir/t7.png": "img", "http://site.test/dir/lazy.png": "lazy", FAVICON: "favicon"}
    assert [url for url, _key in refs.links] == ["http://site.test/photos/7/full"]


def test_extract_reads_blazy_retina_pairs_as_two_pictures() -> None:
    # bLazy writes a picture and its retina twin in one data-src, split by "|", on an <img> or as a
    # background; its script loads one of them by the screen's pixel ratio. Before, the pair was read
    # as one URL ("a.jpg%7Ca@2x.jpg"), which no server has. A "|" after a "?" is the query's own
    # (a static map's markers) and splits nothing.
    html = """<img class="b-lazy" src="data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw=="
        data-src="/img/cat.jpg|/img/cat@2x.jpg" alt="cat">
    <div class="b-lazy" data-src="hero.png|hero@2x.png"></div>
    <img data-src="/map?markers=a|b&size=600x300"><img data-src="/static?markers=red|40.7,-73.9">
    <img data-src="/a.jpg?v=2|/a@2x.jpg?v=2">"""
    assert set(images(html)) == {"http://site.test/img/cat.jpg", "http://site.test/img/cat@2x.jpg",
                                 "http://site.test/dir/hero.png", "http://site.test/dir/hero@2x.png",
                                 "http://site.test/map?markers=a|b&size=600x300",
                                 "http://site.test/static?markers=red|40.7,-73.9",
                                 "http://site.test/a.jpg?v=2", "http://site.test/a@2x.jpg?v=2", FAVICON}
    widest = extract(html.encode(), PAGE, srcset="largest")
    assert {url for url, *_rest in widest.images} == {
        "http://site.test/img/cat@2x.jpg", "http://site.test/dir/hero@2x.png",
        "http://site.test/map?markers=a|b&size=600x300", "http://site.test/static?markers=red|40.7,-73.9",
        "http://site.test/a@2x.jpg?v=2", FAVICON}


def test_extract_writes_a_query_in_the_pages_encoding_as_a_browser_sends_it() -> None:
    # A browser percent-encodes the query of a page's link in the page's encoding, the path in
    # UTF-8. Before, every query went as UTF-8: on a Shift_JIS or Windows-1252 page a non-ASCII
    # query asked the server for a URL the page never named.
    def refs(html: str, encoding: str, header: str | None = None) -> list[str]:
        found = extract(html.encode(encoding, errors="xmlcharrefreplace"), PAGE, header)
        return [url for url, _key in found.links] + [url for url, *_rest in found.images[:-1]]

    japanese = '<meta charset="shift_jis"><a href="ページ.html?p=日本&amp;n=1">x</a><img src="/i.png?t=😀">'
    assert refs(japanese, "shift_jis") == [
        "http://site.test/dir/ページ.html?p=%93%FA%96%7B&n=1", "http://site.test/i.png?t=%26%23128512%3B"]
    french = '<a href="/recherche?q=café">x</a><img src="/photo.jpg?légende=été">'
    assert refs(french, "cp1252", "ISO-8859-1") == [
        "http://site.test/recherche?q=caf%E9", "http://site.test/photo.jpg?l%E9gende=%E9t%E9"]
    assert refs(french, "cp1252") == refs(french, "cp1252", "ISO-8859-1")  # undeclared, not UTF-8
    assert refs(french, "utf-8") == ["http://site.test/recherche?q=café", "http://site.test/photo.jpg?légende=été"]
    utf16 = '<meta charset="utf-16"><a href="/recherche?q=café">x</a>'
    assert refs(utf16, "utf-16", "utf-16") == ["http://site.test/recherche?q=café"]


@pytest.mark.parametrize(("label", "text", "written_in", "query"), [
    ("gb2312", "圖", "gbk", "%88D"),  # a traditional character GBK has and GB2312 lacks
    ("euc-kr", "똠", "cp949", "%8Cc"),  # a syllable of Windows-949's, not of EUC-KR's
    ("shift_jis", "①", "cp932", "%87%40"),  # NEC's circled digits, on half the Japanese web
    ("iso-8859-1", "€", "cp1252", "%80"),  # Windows-1252's, in 0x80 to 0x9F
    ("us-ascii", "é", "cp1252", "%E9"),
    ("iso-8859-9", "€", "cp1254", "%80"),
    ("tis-620", "€", "cp874", "%80"),
])
def test_extract_reads_a_charset_label_as_the_encoding_standard_does(label: str, text: str, written_in: str,
                                                                       query: str) -> None:
    # Browsers read a label as the Encoding standard says: GB2312 is GBK, EUC-KR Windows-949,
    # Shift_JIS Windows-31J, ISO-8859-1 and US-ASCII Windows-1252 (what the pages labelled so are
    # written in). The page was decoded with Python's codec of that name, narrower: each character
    # outside it became U+FFFD, a picture's path "/\ufffdD/x.png" that no server has (Chromium asked for
    # "/%E5%9C%96/x.png") and its alt text lost. (Its queries were written in the wide one already.)
    html = f'<meta charset="{label}"><img src="/{text}/x.png?q={text}" alt="{text}">'.encode(written_in)
    for header in (None, label):
        image = extract(html, PAGE, header).images[0]
        assert image[0] == f"http://site.test/{text}/x.png?q={query}" and image[3] == text


def test_extract_takes_a_pages_charset_in_the_html_standards_order() -> None:
    # A byte order mark first, then the server's charset (one it names that is no charset is none),
    # then the page's <meta>, where UTF-16 means UTF-8 (a page whose tags are ASCII bytes is no
    # UTF-16 page: Word's HTML says charset=unicode) and x-user-defined Windows-1252.
    def alt(html: bytes, header: str | None = None) -> str:
        return extract(html, PAGE, header).images[0][3]
    page = '<meta charset="{}"><img src="/x.png" alt="café">'
    assert alt(codecs.BOM_UTF8 + page.format("utf-8").encode(), "iso-8859-1") == "café"  # the BOM wins
    assert alt(page.format("windows-1252").encode("cp1252"), "no-such-charset") == "café"
    for label in ("utf-16", "UTF-16LE", "unicode"):
        assert alt(page.format(label).encode()) == "café"  # (before: nothing found at all)
    assert alt(page.format("x-user-defined").encode("cp1252")) == "café"


def test_extract_takes_a_meta_charset_that_comes_after_a_long_script_or_comment() -> None:
    # Its first 4 KiB were all the <meta> was looked for in; a page that begins with a long inline
    # script (an analytics snippet, a theme's settings) or comment declares its charset after them,
    # and Chromium reads it so. Read as Windows-1252, a Shift_JIS picture's path was mojibake.
    for before in ("<script>var settings = '" + "x" * 5000 + "';</script>", "<!-- " + "x" * 5000 + " -->"):
        html = (f'<html><head>{before}<meta charset="shift_jis"></head><body>'
                '<img src="/写真/x.png?q=写真" alt="写真">').encode("cp932")
        image = extract(html, PAGE).images[0]
        assert (image[0], image[3]) == ("http://site.test/写真/x.png?q=%8E%CA%90%5E", "写真")
    # one inside a comment or a script declares nothing
    hidden = ("<script>var s = '" + "x" * 5000 + "<meta charset=shift_jis>';</script>"
              '<img src="/写真/x.png" alt="写真">').encode("utf-8")
    assert extract(hidden, PAGE).images[0][3] == "写真"


def test_extract_reads_the_picture_a_wix_image_shows_once_its_script_runs() -> None:
    # Wix renders a picture as <wow-image data-image-info="{json}"> around a blurred placeholder,
    # which its script replaces with the picture the JSON names. Before, the 147-pixel blur was all
    # a Wix site gave.
    info = json.dumps({"containerId": "comp-1", "displayMode": "fill", "imageData": {
        "width": 1920, "height": 1280, "uri": "11062b_f6e1~mv2.jpg", "name": "IMG_2041.jpg",
        "displayMode": "fill", "focalPoint": [50, 40]}}).replace('"', "&quot;")
    blur = ("https://static.wixstatic.com/media/11062b_f6e1~mv2.jpg/v1/fill/w_147,h_98,al_c,q_80,"
            "usm_0.66_1.00_0.01,blur_2,enc_auto/11062b_f6e1~mv2.jpg")
    html = (f'<div id="bgLayers"><wow-image id="img_comp-1" data-image-info="{info}" data-has-ssr-src="">'
            f'<img src="{blur}" alt="The harbour at dawn"></wow-image></div>'
            """<wix-image data-image-info='{"imageData": {"uri": "a1b2~mv2.png"}}'><img src="x.png"></wix-image>
            <div data-image-info="shown on hover"></div><div data-image-info='{"imageData": {"uri": 7}}'></div>""")
    refs = extract(html.encode(), PAGE)
    assert {url: (form, alt) for url, _key, form, alt, *_rest in refs.images} == {
        "https://static.wixstatic.com/media/11062b_f6e1~mv2.jpg": ("lazy", ""),
        blur: ("img", "The harbour at dawn"), "https://static.wixstatic.com/media/a1b2~mv2.png": ("lazy", ""),
        "http://site.test/dir/x.png": ("img", ""), FAVICON: ("favicon", "")}


def test_extract_reads_a_sourceless_imgs_own_lazy_attribute() -> None:
    # Sites write their own lazy loaders under names of their own (data-img-src, data-hi-res-src):
    # an <img> with no source but a data: placeholder, and a data- attribute naming a picture's
    # file, shows that picture once the site's script runs. Before, it showed nothing of it (and
    # its 1x1 placeholder was kept as a picture of the page).
    gif = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw=="
    html = f"""<img data-img-src="/photos/harbour.jpg" alt="Harbour" class="js-lazy">
    <img src="{gif}" data-hi-res-src="https://cdn.test/p/2.webp?w=1600" data-id="2" data-caption="a.jpg b">
    <img src="real.png" data-zoom-image="/zoom/real-big.png">
    <img data-track="click" data-href="/gallery/">"""
    refs = extract(html.encode(), PAGE)
    assert {url: (form, alt) for url, _key, form, alt, *_rest in refs.images} == {
        "http://site.test/photos/harbour.jpg": ("lazy", "Harbour"), "https://cdn.test/p/2.webp?w=1600": ("lazy", ""),
        "http://site.test/dir/real.png": ("img", ""), FAVICON: ("favicon", "")}
    assert refs.inline == []


def test_extract_a_tag_written_in_an_attribute_value_is_read_without_its_quotes() -> None:
    # A tooltip's or popover's HTML in an attribute (Bootstrap's data-content) writes its own quotes
    # as &quot;: its picture, which the popover shows, was asked for as "http://site.test/"/tip.png"",
    # a URL no server has.
    html = """<button data-toggle="popover" data-html="true"
        data-content="<img src=&quot;/tip.png&quot;> <a href=&quot;/more.html&quot;>more</a>">?</button>
        <img src='"'>"""
    refs = extract(html.encode(), PAGE)
    assert [url for url, *_rest in refs.images] == ["http://site.test/tip.png", "http://site.test/dir/\"", FAVICON]
    assert [url for url, _key in refs.links] == ["http://site.test/more.html"]


def test_extract_finds_the_tag_of_a_background_wherever_its_attributes_put_it() -> None:
    # The tags read for a style, a lazy background or a data-src are found from where those names
    # are in the page: one whose attributes hold a "<" or run long is found all the same, and a page
    # of text full of such names (past what is looked up one by one) loses none of them.
    long_value = "x" * 100_000
    tooltip = "<div class='card'><p><b>One</b> <i>two</i> <u>three</u> <s>four</s> <em>five</em></p></div>"
    html = (f'<div title="a <b> c <3" style="background: url(/lt.png)"></div>'
            f'<a data-toggle="popover" data-content="{tooltip}" data-bg="/tip.png">?</a>'
            f'<div data-x="{long_value}" data-bg="/far.png"></div>'
            f'<div style="color:red" data-bg="/second.png" data-src="/third.png"></div>'
            '<p>a text on url(x) and <code>data-bg="/not.png"</code></p>'
            + "<p>" + "url(x) " * 5000 + "</p>" + '<span style="background:url(/last.png)"></span>')
    assert set(images(html)) == {"http://site.test/lt.png", "http://site.test/tip.png", "http://site.test/far.png",
                                 "http://site.test/second.png", "http://site.test/third.png",
                                 "http://site.test/last.png", FAVICON}
    assert set(images(html.replace("url(x) " * 5000, "url(x) " * 10))) == set(images(html))


def test_extract_reads_markup_as_a_browser_tokenizes_it() -> None:
    # A quote outside a value (after no "=") is part of an attribute's name: it used to open a
    # value that swallowed the tag, and the <img> was lost.
    assert set(images('<img alt="5" wide" src="/x.png"><img src="/y.png">')) == {
        "http://site.test/x.png", "http://site.test/y.png", FAVICON}
    # A comment or a script the page ends inside runs to the end of the page, and a browser shows
    # nothing of what follows; so does a tag the page ends inside, which it drops.
    assert images('<img src="/a.png"><!-- <img src="/b.png">') == ["http://site.test/a.png", FAVICON]
    assert images("<img src='/a.png'><script>document.write('<img src=\"/c.png\">')") == [
        "http://site.test/a.png", FAVICON]
    assert images('<img src="/a.png"><div style="background:url(/d.png)" title="x') == [
        "http://site.test/a.png", FAVICON]


@pytest.mark.parametrize("markup", [
    '<div title="<script>"></div><img src="/shown.png"><script>var a = 1</script>',  # text in a value
    '<a title="Use <!-- for a note" href="/">x</a><img src="/shown.png"><!-- later -->',
    '<p data-tip="<title>">?</p><img src="/shown.png">',
    '<p title="a > b <script>">?</p><img src="/shown.png">',  # a ">" in the value before it
    '<title-bar>Photos</title-bar><img src="/shown.png">',  # a custom element's name
    '<style-guide><img src="/shown.png"></style-guide>',
    '<svg viewBox="0 0 9 9"><title/><path d="M0 0h9"/></svg><img src="/shown.png">',  # SVG's empty ones
    '<svg viewBox="0 0 9 9"><style/></svg><img src="/shown.png"><style>p {}</style>',
    '<!--><img src="/shown.png"><!-- later -->',  # the HTML standard's empty comments
    '<!---><img src="/shown.png"><!-- later -->',
    '<!-- a note --!><img src="/shown.png"><!-- later -->',  # and a comment's other end
])
def test_extract_hides_only_the_comments_and_raw_text_a_browser_hides(markup: str) -> None:
    # A comment, script, style or title was found by its opening text wherever that stood: in an
    # attribute's value, at the start of a custom element's name, or as SVG's self-closed <title/>,
    # and a comment ended only at "-->". Each hid the page from there to the next "-->" or "</title>"
    # (to its end, where none came): here the picture Chromium shows after it.
    assert images(markup) == ["http://site.test/shown.png", FAVICON]


def test_extract_still_hides_what_a_browser_hides() -> None:
    # An HTML <script> is not closed by "/>" (a browser reads on to </script>), nor is a comment by
    # "->"; text that only looks like a tag inside a script or a comment is no tag.
    assert images('<script src="/x.js"/><img src="/hidden.png"></script><img src="/a.png">') == [
        "http://site.test/a.png", FAVICON]
    assert images('<!-- x -><img src="/hidden.png"> --><img src="/a.png">') == ["http://site.test/a.png", FAVICON]
    assert images('<script>if (a <b) { x = "<img src=/hidden.png>" }</script><img src="/a.png">') == [
        "http://site.test/a.png", FAVICON]
    assert images('<title>A <img src="/hidden.png"> title</title><textarea><img src="/no.png"></textarea>'
                  '<img src="/a.png">') == ["http://site.test/a.png", FAVICON]


def test_extract_the_source_imgix_js_makes_an_images_src() -> None:
    # imgix.js (v3) gives an <img ix-src> its src and a srcset of the same picture; nothing else
    # names it. Before, such an image was not seen.
    html = '<img ix-src="https://shop.imgix.net/p/shoe.jpg?w=500&amp;fit=crop" sizes="(min-width: 768px) 540px, 100vw">'
    assert found(html) == {"https://shop.imgix.net/p/shoe.jpg?w=500&fit=crop": "lazy", FAVICON: "favicon"}


def test_extract_reads_shadow_roots_inside_shadow_roots_to_a_bounded_depth() -> None:
    # Thousands of shadow-root templates the page never closes, each holding the next: each was read
    # inside the one before, until Python's stack overflowed (RecursionError: the page was lost).
    html = "".join(f'<template shadowrootmode="open"><img src="/{n}.png">' for n in range(3000))
    assert images(html) == [f"http://site.test/{n}.png" for n in range(MAX_SHADOW_DEPTH)] + [FAVICON]


def test_extract_the_caption_of_a_figure_reaches_every_picture_of_the_figures_inside_it() -> None:
    # Figures without a caption hand their pictures to the figure around them, whichever holds more
    # (the shorter list joins the longer: a page of unclosed figures copied every list, each time).
    html = """<figure><img src="/o1.png"><img src="/o2.png">
      <figure><img src="/a.png"></figure>
      <figure><img src="/b1.png"><img src="/b2.png"><img src="/b3.png"><figure><img src="/c.png"></figure></figure>
      <figcaption>All of them</figcaption></figure>"""
    found = words_of(html)
    assert {name: caption for name, (_alt, _title, caption) in found.items() if name != "favicon.ico"} == {
        name: "All of them" for name in ("o1.png", "o2.png", "a.png", "b1.png", "b2.png", "b3.png", "c.png")}


def test_extract_a_charset_with_a_nul_in_it_is_an_unknown_one() -> None:
    # codecs.lookup raises ValueError, not LookupError, on "utf\0-8": the page failed as an internal error
    html = b'<a href="/s?q=caf\xe9">x</a>'
    assert [link[0] for link in extract(html, PAGE, "utf\x00-8").links] == ["http://site.test/s?q=caf%E9"]
