"""Where FINESS places an establishment: department and commune codes, and coordinates in WGS84.

FINESS files give an establishment's commune as a 3-digit code inside its
department (overseas departments as ``9A``..``9F``) and its coordinates in
the projected CRS of its territory (:data:`FINESS_CRS`); see
:mod:`enrichment.finess`, which reads the files.
"""

from __future__ import annotations

import functools
import math
import re

from pyproj import CRS, Transformer

__all__ = [
    "FINESS_CRS",
    "OVERSEAS_DEPARTEMENTS",
    "finess_crs",
    "insee_commune_code",
    "insee_departement",
    "to_wgs84",
]

#: EPSG codes FINESS coordinates come in -> territory.
FINESS_CRS: dict[int, str] = {
    2154: "Métropole (RGF93 / Lambert-93)",
    5490: "Antilles (RGAF09 / UTM 20N)",
    2972: "Guyane (RGFG95 / UTM 22N)",
    2975: "Réunion (RGR92 / UTM 40S)",
    4471: "Mayotte (RGM04 / UTM 38S)",
    32621: "Saint-Pierre-et-Miquelon (WGS 84 / UTM 21N)",
}

#: FINESS overseas department codes -> INSEE department codes.
OVERSEAS_DEPARTEMENTS: dict[str, str] = {
    "9A": "971",  # Guadeloupe (with Saint-Barthélemy and Saint-Martin)
    "9B": "972",  # Martinique
    "9C": "973",  # Guyane
    "9D": "974",  # La Réunion
    "9E": "975",  # Saint-Pierre-et-Miquelon
    "9F": "976",  # Mayotte
}

_EPSG = re.compile(r"EPSG\s*:\s*(\d+)", re.IGNORECASE)
_MAINLAND_DEPT = re.compile(r"0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]")
_AREA_MARGIN_DEG = 1.0


def insee_departement(departement: str) -> str:
    """INSEE department code of a FINESS ``departement`` (``"9A"`` -> ``"971"``).

    Raises
    ------
    ValueError
        When ``departement`` is no FINESS department code.
    """
    code = departement.strip().upper()
    if code in OVERSEAS_DEPARTEMENTS:
        return OVERSEAS_DEPARTEMENTS[code]
    if _MAINLAND_DEPT.fullmatch(code):
        return code
    raise ValueError(f"not a FINESS department code: {departement!r}")


def insee_commune_code(departement: str, commune: str) -> str:
    """Five-character INSEE commune code from FINESS ``departement`` and ``commune``.

    Mainland and Corsica: department + the 3-digit commune (``01`` + ``451`` ->
    ``01451``, ``2A`` + ``004`` -> ``2A004``). Overseas (``9A``..``9F``): the
    commune field already starts with the department's third digit, so the
    code is ``97`` + commune (``9A`` + ``101`` -> ``97101``; Saint-Martin,
    filed under ``9A``, gives ``97801``).

    Raises
    ------
    ValueError
        For an unknown department or a commune that is not 3 digits.
    """
    dept = insee_departement(departement)
    code = commune.strip()
    if not re.fullmatch(r"[0-9]{3}", code):
        raise ValueError(f"commune must be 3 digits, not {commune!r}")
    return "97" + code if len(dept) == 3 else dept + code


def finess_crs(sourcecoordet: str) -> int:
    """EPSG code named in a ``sourcecoordet`` field.

    Raises
    ------
    ValueError
        When no ``EPSG:<code>`` is named, or the code is not one of :data:`FINESS_CRS`.
    """
    m = _EPSG.search(sourcecoordet)
    if m is None:
        raise ValueError("no EPSG code named in sourcecoordet")
    epsg = int(m.group(1))
    if epsg not in FINESS_CRS:
        known = ", ".join(f"EPSG:{c}" for c in FINESS_CRS)
        raise ValueError(f"unknown CRS EPSG:{epsg} (expected one of {known})")
    return epsg


@functools.lru_cache(maxsize=len(FINESS_CRS))
def _transformer(epsg: int) -> tuple[Transformer, tuple[float, float, float, float]]:
    crs = CRS.from_epsg(epsg)
    area = crs.area_of_use
    bounds = (area.west, area.south, area.east, area.north) if area else (-180, -90, 180, 90)
    return Transformer.from_crs(crs, CRS.from_epsg(4326), always_xy=True), bounds


def to_wgs84(x: float, y: float, *, epsg: int) -> tuple[float, float]:
    """Transform projected FINESS coordinates to WGS84 ``(lat, lon)``.

    Parameters
    ----------
    x, y
        Easting and northing in metres.
    epsg
        One of :data:`FINESS_CRS`.

    Raises
    ------
    ValueError
        For an unknown CRS, or a point outside the CRS's area of use (1° margin).
    """
    if epsg not in FINESS_CRS:
        raise ValueError(f"unknown CRS EPSG:{epsg}")
    transformer, (west, south, east, north) = _transformer(epsg)
    lon, lat = transformer.transform(float(x), float(y))
    m = _AREA_MARGIN_DEG
    if not (math.isfinite(lat) and math.isfinite(lon)) or not (
        south - m <= lat <= north + m and west - m <= lon <= east + m
    ):
        raise ValueError(f"point ({x}, {y}) falls outside the area of EPSG:{epsg}")
    return lat, lon
