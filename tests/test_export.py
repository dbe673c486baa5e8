"""`crawler export --layout names`: the images under their sites' names, never outside the export folder."""

import json
import os
from pathlib import Path

import pytest

from crawler.cli import main
from crawler.errors import ConfigError
from crawler.output.export import export_by_name
from crawler.storage import original_name, safe_name


def stored(root: Path, number: int, url: str, name: str | None, data: bytes | None = None,
           extension: str = "png") -> dict:
    sha = f"{number:064x}"
    path = f"images/site.test/{sha}.{extension}"
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_bytes(data or f"image {number}".encode())
    return {"url": url, "path": path, "sha256": sha, "name": name}


def write_manifest(root: Path, records: list[dict]) -> None:
    (root / "manifest.jsonl").write_text("".join(json.dumps(record) + "\n" for record in records))


@pytest.mark.parametrize(("url", "name"), [
    ("http://a.test/photos/sunset.jpg?size=large", "sunset.jpg"),
    ("http://a.test/caf%C3%A9%20au%20lait.png", "café au lait.png"),
    ("http://a.test/..%2F..%2Fetc%2Fpasswd", "_.._etc_passwd"),  # separators inside a segment are no separators
    ("http://a.test/.htaccess", "htaccess"),  # no hidden files
    ("http://a.test/a%00b%0Ac:d*e%3F.gif", "a_b_c_d_e_.gif"),
    # bidirectional controls (a file manager shows photo<U+202E>gnp.exe as "photoexe.png") and C1 controls
    ("http://a.test/photo%E2%80%AEgnp.exe", "photo_gnp.exe"), ("http://a.test/a%C2%85b%E2%81%A7.png", "a_b_.png"),
    ("http://a.test/gallery/", None), ("http://a.test/%2e%2e", None),
    # the names Windows keeps for devices, whatever the case and the extension: such a file cannot be
    # opened there (an export copied to a Windows disk or share); names that only start so are names
    ("http://a.test/CON.png", "_CON.png"), ("http://a.test/aux.tar.gz", "_aux.tar.gz"),
    ("http://a.test/com1.jpg", "_com1.jpg"), ("http://a.test/nul", "_nul"),
    ("http://a.test/console.png", "console.png"), ("http://a.test/com10.png", "com10.png"),
])
def test_original_name_is_the_last_segment_made_safe(url: str, name: str | None) -> None:
    assert original_name(url) == name


def test_a_long_name_keeps_its_extension_within_the_bytes_a_file_system_takes() -> None:
    name = safe_name("é" * 300 + ".jpeg")
    assert name.endswith(".jpeg") and len(name.encode()) <= 200


def test_export_links_each_image_under_host_path_and_name(tmp_path: Path) -> None:
    output, into = tmp_path / "out", tmp_path / "named"
    write_manifest(output, [
        stored(output, 1, "http://site.test/2024/06/sunset.jpg", "sunset.jpg", extension="jpg"),
        stored(output, 2, "http://site.test/2024/07/sunset.jpg?v=2", "sunset.jpg", extension="jpg"),
        stored(output, 3, "http://site.test/img?id=1", "img"),
        stored(output, 4, "http://site.test/img?id=2", "img"),  # another image wants the same name
        stored(output, 5, "http://site.test/", None),  # no name of its own: its hash names it
        stored(output, 6, "http://site.test/%2e%2e/%2e%2e/..%2F..%2Fescape.png", "../../escape.png"),
        stored(output, 7, "http://site.test/100%2525.png", "100%25.png"),  # a name, not a URL: not decoded again
    ])
    done = export_by_name(output, into)
    files = sorted(p.relative_to(into).as_posix() for p in into.rglob("*") if p.is_file())
    assert files == ["site.test/" + "0" * 16 + ".png", "site.test/100%25.png", "site.test/2024/06/sunset.jpg",
                     "site.test/2024/07/sunset.jpg", "site.test/_.._escape.png", "site.test/img-2.png",
                     "site.test/img.png"]
    assert (done.linked + done.copied, done.renamed, done.missing) == (7, 1, 0)
    assert (into / "site.test/img-2.png").read_bytes() == b"image 4"
    if done.linked:  # a hard link: the bytes are not stored twice
        assert os.path.samefile(into / "site.test/img.png", output / "images/site.test" / f"{3:064x}.png")
    again = export_by_name(output, into)  # an export run twice adds nothing
    assert (again.present, again.linked + again.copied) == (7, 0)


def test_export_refuses_the_stores_own_folders_and_symlinks_out(tmp_path: Path) -> None:
    output = tmp_path / "out"
    write_manifest(output, [stored(output, 1, "http://site.test/a/x.png", "x.png")])
    for inside in (output, output / "images", output / "images" / "site.test", output / ".crawler",
                   output / "thumbnails"):  # the gallery's
        with pytest.raises(ConfigError, match="mix with the crawl's own files"):
            export_by_name(output, inside)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    into = tmp_path / "named"
    (into / "site.test").mkdir(parents=True)
    (into / "site.test" / "a").symlink_to(elsewhere)  # planted: site.test/a leads out of the export folder
    with pytest.raises(ConfigError, match="leads outside"):
        export_by_name(output, into)
    assert list(elsewhere.iterdir()) == []


def test_export_counts_records_whose_file_is_gone_and_leaves_out_a_path_not_the_stores(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    output = tmp_path / "out"
    gone = stored(output, 1, "http://site.test/gone.png", "gone.png")
    (output / gone["path"]).unlink()
    forged = {**stored(output, 2, "http://site.test/f.png", "f.png"), "path": "../../etc/passwd"}
    write_manifest(output, [gone, forged])
    done = export_by_name(output, tmp_path / "named")
    assert (done.missing, done.linked + done.copied) == (1, 0)
    assert "1 line left out, not its records (line 2)" in caplog.text


def test_export_names_end_as_what_the_file_is(tmp_path: Path) -> None:
    # Viewers go by the extension: a name without one, or with one that is no image type's, gets the
    # file's; one naming another image type (a CDN that sent WebP for logo.png) is replaced.
    output, into = tmp_path / "out", tmp_path / "named"
    write_manifest(output, [
        stored(output, 1, "http://site.test/photo/12345", "12345", extension="jpg"),
        stored(output, 2, "http://site.test/image.php?id=7", "image.php", extension="jpg"),
        stored(output, 3, "http://site.test/logo.png", "logo.png", extension="webp"),
        stored(output, 4, "http://site.test/Holiday.JPEG", "Holiday.JPEG", extension="jpg"),
        stored(output, 5, "http://site.test/icons/.svg", "svg", extension="svg"),
    ])
    export_by_name(output, into)
    assert sorted(p.relative_to(into).as_posix() for p in into.rglob("*") if p.is_file()) == [
        "site.test/Holiday.JPEG", "site.test/icons/svg.svg", "site.test/image.php.jpg", "site.test/logo.webp",
        "site.test/photo/12345.jpg"]


@pytest.mark.parametrize(("given", "name"), [
    ("Harbour at dusk.jpg", "Harbour at dusk.jpg"), ("../../etc/passwd", "_.._etc_passwd"),
    ("..", "attachment.php"), ("", "attachment.php"), (None, "attachment.php"), ("%41.png", "%41.png"),
    ("a\x00b:c.gif", "a_b_c.gif"), ("photo\u202egnp.exe", "photo_gnp.exe")])
def test_original_name_is_the_one_the_server_gave_made_safe(given: str | None, name: str) -> None:
    # A Content-Disposition name comes from the site through a node: only what safe_file_name lets
    # through is kept, and it is a name, not a URL segment (no percent-decoding).
    assert original_name("http://site.test/attachment.php?id=3", given) == name


@pytest.mark.parametrize("own", ["manifest.jsonl", "failures.jsonl", "index.html", "images/list.csv", ".crawler/x.csv",
                                 "thumbnails/x.csv"])
def test_export_to_a_file_of_the_crawls_own_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       own: str) -> None:
    # `crawler export out -f out/manifest.jsonl` wrote the CSV over the crawl's manifest: the record
    # of every image saved, which inspect, export and the gallery read
    output = tmp_path / "out"
    write_manifest(output, [stored(output, 1, "http://site.test/a/x.png", "x.png")])
    manifest = (output / "manifest.jsonl").read_bytes()
    assert main(["export", str(output), "-f", str(output / own)]) == 1
    assert f"{output / own} is one of the crawl's own files" in capsys.readouterr().err
    assert (output / "manifest.jsonl").read_bytes() == manifest
    assert main(["export", str(output), "-f", str(output / "export.csv")]) == 0  # beside them: the user's
    assert "site.test/a/x.png" in (output / "export.csv").read_text()


def test_export_to_a_dash_writes_standard_output(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # `-f -`, as curl's -o - and wget's -O - mean standard output: it wrote a file named "-"
    output = tmp_path / "out"
    write_manifest(output, [stored(output, 1, "http://site.test/a/x.png", "x.png")])
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(output), "-f", "-"]) == 0
    assert "site.test/a/x.png" in capsys.readouterr().out
    assert not (tmp_path / "-").exists()
