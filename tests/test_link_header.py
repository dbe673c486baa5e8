from crawler.node.link_header import MAX_LINKS, parse_link_header


def test_link_header_splits_at_the_commas_between_links_only() -> None:
    header = ('</a.png>; rel=preload; as=image, </b,c.png>;rel="preload";AS="image";'
              'imagesrcset="/c.png 1x, /d.png 2x" , <https://cdn.test/s.css>; rel=stylesheet')
    assert parse_link_header(header) == [
        ("/a.png", {"rel": "preload", "as": "image"}),
        ("/b,c.png", {"rel": "preload", "as": "image", "imagesrcset": "/c.png 1x, /d.png 2x"}),
        ("https://cdn.test/s.css", {"rel": "stylesheet"}),
    ]


def test_link_header_reads_quoted_values_flags_and_the_first_of_a_name() -> None:
    header = r'< /x.png >; rel="pre\"load"; crossorigin; rel=icon; title*=UTF-8' + "''caf%C3%A9"
    assert parse_link_header(header) == [
        ("/x.png", {"rel": 'pre"load', "crossorigin": "", "title*": "UTF-8''caf%C3%A9"})]


def test_link_header_skips_what_is_not_a_link_and_stops_at_what_cannot_end() -> None:
    assert parse_link_header('rel=preload, </a.png>; rel=preload junk; as=image, </b.png>') == [
        ("/a.png", {"rel": "preload"}), ("/b.png", {})]  # junk: the rest of that link-value is no parameter
    assert parse_link_header('</a.png>; rel="preload, </b.png>; rel=preload') == [
        ("/a.png", {"rel": "preload, </b.png>; rel=preload"})]  # an unclosed quote runs to the end
    assert parse_link_header("</a.png; rel=preload") == []
    assert parse_link_header("") == []


def test_link_header_reads_a_bounded_number_of_links() -> None:
    assert len(parse_link_header(", ".join(f"</{n}.png>; rel=preload" for n in range(5 * MAX_LINKS)))) == MAX_LINKS
