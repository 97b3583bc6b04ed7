"""The one point rule: snapping and access legs, minutes from a place, the matrix, reach."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import GeoError
from core.settings import Settings
from geo.distance import haversine_km
from geo.drive_times import (
    DEFAULT_MAX_SNAP_M,
    drive_time_matrix,
    minutes_from,
    point_legs,
    reach_from,
    reach_km,
)
from geo.fallback import Fallback
from geo.road_router import RoadRouter
from tests.handgraph import hand_graph

from .test_road_router import chain


def test_default_snap_limit_is_the_settings():
    assert Settings().max_snap_m == DEFAULT_MAX_SNAP_M


def test_point_legs_walk_at_the_fallback_speed():
    r = RoadRouter.from_graph(chain(), edge_m=1.0)
    fb = Fallback(circuity=1.5, speed_kph=6.0)
    legs = point_legs(
        r,
        [45.0, 45.0 + 0.2 / 111.195, 45.5, np.nan],
        [0.5] * 3 + [np.nan],
        max_snap_m=300,
        fallback=fb,
    )
    assert legs.routed.tolist() == [True, True, False, False]
    assert legs.snap_m[1] == pytest.approx(200, rel=1e-4)
    assert legs.leg_min[1] == pytest.approx(0.2 * 1.5 / 6.0 * 60, rel=1e-4)  # 3 min on foot
    none = point_legs(None, [45.0], [0.5])
    assert not none.routed.any() and np.isnan(none.snap_m).all()


def test_minutes_from_routes_estimates_and_flags():
    r = RoadRouter.from_graph(chain(), edge_m=1.0)
    fb = Fallback(circuity=1.3, speed_kph=30.0)
    step = 1.0 / 111.195
    lat = [45.0 + step, 45.0 + 2 * step, 45.0 + 10 * step, 45.0 + 5 * step, np.nan]
    lon = [0.5] * 4 + [np.nan]
    minutes, est = minutes_from(r, 45.0, 0.5, lat, lon, max_snap_m=500, fallback=fb)
    # b, c by road; d on its island (no road from a): estimated; the 4th is 3 km off any road
    assert minutes[:2] == pytest.approx([1.0, 2.5])
    assert est.tolist() == [False, False, True, True, False]
    assert minutes[2] == pytest.approx(fb.minutes(10.0), rel=1e-4)
    assert minutes[3] == pytest.approx(fb.minutes(5.0), rel=1e-4)
    assert np.isnan(minutes[4])
    # the site 200 m off its node walks there first: 0.2 km at 30 km/h x 1.3
    m2, _ = minutes_from(r, 45.0 - 0.2 * step, 0.5, lat[:1], lon[:1], max_snap_m=500, fallback=fb)
    assert m2[0] == pytest.approx(1.0 + fb.minutes(0.2), rel=1e-4)
    _off, est_off = minutes_from(r, 46.0, 0.5, lat[:1], lon[:1], max_snap_m=500, fallback=fb)
    assert est_off.all()
    nonet, est_none = minutes_from(None, 45.0, 0.5, lat[:2], lon[:2], fallback=fb)
    assert est_none.all() and nonet == pytest.approx(fb.minutes([1.0, 2.0]), rel=1e-4)
    with pytest.raises(GeoError):
        minutes_from(r, 95.0, 0.5, lat, lon)


def test_one_search_answers_every_batch_as_its_own_search_would():
    """reach_from: a site's minutes asked batch by batch from one whole search are the same."""
    r = RoadRouter.from_graph(chain(), edge_m=1.0)
    fb = Fallback(circuity=1.3, speed_kph=30.0)
    step = 1.0 / 111.195
    lat = [45.0 + step, 45.0 + 2 * step, 45.0 + 10 * step, 45.0 + 5 * step, np.nan]
    lon = [0.5] * 4 + [np.nan]
    for site in ((45.0 - 0.2 * step, 0.5), (46.0, 0.5)):  # on the network, then off it
        reach = reach_from(r, *site, max_snap_m=500, fallback=fb)
        assert (reach.seconds is None) == (site[0] == 46.0)
        alone = minutes_from(r, *site, lat, lon, max_snap_m=500, fallback=fb)
        for i in range(len(lat)):
            m, est = minutes_from(
                r, *site, lat[i : i + 1], lon[i : i + 1], max_snap_m=500, fallback=fb, reach=reach
            )
            np.testing.assert_array_equal(m, alone[0][i : i + 1])
            np.testing.assert_array_equal(est, alone[1][i : i + 1])
    with pytest.raises(ValueError, match="another place"):
        minutes_from(r, 45.0, 0.5, lat, lon, reach=reach)
    assert reach_from(None, 45.0, 0.5).seconds is None


def test_reach_km_bounds_every_drive_time_of_the_rule(aguascalientes):
    """No point :func:`minutes_from` puts m minutes away is farther than reach_km(m) in a line."""
    r = RoadRouter.from_graph(aguascalientes)
    hand = RoadRouter.from_graph(hand_graph())
    # the hand graph's fastest edge: 4 -> 5, 0.001 degrees of longitude at 39.961 N in 30 s
    assert hand.top_kph == pytest.approx(haversine_km(39.961, -82.998, 39.961, -83.0)[0] * 120)
    fb = Fallback(circuity=1.3, speed_kph=30.0)
    assert reach_km(None, 60.0, fallback=fb) == pytest.approx(30.0 / 1.3)
    assert r.top_kph > 30.0 / 1.3  # roads beat the estimate: a box from it alone is too small
    assert reach_km(r, 60.0, fallback=fb) == pytest.approx(r.top_kph)
    rng = np.random.default_rng(3)
    site = (21.8745, -102.2700)
    lat = rng.uniform(21.80, 21.95, 3000)  # on the extract and off it (estimates)
    lon = rng.uniform(-102.35, -102.19, 3000)
    minutes, est = minutes_from(r, *site, lat, lon, max_snap_m=500, fallback=fb)
    assert 0 < est.sum() < est.size
    km = haversine_km(*site, lat, lon)
    bound = np.array([reach_km(r, m, fallback=fb) for m in minutes])
    assert (km <= bound + 1e-9).all()
    # the roads reach close to the bound somewhere: it is not loose for nothing
    assert (km / bound)[~est].max() > 0.5


def test_drive_time_matrix_by_hand():
    r = RoadRouter.from_graph(chain(), edge_m=1.0)
    fb = Fallback(circuity=1.3, speed_kph=30.0)
    step = 1.0 / 111.195
    lat = [45.0, 45.0 + step, 45.0 + 2 * step, 45.0 + 10 * step, 45.0 + 5 * step]
    minutes, est = drive_time_matrix(r, lat, [0.5] * 5, max_snap_m=500, fallback=fb)
    # one-way ring a -> b -> c -> a: 60 + 90 + 30 s
    assert minutes[:3, :3] == pytest.approx(np.array([[0, 1.0, 2.5], [2.0, 0, 1.5], [0.5, 1.5, 0]]))
    assert not est[:3, :3].any()
    # d is unreachable (own island) and the last point is off the network: estimated both ways
    assert est[3, :3].all() and est[:3, 3].all() and est[4].sum() == 4 and est[:, 4].sum() == 4
    assert minutes[0, 3] == pytest.approx(fb.minutes(10.0), rel=1e-4)
    assert minutes[4, 0] == pytest.approx(fb.minutes(5.0), rel=1e-4)
    assert not est.diagonal().any() and (minutes.diagonal() == 0).all()
    _nonet, est_none = drive_time_matrix(None, lat[:2], [0.5] * 2, fallback=fb)
    assert est_none.tolist() == [[False, True], [True, False]]
    with pytest.raises(GeoError) as info:
        drive_time_matrix(r, [45.0, np.nan], [0.5, 0.5])
    assert info.value.problems


def test_matrix_agrees_with_minutes_from(aguascalientes):
    r = RoadRouter.from_graph(aguascalientes)
    rng = np.random.default_rng(8)
    lat = rng.uniform(21.858, 21.880, 25)
    lon = rng.uniform(-102.285, -102.255, 25)
    lat[3], lon[3] = 21.95, -102.20  # off the network
    minutes, est = drive_time_matrix(r, lat, lon)
    for i in (0, 3, 7):
        row, row_est = minutes_from(r, lat[i], lon[i], lat, lon)
        row_est[i] = False
        assert minutes[i] == pytest.approx(np.where(np.arange(25) == i, 0.0, row))
        assert (est[i] == row_est).all()
    assert est[3].sum() == 24 and est[:, 3].sum() == 24
