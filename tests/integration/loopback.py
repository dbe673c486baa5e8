"""The part every test HTTP server shares: a free port on 127.0.0.1 (or another address of ours), served from a
daemon thread."""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer:
    """Serves `handler` on 127.0.0.1 (or `host`) at a port the kernel picks, until `close()`."""

    def _serve(self, handler: type[BaseHTTPRequestHandler] | object, host: str = "127.0.0.1",
               tls: ssl.SSLContext | None = None) -> None:
        self.httpd = ThreadingHTTPServer((host, 0), handler)  # type: ignore[arg-type]
        self.httpd.daemon_threads = True
        if tls is not None:  # https: each connection's handshake is made as it is accepted
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.url = f"{'https' if tls else 'http'}://{host}:{self.port}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
