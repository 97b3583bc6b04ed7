"""Visit days over HTTP on both backends: list, start/end, route, exports, ownership."""

from __future__ import annotations

import csv
import io

import icalendar
import pytest

from tests.api.conftest import ADMIN, LIAISON, SITES

DAY = "/v1/visit-lists/2027-03-01"


def _day(client, path: str, *, headers=LIAISON, **body) -> dict:
    r = client.put(path, json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def planned(client, api_db) -> dict:
    """A day from AGS-N to a point near AGS-S with five providers, one with a window."""
    lat, lon = SITES["AGS-S"]
    _day(
        client,
        DAY,
        start={"kind": "site", "site_code": "AGS-N"},
        end={"kind": "point", "lat": lat, "lon": lon},
        day_start="08:30",
        day_end="18:00",
    )
    for i, pid in enumerate(api_db.provider_ids[:5]):
        body = {"duration_min": 20 + i}
        if i == 2:
            body |= {"window_start": "10:00", "window_end": "11:00"}
        r = client.put(f"{DAY}/stops/{pid}", json=body, headers=LIAISON)
        assert r.status_code == 200, r.text
    r = client.get(f"{DAY}/route", headers=LIAISON)
    assert r.status_code == 200, r.text
    return r.json()


def test_route_orders_every_stop_with_times(planned, api_db) -> None:
    assert planned["time_zone"] == "America/Mexico_City"
    assert planned["unassigned"] == []
    assert [s["seq"] for s in planned["stops"]] == [1, 2, 3, 4, 5]
    assert sorted(s["provider_id"] for s in planned["stops"]) == sorted(api_db.provider_ids[:5])
    assert planned["departure"].startswith("2027-03-01T08:30:00-06:00")
    times = [(s["arrival"], s["visit_start"], s["departure"]) for s in planned["stops"]]
    flat = [t for trio in times for t in trio]
    assert flat == sorted(flat) and flat[-1] <= planned["end_arrival"]
    windowed = next(s for s in planned["stops"] if s["provider_id"] == api_db.provider_ids[2])
    assert "T10:00" <= windowed["visit_start"][10:16] <= "T11:00"


def test_list_is_saved_for_its_owner_only(client, planned, api_db) -> None:
    got = client.get(DAY, headers=LIAISON).json()
    assert [s["provider_id"] for s in got["stops"]] == api_db.provider_ids[:5]
    assert got["start"]["kind"] == "site" and got["start"]["label"] == "AGS-N"
    days = client.get("/v1/visit-lists", headers=LIAISON).json()
    assert {"day": "2027-03-01", "stops": 5, "start": "AGS-N"} in days
    assert client.get(DAY, headers=ADMIN).status_code == 404  # another caller's day
    assert "2027-03-01" not in [
        d["day"] for d in client.get("/v1/visit-lists", headers=ADMIN).json()
    ]


def test_route_geojson_points_and_line(client, planned) -> None:
    r = client.get(f"{DAY}/route.geojson", headers=LIAISON)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    roles = [f["properties"]["role"] for f in fc["features"]]
    assert roles == ["start", "stop", "stop", "stop", "stop", "stop", "end", "route"]
    line = fc["features"][-1]["geometry"]
    assert line["type"] == "LineString" and len(line["coordinates"]) == 7


def test_csv_export(client, planned) -> None:
    r = client.get(f"{DAY}/export.csv", headers=LIAISON)
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["seq"] for row in rows] == ["1", "2", "3", "4", "5"]
    assert [int(row["provider_id"]) for row in rows] == [s["provider_id"] for s in planned["stops"]]


def test_ics_export_reads_back(client, planned) -> None:
    r = client.get(f"{DAY}/export.ics", headers=LIAISON)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(r.content)
    events = list(cal.walk("VEVENT"))
    assert len(events) == 5
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["America/Mexico_City"]
    first = events[0]
    assert first["DTSTART"].params["TZID"] == "America/Mexico_City"
    assert first.decoded("DTSTART").isoformat() == planned["stops"][0]["visit_start"]
    pid = planned["stops"][0]["provider_id"]
    assert str(first["URL"]).endswith(f"/v1/providers/{pid}/brief.html")
    assert "Calle Madero" in str(first["LOCATION"])


def test_day_sheet_has_the_briefs(client, planned) -> None:
    r = client.get(f"{DAY}/sheet.html", headers=LIAISON)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "Visits of 2027-03-01" in r.text
    assert r.text.count("<section") == 5 and "<h2>Referrals</h2>" in r.text


def test_impossible_window_is_reported_unassigned(client, api_db) -> None:
    path = "/v1/visit-lists/2027-03-02"
    _day(client, path, start={"kind": "site", "site_code": "AGS-N"}, day_start="09:00")
    for pid, body in (
        (api_db.provider_ids[0], {"duration_min": 30}),
        (
            api_db.provider_ids[1],
            {"duration_min": 30, "window_start": "06:00", "window_end": "07:00"},
        ),
    ):
        assert client.put(f"{path}/stops/{pid}", json=body, headers=LIAISON).status_code == 200
    route = client.get(f"{path}/route", headers=LIAISON).json()
    assert [s["provider_id"] for s in route["stops"]] == [api_db.provider_ids[0]]
    assert [u["provider_id"] for u in route["unassigned"]] == [api_db.provider_ids[1]]
    assert "window closes" in route["unassigned"][0]["reason"]
    assert route["end"]["label"] == "AGS-N"  # no end given: back to the start
    rows = list(csv.DictReader(io.StringIO(client.get(f"{path}/export.csv", headers=LIAISON).text)))
    assert rows[-1]["seq"] == "" and "window closes" in rows[-1]["unassigned_reason"]


def test_end_before_start_is_refused(client, api_db) -> None:
    path = "/v1/visit-lists/2027-03-03"
    r = client.put(
        path,
        json={
            "start": {"kind": "site", "site_code": "AGS-N"},
            "day_start": "17:00",
            "day_end": "09:00",
        },
        headers=LIAISON,
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["day_end"]
    r = client.put(
        f"{path}/stops/{api_db.provider_ids[0]}",
        json={"window_start": "11:00", "window_end": "10:00"},
        headers=LIAISON,
    )
    assert r.status_code == 422 and "ends before it starts" in r.text
    assert client.get(path, headers=LIAISON).status_code == 404  # nothing half-written


def test_places_that_cannot_be_placed_are_refused_together(client) -> None:
    r = client.put(
        "/v1/visit-lists/2027-03-04",
        json={
            "start": {"kind": "address", "address": "12 Nowhere Lane", "postal_code": "20000"},
            "end": {"kind": "site", "site_code": "NO-SUCH"},
        },
        headers=LIAISON,
    )
    assert r.status_code == 422
    errors = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert set(errors) == {"start.address", "end.site_code"}
    assert "cannot be placed offline" in errors["start.address"]


def test_unknown_provider_and_missing_stop(client) -> None:
    path = "/v1/visit-lists/2027-03-05"
    assert client.put(f"{path}/stops/999999", json={}, headers=LIAISON).status_code == 404
    _day(client, path, start={"kind": "point", "lat": 21.87, "lon": -102.27})
    assert client.delete(f"{path}/stops/1", headers=LIAISON).status_code == 404
    assert client.delete(path, headers=LIAISON).status_code == 204
    assert client.get(path, headers=LIAISON).status_code == 404


def test_route_needs_a_start(client, api_db) -> None:
    path = "/v1/visit-lists/2027-03-06"
    assert (
        client.put(f"{path}/stops/{api_db.provider_ids[0]}", json={}, headers=LIAISON).status_code
        == 200
    )
    r = client.get(f"{path}/route", headers=LIAISON)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "start"


def test_times_with_an_offset_are_refused(client) -> None:
    """Found by schemathesis: "08:00+01:00" reached the service and failed comparing times (500)."""
    r = client.put(
        "/v1/visit-lists/2027-03-07",
        json={
            "start": {"kind": "point", "lat": 21.87, "lon": -102.27},
            "day_start": "08:00+01:00",
            "day_end": "07:00",
        },
        headers=LIAISON,
    )
    assert r.status_code == 422, r.text
