"""The releases of its libraries that pyproject.toml admits are none a hostile site can reach a
crawler through: pip keeps a library already installed if its release satisfies the range, so a
floor below a fix installs the crawler beside the flaw."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]

# (library, the last release with the flaw, what a site could do with it)
_FLAWED_RELEASES = [
    ("urllib3", "2.5.0", "CVE-2025-66471: a compressed body is inflated a whole chunk at a time, 1,000 times its size"),
    ("urllib3", "2.6.3", "CVE-2026-44432: a brotli body is inflated whole on the second read"),
    ("Pillow", "10.0.0", "CVE-2023-4863: libwebp's heap overflow on a crafted WebP (thumbnails decode them)"),
]


def _requirements() -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return {Requirement(line).name.lower(): Requirement(line) for line in project["dependencies"]}


@pytest.mark.parametrize(("library", "release", "flaw"), _FLAWED_RELEASES,
                         ids=[f"{library}-{release}" for library, release, _ in _FLAWED_RELEASES])
def test_dependencies_admit_no_release_with_a_flaw_a_site_can_reach(library: str, release: str, flaw: str) -> None:
    requirement = _requirements()[library.lower()]
    assert not requirement.specifier.contains(release), f"pyproject.toml admits {library} {release} ({flaw})"



def test_dependencies_admit_no_requests_that_asks_no_adapter_for_a_pools_tls_settings() -> None:
    # node/trust.py keeps one TLS context a process through HTTPAdapter.build_connection_pool_key_attributes,
    # which requests calls from 2.32.2 on; before it, each connection loaded the CA bundle (20 ms of CPU).
    import requests.adapters
    assert not _requirements()["requests"].specifier.contains("2.32.1")
    assert hasattr(requests.adapters.HTTPAdapter, "build_connection_pool_key_attributes")
