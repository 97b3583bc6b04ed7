"""Liaisons' visit days: the list of providers to visit, where the day starts and ends, the route.

A day's list belongs to its owner (:func:`owner_of`, the one place that says
who that is) and is saved per owner and day. The start and end are a clinic
site, a point on the map, or an address placed offline on the loaded road
network (:func:`geo.geocode.geocode_frame`); an address that cannot be placed
to its street is refused with the geocoder's reason. The day's time zone is
the start's, found offline (``timezonefinder``); every time of the day is
local to it.

Solving reads the drive minutes between start, stops and end from the one
router (:func:`geo.drive_times.drive_time_matrix`) and orders the stops with
:func:`territories.routes.plan_route`. A stop that cannot be visited (no
location, or no room within its window or the day) is returned unassigned
with the reason.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.errors import InputError, NotFoundError, Problem, RoadNetworkError
from data.models import ClinicSite, Provider
from data.models.visits import VisitList, VisitStop
from service.context import AppContext
from service.prospecting.visit_schemas import (
    AddressPlace,
    Place,
    PlacePublic,
    PointPlace,
    RoutePublic,
    RouteStopPublic,
    UnassignedStopPublic,
    VisitDayUpdate,
    VisitListPublic,
    VisitListSummary,
    VisitStopPublic,
    VisitStopUpdate,
)
from service.security.keys import Caller

if TYPE_CHECKING:
    from territories.routes import RoutePlan

__all__ = [
    "delete_day",
    "get_day",
    "list_days",
    "owner_of",
    "put_stop",
    "remove_stop",
    "route_geojson",
    "set_day",
    "solve_day",
]

_NO_LOCATION = "the provider has no location to drive to"


def owner_of(caller: Caller) -> str:
    """Who a visit list belongs to: the caller's named person (every key of one
    liaison shares their days), else the key's actor label (``env:<role>``).

    The one place that decides it, by the same rule as attribution (:attr:`Caller.who`).
    """
    return caller.who


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def _time(minutes: int | None) -> dt.time | None:
    return None if minutes is None else dt.time(minutes // 60, minutes % 60)


@functools.cache
def _zone_finder() -> Any:
    from timezonefinder import TimezoneFinder  # its polygons load once, on first use

    return TimezoneFinder()


def _zone_at(lat: float, lon: float) -> str:
    return _zone_finder().timezone_at(lat=lat, lng=lon) or "UTC"


def _place(ctx: AppContext, session: Session, place: Place, field: str, problems: list[Problem]):  # noqa: ANN202
    """``(kind, label, lat, lon)`` of a place, or None with the reason added to ``problems``."""
    if isinstance(place, PointPlace):
        return "point", f"{place.lat:.5f}, {place.lon:.5f}", place.lat, place.lon
    if isinstance(place, AddressPlace):
        from geo.geocode import geocode_frame

        try:
            index = ctx.street_index
        except RoadNetworkError:
            index = None
        got = geocode_frame(
            pd.DataFrame({"address_1": [place.address], "postal_code": [place.postal_code]}),
            index,
        ).iloc[0]
        if got["geocode_precision"] != "street":
            problems.append(
                Problem(
                    f"the address cannot be placed offline: {got['geocode_note']}",
                    field=f"{field}.address",
                    value=place.address,
                )
            )
            return None
        label = f"{place.address}, {place.postal_code}"
        return "address", label, float(got["lat"]), float(got["lon"])
    site = session.scalars(
        select(ClinicSite).where(ClinicSite.site_code == place.site_code)
    ).first()
    if site is None or site.lat is None or site.lon is None:
        why = "no site with this code" if site is None else "the site has no location"
        problems.append(Problem(why, field=f"{field}.site_code", value=place.site_code))
        return None
    return "site", site.site_code, float(site.lat), float(site.lon)


def _find(session: Session, owner: str, day: dt.date) -> VisitList | None:
    return session.scalars(
        select(VisitList).where(VisitList.owner == owner, VisitList.day == day)
    ).first()


def _get(session: Session, owner: str, day: dt.date) -> VisitList:
    row = _find(session, owner, day)
    if row is None:
        raise NotFoundError(f"no visit list for {day.isoformat()}")
    return row


def _place_public(row: VisitList, which: str) -> PlacePublic | None:
    kind = getattr(row, f"{which}_kind")
    if kind is None:
        return None
    return PlacePublic(
        kind=kind,
        label=getattr(row, f"{which}_label"),
        lat=getattr(row, f"{which}_lat"),
        lon=getattr(row, f"{which}_lon"),
    )


def _public(session: Session, row: VisitList) -> VisitListPublic:
    stops = session.execute(
        select(VisitStop, Provider.display_name)
        .join(Provider, Provider.id == VisitStop.provider_id)
        .where(VisitStop.list_id == row.id)
        .order_by(VisitStop.id)
    ).all()
    return VisitListPublic(
        day=row.day,
        time_zone=row.time_zone,
        day_start=_time(row.day_start_min),
        day_end=_time(row.day_end_min),
        start=_place_public(row, "start"),
        end=_place_public(row, "end"),
        stops=[
            VisitStopPublic(
                provider_id=s.provider_id,
                display_name=name,
                duration_min=s.duration_min,
                window_start=_time(s.window_start_min),
                window_end=_time(s.window_end_min),
            )
            for s, name in stops
        ],
    )


def list_days(ctx: AppContext, *, owner: str) -> list[VisitListSummary]:
    """The owner's saved days, latest first, with their number of stops."""
    with ctx.sessions() as session:
        rows = session.execute(
            select(VisitList.day, func.count(VisitStop.id), VisitList.start_label)
            .outerjoin(VisitStop, VisitStop.list_id == VisitList.id)
            .where(VisitList.owner == owner)
            .group_by(VisitList.id, VisitList.day, VisitList.start_label)
            .order_by(VisitList.day.desc())
        ).all()
    return [VisitListSummary(day=d, stops=int(n), start=label) for d, n, label in rows]


def get_day(ctx: AppContext, *, owner: str, day: dt.date) -> VisitListPublic:
    """The owner's list for ``day`` (404 when there is none)."""
    with ctx.sessions() as session:
        return _public(session, _get(session, owner, day))


def _new_list(session: Session, owner: str, day: dt.date) -> VisitList:
    row = VisitList(owner=owner, day=day, time_zone="UTC", day_start_min=8 * 60)
    session.add(row)
    session.flush()
    return row


def set_day(
    ctx: AppContext, *, owner: str, day: dt.date, update: VisitDayUpdate
) -> VisitListPublic:
    """Set where and when the day starts and ends (the list is made if new).

    Raises
    ------
    core.errors.InputError
        Every problem at once: an address that cannot be placed, an unknown
        site, a day that ends before it starts.
    """
    problems: list[Problem] = []
    with ctx.sessions.begin() as session:
        start = _place(ctx, session, update.start, "start", problems)
        end = _place(ctx, session, update.end, "end", problems) if update.end else start
        if update.day_end is not None and update.day_end < update.day_start:
            problems.append(
                Problem(
                    "the day ends before it starts",
                    field="day_end",
                    value=f"{update.day_end} < {update.day_start}",
                )
            )
        if problems or start is None or end is None:
            raise InputError("the day cannot be set", problems=problems)
        row = _find(session, owner, day) or _new_list(session, owner, day)
        row.start_kind, row.start_label, row.start_lat, row.start_lon = start
        row.end_kind, row.end_label, row.end_lat, row.end_lon = end
        row.time_zone = _zone_at(start[2], start[3])
        row.day_start_min = _minutes(update.day_start)
        row.day_end_min = None if update.day_end is None else _minutes(update.day_end)
        session.flush()
        return _public(session, row)


def put_stop(
    ctx: AppContext, *, owner: str, day: dt.date, provider_id: int, update: VisitStopUpdate
) -> VisitListPublic:
    """Add a provider to the day's list, or change its visit (the list is made if new).

    Raises
    ------
    core.errors.NotFoundError
        For an unknown provider.
    core.errors.InputError
        For a window with one end only, or one that ends before it starts.
    """
    ws, we = update.window_start, update.window_end
    problems = []
    if (ws is None) != (we is None):
        problems.append(Problem("a window needs both a start and an end", field="window_end"))
    elif ws is not None and we is not None and we < ws:
        problems.append(
            Problem("the window ends before it starts", field="window_end", value=f"{we} < {ws}")
        )
    if problems:
        raise InputError("the visit cannot be set", problems=problems)
    with ctx.sessions.begin() as session:
        if session.get(Provider, provider_id) is None:
            raise NotFoundError(f"no provider with id {provider_id}")
        row = _find(session, owner, day) or _new_list(session, owner, day)
        stop = session.scalars(
            select(VisitStop).where(
                VisitStop.list_id == row.id, VisitStop.provider_id == provider_id
            )
        ).first()
        if stop is None:
            stop = VisitStop(list_id=row.id, provider_id=provider_id)
            session.add(stop)
        stop.duration_min = update.duration_min
        stop.window_start_min = None if ws is None else _minutes(ws)
        stop.window_end_min = None if we is None else _minutes(we)
        session.flush()
        return _public(session, row)


def remove_stop(ctx: AppContext, *, owner: str, day: dt.date, provider_id: int) -> None:
    """Take a provider off the day's list (404 when it is not on it)."""
    with ctx.sessions.begin() as session:
        row = _get(session, owner, day)
        gone = session.execute(
            delete(VisitStop).where(
                VisitStop.list_id == row.id, VisitStop.provider_id == provider_id
            )
        ).rowcount
        if not gone:
            raise NotFoundError(f"provider {provider_id} is not on the list of {day.isoformat()}")


def delete_day(ctx: AppContext, *, owner: str, day: dt.date) -> None:
    """Delete the day's list and its stops (404 when there is none)."""
    with ctx.sessions.begin() as session:
        row = _get(session, owner, day)
        session.execute(delete(VisitStop).where(VisitStop.list_id == row.id))
        session.delete(row)


_STOP_COLUMNS = {
    "provider_id": VisitStop.provider_id,
    "duration_min": VisitStop.duration_min,
    "window_start": VisitStop.window_start_min,
    "window_end": VisitStop.window_end_min,
    "display_name": Provider.display_name,
    "address_1": Provider.address_1,
    "city": Provider.city,
    "postal_code": Provider.postal_code,
    "lat": Provider.lat,
    "lon": Provider.lon,
}


@dataclass(frozen=True)
class _DayToSolve:
    """What solving needs of a saved day, read in one session."""

    stops: pd.DataFrame  # every stop in the order added, located or not (:data:`_STOP_COLUMNS`)
    start: PlacePublic
    end: PlacePublic
    zone: str
    day_start: int
    day_end: int | None


def _day_to_solve(ctx: AppContext, owner: str, day: dt.date) -> _DayToSolve:
    with ctx.sessions() as session:
        row = _get(session, owner, day)
        if row.start_kind is None:
            raise InputError(
                "the day has no start yet",
                problems=[Problem("set the day's start and end first", field="start")],
            )
        stops = pd.DataFrame(
            session.execute(
                select(*_STOP_COLUMNS.values())
                .join(Provider, Provider.id == VisitStop.provider_id)
                .where(VisitStop.list_id == row.id)
                .order_by(VisitStop.id)
            ).all(),
            columns=list(_STOP_COLUMNS),
        )
        start, end = _place_public(row, "start"), _place_public(row, "end")
        assert start is not None and end is not None  # set together
        return _DayToSolve(stops, start, end, row.time_zone, row.day_start_min, row.day_end_min)


def _address(stop: pd.Series) -> str | None:
    return (
        ", ".join(str(v) for v in (stop["address_1"], stop["city"], stop["postal_code"]) if v)
        or None
    )


def _route_stops(
    plan: RoutePlan, located: pd.DataFrame, legs: list[bool], at: Callable[[float], dt.datetime]
) -> list[RouteStopPublic]:
    """The planned visits in order, each with its times; ``legs[k]``: the drive to visit k is estimated."""
    out = []
    for k, r in enumerate(plan.stops.itertuples(index=False)):
        s = located.iloc[int(r.stop_id)]
        out.append(
            RouteStopPublic(
                seq=int(r.seq),
                provider_id=int(s["provider_id"]),
                display_name=s["display_name"],
                address=_address(s),
                lat=float(s["lat"]),
                lon=float(s["lon"]),
                drive_min=round(float(r.drive_min), 2),
                arrival=at(r.arrival_min),
                wait_min=round(float(r.wait_min), 2),
                visit_start=at(r.start_min),
                departure=at(r.departure_min),
                estimated=legs[k],
            )
        )
    return out


def _unassigned(
    plan: RoutePlan, located: pd.DataFrame, stops: pd.DataFrame
) -> list[UnassignedStopPublic]:
    """The stops the plan leaves out with its reason, then those without a location."""
    out = [
        UnassignedStopPublic(
            provider_id=int(located.iloc[int(i)]["provider_id"]),
            display_name=located.iloc[int(i)]["display_name"],
            reason=why,
        )
        for i, why in zip(plan.unassigned["stop_id"], plan.unassigned["reason"], strict=True)
    ]
    out += [
        UnassignedStopPublic(provider_id=int(p), display_name=n, reason=_NO_LOCATION)
        for p, n, la, lo in zip(
            stops["provider_id"], stops["display_name"], stops["lat"], stops["lon"], strict=True
        )
        if pd.isna(la) or pd.isna(lo)
    ]
    return out


def solve_day(ctx: AppContext, *, owner: str, day: dt.date) -> RoutePublic:
    """The day's route: stops in visiting order with their times, and those that cannot be made.

    Raises
    ------
    core.errors.NotFoundError
        When the owner has no list for ``day``.
    core.errors.InputError
        When the day's start is not set yet.
    """
    from geo.drive_times import drive_time_matrix
    from territories.routes import plan_route

    saved = _day_to_solve(ctx, owner, day)
    stops, start, end = saved.stops, saved.start, saved.end
    located = stops[stops["lat"].notna() & stops["lon"].notna()].reset_index(drop=True)
    lat = np.concatenate([[start.lat], located["lat"].to_numpy(float), [end.lat]])
    lon = np.concatenate([[start.lon], located["lon"].to_numpy(float), [end.lon]])
    minutes, estimated = drive_time_matrix(
        ctx.router_or_none, lat, lon, max_snap_m=ctx.settings.max_snap_m, fallback=ctx.fallback
    )
    plan = plan_route(
        minutes=minutes,
        stop_ids=located.index.tolist(),
        duration_min=located["duration_min"].to_numpy(float),
        window_start=located["window_start"].to_numpy(float),
        window_end=located["window_end"].to_numpy(float),
        day_start_min=float(saved.day_start),
        day_end_min=None if saved.day_end is None else float(saved.day_end),
    )
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(saved.zone))

    def at(m: float) -> dt.datetime:
        return midnight + dt.timedelta(minutes=float(m))

    path = [0, *(int(i) + 1 for i in plan.stops["stop_id"]), len(located) + 1]
    legs = [bool(estimated[a, b]) for a, b in itertools.pairwise(path)]
    return RoutePublic(
        day=day,
        time_zone=saved.zone,
        start=start,
        end=end,
        departure=at(saved.day_start),
        end_arrival=at(plan.end_arrival_min),
        drive_min=round(plan.drive_min, 2),
        stops=_route_stops(plan, located, legs, at),
        unassigned=_unassigned(plan, located, stops),
        estimated=any(legs),
    )


def route_geojson(route: RoutePublic) -> dict[str, Any]:
    """The route for the map: start, stops and end as points, and the line through them in order.

    The line joins the points straight (the router gives times, not road geometry).
    """

    def point(lat: float, lon: float, props: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "Feature",
            "properties": props,
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
        }

    features = [
        point(route.start.lat, route.start.lon, {"role": "start", "label": route.start.label})
    ]
    for s in route.stops:
        props = {
            "role": "stop",
            "seq": s.seq,
            "provider_id": s.provider_id,
            "display_name": s.display_name,
            "arrival": s.arrival.isoformat(),
            "departure": s.departure.isoformat(),
        }
        features.append(point(s.lat, s.lon, props))
    features.append(point(route.end.lat, route.end.lon, {"role": "end", "label": route.end.label}))
    line = [f["geometry"]["coordinates"] for f in features]
    features.append(
        {
            "type": "Feature",
            "properties": {"role": "route", "drive_min": route.drive_min},
            "geometry": {"type": "LineString", "coordinates": line},
        }
    )
    for i, f in enumerate(features):
        f["id"] = str(i)
    return {"type": "FeatureCollection", "features": features}
