"""What a real browser loads, the crawler finds: headless Chromium against the same generated site."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from benchmarks import browser
from benchmarks.site import generate_site

pytestmark = pytest.mark.slow


def test_browser_coverage_crawler_saves_every_image_chromium_loads(tmp_path: Path, serve_site, processes) -> None:
    truth = generate_site(tmp_path / "site", pages=40, images=120)
    site = serve_site(tmp_path / "site", redirects=truth.redirects)
    # A picture only a page's Link header names (a hero image preloaded): Chromium fetches it too.
    hero = io.BytesIO()
    Image.new("RGB", (64, 48), (201, 33, 77)).save(hero, "PNG")
    (tmp_path / "site" / "img" / "hero.png").write_bytes(hero.getvalue())
    site.response_headers["p/3.html"] = {"Link": '</img/hero.png>; rel="preload"; as="image"; fetchpriority=high'}

    if not browser.available():
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    browser.visit_all([site.url + page for page in truth.pages])
    assert site.hits["img/hero.png"] == 1
    loaded = set(site.hits) & set(truth.images)
    # The browser really did load images from stylesheets, inline styles and the rest, so the
    # comparison below cannot pass on an empty set.
    loaded_forms = {form for path in loaded for form in truth.forms[path]}
    assert {"img", "css-inline", "css-style", "css-linked", "poster", "svg-image", "object"} <= loaded_forms
    assert len(loaded) >= 0.9 * len(truth.browser_images - {"favicon.ico"})

    site.hits.clear()
    output = tmp_path / "out"
    result = processes.run("run", site.url, "--output", str(output), "--delay", "0", "--per-host", "8",
                           "--quiet", timeout=120)
    assert result.returncode == 0, result.stderr
    saved = {json.loads(line)["sha256"] for line in (output / "manifest.jsonl").read_text().splitlines()}
    missed = {path for path in loaded if truth.images[path] not in saved}
    assert not missed, f"Chromium loaded {len(loaded)} images; the crawler missed {sorted(missed)}"
    # And more: what only a crawler reads (lazy attributes, noscript, metadata, JSON-LD) is saved too.
    assert saved == set(truth.images.values()) | {hashlib.sha256(hero.getvalue()).hexdigest()}
    assert max(site.hits.values()) == 1  # no duplicate fetch
