"""Liaisons' visit days: the list of providers to visit, start and end, the route and its exports.

Every list belongs to the caller (:func:`service.prospecting.visits.owner_of`):
no one reads or changes another's days. Writes are audited as every write is
(:class:`api.audit.AuditMiddleware`); the CSV and calendar files are recorded
as exports before they are sent.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, status
from fastapi.responses import HTMLResponse, Response

from api.audit import ExportDep
from api.deps import CallerDep, ContextDep, require_role
from api.geojson import GeoJSONResponse, RouteCollection, geojson_doc
from api.problems import problem_responses
from service.prospecting.visit_exports import day_csv, day_ics, day_sheet_html
from service.prospecting.visit_schemas import (
    RoutePublic,
    VisitDayUpdate,
    VisitListPublic,
    VisitListSummary,
    VisitStopUpdate,
)
from service.prospecting.visits import (
    delete_day,
    get_day,
    list_days,
    owner_of,
    put_stop,
    remove_stop,
    route_geojson,
    set_day,
    solve_day,
)
from service.wire import IsoDate, UrlId

__all__ = ["router"]

#: Who keeps visit lists (each their own). The liaison role, once it exists, takes this place.
VISIT_ROLE = "liaison"

router = APIRouter(
    tags=["visits"],
    dependencies=[Depends(require_role(VISIT_ROLE))],
    responses=problem_responses(401, 403, 404, 422),
)
Day = Annotated[IsoDate, Path(description="The day (YYYY-MM-DD).")]
ProviderId = Annotated[UrlId, Path()]
_ICS = "text/calendar; charset=utf-8"
_CSV = "text/csv; charset=utf-8"


def _brief_link(request: Request):  # noqa: ANN202
    return lambda provider_id: str(request.url_for("brief_page", provider_id=str(provider_id)))


@router.get("/visit-lists", response_model=list[VisitListSummary], summary="My saved visit days")
def days(ctx: ContextDep, caller: CallerDep) -> list[VisitListSummary]:
    return list_days(ctx, owner=owner_of(caller))


@router.get("/visit-lists/{day}", response_model=VisitListPublic, summary="My visit list of a day")
def day_get(ctx: ContextDep, caller: CallerDep, day: Day) -> VisitListPublic:
    return get_day(ctx, owner=owner_of(caller), day=day)


@router.put(
    "/visit-lists/{day}",
    response_model=VisitListPublic,
    summary="Set the day's start, end and hours",
)
def day_set(
    ctx: ContextDep, caller: CallerDep, day: Day, update: VisitDayUpdate
) -> VisitListPublic:
    """Start and end: a site (`site_code`), a point (`lat`, `lon`) or an address placed offline
    on the road network (one that cannot be placed to its street is refused with the reason).
    The day's times are local to the start's time zone; a day ending before it starts is
    refused."""
    return set_day(ctx, owner=owner_of(caller), day=day, update=update)


@router.delete(
    "/visit-lists/{day}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a visit day"
)
def day_delete(ctx: ContextDep, caller: CallerDep, day: Day) -> None:
    delete_day(ctx, owner=owner_of(caller), day=day)


@router.put(
    "/visit-lists/{day}/stops/{provider_id}",
    response_model=VisitListPublic,
    summary="Add a provider to the day (or change its visit)",
)
def stop_put(
    ctx: ContextDep, caller: CallerDep, day: Day, provider_id: ProviderId, update: VisitStopUpdate
) -> VisitListPublic:
    """Visit length in minutes and an optional window (both ends, local time) within which the
    visit must begin; a window ending before it starts is refused."""
    return put_stop(ctx, owner=owner_of(caller), day=day, provider_id=provider_id, update=update)


@router.delete(
    "/visit-lists/{day}/stops/{provider_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Take a provider off the day",
)
def stop_delete(ctx: ContextDep, caller: CallerDep, day: Day, provider_id: ProviderId) -> None:
    remove_stop(ctx, owner=owner_of(caller), day=day, provider_id=provider_id)


@router.get(
    "/visit-lists/{day}/route", response_model=RoutePublic, summary="The day's route, solved"
)
def route(ctx: ContextDep, caller: CallerDep, day: Day) -> RoutePublic:
    """Stops in visiting order with arrival, visit and departure times, over the road network's
    drive times (straight-line estimates flagged); stops that cannot make their window or the
    day are listed as unassigned with the reason, never dropped."""
    return solve_day(ctx, owner=owner_of(caller), day=day)


@router.get(
    "/visit-lists/{day}/route.geojson",
    response_class=GeoJSONResponse,
    response_model=RouteCollection,
    summary="The day's route for the map (GeoJSON)",
    responses=geojson_doc(
        "Start, stops and end as Point features (`role`), and the route as a LineString "
        "joining them in visiting order."
    ),
)
def route_map(ctx: ContextDep, caller: CallerDep, export: ExportDep, day: Day) -> GeoJSONResponse:
    """Providers' places and names: recorded as an export, as every file of people is."""
    collection = route_geojson(solve_day(ctx, owner=owner_of(caller), day=day))
    export.record(rows=len(collection["features"]), format="geojson", day=day.isoformat())
    return GeoJSONResponse(collection)


@router.get(
    "/visit-lists/{day}/export.csv",
    response_class=Response,
    summary="The day's route as CSV",
    responses={
        200: {
            "description": "CSV with a header row, visits in order then the unassigned stops.",
            "content": {_CSV: {"schema": {"type": "string"}}},
        }
    },
)
def export_csv(ctx: ContextDep, caller: CallerDep, export: ExportDep, day: Day) -> Response:
    """One row per visit in order, then the stops that cannot be made with the reason."""
    built = day_csv(solve_day(ctx, owner=owner_of(caller), day=day))
    export.record(rows=built.rows, format="csv", day=day.isoformat())
    return Response(
        built.body,
        media_type=_CSV,
        headers={"Content-Disposition": f'attachment; filename="visits-{day}.csv"'},
    )


@router.get(
    "/visit-lists/{day}/export.ics",
    response_class=Response,
    summary="The day's visits as an ICS calendar",
    responses={
        200: {
            "description": "An iCalendar file (RFC 5545): one VEVENT per visit.",
            "content": {_ICS: {"schema": {"type": "string"}}},
        }
    },
)
def export_ics(
    ctx: ContextDep, caller: CallerDep, export: ExportDep, request: Request, day: Day
) -> Response:
    """One event per visit, its times with the TZID of the day's zone, the address and a link
    to the provider's brief."""
    built = day_ics(solve_day(ctx, owner=owner_of(caller), day=day), brief_url=_brief_link(request))
    export.record(rows=built.rows, format="ics", day=day.isoformat())
    return Response(
        built.body,
        media_type=_ICS,
        headers={"Content-Disposition": f'attachment; filename="visits-{day}.ics"'},
    )


@router.get(
    "/visit-lists/{day}/sheet.html",
    response_class=HTMLResponse,
    summary="The day as a printable sheet with the briefs",
)
def day_sheet(ctx: ContextDep, caller: CallerDep, request: Request, day: Day) -> HTMLResponse:
    route = solve_day(ctx, owner=owner_of(caller), day=day)
    return HTMLResponse(day_sheet_html(ctx, route, brief_url=_brief_link(request)))
