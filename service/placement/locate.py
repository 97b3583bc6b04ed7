"""Geocoding and H3 placement of stored rows (stage ``prm geocode``)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import func, select, update

from core.errors import GeoError, Problem
from core.progress import ProgressSink, null_progress
from data.models import H3_RESOLUTIONS, Located, Organization, Provider
from service.context import AppContext
from service.schemas import StageReport


def h3_columns(
    lat: np.ndarray, lon: np.ndarray, resolutions: tuple[int, ...]
) -> dict[str, np.ndarray]:
    """H3 cell ids (int64) for located points; NaN coordinates give None."""
    from geo.h3grid import latlng_to_cells

    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    ok = ~(np.isnan(lat) | np.isnan(lon))
    out: dict[str, np.ndarray] = {}
    for res in resolutions:
        col = np.full(len(lat), None, dtype=object)
        if ok.any():
            col[ok] = latlng_to_cells(lat[ok], lon[ok], res).astype(object)
        out[f"h3_r{res}"] = col
    return out


def geocode_address(
    ctx: AppContext,
    *,
    address_1: str | None,
    postal_code: str | None,
    city: str | None = None,
    country: str | None = None,
) -> tuple[float, float, str]:
    """Locate one address offline (see :func:`locate_frame`); GeoError when it cannot."""
    frame = locate_frame(
        ctx,
        pd.DataFrame(
            {
                "address_1": [address_1],
                "city": [city],
                "postal_code": [postal_code],
                "country": [country],
            }
        ),
    )
    row = frame.iloc[0]
    if row["geocode_precision"] == "none" or pd.isna(row["lat"]):
        raise GeoError(
            "address could not be located offline",
            problems=[
                Problem(
                    "neither the street nor the postal code is known",
                    field="address_1",
                    value=f"{address_1 or ''} {postal_code or ''}".strip(),
                )
            ],
        )
    return float(row["lat"]), float(row["lon"]), str(row["geocode_precision"])


def geocode_providers(
    ctx: AppContext,
    *,
    only_missing: bool = False,
    states: list[str] | None = None,
    progress: ProgressSink = null_progress,
) -> StageReport:
    """Geocode golden records and place them (and organisations) on the H3 grid.

    One transaction. See :func:`locate_frame`; rows placed at coordinates
    their registry gives (``geocode_precision == "source"``) are left alone,
    and so are records whose practice state is not in ``states`` when given.
    """
    started = time.perf_counter()
    res = H3_RESOLUTIONS
    with ctx.sessions.begin() as session:
        stmt = select(
            Provider.id, Provider.address_1, Provider.city, Provider.postal_code, Provider.country
        ).where(Provider.geocode_precision != "source")
        if only_missing:
            stmt = stmt.where(Provider.lat.is_(None))
        if states is not None:
            stmt = stmt.where(Provider.state.in_(states))
        df = pd.DataFrame(
            session.execute(stmt).all(),
            columns=["id", "address_1", "city", "postal_code", "country"],
        )
        progress("geocode", 0, len(df))
        if df.empty:
            return StageReport(stage="geocode", detail={"providers": 0}, duration_s=0.0)
        located = locate_frame(ctx, df)
        cells = h3_columns(located["lat"].to_numpy(float), located["lon"].to_numpy(float), res)
        rows = []
        for i, rec in enumerate(located.itertuples(index=False)):
            has = not (pd.isna(rec.lat) or pd.isna(rec.lon))
            row = {
                "id": int(rec.id),
                "lat": float(rec.lat) if has else None,
                "lon": float(rec.lon) if has else None,
                "geocode_precision": rec.geocode_precision,
                "geom": shapely.Point(rec.lon, rec.lat) if has else None,
            }
            row.update({k: (int(v[i]) if v[i] is not None else None) for k, v in cells.items()})
            rows.append(row)
        session.execute(update(Provider), rows)
        progress("geocode", len(df), len(df))
        _place_organizations(session, res)
        counts = located["geocode_precision"].value_counts().to_dict()
    return StageReport(
        stage="geocode",
        detail={"providers": len(df), "precision": {k: int(v) for k, v in counts.items()}},
        duration_s=round(time.perf_counter() - started, 3),
    )


def locate_frame(ctx: AppContext, df: pd.DataFrame) -> pd.DataFrame:
    """``lat``, ``lon`` and ``geocode_precision`` for addresses of any supported country.

    * US (or no country): street level where the street is in the local OSM
      extract, else the ZIP centroid (``zipcodes`` package);
    * FR: the postal-code centroid from the bundled GeoNames file; overseas
      departments (97x/98x) are not in it and are flagged ``overseas``
      (unlocated) rather than misplaced;
    * anything else: ``none``.
    """
    from geo.fr_postal import fr_postal_centroid, is_overseas
    from geo.geocode import geocode_frame

    country = df["country"].fillna("US") if "country" in df else pd.Series("US", index=df.index)
    out = df.assign(lat=np.nan, lon=np.nan, geocode_precision="none")
    us = country == "US"
    if us.any():
        got = geocode_frame(df.loc[us, ["address_1", "postal_code"]], ctx.street_index)
        out.loc[us, ["lat", "lon", "geocode_precision"]] = got[
            ["lat", "lon", "geocode_precision"]
        ].to_numpy()
    for i in out.index[country == "FR"]:
        code = str(out.at[i, "postal_code"] or "")
        if is_overseas(code):  # not in the bundled gazetteer: flag, never misplace
            out.at[i, "geocode_precision"] = "overseas"
            continue
        city = out.at[i, "city"]
        point = fr_postal_centroid(code, place=city if isinstance(city, str) else None)
        if point is not None:
            out.loc[i, ["lat", "lon", "geocode_precision"]] = [point[0], point[1], "zip"]
    out["lat"] = out["lat"].astype(float)
    out["lon"] = out["lon"].astype(float)
    return out


def _place_organizations(session, res: tuple[int, ...]) -> None:  # noqa: ANN001
    """Put each organisation at the mean position of its members."""
    stmt = (
        select(Provider.organization_id, func.avg(Provider.lat), func.avg(Provider.lon))
        .where(Provider.organization_id.is_not(None), Provider.lat.is_not(None))
        .group_by(Provider.organization_id)
    )
    got = session.execute(stmt).all()
    if not got:
        return
    lat = np.array([g[1] for g in got], dtype=float)
    lon = np.array([g[2] for g in got], dtype=float)
    cells = h3_columns(lat, lon, res)
    rows = []
    for i, (org_id, la, lo) in enumerate(got):
        row = {"id": int(org_id), "lat": float(la), "lon": float(lo), "geom": shapely.Point(lo, la)}
        row.update({k: int(v[i]) for k, v in cells.items()})
        rows.append(row)
    session.execute(update(Organization), rows)


def place_point(row: Located, lat: float, lon: float) -> None:
    """Set a located row's coordinates, H3 cells and geometry together."""
    row.lat, row.lon = lat, lon
    cells = h3_columns(np.array([lat]), np.array([lon]), H3_RESOLUTIONS)
    for key, values in cells.items():
        setattr(row, key, int(values[0]))
    row.geom = shapely.Point(lon, lat)
