"""Scored white-space prospects: a paginated list (role viewer) and a CSV export (role marketing)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.audit import ExportDep
from api.deps import ContextDep, CursorQuery, SessionDep, require_role
from api.problems import problem_responses, validation_problems
from core.errors import InputError, Problem
from service.context import AppContext
from service.ingest.groups import with_group_codes
from service.prospecting.listing import (
    MAP_FEATURE_CAP,
    count_prospects,
    map_points,
    prospect_page_json,
    prospects_csv,
)
from service.prospecting.schemas import ProspectMapView, ProspectStatusName
from service.queries import MAX_PAGE, site_by_code
from service.schemas import Page, ProspectFilter, ProspectPublic, ProspectSort
from service.wire import NO_CONTROL_CHARACTERS as _TEXT
from service.wire import UrlId, url_int, url_number

__all__ = [
    "ProspectQuery",
    "prospect_filter",
    "prospect_list",
    "prospect_viewport",
    "prospects_export",
    "router",
]

router = APIRouter(
    prefix="/prospects",
    tags=["prospects"],
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(401, 403, 404, 422),
)


class ProspectQuery(BaseModel):
    """The prospect filters as query parameters, validated in one step.

    One model instead of a parameter each: FastAPI then validates the filters
    with one call, not thirteen (a tenth of the CPU of a prospect page). The
    names are the query's; :class:`~service.schemas.ProspectFilter` is what
    the service takes.
    """

    model_config = ConfigDict(
        extra="ignore"
    )  # other parameters of the route (sort, cursor, api_key)

    # text filters: no control character (the rule of stored text, service.wire.StorableText)
    site: str | None = Field(None, max_length=40, pattern=_TEXT, description="Site code.")
    specialty: str | None = Field(
        None,
        max_length=200,
        pattern=_TEXT,
        description="NUCC taxonomy code (e.g. 207X00000X) or classification.",
    )
    min_score: url_number(ge=0, le=100) | None = Field(None, description="Lowest score kept.")
    segment: str | None = Field(None, max_length=80, pattern=_TEXT)
    max_drive_minutes: url_number(gt=0, le=240) | None = Field(
        None, description="Longest drive from the site, minutes."
    )
    group: str | None = Field(
        None,
        max_length=80,
        pattern=_TEXT,
        description="Clinic specialty group (see /v1/specialty-groups).",
    )
    min_drive_minutes: url_number(ge=0, le=240) | None = Field(
        None, description="Shortest drive from the site, minutes."
    )
    in_catchment: bool | None = Field(
        None,
        description="true: only prospects in one of their site's catchments; false: only those "
        "outside them all (everyone within the scoring reach is scored).",
    )
    tier: Literal["A", "B", "C", "lapsed"] | None = Field(
        None, description="Past tier of a lapsed referrer: A, B, C or 'lapsed' (any)."
    )
    postal_code: list[Annotated[str, Field(pattern=_TEXT)]] | None = Field(
        None, max_length=10, description="ZIP code (repeat for several)."
    )
    city: str | None = Field(None, max_length=100, pattern=_TEXT)
    organization_id: UrlId | None = Field(None, description="Organisation id.")
    status: ProspectStatusName | None = Field(None, description="Workflow status.")
    assigned_to: str | None = Field(None, max_length=100, pattern=_TEXT, description="Liaison.")
    service_line: str | None = Field(
        None, max_length=60, pattern=_TEXT, description="Service line of the prospect's site."
    )
    history: Literal["never referred", "lapsed"] | None = Field(
        None, description="Referral history: never referred, or referred before and lapsed."
    )
    territory_id: UrlId | None = Field(None, description="Liaison territory id (territory plans).")
    q: str | None = Field(
        None,
        max_length=100,
        pattern=_TEXT,
        description="Text in the provider's name or practice name.",
    )


def query_filter(query: ProspectQuery, *, where: str = "query") -> ProspectFilter:
    """The service's :class:`~service.schemas.ProspectFilter` of the query's filters.

    Also how ``prm segments create`` reads its ``name=value`` filters (``where``:
    the first part of each problem's field).
    """
    fields = query.model_dump(exclude={"postal_code"}, exclude_unset=True)
    try:
        return ProspectFilter(**fields, postal_codes=query.postal_code or None)
    except ValidationError as exc:
        raise InputError(
            "invalid prospect filter",
            problems=validation_problems([e | {"loc": (where, *e["loc"])} for e in exc.errors()]),
        ) from None


async def prospect_filter(
    query: Annotated[ProspectQuery, Query()],
    *,
    ctx: ContextDep,
    session: SessionDep,
) -> ProspectFilter:
    """The prospect filters shared by the list, the export and the map page."""
    filters = query_filter(query)
    if filters.group is None:
        return filters
    return await run_in_threadpool(with_group_codes, ctx, session, filters)  # reads the database


FilterDep = Annotated[ProspectFilter, Depends(prospect_filter)]
SortQuery = Annotated[ProspectSort, Query(description="Sort key; '-' means descending.")]

_PROSPECT_EXAMPLE = {
    "provider_id": 1201,
    "site_code": "COL-NE",
    "npi": "1234567893",
    "display_name": "JANE Q DOE MD",
    "taxonomy_code": "207Q00000X",
    "classification": "Family Medicine",
    "address_1": "500 S HIGH ST",
    "city": "COLUMBUS",
    "postal_code": "43215",
    "phone": "+16145550100",
    "score": 72.5,
    "segment": "high-potential GP nearby",
    "drive_minutes": 8.2,
    "distance_km": 5.1,
    "proximity_estimated": False,
    "in_catchment": True,
    "profile": "imaging_mri@1.1.0",
    "components": [
        {
            "name": "specialty",
            "value": 0.9,
            "weight": 0.5,
            "points": 45.0,
            "reason": "Family Medicine refers to MRI often",
        },
        {
            "name": "proximity",
            "value": 0.55,
            "weight": 0.3,
            "points": 16.5,
            "reason": "8.2 min drive",
        },
        {
            "name": "potential",
            "value": 0.55,
            "weight": 0.2,
            "points": 11.0,
            "reason": "practice of 4",
        },
        {
            "name": "recency",
            "value": 0.0,
            "weight": 0.0,
            "points": 0.0,
            "reason": "no contact logged",
        },
    ],
    "status": "new",
    "assigned_to": None,
}


@router.get(
    "",
    response_model=Page[ProspectPublic],
    summary="List scored prospects",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {"items": [_PROSPECT_EXAMPLE], "next_cursor": None, "total": None}
                }
            }
        }
    },
)
def prospect_list(
    session: SessionDep,
    filters: FilterDep,
    sort: SortQuery = "-score",
    limit: Annotated[url_int(ge=1, le=MAX_PAGE), Query()] = 50,
    cursor: CursorQuery = None,
    count: Annotated[
        bool,
        Query(
            description="Also count every matching row into `total` (a scan of all "
            "matches: ask for it once, not on every page)."
        ),
    ] = False,
) -> Response:
    """Prospects matching the filters, each with its score breakdown.

    Ordered by ``sort`` then id, so walking ``next_cursor`` visits every
    match exactly once. 404 when ``site`` names no site. ``total`` is null
    unless ``count=true``.
    """
    # serialised by the service straight from the rows: exactly the JSON of Page[ProspectPublic],
    # the documented response_model (tests/api/test_routers_prospects.py holds it to that)
    body = prospect_page_json(session, filters, sort=sort, limit=limit, cursor=cursor, count=count)
    return Response(body, media_type="application/json")


Longitude = Annotated[url_number(ge=-180, le=180) | None, Query()]
Latitude = Annotated[url_number(ge=-90, le=90) | None, Query()]


@router.get(
    "/viewport",
    response_model=ProspectMapView,
    summary="Prospects of a map view (compact, one per provider)",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "fields": ["provider_id", "site_code", "lat", "lon", "score"],
                        "rows": [[1201, "COL-NE", 39.96, -83.0, 72.5]],
                        "truncated": False,
                        "cap": MAP_FEATURE_CAP,
                    }
                }
            }
        }
    },
)
def prospect_viewport(
    session: SessionDep,
    filters: FilterDep,
    west: Longitude = None,
    south: Latitude = None,
    east: Longitude = None,
    north: Latitude = None,
) -> Response:
    """The map's markers and the ranked list beside it, from the list's own filters.

    One row per provider (at ``site`` when given, else at its best-scoring site), best
    score first, inside the box ``west, south, east, north`` (degrees; all four or none).
    At most ``cap`` rows (2,000, fixed by the server) whatever the zoom or the size of the
    database; ``truncated`` says more matched (zoom in or filter). 404 when ``site`` names
    no site.
    """
    box = (west, south, east, north)
    given = [v is not None for v in box]
    if any(given) and not all(given):
        raise InputError(
            "incomplete map view",
            problems=[Problem("give west, south, east and north together", field="west")],
        )
    if all(given) and (west > east or south > north):  # type: ignore[operator]
        raise InputError(
            "empty map view",
            problems=[Problem("west must not exceed east, nor south north", field="west")],
        )
    bbox = box if all(given) else None
    # serialised here, in the handler's thread, straight from the rows (orjson): validating and
    # encoding 2,000 rows through the response model took the event loop ~10 ms a request,
    # during which no other answer, /health included, went out (tests hold it to the model)
    body = orjson.dumps(map_points(session, filters, bbox=bbox))
    return Response(body, media_type="application/json")


def _csv_chunks(ctx: AppContext, filters: ProspectFilter, sort: ProspectSort) -> Iterator[str]:
    # Own session: the stream outlives the request's dependencies.
    with ctx.sessions() as session:
        yield from prospects_csv(session, filters, sort=sort)


@router.get(
    "/export.csv",
    response_class=StreamingResponse,
    summary="Export prospects as CSV (marketing)",
    dependencies=[Depends(require_role("marketing"))],
    responses={
        200: {
            "description": "CSV with a header row; text cells that a spreadsheet would run "
            "as a formula are prefixed with a single quote.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
def prospects_export(
    ctx: ContextDep,
    session: SessionDep,
    export: ExportDep,
    filters: FilterDep,
    sort: SortQuery = "-score",
) -> StreamingResponse:
    """Every prospect matching the filters (no paging), streamed as UTF-8 CSV.

    People who objected to processing are never exported. The export is
    written to the audit log (filters and row count) before it is sent.
    """
    if filters.site:
        site_by_code(session, filters.site)
    rows = count_prospects(session, filters)
    export.record(
        rows=rows, format="csv", filters=filters.model_dump(mode="json", exclude_none=True)
    )
    name = f"prospects-{filters.site or 'all'}-{date.today().isoformat()}.csv"
    return StreamingResponse(
        _csv_chunks(ctx, filters, sort),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
