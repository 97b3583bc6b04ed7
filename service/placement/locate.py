"""Geocoding and H3 placement of stored rows (stage ``prm geocode``)."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.budget import records_per_chunk
from core.errors import GeoError, Problem
from core.progress import ProgressSink, null_progress
from data.bulk import bulk_update, geometry_value
from data.models import H3_RESOLUTIONS, Located, Organization, Provider
from service.checkpoints import Checkpoints, no_checkpoints
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
    checkpoints: Checkpoints = no_checkpoints,
    chunk_rows: int | None = None,
) -> StageReport:
    """Geocode golden records and place them (and organisations) on the H3 grid.

    See :func:`locate_frame`; rows placed at coordinates their registry gives
    (``geocode_precision == "source"``) are left alone, and so are records
    whose practice state is not in ``states`` when given. Organisations are
    then placed at the mean position of their located members.

    Works a chunk of providers (by id) at a time, each chunk in a transaction
    of its own marked in ``checkpoints`` (key ``providers=[first,last]``), then
    organisations likewise; the outcome does not depend on the chunk size.

    Parameters
    ----------
    ctx
        Application context.
    only_missing
        Only providers not placed yet (a rerun skips what an earlier one placed).
    states
        Only providers practising in these states.
    progress
        Receives ``("geocode", done, total)`` then ``("organizations", done, total)``
        once per chunk.
    checkpoints
        Chunks already stored are skipped; each stored chunk is marked.
    chunk_rows
        Providers (organisations) per chunk; default from ``memory_budget_mb``
        (:func:`core.budget.records_per_chunk`).
    """
    started = time.perf_counter()
    size = chunk_rows or records_per_chunk(ctx.settings.memory_budget_mb)
    wanted = [Provider.geocode_precision != "source"]
    if only_missing:
        wanted.append(Provider.lat.is_(None))
    if states is not None:
        wanted.append(Provider.state.in_(states))
    with ctx.sessions() as session:
        total = session.scalar(select(func.count(Provider.id)).where(*wanted)) or 0
    progress("geocode", 0, total)
    if total == 0:
        _place_organizations(ctx, size=size, progress=progress, checkpoints=checkpoints)
        return StageReport(stage="geocode", detail={"providers": 0}, duration_s=0.0)
    done, after = 0, 0  # ids start at 1
    precision: Counter[str] = Counter()
    columns = (
        Provider.id,
        Provider.address_1,
        Provider.city,
        Provider.postal_code,
        Provider.country,
    )
    while True:
        with ctx.sessions.begin() as session:
            df = pd.DataFrame(
                session.execute(
                    select(*columns)
                    .where(*wanted, Provider.id > after)
                    .order_by(Provider.id)
                    .limit(size)
                ).all(),
                columns=["id", "address_1", "city", "postal_code", "country"],
            )
            if df.empty:
                break
            key = f"providers=[{df['id'].iat[0]},{df['id'].iat[-1]}]"
            after = int(df["id"].iat[-1])
            if not checkpoints.done("geocode", key):
                precision.update(_geocode_chunk(ctx, session, df))
                checkpoints.mark(session, "geocode", key)
        done += len(df)
        progress("geocode", done, max(total, done))
    _place_organizations(ctx, size=size, progress=progress, checkpoints=checkpoints)
    return StageReport(
        stage="geocode",
        detail={"providers": done, "precision": dict(precision)},
        duration_s=round(time.perf_counter() - started, 3),
    )


def _geocode_chunk(ctx: AppContext, session: Session, df: pd.DataFrame) -> Counter[str]:
    """Locate one chunk of providers and write their position, H3 cells and geometry."""
    located = locate_frame(ctx, df)
    cells = h3_columns(
        located["lat"].to_numpy(float), located["lon"].to_numpy(float), H3_RESOLUTIONS
    )
    has = located["lat"].notna().to_numpy() & located["lon"].notna().to_numpy()
    lat = located["lat"].to_numpy(float)
    lon = located["lon"].to_numpy(float)
    points = shapely.points(np.column_stack([lon, lat]))
    dialect = session.connection().dialect
    cell_cols = list(cells)
    rows = (
        (
            int(rec_id),
            float(lat[i]) if has[i] else None,
            float(lon[i]) if has[i] else None,
            precision,
            geometry_value(dialect, points[i]) if has[i] else None,
            *(int(cells[k][i]) if cells[k][i] is not None else None for k in cell_cols),
        )
        for i, (rec_id, precision) in enumerate(
            zip(located["id"], located["geocode_precision"], strict=True)
        )
    )
    columns = ("lat", "lon", "geocode_precision", "geom", *cell_cols)
    bulk_update(session, Provider.__table__, key="id", columns=columns, rows=rows)
    return Counter({str(k): int(v) for k, v in located["geocode_precision"].value_counts().items()})


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


def _place_organizations(
    ctx: AppContext, *, size: int, progress: ProgressSink, checkpoints: Checkpoints
) -> None:
    """Put each organisation at the mean position of its located members, a chunk of ids at a time.

    An organisation without a located member keeps its position. Each chunk
    commits with its checkpoint (key ``organizations=[first,last]``).
    """
    with ctx.sessions() as session:
        total = session.scalar(select(func.count(Organization.id))) or 0
    progress("organizations", 0, total)
    done, after = 0, 0
    while True:
        with ctx.sessions.begin() as session:
            ids = session.scalars(
                select(Organization.id)
                .where(Organization.id > after)
                .order_by(Organization.id)
                .limit(size)
            ).all()
            if not ids:
                return
            key, after = f"organizations=[{ids[0]},{ids[-1]}]", ids[-1]
            if not checkpoints.done("geocode", key):
                _place_organization_chunk(session, ids[0], ids[-1])
                checkpoints.mark(session, "geocode", key)
        done += len(ids)
        progress("organizations", done, max(total, done))


def _place_organization_chunk(session: Session, first: int, last: int) -> None:
    stmt = (
        select(Provider.organization_id, func.avg(Provider.lat), func.avg(Provider.lon))
        .where(Provider.organization_id.between(first, last), Provider.lat.is_not(None))
        .group_by(Provider.organization_id)
    )
    got = session.execute(stmt).all()
    if not got:
        return
    lat = np.array([g[1] for g in got], dtype=float)
    lon = np.array([g[2] for g in got], dtype=float)
    cells = h3_columns(lat, lon, H3_RESOLUTIONS)
    dialect = session.connection().dialect
    points = shapely.points(np.column_stack([lon, lat]))
    rows = (
        (
            int(org_id),
            float(la),
            float(lo),
            geometry_value(dialect, points[i]),
            *(int(v[i]) for v in cells.values()),
        )
        for i, (org_id, la, lo) in enumerate(got)
    )
    columns = ("lat", "lon", "geom", *cells)
    bulk_update(session, Organization.__table__, key="id", columns=columns, rows=rows)


def place_point(row: Located, lat: float, lon: float) -> None:
    """Set a located row's coordinates, H3 cells and geometry together."""
    row.lat, row.lon = lat, lon
    cells = h3_columns(np.array([lat]), np.array([lon]), H3_RESOLUTIONS)
    for key, values in cells.items():
        setattr(row, key, int(values[0]))
    row.geom = shapely.Point(lon, lat)
