"""OUTPUT/index.html: a self-contained gallery with thumbnails, grouped by host, filterable, file:// safe."""

from __future__ import annotations

import html
import io
import logging
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from PIL import Image

from crawler.report import host_of_path
from crawler.storage import MANIFEST_NAME, read_jsonl, save_atomic
from crawler.units import size_text

log = logging.getLogger(__name__)

THUMBNAILS_DIR = "thumbnails"
THUMBNAIL_PIXELS = 240
GALLERY_NAME = "index.html"


def make_thumbnail(output_dir: Path, record: dict[str, Any]) -> str:
    """Return the relative path of the record's thumbnail, making it if needed (the image itself if none can be)."""
    relative = f"{THUMBNAILS_DIR}/{host_of_path(record['path'])}/{record['sha256']}.jpg"
    if (output_dir / relative).is_file():
        return relative
    if record.get("content_type") == "image/svg+xml":
        return record["path"]  # a vector image is its own thumbnail
    try:
        with Image.open(output_dir / record["path"]) as picture:
            picture.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
            if picture.mode not in ("RGB", "L"):
                picture = picture.convert("RGBA")
                background = Image.new("RGB", picture.size, (255, 255, 255))
                background.paste(picture, mask=picture.getchannel("A"))
                picture = background
            out = io.BytesIO()
            picture.save(out, "JPEG", quality=80)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        log.warning("inspect: no thumbnail for %s: %s", record["path"], exc)
        return record["path"]
    save_atomic(output_dir, relative, out.getvalue())
    return relative


_STYLE = """
body{font:14px system-ui,sans-serif;margin:0;background:#f4f4f4;color:#222}
header{position:sticky;top:0;background:#fff;padding:10px 16px;border-bottom:1px solid #ddd;z-index:1}
h1{font-size:18px;margin:0 0 6px} h2{font-size:15px;margin:18px 16px 6px}
section{content-visibility:auto;contain-intrinsic-size:auto 1200px}
.grid{display:flex;flex-wrap:wrap;gap:8px;padding:0 16px}
figure{margin:0;width:180px;background:#fff;border:1px solid #ddd;padding:6px;
  content-visibility:auto;contain-intrinsic-size:auto 192px auto 215px}
figure img{width:180px;height:135px;object-fit:contain;background:#eee;display:block}
figcaption{font-size:11px;overflow-wrap:anywhere;margin-top:4px}
figcaption a{color:#246}
"""

_SCRIPT = """
const hostSelect = document.getElementById('host'), typeSelect = document.getElementById('type');
const counter = document.getElementById('shown');
function applyFilters() {
  const host = hostSelect.value, type = typeSelect.value;
  let shown = 0;
  for (const section of document.querySelectorAll('section')) {
    let visible = 0;
    for (const figure of section.querySelectorAll('figure')) {
      const match = (!host || figure.dataset.host === host) && (!type || figure.dataset.type === type);
      figure.hidden = !match;
      if (match) visible++;
    }
    section.hidden = visible === 0;
    shown += visible;
  }
  counter.textContent = shown;
}
hostSelect.addEventListener('change', applyFilters);
typeSelect.addEventListener('change', applyFilters);
"""


def _figure(record: dict[str, Any], thumbnail: str, host: str) -> str:
    e = html.escape
    size = f"{record['width']}×{record['height']}, " if record.get("width") else ""
    page = record.get("page_url") or ""
    page_link = f'<a href="{e(page)}" rel="noreferrer noopener">source page</a>' if page else "seed"
    return (f'<figure data-host="{e(host)}" data-type="{e(record.get("content_type", ""))}">'
            f'<a href="{e(record["path"])}"><img loading="lazy" src="{e(thumbnail)}" width="180" height="135" '
            f'alt="{e(record["url"][-80:])}"></a><figcaption>{size}{size_text(int(record.get("bytes", 0)))}, '
            f'{e(record.get("content_type", ""))}<br>{page_link}: <span title="{e(page)}">'
            f'{e(page[:90])}</span></figcaption></figure>')


def write_gallery(output_dir: Path) -> Path:
    """Write OUTPUT/index.html (and missing thumbnails); return its path."""
    records = read_jsonl(output_dir / MANIFEST_NAME)
    by_host: dict[str, list[str]] = defaultdict(list)
    types = sorted({r.get("content_type", "") for r in records})
    for record in records:
        host = host_of_path(record["path"])
        by_host[host].append(_figure(record, make_thumbnail(output_dir, record), host))
    e = html.escape
    host_options = "".join(f'<option value="{e(h)}">{e(h)} ({len(f)})</option>' for h, f in sorted(by_host.items()))
    type_options = "".join(f'<option value="{e(t)}">{e(t)}</option>' for t in types)
    sections = "".join(f'<section><h2>{e(host)} ({len(figures)})</h2><div class="grid">{"".join(figures)}</div>'
                       f'</section>' for host, figures in sorted(by_host.items()))
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Crawl gallery</title>'
            f'<meta name="viewport" content="width=device-width"><style>{_STYLE}</style></head><body>'
            f'<header><h1>{len(records)} images from {len(by_host)} hosts</h1>'
            f'<label>host <select id="host"><option value="">all</option>{host_options}</select></label> '
            f'<label>type <select id="type"><option value="">all</option>{type_options}</select></label> '
            f'<span><span id="shown">{len(records)}</span> shown</span></header>{sections}'
            f'<script>{_SCRIPT}</script></body></html>\n')
    path = output_dir / GALLERY_NAME
    temp = path.with_name(GALLERY_NAME + ".tmp")
    temp.write_text(page, encoding="utf-8")
    os.replace(temp, path)
    return path
