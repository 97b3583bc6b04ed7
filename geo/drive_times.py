"""The one rule for the drive time between two points, on :class:`geo.road_router.RoadRouter`.

The rule lives here and nowhere else (:func:`point_legs`, :func:`minutes_from`,
:func:`drive_time_matrix`):

* a point farther than ``max_snap_m`` from every road node is *off the
  network*; every other point is *routed* from its nearest node, and its walk
  to that node (the *access leg*) is added at the fallback speed, at both
  ends of a trip;
* a trip with an end off the network, with no road between its ends, or with
  no road network at all is *estimated* from the great-circle distance by the
  :class:`geo.fallback.Fallback` (``km * circuity / speed_kph * 60``) and
  flagged so.

The defaults of ``max_snap_m`` and :class:`~geo.fallback.Fallback` are the
settings' (:class:`core.settings.Settings`), read from there, not restated.
Minutes outside, the router's seconds inside.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from core.errors import GeoError
from core.settings import Settings
from geo.distance import as_float_array, haversine_km, validate_coordinates
from geo.fallback import Fallback
from geo.road_router import RoadRouter

__all__ = [
    "DEFAULT_MAX_SNAP_M",
    "Legs",
    "Reach",
    "drive_time_matrix",
    "minutes_from",
    "point_legs",
    "reach_from",
    "reach_km",
]

#: A point farther than this from every road node is off the network (settings' default).
DEFAULT_MAX_SNAP_M: float = float(Settings.model_fields["max_snap_m"].default)


class Legs(NamedTuple):
    """Where points meet the road network (see :func:`point_legs`)."""

    position: npt.NDArray[np.int64]  #: row of the nearest node (0 where none)
    snap_m: npt.NDArray[np.float64]  #: metres to it (NaN without a network or coordinates)
    routed: npt.NDArray[np.bool_]  #: located and within ``max_snap_m`` of a road
    leg_min: npt.NDArray[np.float64]  #: the walk to the node, in minutes at the fallback speed


def point_legs(
    router: RoadRouter | None,
    lat: Any,
    lon: Any,
    *,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    fallback: Fallback = Fallback(),
) -> Legs:
    """Snap points by the one rule: nearest node within ``max_snap_m``, walk at the fallback speed.

    Missing coordinates (NaN pairs) are neither routed nor an error.

    Raises
    ------
    GeoError
        Listing every invalid coordinate.
    """
    la = as_float_array(lat, name="lat")
    lo = as_float_array(lon, name="lon")
    problems = validate_coordinates(la, lo, allow_missing=True)
    if problems:
        raise GeoError(f"{len(problems)} invalid coordinate(s)", problems=problems)
    located = ~np.isnan(la)
    position = np.zeros(la.size, "int64")
    snap_m = np.full(la.size, np.nan)
    if router is not None and located.any():
        s = router.snap(la[located], lo[located])
        position[located] = s["position"].to_numpy()
        snap_m[located] = s["snap_m"].to_numpy()
    routed = located & (snap_m <= max_snap_m)  # NaN compares False: no network, no route
    return Legs(position, snap_m, routed, fallback.minutes(snap_m / 1000.0))


class Reach(NamedTuple):
    """Drive seconds from one place to every node (one whole search), see :func:`reach_from`."""

    lat: float
    lon: float
    #: seconds per node, the origin's access leg included; None when it is off the network
    seconds: npt.NDArray[np.float64] | None


def _check_origin(lat: float, lon: float) -> None:
    problems = validate_coordinates(
        as_float_array(lat, name="lat"), as_float_array(lon, name="lon")
    )
    if problems:
        raise GeoError("invalid origin coordinates", problems=problems)


def reach_from(
    router: RoadRouter | None,
    lat: float,
    lon: float,
    *,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    fallback: Fallback = Fallback(),
) -> Reach:
    """One whole search from a place, for :func:`minutes_from` calls from it in many batches.

    A caller that asks for the minutes from one site to its points batch by
    batch passes this as ``reach`` so that the search runs once, not once per
    batch; the minutes are the same as without it (a search's times are exact
    wherever it stops).

    Raises
    ------
    GeoError
        For invalid coordinates.
    """
    _check_origin(lat, lon)
    site = point_legs(router, lat, lon, max_snap_m=max_snap_m, fallback=fallback)
    if router is None or not site.routed[0]:
        return Reach(float(lat), float(lon), None)
    secs, _ = router.search(site.position, offset_s=site.leg_min * 60.0)
    return Reach(float(lat), float(lon), secs)


def reach_km(
    router: RoadRouter | None, minutes: float, *, fallback: Fallback = Fallback()
) -> float:
    """Great-circle km holding every point :func:`minutes_from` puts at most ``minutes`` away.

    A bound for pre-selecting points (a bounding box in SQL) before their
    minutes are computed. Every trip of the rule moves at most as fast, in a
    straight line, as the fastest of its parts: the straight-line estimate and
    the access legs at ``speed_kph / circuity``, the roads at the router's
    :attr:`RoadRouter.top_kph`; so ``minutes`` at the fastest of those reach
    no farther. The fallback speed alone would be too short a radius: roads
    are faster than the door-to-door estimate (highways about 100 km/h).
    """
    kph = fallback.speed_kph / fallback.circuity
    if router is not None:
        kph = max(kph, router.top_kph)
    return minutes / 60.0 * kph


def minutes_from(
    router: RoadRouter | None,
    lat: float,
    lon: float,
    to_lat: Any,
    to_lon: Any,
    *,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    fallback: Fallback = Fallback(),
    reach: Reach | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Drive minutes from one place (a site) to many points, by the one rule.

    Parameters
    ----------
    reach
        :func:`reach_from` of this place with the same router and rule: its
        times are used instead of a search of their own.

    Returns
    -------
    tuple of numpy.ndarray
        ``(minutes, estimated)``: routed minutes (both access legs included)
        where both ends are on the network and connected, else the
        straight-line estimate with ``estimated`` True; NaN (not estimated)
        for points without coordinates.

    Raises
    ------
    GeoError
        For invalid coordinates (every one listed).
    ValueError
        ``reach`` is another place's.
    """
    _check_origin(lat, lon)
    if reach is not None and (reach.lat, reach.lon) != (float(lat), float(lon)):
        raise ValueError("reach is from another place")
    pts = point_legs(router, to_lat, to_lon, max_snap_m=max_snap_m, fallback=fallback)
    minutes = np.full(pts.position.size, np.inf)
    if router is not None and pts.routed.any():
        want = pts.position[pts.routed]
        if reach is None:
            reach = _targeted(router, lat, lon, want, max_snap_m=max_snap_m, fallback=fallback)
        if reach.seconds is not None:
            minutes[pts.routed] = reach.seconds[want] / 60.0 + pts.leg_min[pts.routed]
    estimated = ~np.isfinite(minutes)
    la = as_float_array(to_lat, name="lat")
    lo = as_float_array(to_lon, name="lon")
    minutes[estimated] = fallback.minutes(haversine_km(lat, lon, la[estimated], lo[estimated]))
    estimated &= ~np.isnan(la)
    return minutes, estimated


def _targeted(
    router: RoadRouter,
    lat: float,
    lon: float,
    targets: npt.NDArray[np.int64],
    *,
    max_snap_m: float,
    fallback: Fallback,
) -> Reach:
    """A search from a place stopped once the targets' times are final."""
    site = point_legs(router, lat, lon, max_snap_m=max_snap_m, fallback=fallback)
    if not site.routed[0]:
        return Reach(float(lat), float(lon), None)
    secs, _ = router.search(site.position, offset_s=site.leg_min * 60.0, targets=targets)
    return Reach(float(lat), float(lon), secs)


def drive_time_matrix(
    router: RoadRouter | None,
    lat: Any,
    lon: Any,
    *,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    fallback: Fallback = Fallback(),
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Drive minutes between every pair of N points (e.g. the stops of a visit route).

    One search per routed point, each stopped as soon as every other point's
    time is final.

    Returns
    -------
    tuple of numpy.ndarray
        ``(minutes, estimated_mask)``, both ``N x N``: row ``i`` from point
        ``i``; the diagonal is 0. Pairs with an end off the network (or no
        road between them, or no network) hold the straight-line estimate and
        are True in the mask.

    Raises
    ------
    GeoError
        For missing or invalid coordinates (every one listed).
    """
    la = as_float_array(lat, name="lat")
    lo = as_float_array(lon, name="lon")
    problems = validate_coordinates(la, lo)
    if problems:
        raise GeoError(f"{len(problems)} invalid point coordinate(s)", problems=problems)
    legs = point_legs(router, la, lo, max_snap_m=max_snap_m, fallback=fallback)
    n = la.size
    minutes = np.full((n, n), np.inf)
    on = np.flatnonzero(legs.routed)
    if router is not None and on.size:
        want = legs.position[on]
        for i in on.tolist():
            secs, _ = router.search(legs.position[i], offset_s=legs.leg_min[i] * 60.0, targets=want)
            minutes[i, on] = secs[want] / 60.0 + legs.leg_min[on]
    estimated = ~np.isfinite(minutes)
    rows, cols = np.nonzero(estimated)
    minutes[rows, cols] = fallback.minutes(haversine_km(la[rows], lo[rows], la[cols], lo[cols]))
    np.fill_diagonal(minutes, 0.0)
    np.fill_diagonal(estimated, False)
    return minutes, estimated
