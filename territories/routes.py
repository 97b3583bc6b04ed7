"""Order a liaison's day of visits: VROOM over the one router's drive-time matrix.

The drive minutes come from :func:`geo.drive_times.drive_time_matrix` (the one
rule for drive times); this module only orders the stops. It hands the
problem to VROOM (``pyvroom``), a maintained vehicle-routing solver: one
vehicle (the liaison) leaves the start no earlier than the day's start, visits
each stop for its duration, starting within the stop's window when it has one,
and drives to the end, finishing by the day's end when there is one. VROOM
first serves as many stops as it can, then minimises the drive time. VROOM is
a heuristic; for a day of up to eight stops that it serves in full, every
order is also timed and the shortest is kept, so such a day's order is optimal.

A stop that cannot be served is returned in :attr:`RoutePlan.unassigned`
with the reason, never dropped.

Times are minutes since midnight of the day, local wall-clock time (the
service turns them into dates in the day's time zone). VROOM counts whole
seconds: matrix entries and times are rounded to the second.

Matrix layout: ``(n + 2) x (n + 2)``, row ``i`` from point ``i``: point 0 is
the start, points ``1..n`` the stops in the order given, point ``n + 1`` the
end (the same place as the start for a round trip).
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
import vroom

from core.checks import finite_number
from core.errors import InputError, Problem

__all__ = ["DAY_MINUTES", "RoutePlan", "plan_route"]

#: Times run from 0 to the end of the next day: a day may end after midnight.
DAY_MINUTES = 48 * 60
#: VROOM's search effort (0-5); 5 is its most thorough and still fast on a day's stops.
_EXPLORATION = 5
#: Up to this many stops every full order is also tried (8! = 40,320), so the order is optimal.
_EXACT_MAX = 8
_UNREACHABLE = "its window closes before it can be reached, even straight from the start"
#: The columns of VROOM's route steps read here.
_STEP_COLUMNS = ("type", "location_index", "arrival", "waiting_time", "service", "duration")
_NO_ROOM = "no order fits it beside the other stops within their windows and the day"


class RoutePlan(NamedTuple):
    """A solved day.

    Attributes
    ----------
    stops
        The served stops in visiting order: ``stop_id``, ``seq`` (1-based),
        ``drive_min`` (from the previous point), ``arrival_min``,
        ``wait_min`` (until the window opens), ``start_min`` (visit begins),
        ``departure_min``.
    unassigned
        Stops that cannot be served: ``stop_id`` and ``reason``.
    end_arrival_min
        Arrival at the end point.
    drive_min
        Total driving, start to end.
    """

    stops: pd.DataFrame
    unassigned: pd.DataFrame
    end_arrival_min: float
    drive_min: float


def _problems(
    minutes: npt.NDArray[np.float64],
    n: int,
    stop_ids: list[Any],
    duration: npt.NDArray[np.float64],
    w_start: npt.NDArray[np.float64],
    w_end: npt.NDArray[np.float64],
    day_start_min: float,
    day_end_min: float | None,
) -> list[Problem]:
    problems: list[Problem] = []
    if minutes.shape != (n + 2, n + 2):
        problems.append(
            Problem(
                f"the matrix must be {n + 2} x {n + 2} (start, {n} stops, end)",
                field="minutes",
                value=str(minutes.shape),
            )
        )
    elif not (np.isfinite(minutes).all() and (minutes >= 0).all()):
        problems.append(Problem("drive minutes must be finite and >= 0", field="minutes"))
    if len(set(stop_ids)) != n:
        problems.append(Problem("stop ids must be unique", field="stop_id"))
    for name, arr in (("duration_min", duration), ("window_start", w_start), ("window_end", w_end)):
        if arr.shape != (n,):
            problems.append(Problem(f"{name} must hold one value per stop", field=name))
    if problems:
        return problems
    finite_number(day_start_min, field="day_start", problems=problems, ge=0, le=DAY_MINUTES)
    if day_end_min is not None:
        finite_number(day_end_min, field="day_end", problems=problems, ge=0, le=DAY_MINUTES)
        if not problems and day_end_min < day_start_min:
            problems.append(
                Problem("the day ends before it starts", field="day_end", value=str(day_end_min))
            )
    for i, sid in enumerate(stop_ids):
        if not (np.isfinite(duration[i]) and 0 <= duration[i] <= DAY_MINUTES):
            problems.append(
                Problem(
                    f"stop {sid}: a visit lasts 0 to {DAY_MINUTES} minutes",
                    field="duration_min",
                    value=str(duration[i]),
                )
            )
        a, b = w_start[i], w_end[i]
        if np.isnan(a) and np.isnan(b):
            continue
        if np.isnan(a) or np.isnan(b):
            problems.append(
                Problem(f"stop {sid}: a window needs both a start and an end", field="window")
            )
        elif not (0 <= a <= DAY_MINUTES and 0 <= b <= DAY_MINUTES):
            problems.append(
                Problem(f"stop {sid}: window times run 0 to {DAY_MINUTES} minutes", field="window")
            )
        elif b < a:
            problems.append(
                Problem(
                    f"stop {sid}: the window ends before it starts",
                    field="window_end",
                    value=f"{b:g} < {a:g}",
                )
            )
    return problems


def _seconds(value: Any) -> Any:
    return np.rint(np.asarray(value, dtype="float64") * 60.0).astype("int64")


def plan_route(
    *,
    minutes: Any,
    stop_ids: Any,
    duration_min: Any,
    window_start: Any = None,
    window_end: Any = None,
    day_start_min: float,
    day_end_min: float | None = None,
) -> RoutePlan:
    """Order the stops of a day (see the module docstring for the matrix layout).

    Parameters
    ----------
    minutes
        ``(n + 2) x (n + 2)`` drive minutes: start, the ``n`` stops, end.
    stop_ids
        One id per stop, unique (returned as given).
    duration_min
        Minutes spent at each stop.
    window_start, window_end
        Per stop, minutes since midnight within which the visit must begin;
        NaN in both for a stop without a window. None: no windows at all.
    day_start_min
        Earliest departure from the start, minutes since midnight.
    day_end_min
        Latest arrival at the end, or None for no limit.

    Raises
    ------
    core.errors.InputError
        Listing every problem (an end before its start among them) at once.
    """
    ids = list(stop_ids)
    n = len(ids)
    mat = np.asarray(minutes, dtype="float64")
    duration = np.asarray(duration_min, dtype="float64").reshape(-1)
    nan = np.full(n, np.nan)
    w_start = nan if window_start is None else np.asarray(window_start, "float64").reshape(-1)
    w_end = nan if window_end is None else np.asarray(window_end, "float64").reshape(-1)
    problems = _problems(mat, n, ids, duration, w_start, w_end, day_start_min, day_end_min)
    if problems:
        raise InputError(f"cannot plan the route: {len(problems)} problem(s)", problems=problems)
    secs = _seconds(mat)
    begin = int(_seconds(day_start_min))
    finish = int(_seconds(DAY_MINUTES if day_end_min is None else day_end_min))
    problem = vroom.Input()
    problem.set_durations_matrix(profile="car", matrix_input=secs)
    problem.add_vehicle(
        vroom.Vehicle(0, start=0, end=n + 1, time_window=vroom.TimeWindow(begin, finish))
    )
    has_window = ~np.isnan(w_start)
    jobs = []
    for i in range(n):
        windows = (
            [vroom.TimeWindow(int(_seconds(w_start[i])), int(_seconds(w_end[i])))]
            if has_window[i]
            else []
        )
        # job ids are positions (1-based): the caller's ids may be anything
        jobs.append(
            vroom.Job(
                i + 1,
                location=i + 1,
                default_service=int(_seconds(duration[i])),
                time_windows=windows,
            )
        )
    if not jobs:  # VROOM refuses a problem without a task; the day is the drive from start to end
        return _plan(pd.DataFrame(columns=list(_STEP_COLUMNS)), ids, secs, begin, has_window, w_end)
    problem.add_job(jobs)
    routes = problem.solve(exploration_level=_EXPLORATION, nb_threads=1).routes
    if n <= _EXACT_MAX and (routes["type"] == "job").sum() == n:
        windows = np.rint(np.column_stack([w_start, w_end]) * 60.0)  # seconds; NaN: no window
        service = _seconds(duration).astype("float64")
        routes = _best_full_order(routes, secs, service, windows, begin, finish)
    return _plan(routes, ids, secs, begin, has_window, w_end)


def _best_full_order(
    routes: pd.DataFrame,
    secs: Any,
    service: npt.NDArray[np.float64],
    windows: npt.NDArray[np.float64],
    begin: int,
    finish: int,
) -> pd.DataFrame:
    """VROOM's steps, or those of a full order that drives less (every order tried).

    VROOM is a heuristic: on about one day in a hundred of eight stops it
    misses the shortest order by a few minutes. A day of up to
    :data:`_EXACT_MAX` stops has at most 40,320 orders, so each is timed
    (waiting for windows, as VROOM does) and the shortest feasible one is kept
    when it beats VROOM's; ties keep VROOM's order.
    """
    n = len(service)
    orders = np.array(list(itertools.permutations(range(1, n + 1))), dtype=np.int64)
    mat = np.asarray(secs, dtype=np.float64)
    k = len(orders)
    clock = np.full(k, float(begin))
    travelled = np.zeros(k)
    ok = np.ones(k, dtype=bool)
    here = np.zeros(k, dtype=np.int64)
    steps = np.zeros((4, k, n))  # arrival, wait, service, travelled so far
    for j in range(n):
        stop = orders[:, j]
        leg = mat[here, stop]
        arrival = clock + leg
        opens, closes = windows[stop - 1, 0], windows[stop - 1, 1]
        wait = np.where(np.isnan(opens), 0.0, np.maximum(0.0, np.nan_to_num(opens) - arrival))
        ok &= np.isnan(closes) | (arrival + wait <= np.nan_to_num(closes))
        travelled = travelled + leg
        steps[:, :, j] = arrival, wait, service[stop - 1], travelled
        clock, here = arrival + wait + service[stop - 1], stop
    last = mat[here, n + 1]
    end_arrival, drive = clock + last, travelled + last
    ok &= end_arrival <= finish
    vroom_drive = int(routes.loc[routes["type"] == "end", "duration"].iloc[0])
    if not ok.any() or drive[ok].min() >= vroom_drive:
        return routes
    best = int(np.flatnonzero(ok)[np.argmin(drive[ok])])
    frame = pd.DataFrame(
        {
            "type": ["start", *["job"] * n, "end"],
            "location_index": [0, *orders[best].tolist(), n + 1],
            "arrival": [begin, *steps[0, best], end_arrival[best]],
            "waiting_time": [0, *steps[1, best], 0],
            "service": [0, *steps[2, best], 0],
            "duration": [0, *steps[3, best], drive[best]],
        }
    )
    return frame.astype(dict.fromkeys(_STEP_COLUMNS[1:], "int64"))


def _plan(
    routes: pd.DataFrame,
    ids: list[Any],
    secs: Any,
    begin: int,
    has_window: npt.NDArray[np.bool_],
    w_end: npt.NDArray[np.float64],
) -> RoutePlan:
    """The plan from VROOM's steps (start, jobs, end), times back in minutes."""
    n = len(ids)
    served = routes[routes["type"] == "job"]
    if served.empty:  # nothing served: the liaison drives straight from start to end
        end_arrival = begin + int(secs[0, n + 1])
        drive = int(secs[0, n + 1])
    else:
        end = routes[routes["type"] == "end"].iloc[0]
        end_arrival, drive = int(end["arrival"]), int(end["duration"])
    pos = served["location_index"].to_numpy("int64") - 1
    arrival = served["arrival"].to_numpy("int64")
    wait = served["waiting_time"].to_numpy("int64")
    service = served["service"].to_numpy("int64")
    travelled = served["duration"].to_numpy("int64")
    stops = pd.DataFrame(
        {
            "stop_id": [ids[p] for p in pos],
            "seq": np.arange(1, pos.size + 1, dtype="int64"),
            "drive_min": np.diff(np.concatenate([[0], travelled])) / 60.0,
            "arrival_min": arrival / 60.0,
            "wait_min": wait / 60.0,
            "start_min": (arrival + wait) / 60.0,
            "departure_min": (arrival + wait + service) / 60.0,
        }
    )
    left = sorted(set(range(n)) - set(pos.tolist()))
    reasons = [
        _UNREACHABLE
        if has_window[i] and begin + int(secs[0, i + 1]) > int(_seconds(w_end[i]))
        else _NO_ROOM
        for i in left
    ]
    unassigned = pd.DataFrame(
        {"stop_id": pd.Series([ids[i] for i in left], dtype=object), "reason": reasons}
    )
    return RoutePlan(stops, unassigned, end_arrival / 60.0, drive / 60.0)
