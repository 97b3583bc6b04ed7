"""The prospect list: filtered, sorted, cursor-paginated pages (JSON), counts, CSV (per site and
provider, or one row per provider at its best site) and map points.

One statement builder (:mod:`service.prospecting.prospect_sql`) serves every
view, so the API page, the CSV export and the map agree on who is listed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import geopandas as gpd
import orjson
import shapely
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from core.errors import InputError, Problem
from core.spreadsheet import neutralise_formula
from data.db import read_connection
from data.models import ClinicSite, Organization, Prospect, Provider
from data.models.prospecting import ProspectStatus
from geo.h3grid import cells_in_box
from service.pagination import cursor_type, decode_cursor, encode_cursor
from service.prospecting.prospect_sql import (
    PAGE_FIELDS,
    SORTS,
    filter_values,
    page_template,
    prospect_stmt,
)
from service.queries import _check_limit, site_by_code
from service.schemas import ProspectFilter, ProspectPublic, ProspectSort, ScoreComponent

#: Columns of the prospect CSV export (list and segment exports alike).
CSV_COLUMNS = (
    "site_code",
    "provider_id",
    "npi",
    "display_name",
    "taxonomy_code",
    "classification",
    "address_1",
    "city",
    "postal_code",
    "phone",
    "score",
    "segment",
    "drive_minutes",
    "distance_km",
    "proximity_estimated",
    "profile",
    "status",
    "assigned_to",
    "score_breakdown",
)

#: Columns of the one-row-per-provider export (``prm prospects export --one-per-provider``).
PROVIDER_CSV_COLUMNS = (
    "provider_id",
    "npi",
    "name",
    "score",
    "best_site",
    "drive_minutes",
    "contributions",
)

#: Most markers one viewport answer holds (best scores first); ``truncated`` says more matched.
#: Fixed whatever the database's size, so a view over 500,000 providers stays a small answer.
MAP_FEATURE_CAP = 2000

#: A view holding at most this many located providers is read from them (through their H3
#: cells' index), not by walking every prospect best score first in search of the view's.
SPARSE_VIEW_PROVIDERS = 4 * MAP_FEATURE_CAP

#: Columns of a viewport answer's rows, in order.
MAP_FIELDS = (
    "provider_id",
    "site_code",
    "lat",
    "lon",
    "score",
    "drive_minutes",
    "display_name",
    "specialty",
    "practice",
    "status",
    "assigned_to",
)

__all__ = [
    "CSV_COLUMNS",
    "MAP_FEATURE_CAP",
    "MAP_FIELDS",
    "PROVIDER_CSV_COLUMNS",
    "count_prospects",
    "csv_chunks",
    "map_points",
    "prospect_page_json",
    "prospect_rows",
    "prospects_csv",
    "prospects_frame",
    "provider_rows",
    "score_breakdown",
]


def _prospect_public(
    p: Prospect, prov: Provider, site_code: str, status: str = "new", assigned_to: str | None = None
) -> ProspectPublic:
    return ProspectPublic(
        provider_id=prov.id,
        site_code=site_code,
        npi=prov.npi,
        display_name=prov.display_name,
        taxonomy_code=p.taxonomy_code,
        classification=p.classification,
        address_1=prov.address_1,
        city=prov.city,
        postal_code=prov.postal_code,
        phone=prov.phone,
        score=p.score,
        segment=p.segment,
        drive_minutes=p.drive_minutes,
        distance_km=p.distance_km,
        proximity_estimated=p.proximity_estimated,
        in_catchment=p.in_catchment,
        profile=p.profile,
        components=p.components,
        status=status,
        assigned_to=assigned_to,
    )


def _prospect_page(
    session: Session,
    filters: ProspectFilter,
    *,
    sort: ProspectSort,
    limit: int,
    cursor: str | None,
    count: bool,
    raw_components: bool,
) -> tuple[list[Any], int | None, str | None]:
    """The rows of one page (item fields first, in :data:`PAGE_FIELDS` order), total, next cursor."""
    _check_limit(limit)
    if sort not in SORTS:
        raise InputError(
            "invalid sort",
            problems=[Problem(f"one of {', '.join(SORTS)}", field="sort", value=str(sort))],
        )
    params: dict[str, Any] = {**filter_values(filters), "_limit": limit + 1}
    if cursor:  # a cursor of another list or sort is refused, not compared (PostgreSQL: a 500)
        params["_after_value"], params["_after_id"] = decode_cursor(
            cursor, value_type=cursor_type(SORTS[sort][0])
        )
    conn = read_connection(session)  # taken first: the count runs on it too
    total = count_prospects(session, filters) if count else None
    stmt, names = page_template(
        filters, sort=sort, after=bool(cursor), raw_components=raw_components
    )
    # plain rows on the connection, no ORM loading layer
    rows = conn.execute(stmt, {name: params[name] for name in names}).all()
    if not rows and filters.site:
        site_by_code(session, filters.site)  # an unknown site is a 404, not an empty page
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1]
        nxt = encode_cursor(last[-1], last[-2])  # sort value, prospect id
    return rows[:limit], total, nxt


def prospect_page_json(
    session: Session,
    filters: ProspectFilter,
    *,
    sort: ProspectSort = "-score",
    limit: int = 50,
    cursor: str | None = None,
    count: bool = False,
) -> bytes:
    """A page of scored white-space prospects, filtered, sorted and cursor-paginated, as JSON.

    The JSON of a ``Page[ProspectPublic]``; ``total`` (every match, all pages)
    is counted only when ``count`` is true: it scans all matches, while a page
    only reads as far as its last row.

    The API's hot path: rows go straight to JSON (orjson), score components
    as the JSON text they were stored as, with no model built and validated
    per item and none serialised again (a third of the cost of a page).
    Stored values are ours, written through the models; the tests check the
    output against ``Page[ProspectPublic]`` built from the same rows.
    """
    rows, total, nxt = _prospect_page(
        session, filters, sort=sort, limit=limit, cursor=cursor, count=count, raw_components=True
    )
    at = PAGE_FIELDS.index("components")
    items = []
    for row in rows:
        item = dict(zip(PAGE_FIELDS, row, strict=False))
        item["components"] = orjson.Fragment(row[at] or "[]")
        items.append(item)
    return orjson.dumps({"items": items, "next_cursor": nxt, "total": total})


def count_prospects(session: Session, filters: ProspectFilter) -> int:
    """How many prospects match ``filters`` (what an export of them will hold)."""
    stmt = prospect_stmt(filters)
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def score_breakdown(components: Iterable[ScoreComponent]) -> str:
    """A score's components as one line of text (the exports' ``score_breakdown``).

    Examples
    --------
    >>> c = ScoreComponent(name="proximity", value=0.5, weight=0.3, points=15.0, reason="12 min")
    >>> score_breakdown([c])
    'proximity 15.0 (12 min)'
    """
    return "; ".join(f"{c.name} {c.points:.1f} ({c.reason})" for c in components)


def prospect_rows(
    session: Session, filters: ProspectFilter, *, sort: ProspectSort = "-score"
) -> Iterator[list[Any]]:
    """The values of :data:`CSV_COLUMNS` of every prospect matching ``filters``, streamed."""
    sort_col, desc = SORTS[sort]
    stmt = prospect_stmt(filters).order_by(sort_col.desc() if desc else sort_col, Prospect.id)
    for row in session.execute(stmt.execution_options(yield_per=1000)):
        pub = _prospect_public(*row)
        yield [getattr(pub, c, None) for c in CSV_COLUMNS[:-1]] + [score_breakdown(pub.components)]


def provider_rows(session: Session, filters: ProspectFilter) -> Iterator[list[Any]]:
    """The values of :data:`PROVIDER_CSV_COLUMNS`: one row per provider, at its best site.

    A provider's best site is the one where it scores highest among the
    prospects matching ``filters``; a tie goes to the fewer drive minutes (a
    site without a drive time last), then to the older prospect. Best score
    first. The database ranks the rows (a window function) and they are
    streamed, so memory stays flat whatever the number of prospects.
    """
    drive = func.coalesce(Prospect.drive_minutes, 1e6)
    rank = func.row_number().over(
        partition_by=Prospect.provider_id, order_by=(Prospect.score.desc(), drive, Prospect.id)
    )
    ranked = (
        prospect_stmt(filters)
        .with_only_columns(
            Provider.id.label("provider_id"),
            Provider.npi.label("npi"),
            Provider.display_name.label("name"),
            Prospect.score.label("score"),
            ClinicSite.site_code.label("best_site"),
            Prospect.drive_minutes.label("drive_minutes"),
            Prospect.components.label("components"),
            rank.label("site_rank"),
            maintain_column_froms=True,
        )
        .subquery()
    )
    stmt = (
        select(*(ranked.c[name] for name in PROVIDER_CSV_COLUMNS[:-1]), ranked.c.components)
        .where(ranked.c.site_rank == 1)
        .order_by(ranked.c.score.desc(), ranked.c.provider_id)
    )
    for *values, components in session.execute(stmt.execution_options(yield_per=1000)):
        parts = (ScoreComponent.model_validate(c) for c in components or [])
        yield [*values, score_breakdown(parts)]


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """CSV text of ``header`` and ``rows`` in chunks of 500 rows (formula-like cells quoted)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for n, row in enumerate(rows):
        writer.writerow([neutralise_formula(v) for v in row])
        if n % 500 == 499:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def prospects_csv(
    session: Session, filters: ProspectFilter, *, sort: ProspectSort = "-score"
) -> Iterator[str]:
    """All prospects matching ``filters`` as CSV text chunks (header first)."""
    return csv_chunks(CSV_COLUMNS, prospect_rows(session, filters, sort=sort))


def prospects_frame(
    session: Session, filters: ProspectFilter, *, limit: int = 20_000
) -> gpd.GeoDataFrame:
    """Prospects as points for the map, best score first (one row per provider and site)."""
    stmt = prospect_stmt(filters).order_by(Prospect.score.desc(), Prospect.id).limit(limit)
    rows = [r[:3] for r in session.execute(stmt).all()]
    return gpd.GeoDataFrame(
        {
            "provider_id": [prov.id for _, prov, _ in rows],
            "npi": [prov.npi for _, prov, _ in rows],
            "name": [prov.display_name for _, prov, _ in rows],
            "specialty": [p.classification or p.taxonomy_code or "" for p, _, _ in rows],
            "score": [p.score for p, _, _ in rows],
            "segment": [p.segment for p, _, _ in rows],
            "drive_minutes": [p.drive_minutes for p, _, _ in rows],
            "site_code": [code for _, _, code in rows],
            "components": [p.components for p, _, _ in rows],
        },
        geometry=[shapely.Point(prov.lon, prov.lat) for _, prov, _ in rows],
        crs="EPSG:4326",
    )


def map_points(
    session: Session,
    filters: ProspectFilter,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    cap: int = MAP_FEATURE_CAP,
) -> dict[str, Any]:
    """The prospects of a map view: one marker per provider, best score first, at most ``cap``.

    The same statement as the list (:func:`~service.prospecting.prospect_sql.prospect_stmt`),
    so map and list agree on who matches. Each provider appears once: at the site asked for
    (``filters.site``), else at its best-scoring site.

    Parameters
    ----------
    session
        Read session.
    filters
        The prospect filters.
    bbox
        ``(west, south, east, north)`` in degrees; providers outside are left out.
    cap
        Most rows returned (:data:`MAP_FEATURE_CAP`).

    Returns
    -------
    dict
        ``fields`` (:data:`MAP_FIELDS`), ``rows`` (one list per provider, in that order),
        ``truncated`` (more providers matched than ``cap``) and ``cap``.

    Raises
    ------
    core.errors.NotFoundError
        When ``filters.site`` names no site.
    """
    if filters.site:
        site_by_code(session, filters.site)
    stmt = prospect_stmt(filters).with_only_columns(
        Provider.id.label("provider_id"),
        ClinicSite.site_code.label("site_code"),
        Provider.lat.label("lat"),
        Provider.lon.label("lon"),
        Prospect.score.label("score"),
        Prospect.drive_minutes.label("drive_minutes"),
        Provider.display_name.label("display_name"),
        func.coalesce(Prospect.classification, Prospect.taxonomy_code).label("specialty"),
        func.coalesce(Organization.name, Provider.organization_name).label("practice"),
        func.coalesce(ProspectStatus.status, "new").label("status"),
        ProspectStatus.assigned_to.label("assigned_to"),
        maintain_column_froms=True,
    )
    stmt = stmt.outerjoin(Organization, Organization.id == Provider.organization_id).where(
        Provider.lat.is_not(None), Provider.lon.is_not(None)
    )
    if bbox is not None:
        west, south, east, north = bbox
        stmt = stmt.where(
            and_(Provider.lon.between(west, east), Provider.lat.between(south, north))
        )
        cells = _sparse_view_cells(session, bbox)
        if cells is not None:  # a few providers: found through their cells, then sorted
            stmt = stmt.where(Provider.h3_r7.in_(cells))
    # Best score first, walking the score index (no sort of every match, no window function:
    # a per-provider rank sorted all 50,000 prospects of a metro view, 300 ms); a provider's
    # first row is its best site (score, then prospect id), and reading stops at cap + 1
    # providers, so a view of the whole metro reads about cap rows.
    stmt = stmt.order_by(Prospect.score.desc(), Provider.id, Prospect.id)
    seen: set[int] = set()
    rows: list[list[Any]] = []
    result = read_connection(session).execute(stmt)  # plain rows, no ORM layer
    try:
        for row in result:
            if row[0] in seen:
                continue
            seen.add(row[0])
            if len(rows) == cap:
                break
            rows.append(_map_row(row))
    finally:
        result.close()  # stop reading: the rest of the walk is never done
    return {
        "fields": list(MAP_FIELDS),
        "rows": rows,
        "truncated": len(seen) > cap,
        "cap": cap,
    }


def _sparse_view_cells(
    session: Session, bbox: tuple[float, float, float, float]
) -> list[int] | None:
    """The H3 resolution-7 cells over ``bbox`` when they hold few providers, else None.

    A zoomed-in view matches few of the prospects: walking them all best score
    first to find its own read every prospect of the database (135 ms at 50,000).
    Counted on the cells' index, and at most :data:`SPARSE_VIEW_PROVIDERS` + 1 read.
    """
    west, south, east, north = bbox
    cells = cells_in_box(west=west, south=south, east=east, north=north, res=7, max_cells=1000)
    if cells is None:
        return None
    ids = cells.tolist()
    inside = select(Provider.id).where(Provider.h3_r7.in_(ids)).limit(SPARSE_VIEW_PROVIDERS + 1)
    found = session.scalar(select(func.count()).select_from(inside.subquery())) or 0
    return ids if found <= SPARSE_VIEW_PROVIDERS else None


def _map_row(row: Any) -> list[Any]:
    """One viewport row; drive minutes to a tenth (what the list shows), not 15 digits."""
    out = list(row)
    minutes = out[5]
    if minutes is not None:
        out[5] = round(minutes, 1)
    return out
