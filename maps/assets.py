"""Vendored front-end assets (Leaflet, marker-cluster, Swagger UI, axe-core) served offline.

The API mounts :data:`ASSET_DIR` as a static folder under a URL prefix (for
example ``/static``) and passes the same prefix to
:func:`maps.territory.build_territory_map` as ``asset_url``; every script and
style sheet the map page loads then comes from that folder, so the page works
with no internet access. The Swagger UI files are exposed the same way for
FastAPI's ``get_swagger_ui_html``.

Paths returned here are *relative to* :data:`ASSET_DIR` (POSIX separators);
:func:`asset_urls` turns them into URLs under a prefix. The files themselves
were copied byte-for-byte from the npm registry; ``assets/vendor/README.md``
names each package, version, licence and hash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from core.errors import ConfigError, Problem

__all__ = [
    "ASSET_DIR",
    "VENDORED",
    "VendoredPackage",
    "asset_urls",
    "join_asset_url",
    "leaflet_files",
    "missing_assets",
    "swagger_ui_files",
    "verify_assets",
]

ASSET_DIR: Path = Path(__file__).resolve().parent / "assets"
"""Folder to mount as static files; holds ``vendor/<package>/...``."""


@dataclass(frozen=True, slots=True)
class VendoredPackage:
    """One npm package copied into ``assets/vendor``.

    Parameters
    ----------
    name
        npm package name.
    version
        Exact version that was packed.
    licence
        SPDX identifier of the package licence.
    folder
        Folder under ``ASSET_DIR`` holding the files.
    files
        Files kept, relative to ``folder``, licence file included.
    """

    name: str
    version: str
    licence: str
    folder: str
    files: tuple[str, ...]

    def paths(self) -> tuple[str, ...]:
        """Paths of the kept files relative to :data:`ASSET_DIR`."""
        return tuple(f"{self.folder}/{f}" for f in self.files)


VENDORED: tuple[VendoredPackage, ...] = (
    VendoredPackage(
        name="leaflet",
        version="1.9.4",
        licence="BSD-2-Clause",
        folder="vendor/leaflet",
        files=(
            "leaflet.js",
            "leaflet.css",
            "LICENSE",
            "images/layers.png",
            "images/layers-2x.png",
            "images/marker-icon.png",
            "images/marker-icon-2x.png",
            "images/marker-shadow.png",
        ),
    ),
    VendoredPackage(
        name="leaflet.markercluster",
        version="1.5.3",
        licence="MIT",
        folder="vendor/leaflet.markercluster",
        files=(
            "leaflet.markercluster.js",
            "MarkerCluster.css",
            "MarkerCluster.Default.css",
            "MIT-LICENCE.txt",
        ),
    ),
    VendoredPackage(
        name="swagger-ui-dist",
        version="5.35.0",
        licence="Apache-2.0",
        folder="vendor/swagger-ui-dist",
        files=(
            "swagger-ui-bundle.js",
            "swagger-ui.css",
            "favicon-32x32.png",
            "favicon-16x16.png",
            "LICENSE",
            "NOTICE",
            "swagger-ui-bundle.js.LICENSE.txt",
        ),
    ),
    VendoredPackage(
        name="axe-core",
        version="4.14.1",
        licence="MPL-2.0",
        folder="vendor/axe-core",
        files=("axe.min.js", "LICENSE", "LICENSE-3RD-PARTY.txt"),
    ),
)
"""Every vendored package and the files kept from it."""


def leaflet_files(*, cluster: bool = False) -> dict[str, str]:
    """Leaflet scripts and style sheets, relative to :data:`ASSET_DIR`.

    Parameters
    ----------
    cluster
        Also return the ``leaflet.markercluster`` plugin files (keys
        ``markercluster_js``, ``markercluster_css``, ``markercluster_default_css``).
        The territory map does not need them.

    Returns
    -------
    dict
        ``{"leaflet_js": ..., "leaflet_css": ...}`` (plus the cluster keys),
        in the order they must be loaded.
    """
    files = {
        "leaflet_js": "vendor/leaflet/leaflet.js",
        "leaflet_css": "vendor/leaflet/leaflet.css",
    }
    if cluster:
        files |= {
            "markercluster_js": "vendor/leaflet.markercluster/leaflet.markercluster.js",
            "markercluster_css": "vendor/leaflet.markercluster/MarkerCluster.css",
            "markercluster_default_css": "vendor/leaflet.markercluster/MarkerCluster.Default.css",
        }
    return files


def swagger_ui_files() -> dict[str, str]:
    """Swagger UI files, keyed by the argument names of FastAPI's ``get_swagger_ui_html``.

    Returns
    -------
    dict
        ``swagger_js_url``, ``swagger_css_url`` and ``swagger_favicon_url``,
        each relative to :data:`ASSET_DIR`; prefix them with :func:`asset_urls`.

    Examples
    --------
    >>> from fastapi.openapi.docs import get_swagger_ui_html
    >>> page = get_swagger_ui_html(openapi_url="/openapi.json", title="API",
    ...     **asset_urls(swagger_ui_files(), asset_url="/static"))  # doctest: +SKIP
    """
    return {
        "swagger_js_url": "vendor/swagger-ui-dist/swagger-ui-bundle.js",
        "swagger_css_url": "vendor/swagger-ui-dist/swagger-ui.css",
        "swagger_favicon_url": "vendor/swagger-ui-dist/favicon-32x32.png",
    }


def join_asset_url(asset_url: str, relative: str) -> str:
    """URL of one asset under a prefix.

    Parameters
    ----------
    asset_url
        Prefix the asset folder is served at: ``"/static"``, ``"static"``,
        ``"https://host/static"``; ``""`` or ``"."`` mean "next to the page".
    relative
        Path relative to :data:`ASSET_DIR`, as returned by :func:`leaflet_files`.
    """
    rel = PurePosixPath(relative)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise ValueError(f"asset path must be relative and inside the asset folder: {relative!r}")
    prefix = asset_url.rstrip("/")
    if prefix in ("", "."):
        return rel.as_posix()
    return f"{prefix}/{rel.as_posix()}"


def asset_urls(files: Mapping[str, str], *, asset_url: str) -> dict[str, str]:
    """Prefix every relative path of ``files`` with ``asset_url``.

    Parameters
    ----------
    files
        Name to relative path, e.g. the result of :func:`swagger_ui_files`.
    asset_url
        URL prefix the asset folder is mounted at.
    """
    return {name: join_asset_url(asset_url, rel) for name, rel in files.items()}


def missing_assets() -> list[str]:
    """Relative paths of vendored files that are listed but absent from :data:`ASSET_DIR`."""
    return [p for pkg in VENDORED for p in pkg.paths() if not (ASSET_DIR / p).is_file()]


def verify_assets() -> None:
    """Check that every vendored file is present.

    Raises
    ------
    ConfigError
        Listing every missing file (an install that dropped package data).
    """
    missing = missing_assets()
    if missing:
        raise ConfigError(
            f"{len(missing)} vendored front-end file(s) missing from {ASSET_DIR}",
            problems=[Problem("file missing", file=p) for p in missing],
        )
