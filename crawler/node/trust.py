"""The certificates a node trusts, loaded into one SSL context per process, not one per connection.

requests has urllib3 load the CA bundle (certifi's, or the file or folder $REQUESTS_CA_BUNDLE
names) into a new SSL context for each connection it opens: 18-20 ms of CPU each with OpenSSL 3
(CPython issue 95031), where a request on a kept-alive connection costs some 0.5 ms. A crawl opens
connections for every host it meets, for each fetcher that asks, and for every request where the
server closes them (HTTP/1.0 servers; a keep-alive outlived by a long Crawl-delay). The adapter
here loads the same bundle once, at its first https connection, into a context its connections
share (an SSLContext is made to be shared: it is thread-safe once loaded), and trusts exactly
what requests would have: nothing else is added, and --no-check-certificate still checks nothing.
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
    `bundle` (a file or a folder of them), or requests' own (certifi's) when None."""

    def __init__(self, bundle: str | None = None, **options: Any) -> None:
        self._bundle = bundle
        self._context: ssl.SSLContext | None = None
        self._loading = threading.Lock()
        super().__init__(**options)

    def _shares(self, verify: Any) -> bool:
        """Whether requests asks for the certificates this adapter holds (a request that names
        another bundle, or none to check, is left to requests)."""
        return verify is True or (isinstance(verify, str) and verify == self._bundle)

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
        if host["scheme"] == "https" and self._shares(verify):
            pool.pop("ca_certs", None)
            pool.pop("ca_cert_dir", None)
            pool["ssl_context"] = self._trusted()
        return host, pool

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)
        if url[:6].lower() == "https:" and self._shares(verify):
            conn.ca_certs = conn.ca_cert_dir = None  # held by the pool's context: not loaded again per connection
