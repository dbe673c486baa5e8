"""The certificates a node trusts, loaded into one SSL context per process, not one per connection.

requests has urllib3 load the CA bundle (certifi's, or the file or folder $REQUESTS_CA_BUNDLE
names) into a new SSL context for each connection it opens: 18-20 ms of CPU each with OpenSSL 3
(CPython issue 95031), where a request on a kept-alive connection costs some 0.5 ms. A crawl opens
connections for every host it meets, for each fetcher that asks, and for every request where the
server closes them (HTTP/1.0 servers; a keep-alive outlived by a long Crawl-delay). The adapter
here loads the same bundle once, at its first https connection, into a context its connections
share (an SSLContext is made to be shared: it is thread-safe once loaded), and trusts exactly
what requests would have: nothing else is added. --no-check-certificate still checks nothing, with
one context for all its connections too, where each loaded the system's certificates, unused.
"""

from __future__ import annotations

import os
import ssl
import threading
from typing import Any

import requests.adapters
import requests.utils
import urllib3.util.ssl_


class SharedTrustAdapter(requests.adapters.HTTPAdapter):
    """An HTTPAdapter whose https connections share one context holding the trusted certificates:
    `bundle` (a file or a folder of them), or requests' own (certifi's) when None. Those that check
    nothing (--no-check-certificate) share one too: urllib3 loaded the system's certificates into
    a new context for each of them, 26 ms a connection, to check nothing with them."""

    def __init__(self, bundle: str | None = None, **options: Any) -> None:
        self._bundle = bundle
        self._context: ssl.SSLContext | None = None
        self._loading = threading.Lock()
        self._unchecking = urllib3.util.ssl_.create_urllib3_context(cert_reqs=ssl.CERT_NONE)  # loads nothing
        super().__init__(**options)

    def _shares(self, verify: Any) -> bool:
        """Whether requests asks for the certificates this adapter holds (a request that names
        another bundle is left to requests)."""
        return verify is True or (isinstance(verify, str) and verify == self._bundle)

    def _context_for(self, verify: Any) -> ssl.SSLContext | None:
        if verify is False:
            return self._unchecking
        return self._trusted() if self._shares(verify) else None

    def _trusted(self) -> ssl.SSLContext:
        if self._context is None:
            with self._loading:
                if self._context is None:  # another fetcher's first https connection came first
                    context = urllib3.util.ssl_.create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
                    location = self._bundle or requests.utils.DEFAULT_CA_BUNDLE_PATH
                    if os.path.isdir(location):
                        context.load_verify_locations(capath=location)
                    else:
                        context.load_verify_locations(cafile=location)
                    self._context = context
        return self._context

    def build_connection_pool_key_attributes(self, request: requests.PreparedRequest, verify: Any,
                                             cert: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        host, pool = super().build_connection_pool_key_attributes(request, verify, cert)
        context = self._context_for(verify) if host["scheme"] == "https" else None
        if context is not None:
            pool.pop("ca_certs", None)
            pool.pop("ca_cert_dir", None)
            pool["ssl_context"] = context
        return host, pool

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)
        # Held by the pool's context: not loaded again for each connection. Only where the pool has
        # it: requests before 2.32.2 never calls build_connection_pool_key_attributes.
        if self._context is not None and getattr(conn, "conn_kw", {}).get("ssl_context") is self._context:
            conn.ca_certs = conn.ca_cert_dir = None
