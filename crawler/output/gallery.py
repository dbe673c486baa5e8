"""OUTPUT/index.html: one self-contained gallery page (search, filters, sort, grouping, a lightbox), file:// safe."""

from __future__ import annotations

import functools
import html
import io
import json
import logging
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PIL import Image, ImageOps

from crawler.storage import (
    GALLERY_NAME,
    MANIFEST_NAME,
    THUMBNAILS_DIR,
    host_folder_of_path,
    is_manifest_record,
    read_jsonl,
    save_atomic,
)
from crawler.units import plural

log = logging.getLogger(__name__)

THUMBNAIL_PIXELS = 240
# A vector image is its own thumbnail; so are JPEG XL and HEIC, which Pillow cannot read (a browser
# that shows the format shows it).
_OWN_THUMBNAILS = ("image/svg+xml", "image/jxl", "image/heic", "image/heif")


def make_thumbnail(output_dir: Path, record: dict[str, Any]) -> str:
    """Return the relative path of the record's thumbnail, making it if needed (the image itself if none can be)."""
    relative = f"{THUMBNAILS_DIR}/{host_folder_of_path(record['path'])}/{record['sha256']}.jpg"
    if (output_dir / relative).is_file():
        return relative
    if record.get("content_type") in _OWN_THUMBNAILS:
        return record["path"]
    try:
        with Image.open(output_dir / record["path"]) as opened:
            opened.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
            # turned as its EXIF orientation says, as the browser shows the picture itself (a phone's
            # portrait photo is stored sideways); the small thumbnail is turned, not the photo
            picture: Image.Image = ImageOps.exif_transpose(opened)
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
header{position:sticky;top:0;background:#fff;padding:10px 16px;border-bottom:1px solid #ddd;z-index:1;
  display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center}
h1{font-size:18px;margin:0;width:100%} h2{font-size:15px;margin:18px 16px 6px;overflow-wrap:anywhere}
input[type=search]{width:18em}
section{content-visibility:auto;contain-intrinsic-size:auto 1200px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:8px;padding:0 16px}
figure{margin:0;background:#fff;border:1px solid #ddd;padding:6px;cursor:zoom-in;
  content-visibility:auto;contain-intrinsic-size:auto 240px}
figure img{width:100%;height:150px;object-fit:scale-down;background:#eee;display:block}
figcaption{font-size:11px;margin-top:4px;color:#444}
#more{margin:16px;color:#666}
.lightbox{position:fixed;inset:0;background:rgba(20,20,20,.97);display:flex;flex-direction:column;z-index:2;color:#eee}
.lightbox[hidden]{display:none}
.lightbox .stage{flex:1;display:flex;align-items:center;justify-content:center;min-height:0}
.lightbox .stage img{max-width:92vw;max-height:72vh;object-fit:scale-down;background:#fff}
.lightbox dl{margin:8px 16px;display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;font-size:13px}
.lightbox dd{margin:0;overflow-wrap:anywhere} .lightbox a{color:#9cf}
.lightbox nav{display:flex;gap:8px;padding:8px 16px}
.lightbox button{font:inherit;padding:4px 12px}
"""

# Rendered from the embedded records, never from HTML strings: every value goes in as text or as an
# attribute, so a hostile URL stays a URL. Links are made only for http(s) URLs.
_SCRIPT = r"""
const items = JSON.parse(document.getElementById('records').textContent);
const $ = id => document.getElementById(id);
const controls = ['search', 'host', 'type', 'sort', 'group'].map($);
// Cards are made a chunk at a time, the next as the reader scrolls near the end: a crawl of 50,000
// images opens and answers a keystroke as quickly as one of a few hundred.
const CHUNK = 400;
let shown = [], current = -1;
let sections = [], placed = 0, sectionAt = -1, inSection = 0, grid = null;
const more = $('more');
const watcher = new IntersectionObserver(entries => {
  if (entries.some(entry => entry.isIntersecting)) placeMore();
}, {rootMargin: '1500px'});
function size(n) {
  for (const [unit, scale] of [['GB', 1e9], ['MB', 1e6], ['kB', 1e3]])
    if (n >= scale) {
      const v = n / scale;
      return v.toFixed(unit === 'GB' ? 2 : unit === 'kB' && v >= 10 ? 0 : 1) + ' ' + unit;
    }
  return n + ' B';
}
function safeLink(url, content) {
  const a = document.createElement('a');
  if (/^https?:\/\//i.test(url || '')) { a.href = url; a.rel = 'noreferrer noopener'; }
  a.append(content);
  return a;
}
function breakable(text) {  // URLs break after / ? & = rather than anywhere
  const span = document.createElement('span');
  for (const part of (text || '').split(/(?<=[\/?&=])/)) {
    span.append(part);
    span.append(document.createElement('wbr'));
  }
  return span;
}
const orders = {
  page: (a, b) => a.order - b.order,
  bytes: (a, b) => b.bytes - a.bytes,
  pixels: (a, b) => (b.width * b.height || 0) - (a.width * a.height || 0),
  time: (a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0),
};
function render() {
  const [search, host, type, sort, group] = controls.map(c => c.value);
  const words = search.toLowerCase().split(/\s+/).filter(Boolean);
  shown = items.filter(r => (!host || r.host === host) && (!type || r.type === type) &&
    words.every(w => r.text.includes(w))).sort(orders[sort]);
  const groups = new Map();
  for (const r of shown) {
    const key = group === 'page' ? (r.page || 'seeds') : group === 'host' ? r.host : 'all images';
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  shown = [...groups.values()].flat();  // the order on screen: the lightbox's next and previous follow it
  sections = [...groups];
  placed = 0; sectionAt = -1; inSection = 0; grid = null;
  $('groups').replaceChildren();
  window.scrollTo(0, 0);  // a new choice reads from its first card
  $('shown').textContent = shown.length;
  placeMore();
}
function placeMore() {  // the next CHUNK cards of `shown`, each under its group's heading
  const end = Math.min(placed + CHUNK, shown.length);
  for (; placed < end; placed++) {
    if (grid === null || inSection === sections[sectionAt][1].length) {
      const [key, records] = sections[++sectionAt];
      const section = document.createElement('section');
      const title = document.createElement('h2');
      title.append(breakable(key), ' (' + records.length + ')');
      grid = document.createElement('div');
      grid.className = 'grid';
      section.append(title, grid);
      $('groups').append(section);
      inSection = 0;
    }
    grid.append(figure(shown[placed], placed));
    inSection++;
  }
  more.textContent = placed < shown.length ? (shown.length - placed) + ' more below' : '';
  // Observed anew, the marker reports at once whether it is still in reach (a tall window, a short chunk).
  watcher.unobserve(more);
  if (placed < shown.length) watcher.observe(more);
}
function figure(r, index) {
  const f = document.createElement('figure');
  f.dataset.host = r.host; f.dataset.type = r.type; f.dataset.index = index;
  const img = document.createElement('img');
  img.loading = 'lazy'; img.src = r.thumb; img.alt = r.alt || r.name || r.url.slice(-80);
  img.width = 180; img.height = 150;
  const caption = document.createElement('figcaption');
  const words = r.caption || r.alt || r.title || r.name;
  caption.textContent = (words ? words.slice(0, 80) + ' · ' : '') + (r.width ? r.width + '×' + r.height + ', ' : '')
    + size(r.bytes) + ', ' + r.type;
  f.append(img, caption);
  f.addEventListener('click', () => open(Number(f.dataset.index)));
  return f;
}
function open(index) {
  current = (index + shown.length) % shown.length;
  const r = shown[current];
  $('full').src = r.path; $('full').alt = r.alt || '';
  const file = document.createElement('a');
  file.href = r.path; file.textContent = r.path;  // a checked relative path inside the output
  const rows = [['image', safeLink(r.url, breakable(r.url))],
    ['page', r.page ? safeLink(r.page, breakable(r.page)) : 'a seed'],
    ['name', r.name || '—'], ['alt text', r.alt || '—'], ['title', r.title || '—'], ['caption', r.caption || '—'],
    ['on pages', r.pages == null ? '—' : r.pages], ['found as', r.found || '—'], ['size', size(r.bytes)],
    ['dimensions', r.width ? r.width + ' × ' + r.height : '—'], ['type', r.type], ['saved', r.time],
    ['file', file]];
  const details = $('details');
  details.replaceChildren();
  for (const [name, value] of rows) {
    const dt = document.createElement('dt'), dd = document.createElement('dd');
    dt.textContent = name; dd.append(value);
    details.append(dt, dd);
  }
  $('position').textContent = (current + 1) + ' of ' + shown.length;
  $('lightbox').hidden = false;
}
function close() { $('lightbox').hidden = true; current = -1; }
$('next').addEventListener('click', () => open(current + 1));
$('previous').addEventListener('click', () => open(current - 1));
$('close').addEventListener('click', close);
document.addEventListener('keydown', event => {
  if ($('lightbox').hidden) return;
  if (event.key === 'ArrowRight') open(current + 1);
  else if (event.key === 'ArrowLeft') open(current - 1);
  else if (event.key === 'Escape') close();
});
for (const control of controls) control.addEventListener(control.id === 'search' ? 'input' : 'change', render);
render();
"""


def _host_name(record: dict[str, Any]) -> str:
    """The host as people write it (`127.0.0.1:8737`, `example.com`), from the image's URL."""
    url = str(record.get("url", ""))
    if url.startswith("data:"):  # a picture written into its page: the page's host
        url = str(record.get("page_url") or "")
    try:
        parts = urlsplit(url)
        return parts.netloc.rpartition("@")[2] or host_folder_of_path(record["path"])
    except ValueError:
        return host_folder_of_path(record["path"])


def _item(order: int, record: dict[str, Any], thumbnail: str) -> dict[str, Any]:
    """What the page's script needs of one record (and the text searched: the words, name, URLs, form)."""
    url, page = record.get("url", ""), record.get("page_url") or ""
    said = {field: record.get(field) or "" for field in ("alt", "title", "caption", "name")}
    return {"order": order, "url": url, "page": page, **said, "pages": record.get("pages"), "path": record["path"],
            "thumb": thumbnail, "host": _host_name(record), "type": record.get("content_type", ""),
            "bytes": int(record.get("bytes", 0)), "width": record.get("width"), "height": record.get("height"),
            "time": record.get("time", ""), "found": record.get("found_as", ""),
            "text": " ".join((url, page, *said.values(), record.get("found_as", ""))).lower()}


def _option(value: str, label: str) -> str:
    return f'<option value="{html.escape(value)}">{html.escape(label)}</option>'


def write_gallery(output_dir: Path) -> Path:
    """Write OUTPUT/index.html (and missing thumbnails); return its path."""
    records = read_jsonl(output_dir / MANIFEST_NAME, is_manifest_record)
    # Pillow lets go of the GIL while it decodes, scales and encodes, so threads make thumbnails on
    # every core: most of a first write's time, some 4 ms a real picture on this machine.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        thumbnails = list(pool.map(functools.partial(make_thumbnail, output_dir), records))
    items = [_item(n, record, thumbnail) for n, (record, thumbnail) in enumerate(zip(records, thumbnails))]
    hosts = Counter(item["host"] for item in items)
    types = sorted({item["type"] for item in items})
    host_options = "".join(_option(h, f"{h} ({n})") for h, n in sorted(hosts.items()))
    type_options = "".join(_option(t, t) for t in types)
    # JSON inside <script>: "<" escaped so no value can end the element or open a comment
    data = json.dumps(items, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Crawl gallery</title>'
            f'<meta name="viewport" content="width=device-width"><style>{_STYLE}</style></head><body>'
            f'<header><h1>{plural(len(items), "image")} from {plural(len(hosts), "host")}</h1>'
            f'<label>search <input type="search" id="search" placeholder="words, file name, URL"></label>'
            f'<label>host <select id="host"><option value="">all</option>{host_options}</select></label>'
            f'<label>type <select id="type"><option value="">all</option>{type_options}</select></label>'
            f'<label>sort <select id="sort"><option value="page">as found</option><option value="bytes">size'
            f'</option><option value="pixels">dimensions</option><option value="time">newest</option></select>'
            f'</label><label>group by <select id="group"><option value="host">host</option>'
            f'<option value="page">page</option><option value="none">nothing</option></select></label>'
            f'<span><span id="shown">{len(items)}</span> shown</span></header>'
            f'<main id="groups"></main><p id="more"></p>'
            f'<div class="lightbox" id="lightbox" hidden><nav><button id="previous">← previous</button>'
            f'<button id="next">next →</button><span id="position"></span><button id="close">close ✕</button>'
            f'</nav><div class="stage"><img id="full" alt=""></div><dl id="details"></dl></div>'
            f'<script type="application/json" id="records">{data}</script>'
            f'<script>{_SCRIPT}</script></body></html>\n')
    path = output_dir / GALLERY_NAME
    temp = path.with_name(GALLERY_NAME + ".tmp")
    temp.write_text(page, encoding="utf-8")
    os.replace(temp, path)
    return path
