"""Debian's headless Chromium under Selenium, for the benchmarks and the browser tests (never product code)."""

from __future__ import annotations

import shutil
import time
from typing import Any

# Without the background-networking flags Chromium keeps trying hosts this closed network refuses.
# It resolves no name either: the sites are all on 127.0.0.1, and a real site's page that shows a
# picture from the web would otherwise have it fetched (online) beside what is measured.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1200,900",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")


def available() -> bool:
    return bool((shutil.which("chromium") or shutil.which("chromium-browser")) and shutil.which("chromedriver"))


def start() -> Any:
    """A new headless Chromium driver; the caller quits it. Raises RuntimeError where none is installed."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        raise RuntimeError("Debian's chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver_path), options=options)


def visit_all(urls: list[str], settle_seconds: float = 5.0) -> None:
    """Load and scroll each page as a person would, until its images have finished loading."""
    driver = start()
    try:
        for url in urls:
            driver.get(url)
            # a document with no <body> yet (or none: an SVG, XHTML) is scrolled by its root
            driver.execute_script("window.scrollTo(0, (document.body || document.documentElement).scrollHeight)")
            deadline = time.monotonic() + settle_seconds
            while time.monotonic() < deadline and driver.execute_script(
                    "return document.readyState !== 'complete' || "
                    "[...document.images].some(image => image.currentSrc && !image.complete)"):
                time.sleep(0.05)
    finally:
        driver.quit()


def shown_images(urls: list[str], settle_seconds: float = 2.0) -> list[str]:
    """The `currentSrc` of every `<img>` Chromium shows (loaded, not broken) on each page, data: URIs included."""
    shown: list[str] = []
    driver = start()
    try:
        for url in urls:
            driver.get(url)
            deadline = time.monotonic() + settle_seconds
            while time.monotonic() < deadline and driver.execute_script("return document.readyState !== 'complete'"):
                time.sleep(0.05)
            shown += driver.execute_script(
                "return [...document.images].filter(image => image.complete && image.naturalWidth > 0)"
                ".map(image => image.currentSrc)")
    finally:
        driver.quit()
    return shown
