"""French postal-code centroids from the bundled GeoNames table.

The table (``data/reference/fr_postal_codes_geonames.csv``, GeoNames, CC BY 4.0)
lists every place a postal code serves, with a point per place. A code often
serves several communes (``01090`` serves six), so :func:`fr_postal_centroid`
either averages their points or, given ``place``, keeps the places whose name
matches after folding (accents, case and punctuation dropped, ``ST``/``STE``
read as ``SAINT``/``SAINTE``, a trailing ``CEDEX nn`` ignored). Averaging plain
latitudes and longitudes is sound at this scale (a code spans a few km).

Codes are looked up by their first five digits, so ``"75851 CEDEX 17"`` and the
GeoNames key ``75851 CEDEX 17`` both resolve through ``75851``.

Overseas departments and collectivities are not in the table
-----------------------------------------------------------------
Postal codes ``97xxx`` (Guadeloupe, Martinique, Guyane, Réunion, Mayotte,
Saint-Pierre-et-Miquelon, Saint-Barthélemy, Saint-Martin) and ``98xxx``
(Monaco, Pacific collectivities) are absent: GeoNames files them under other
country codes. :func:`fr_postal_centroid` returns ``None`` for them like for
any unknown code, so callers must test :func:`is_overseas` first and *flag*
such records as not geocodable by postal code, never fall back to a mainland
point. FINESS records carry their own coordinates for these territories.

Not handled yet: historical (retired) postal codes and the mapping from INSEE
commune codes to postal codes.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import pandas as pd

from core.errors import InputError, Problem, SchemaError
from core.settings import REFERENCE_DIR
from core.text import fold

__all__ = [
    "FR_POSTAL_TABLE",
    "fold_place_name",
    "fr_postal_centroid",
    "is_overseas",
]

#: The bundled GeoNames extract.
FR_POSTAL_TABLE = REFERENCE_DIR / "fr_postal_codes_geonames.csv"

_REQUIRED = ("postal_code", "place_name", "latitude", "longitude")
_CODE = re.compile(r"\s*(\d{5})\b")
_CEDEX = re.compile(r"\s+CEDEX(\s+\d+)?\s*$")
_ABBREVIATIONS = {"ST": "SAINT", "STE": "SAINTE"}


def fold_place_name(name: str) -> str:
    """Comparable form of a French place name.

    Accents, case and punctuation are dropped, ``ST``/``STE`` become
    ``SAINT``/``SAINTE`` and a trailing ``CEDEX`` (with its number) is removed.

    Examples
    --------
    >>> fold_place_name("Saint-Étienne")
    'SAINT ETIENNE'
    >>> fold_place_name("ST ETIENNE CEDEX 2")
    'SAINT ETIENNE'
    """
    text = re.sub(r"[^A-Z0-9]+", " ", fold(name)).strip()
    text = _CEDEX.sub("", " " + text).strip()
    return " ".join(_ABBREVIATIONS.get(tok, tok) for tok in text.split())


def _code5(postal_code: str) -> str | None:
    m = _CODE.match(postal_code)
    return m.group(1) if m else None


def is_overseas(postal_code: str) -> bool:
    """Whether a postal code belongs to an overseas territory (``97xxx`` or ``98xxx``).

    Such codes are not in the bundled table; see the module docstring.

    Examples
    --------
    >>> is_overseas("97400"), is_overseas("75001")
    (True, False)
    """
    code = _code5(postal_code)
    return code is not None and code[:2] in ("97", "98")


@functools.lru_cache(maxsize=4)
def _load_table(path: str) -> dict[str, tuple[tuple[str, str, float, float], ...]]:
    p = Path(path)
    if not p.is_file():
        raise InputError(
            f"no such postal-code table: {p}", problems=[Problem("file not found", file=str(p))]
        )
    frame = pd.read_csv(
        p, dtype={"postal_code": str, "place_name": str}, keep_default_na=False, encoding="utf-8"
    )
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{p.name} lacks columns {missing}",
            problems=[Problem("missing column", file=p.name, line=1, field=c) for c in missing],
        )
    frame = frame.assign(code=frame["postal_code"].str.strip().str[:5])
    frame = frame[frame["code"].str.fullmatch(r"\d{5}")]
    table: dict[str, list[tuple[str, str, float, float]]] = {}
    for code, place, lat, lon in zip(
        frame["code"], frame["place_name"], frame["latitude"], frame["longitude"]
    ):
        table.setdefault(code, []).append(
            (str(place), fold_place_name(str(place)), float(lat), float(lon))
        )
    # Several GeoNames keys (``75851`` and ``75851 CEDEX 17``) can repeat a place.
    return {code: tuple(dict.fromkeys(rows)) for code, rows in table.items()}


def _table(
    path: str | os.PathLike[str] | None,
) -> dict[str, tuple[tuple[str, str, float, float], ...]]:
    return _load_table(str(Path(path if path is not None else FR_POSTAL_TABLE).resolve()))


def fr_postal_centroid(
    postal_code: str,
    *,
    place: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> tuple[float, float] | None:
    """Point of a French postal code, as ``(lat, lon)`` in WGS84.

    Parameters
    ----------
    postal_code
        Five digits, optionally followed by anything (``"75851 CEDEX 17"``).
    place
        Commune name; when given, only the code's places whose folded name
        (:func:`fold_place_name`) equals it are averaged. When none matches,
        all the code's places are averaged.
    path
        Alternative table in the GeoNames layout (tests); ``None`` is the bundled one.

    Returns
    -------
    tuple of float or None
        Mean latitude and longitude of the chosen places; ``None`` for unknown
        or malformed codes and for overseas codes (check :func:`is_overseas`).

    Examples
    --------
    >>> lat, lon = fr_postal_centroid("01090", place="Guéreins")
    >>> round(lat, 4), round(lon, 4)
    (46.1035, 4.7727)
    """
    code = _code5(postal_code)
    if code is None or is_overseas(code):
        return None
    rows = _table(path).get(code)
    if not rows:
        return None
    if place is not None:
        wanted = fold_place_name(place)
        matched = [r for r in rows if r[1] == wanted]
        rows = tuple(matched) or rows
    lat = sum(r[2] for r in rows) / len(rows)
    lon = sum(r[3] for r in rows) / len(rows)
    return lat, lon
