"""Navigation a site's scripts build from data files: the pages a reader reaches through them.

Doxygen's and DocFX's sites and LibreOffice's help show a page's menus only once a script has
read such a file: a crawl that does not read them stops at the first page.

Doxygen, which documents most C and C++ libraries, writes its pages' menu bar and its tree view
with scripts, from data it keeps beside the pages:

- `menudata.js`: `var menudata={children:[{text:"Classes",url:"annotated.html",children:[…]}…]}`,
  what the menu bar of every page shows (Classes, Files, Namespaces and their lists);
- `navtreedata.js`: `var NAVTREE = [["Project", "index.html", [["Classes", "annotated.html", …]]]]`,
  the tree view's top, and `var NAVTREEINDEX = ["arch.html", …]`, one entry for each of the files
  `navtreeindex0.js`, `navtreeindex1.js`, … that map every page of the tree to its place in it.

A page names the first two in `<script src>`; its own links often lead nowhere else (the main page
of a library's documentation links no class page). Without them a crawl of a Doxygen site stops
at the main page, as wget's does. The URLs in these files are relative to the folder that holds
them (the pages' scripts prefix them with the path back to it), so they are resolved against the
file's own URL.

DocFX, which documents most .NET libraries, names its navigation bar's and table of contents'
files in `<meta>`s: `docfx:navrel` and `docfx:tocrel`, with `property=` in its default template,
whose script loads that HTML page's links (a page like any other), and with `name=` in its modern
template, whose script reads the same file with `.json` for `.html`:
`{"items": [{"name": "Intro", "href": "docs/intro.html", "items": […]}]}`, each `href` relative to
that file, as here.

LibreOffice's help (help.libreoffice.org, and the copy every Linux distribution installs) draws its
contents from `<lang>/contents.js` (`document.getElementById("Contents").innerHTML='…<a
href="en-US/text/swriter/main0000.html?DbPAR=WRITER">…'`) and its index from `<lang>/bookmarks.js`
(`var bookmarks = [{url:"en-US/text/….html?DbPAR=…#bm_id…", …}]`). Its pages link few others: a
crawl that does not read these found 9 of its 2,561 pages. Their URLs are relative to the help's
root, the folder above the language's (every page's `<base href>`), not to the file.

fgallery (a static photo gallery generator, packaged by Debian) writes a page with no picture in
it: its `index.js` draws the gallery from `data.json` beside the page (`{"data": [{"thumb":
["thumbs/a.jpg", [w, h]], "img": ["imgs/a.jpg", [w, h]], "blur": "blurs/a.jpg", "file":
["files/a.jpg", …], "caption": ["title", "description"]}…]}`), relative to the page: the strip's
thumbnails, the photo, the blurred backdrop behind it and the original its download button gives.
A page that loads fgallery's viewer (its `mootools-mooswipe.js`) names that file as a menu; the
file's pictures are the gallery's (a crawl found the viewer's icons alone).

A web app manifest (`<link rel="manifest" href="site.webmanifest">`, `manifest.json`) is read
alike: a browser reads it with the page and loads one of its icons (`{"icons": [{"src":
"icon-192.png", "sizes": "192x192"}…]}`, relative to the manifest); its icons are the site's, as
its favicons are.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from crawler.messages import GALLERY_DATA_FILE, is_web_manifest
from crawler.node.script_galleries import GalleryPicture

# The data files by name: a page's <script src> names Doxygen's menudata.js or navtreedata.js
# (which leads to the navtreeindexN.js files: navtree.js loads them by number), or LibreOffice's
# contents.js or bookmarks.js in a language's folder (en-US, pt-BR, de).
_MENU_FILE = re.compile(r"(?:^|/)(?:(?:menudata|navtreedata|navtreeindex[0-9]{1,4})"
                        r"|[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?/(?:contents|bookmarks))\.js(?:[?#]|$)")
_LIBREOFFICE_FILES = ("contents.js", "bookmarks.js")
_LIBREOFFICE_DATA = re.compile(r"""\A\s*(?:document\.getElementById\(["']Contents["']\)\.innerHTML"""
                               r"""|var bookmarks\s*=)""")
# A page in them: a quoted relative or absolute URL of an HTML file, maybe with a query and a fragment
_PAGE_LITERAL = re.compile(r"""["']([^"'\s\\<>?#]{1,2048}?\.(?:html|htm|xhtml)(?:\?[^"'\s\\<>#]{0,1024})?"""
                           r"""(?:#[^"'\s\\<>]{0,1024})?)["']""")
_TREE_INDEX = re.compile(r"\bNAVTREEINDEX\s*=\s*\[")  # its entries run to the next "]"
_QUOTED = re.compile(r"""["'][^"']*["']""")
MAX_MANIFEST_ICONS = 100  # sizes of one icon: real manifests list 2 to 20
MAX_TREE_INDEX_FILES = 10_000  # Doxygen writes 250 entries a file: 2.5 million pages of a tree
_FGALLERY_VIEWER = re.compile(r"(?:^|/)mootools-mooswipe\.js(?:[?#]|$)")  # a script only fgallery's page loads
_FGALLERY_SIZES = ("thumb", "blur", "img", "file")  # smallest first: --srcset largest keeps the last one given


DOCFX_NAVIGATION = frozenset({"docfx:navrel", "docfx:tocrel"})  # <meta> names: its navbar's and its TOC's file


def docfx_menu(content: str) -> str:
    """The file DocFX's modern template reads for a `<meta name="docfx:tocrel" content=…>` (or navrel)."""
    content = content.strip()
    return content[:-5] + ".json" if content[-5:].lower() == ".html" else content


def is_menu_file(src: str) -> bool:
    """Whether a script's URL (as written) names navigation data this module reads."""
    return _MENU_FILE.search(src.strip()) is not None


def is_fgallery_viewer(src: str) -> bool:
    """Whether a script's URL (as written) is fgallery's viewer, whose page draws data.json."""
    return _FGALLERY_VIEWER.search(src.strip()) is not None


@dataclass
class MenuEntries:
    """What one data file lists: pages, more data files (a tree's index files), and pictures (a gallery's)."""

    pages: list[str] = field(default_factory=list)  # as written: relative to `base`
    menus: list[str] = field(default_factory=list)
    images: list[GalleryPicture] = field(default_factory=list)  # a gallery's: relative to `base` as well
    icons: list[str] = field(default_factory=list)  # a web app manifest's: relative to the file
    base: str = ""  # what the URLs are relative to, from the file's own URL ("": its folder)


def read_menu(text: str, name: str) -> MenuEntries:
    """The pages a data file called `name` lists, and the index files of a tree's data (or an fgallery's pictures)."""
    if name == GALLERY_DATA_FILE:  # fgallery's, what its index.js reads beside the page
        return MenuEntries(images=_fgallery_pictures(text))
    if is_web_manifest(name):
        return MenuEntries(icons=_manifest_icons(text))
    libreoffice = name in _LIBREOFFICE_FILES
    if libreoffice and not _LIBREOFFICE_DATA.match(text):
        return MenuEntries()  # names other scripts have too: only LibreOffice's are read
    entries = MenuEntries(pages=[match.group(1) for match in _PAGE_LITERAL.finditer(text)])
    if libreoffice:
        entries.base = "../"  # the help's root
        return entries
    tree_index = _TREE_INDEX.search(text)
    if tree_index is not None:  # the first, read once: a pattern running to "]" from each one was quadratic
        end = text.find("]", tree_index.end())
        listed = text[tree_index.end():end if end >= 0 else len(text)]
        files = min(len(_QUOTED.findall(listed)), MAX_TREE_INDEX_FILES)
        entries.menus = [f"navtreeindex{number}.js" for number in range(files)]
    return entries


def _fgallery_pictures(text: str) -> list[GalleryPicture]:
    """The pictures of fgallery's data.json, each with its sizes; none where the file is not its."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # the file is cut at --max-page-bytes: nesting is what is left to bound
        return []
    items = data.get("data") if isinstance(data, dict) else None
    pictures = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        sizes = [_first_text(item.get(size)) for size in _FGALLERY_SIZES]
        caption = item.get("caption")
        title, description = (caption + [None, None])[:2] if isinstance(caption, list) else (None, None)
        if any(sizes):
            pictures.append(GalleryPicture([size for size in sizes if size],
                                           title if isinstance(title, str) and title else None,
                                           description if isinstance(description, str) and description else None))
    return pictures


def _manifest_icons(text: str) -> list[str]:
    """The `src` of each of a web app manifest's icons ({"icons": [{"src", "sizes", "type"}…]})."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # cut at --max-page-bytes, or not JSON
        return []
    icons = data.get("icons") if isinstance(data, dict) else None
    if not isinstance(icons, list):
        return []
    return [icon["src"] for icon in icons[:MAX_MANIFEST_ICONS]
            if isinstance(icon, dict) and isinstance(icon.get("src"), str) and icon["src"].strip()]


def _first_text(value: object) -> str | None:
    """A size's path: written alone (the backdrop's) or first beside its dimensions (["imgs/a.jpg", [w, h]])."""
    if isinstance(value, list) and value:
        value = value[0]
    return value if isinstance(value, str) and value else None
