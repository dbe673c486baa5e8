"""The Scrapy reference crawl for the benchmark: the same pages, the same image forms, FilesPipeline.

Run by scrapy_reference.py as `scrapy runspider`; made fair on purpose: robots.txt obeyed,
16 concurrent requests, no delay, files deduplicated by Scrapy's own media cache.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import scrapy


def _srcset(value: str) -> list[str]:
    return [part.strip().split()[0] for part in value.split(",") if part.strip()]


class ReferenceSpider(scrapy.Spider):
    name = "reference"
    custom_settings = {
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        "DOWNLOAD_DELAY": 0,
        "ROBOTSTXT_OBEY": True,
        "AUTOTHROTTLE_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "ITEM_PIPELINES": {"scrapy.pipelines.files.FilesPipeline": 1},
        "MEDIA_ALLOW_REDIRECTS": True,
    }

    def __init__(self, start: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_urls = [start]
        self.allowed_domains = [urlsplit(start).hostname]

    def parse(self, response):
        if not hasattr(response, "css"):
            return
        for href in response.css("a::attr(href), area::attr(href)").getall():
            url = response.urljoin(href)
            # as Scrapy's LinkExtractor does: response.follow() raises on mailto: and javascript:
            # links, and the exception ends the callback, dropping the page's other links and images
            if urlsplit(url).scheme in ("http", "https"):
                yield response.follow(url, self.parse)
        found = response.css("img::attr(src), img::attr(data-src), img::attr(data-original), "
                             "input[type=image]::attr(src), meta[property='og:image']::attr(content)").getall()
        for value in response.css("img::attr(srcset), img::attr(data-srcset), source::attr(srcset)").getall():
            found += _srcset(value)
        urls = [response.urljoin(url) for url in found if url and not url.startswith("data:")]
        if urls:
            yield {"file_urls": urls}
