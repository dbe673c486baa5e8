"""Seeing the crawl: `crawler status` while it runs, and the gallery in a real headless browser."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from benchmarks.gallery_bench import fabricate_output
from benchmarks.site import generate_site, make_image
from tests.integration.conftest import REPO, finish, headless_browser
from tests.integration.test_resilience import wait_for_images

pytestmark = pytest.mark.slow
ARTIFACTS = REPO / "test-artifacts"


def test_observe_status_from_another_terminal(tmp_path: Path, serve_site, processes) -> None:
    truth = generate_site(tmp_path / "site", pages=30, images=120)
    site = serve_site(tmp_path / "site", image_delay=0.15)
    output = tmp_path / "out"
    scheduler, port = processes.start_scheduler(site.url, "--output", str(output), "--delay", "0",
                                                "--per-host", "4")
    processes.start_worker(port, "--threads", "4", "--node-id", "watched")
    wait_for_images(output, 10)
    time.sleep(1.1)  # the scheduler publishes its picture once a second
    shown = processes.run("status", f"127.0.0.1:{port}", "--json")
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    assert status["state"] == "running" and status["images"]["saved"] >= 10
    assert [node["node"] for node in status["nodes"]] == ["watched"]
    assert status["hosts"][0]["origin"] == site.url.rstrip("/")
    text = processes.run("status", f"127.0.0.1:{port}")
    assert text.returncode == 0 and "watched" in text.stdout and "pending" in text.stdout
    code, _out, stderr = finish(scheduler)
    assert code == 0, stderr
    summary = json.loads(processes.run("inspect", str(output), "--json").stdout)
    assert summary["images"] == truth.distinct_images() and summary["missing_files"] == []


def test_observe_a_local_run_from_another_terminal_and_a_node_from_elsewhere(tmp_path: Path, serve_site,
                                                                            processes) -> None:
    truth = generate_site(tmp_path / "site", pages=30, images=120)
    site = serve_site(tmp_path / "site", image_delay=0.1)
    output = tmp_path / "out"
    run = processes.start("run", site.url, "--output", str(output), "--workers", "1", "--threads", "2",
                          "--delay", "0", "--per-host", "4", "--quiet", key=b"")
    assert run.stdout is not None
    lines = [run.stdout.readline() for _ in range(2)]
    port = int(lines[0].split("listening on ")[1].split(",")[0].rsplit(":", 1)[1])
    assert lines[1].strip() == f"scheduler: watch it from another terminal: crawler status {output}"
    key_file = output / ".crawler" / "authkey"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    # A node on "another machine" joins the local run with the key it wrote.
    processes.start("worker", "--connect", f"127.0.0.1:{port}", "--authkey-file", str(key_file),
                    "--node-id", "joined", key=b"")
    wait_for_images(output, 10)
    time.sleep(1.1)  # the scheduler publishes its picture once a second
    shown = processes.run("status", str(output), "--json", key=b"")
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    assert status["state"] == "running" and {"local-1", "joined"} <= {node["node"] for node in status["nodes"]}
    code, _out, stderr = finish(run)
    assert code == 0, stderr
    manifest = [json.loads(line) for line in (output / "manifest.jsonl").read_text().splitlines()]
    assert {r["sha256"] for r in manifest} == set(truth.images.values())
    assert "joined" in {r["node"] for r in manifest}
    gone = processes.run("status", str(output), key=b"")  # the crawl is over: a line, not a traceback
    assert gone.returncode == 1 and "no running crawl noted" in gone.stderr
    assert f"crawler inspect {output}" in gone.stderr  # where to look instead


def test_observe_gallery_in_a_headless_browser(tmp_path: Path, serve_site, processes) -> None:
    # Two sites on two ports: two host folders in the gallery, no image shared between them.
    first = generate_site(tmp_path / "site", pages=60, images=250)
    second = generate_site(tmp_path / "other", pages=20, images=60, first_image=10_000)
    sites = [serve_site(tmp_path / "site"), serve_site(tmp_path / "other")]
    output = tmp_path / "out"
    result = processes.run("run", sites[0].url, sites[1].url, "--output", str(output), "--delay", "0",
                           "--per-host", "8", "--quiet", timeout=120)
    assert result.returncode == 0, result.stderr
    inspected = processes.run("inspect", str(output))
    assert inspected.returncode == 0 and "gallery:" in inspected.stdout
    expected = len(set(first.images.values()) | set(second.images.values()))

    driver = headless_browser()
    try:
        driver.get((output / "index.html").as_uri())
        figures = driver.execute_script("return document.querySelectorAll('figure').length")
        assert figures == expected
        assert driver.execute_script("return document.querySelectorAll('figure img[loading=lazy]').length") == expected
        visible = "return [...document.querySelectorAll('figure')].filter(f => !f.hidden).length"
        hosts = driver.execute_script("return [...document.querySelectorAll('#host option')].map(o => o.value)")
        assert len(hosts) == 3  # "all" and the two crawled hosts
        driver.execute_script(f"const s = document.getElementById('host'); s.value = {hosts[2]!r};"
                              "s.dispatchEvent(new Event('change'))")
        manifest = [json.loads(line) for line in (output / "manifest.jsonl").read_text().splitlines()]
        assert driver.execute_script(visible) == sum(1 for r in manifest if r["url"].split("/")[2] == hosts[2])
        assert driver.execute_script("return [...document.querySelectorAll('section')]"
                                     ".filter(s => !s.hidden).length") == 1
        driver.execute_script("const s = document.getElementById('host'); s.value = '';"
                              "s.dispatchEvent(new Event('change'))")
        driver.execute_script("const s = document.getElementById('type'); s.value = 'image/png';"
                              "s.dispatchEvent(new Event('change'))")
        pngs = sum(1 for record in manifest if record["content_type"] == "image/png")
        assert 0 < pngs < expected
        assert driver.execute_script(visible) == pngs
        assert driver.find_element("id", "shown").text == str(pngs)
        driver.execute_script("const s = document.getElementById('type'); s.value = '';"
                              "s.dispatchEvent(new Event('change'))")
        assert driver.execute_script(visible) == expected
        # Search: words of the URL or the page, as typed.
        driver.execute_script("const s = document.getElementById('search'); s.value = 'IMG/1.';"
                              "s.dispatchEvent(new Event('input'))")
        matching = sum(1 for r in manifest if "img/1." in r["url"].lower() or "img/1." in (r["page_url"] or "").lower())
        assert 0 < matching < expected and driver.execute_script(visible) == matching
        driver.execute_script("const s = document.getElementById('search'); s.value = '';"
                              "s.dispatchEvent(new Event('input'))")
        # Sort by size, largest first; group by page instead of host.
        driver.execute_script("const s = document.getElementById('sort'); s.value = 'bytes';"
                              "s.dispatchEvent(new Event('change'))")
        first_caption = driver.execute_script("return document.querySelector('figure figcaption').textContent")
        largest = max(manifest, key=lambda r: r["bytes"])
        words = largest["caption"] or largest["alt"] or largest["title"] or largest["name"]  # what a card says first
        assert first_caption.startswith(f"{words[:80]} · {largest['width']}×{largest['height']}")
        driver.execute_script("const s = document.getElementById('group'); s.value = 'page';"
                              "s.dispatchEvent(new Event('change'))")
        pages = {r["page_url"] for r in manifest}
        assert driver.execute_script("return document.querySelectorAll('section').length") == len(pages)
        # The lightbox: the image, its details, next and previous, Escape.
        driver.execute_script("document.querySelector('figure').click()")
        assert driver.execute_script("return document.getElementById('lightbox').hidden") is False
        details = driver.find_element("id", "details").text
        shown_first = driver.execute_script("return document.getElementById('full').getAttribute('src')")
        record = next(r for r in manifest if r["path"] == shown_first)
        assert record["url"] in details and (record["page_url"] or "a seed") in details
        assert f"{record['width']} × {record['height']}" in details
        assert driver.find_element("id", "position").text == f"1 of {expected}"
        driver.find_element("id", "next").click()
        assert driver.find_element("id", "position").text == f"2 of {expected}"
        driver.find_element("id", "previous").click()
        driver.find_element("id", "previous").click()  # wraps around
        assert driver.find_element("id", "position").text == f"{expected} of {expected}"
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "gallery-lightbox.png"))
        driver.find_element("tag name", "body").send_keys("\ue00c")  # Escape
        assert driver.execute_script("return document.getElementById('lightbox').hidden") is True
        hosts_shown = driver.execute_script("return JSON.parse(document.getElementById('records').textContent)"
                                            ".map(r => r.host)")
        assert set(hosts_shown) == {site.url.split("/")[2] for site in sites}  # 127.0.0.1:PORT, not a folder name
        loaded = driver.execute_script(
            "return [...document.images].filter(i => i.complete && i.naturalWidth > 0).length")
        assert loaded > 0  # the thumbnails in view really load from the file system
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "gallery.png"))
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == []
        _a_large_gallery_makes_its_cards_as_the_reader_scrolls(driver, tmp_path / "large")
    finally:
        driver.quit()


def _a_large_gallery_makes_its_cards_as_the_reader_scrolls(driver: Any, output: Path) -> None:
    # 50,000 cards made at once took 12 s to open and 1.3 to 1.9 s for each keystroke in the search box.
    output.mkdir()
    fabricate_output(output, 2000, hosts=3, picture=lambda number: make_image(number, "png", (8, 8)))
    inspected = subprocess.run([sys.executable, "-m", "crawler", "inspect", str(output)], cwd=REPO,
                               capture_output=True, text=True, timeout=120, check=False)
    assert inspected.returncode == 0, inspected.stderr
    cards = "return document.querySelectorAll('figure').length"
    driver.get((output / "index.html").as_uri())
    assert driver.find_element("id", "shown").text == "2000"
    assert 0 < driver.execute_script(cards) <= 400
    assert "more below" in driver.find_element("id", "more").text
    for _ in range(40):  # scrolled to the end, chunk after chunk, until every card is there
        if driver.execute_script(cards) == 2000:
            break
        driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
        time.sleep(0.1)
    indexes = driver.execute_script("return [...document.querySelectorAll('figure')].map(f => +f.dataset.index)")
    assert indexes == list(range(2000))  # each once, in order, under its host's heading
    assert driver.execute_script("return [...document.querySelectorAll('h2')].map(h => h.textContent)") == \
        ["host0.example (667)", "host1.example (667)", "host2.example (666)"]
    assert driver.find_element("id", "more").text == ""
    # A search starts again from the top, one chunk; the lightbox still reaches every match.
    driver.execute_script("const s = document.getElementById('search'); s.value = 'img/1';"
                          "s.dispatchEvent(new Event('input'))")
    matching = 1 + 10 + 100 + 1000  # img/1, img/1x, img/1xx, img/1xxx of 0 to 1999
    assert driver.find_element("id", "shown").text == str(matching)
    assert 0 < driver.execute_script(cards) <= 400
    driver.execute_script("document.querySelector('figure').click()")
    driver.find_element("id", "previous").click()  # wraps around, to a card not made yet
    assert driver.find_element("id", "position").text == f"{matching} of {matching}"
    last = driver.execute_script("return document.getElementById('full').getAttribute('src')")
    manifest = [json.loads(line) for line in (output / "manifest.jsonl").read_text().splitlines()]
    # Hosts in the order their first match comes (img/1 is on host1): host1, host2, then host0.
    assert next(r for r in manifest if r["path"] == last)["url"] == "http://host0.example/img/1998.png"
