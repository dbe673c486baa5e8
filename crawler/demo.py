"""A static file server on 127.0.0.1 for the demo site that ships in seeds/demo-site."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from crawler.errors import ConfigError

DEMO_HOST = "127.0.0.1"  # loopback only: the demo site is served to this machine alone
DEMO_PORT = 8737


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass


def serve_folder(root: Path) -> tuple[ThreadingHTTPServer, str]:
    """Serve `root` on a free loopback port in a background thread; return the server and its URL."""
    if not (root / "index.html").is_file():
        raise ConfigError(f"no demo site at {root} (expected {root / 'index.html'}); run from the repository root")
    handler = functools.partial(_QuietHandler, directory=str(root))
    try:  # a fixed port keeps the host folder under output/images the same from run to run
        server = ThreadingHTTPServer((DEMO_HOST, DEMO_PORT), handler)
    except OSError:
        server = ThreadingHTTPServer((DEMO_HOST, 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="demo-site", daemon=True).start()
    return server, f"http://{DEMO_HOST}:{server.server_address[1]}/"
