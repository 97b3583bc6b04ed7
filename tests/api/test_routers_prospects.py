"""Prospect list (filters, sort, cursor pagination) and the CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from data.models import ClinicSite, Prospect
from tests.api.conftest import EVIL_NAME, MARKETING, VIEWER, SeededDB


def _walk(client: TestClient, query: str, limit: int) -> tuple[list[dict], set[int]]:
    items, totals, cursor, pages = [], set(), None, 0
    while True:
        url = f"/v1/prospects?{query}&limit={limit}&count=true" + (
            f"&cursor={cursor}" if cursor else ""
        )
        r = client.get(url, headers=VIEWER)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= limit
        items += page["items"]
        totals.add(page["total"])
        cursor = page["next_cursor"]
        pages += 1
        assert pages < 50
        if cursor is None:
            return items, totals


@pytest.mark.parametrize(
    "sort", ["-score", "score", "drive_minutes", "-drive_minutes", "distance_km", "name"]
)
@pytest.mark.parametrize("limit", [1, 2, 5])
def test_cursor_walks_every_row_once_in_a_stable_order(
    client: TestClient, api_db: SeededDB, sort: str, limit: int
) -> None:
    items, totals = _walk(client, f"site=AGS-N&sort={sort}", limit)
    keys = [(i["site_code"], i["provider_id"]) for i in items]
    assert len(keys) == len(set(keys)) == len(api_db.prospect_ids["AGS-N"]) == 12
    assert totals == {12}
    # the same order as one big page
    one = client.get(f"/v1/prospects?site=AGS-N&sort={sort}&limit=500", headers=VIEWER).json()
    assert [(i["site_code"], i["provider_id"]) for i in one["items"]] == keys
    if sort == "-score":
        scores = [i["score"] for i in items]
        assert scores == sorted(scores, reverse=True)
    if sort == "name":
        names = [i["display_name"] for i in items]
        assert names == sorted(names)


def test_all_sites_and_inactive_providers_left_out(client: TestClient, api_db: SeededDB) -> None:
    items, totals = _walk(client, "sort=-score", 4)
    assert totals == {15}
    assert api_db.inactive_provider_id not in {i["provider_id"] for i in items}
    assert {i["site_code"] for i in items} == {"AGS-N", "AGS-S"}


def test_each_prospect_carries_its_score_breakdown(client: TestClient) -> None:
    page = client.get("/v1/prospects?site=AGS-S", headers=VIEWER).json()
    assert [i["score"] for i in page["items"]] == [66.0, 44.0, 22.0]
    for item in page["items"]:
        names = [c["name"] for c in item["components"]]
        assert names == ["specialty", "proximity"]
        assert sum(c["points"] for c in item["components"]) == pytest.approx(item["score"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("site=AGS-N&min_score=70", 7),
        ("site=AGS-N&min_score=70.5", 4),
        ("site=AGS-N&segment=distant%20GP", 3),
        ("specialty=207R00000X", 5),
        ("specialty=Internal%20Medicine", 5),
        ("site=AGS-N&max_drive_minutes=6", 4),
        ("site=AGS-S&min_score=0", 3),
        ("specialty=%20%20", 15),
    ],
)
def test_filters(client: TestClient, query: str, expected: int) -> None:
    page = client.get(f"/v1/prospects?{query}&limit=500&count=true", headers=VIEWER).json()
    assert page["total"] == len(page["items"]) == expected


def test_unknown_site_is_404_problem(client: TestClient) -> None:
    for path in ("/v1/prospects?site=NOPE", "/v1/prospects/export.csv?site=NOPE"):
        r = client.get(path, headers=MARKETING)
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        assert "NOPE" in r.json()["detail"]


def test_csv_export_parses_and_neutralises_formulas(client: TestClient, api_db: SeededDB) -> None:
    r = client.get("/v1/prospects/export.csv?site=AGS-N&sort=name", headers=MARKETING)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "prospects-AGS-N-" in disposition
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 12
    assert {int(row["provider_id"]) for row in rows} == set(api_db.provider_ids[:12])
    evil = [row for row in rows if int(row["provider_id"]) == api_db.evil_provider_id]
    assert [row["display_name"] for row in evil] == ["'" + EVIL_NAME]
    assert all(not row["display_name"].startswith("=") for row in rows)
    assert "specialty" in rows[0]["score_breakdown"]


def test_csv_export_applies_filters(client: TestClient) -> None:
    r = client.get("/v1/prospects/export.csv?min_score=60", headers=MARKETING)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert sorted(float(row["score"]) for row in rows) == [66, 70, 70, 70, 75, 80, 80, 90]
    r = client.get("/v1/prospects/export.csv?min_score=101", headers=MARKETING)
    assert r.status_code == 422


def test_prospects_without_drive_time_sort_last_both_ways(client: TestClient) -> None:
    for sort in ("drive_minutes", "-drive_minutes"):
        items = client.get(
            "/v1/prospects", params={"sort": sort, "limit": 500}, headers=VIEWER
        ).json()["items"]
        minutes = [p["drive_minutes"] for p in items]
        assert None in minutes, "the seed has a prospect without a drive time"
        first_none = minutes.index(None)
        assert all(m is None for m in minutes[first_none:]), sort


def test_total_is_counted_only_when_asked(client: TestClient) -> None:
    plain = client.get("/v1/prospects", params={"limit": 2}, headers=VIEWER).json()
    counted = client.get("/v1/prospects", params={"limit": 2, "count": True}, headers=VIEWER).json()
    assert plain["total"] is None and plain["items"] == counted["items"]
    assert counted["total"] >= len(counted["items"]) == 2


_SORT_KEYS = {
    "-score": lambda p: (-p["score"], p["_id"]),
    "score": lambda p: (p["score"], p["_id"]),
    "drive_minutes": lambda p: (
        p["drive_minutes"] if p["drive_minutes"] is not None else 1e6,
        p["_id"],
    ),
    "-drive_minutes": lambda p: (
        -(p["drive_minutes"] if p["drive_minutes"] is not None else -1.0),
        p["_id"],
    ),
    "distance_km": lambda p: (p["distance_km"], p["_id"]),
}


@pytest.mark.parametrize("sort", list(_SORT_KEYS))
@pytest.mark.parametrize(
    "ranges",
    [
        {"min_score": 40},
        {"max_drive_minutes": 6},
        {"min_drive_minutes": 5},
        {"min_score": 10, "max_drive_minutes": 9, "min_drive_minutes": 2},
    ],
)
def test_range_filters_under_every_sort_select_and_order_like_python(
    client: TestClient, api_db: SeededDB, sort: str, ranges: dict
) -> None:
    """Range filters are written per sort (to walk the sort's index): same rows, same order."""
    everything = client.get(
        "/v1/prospects", params={"limit": 500, "sort": "-score"}, headers=VIEWER
    ).json()
    with api_db.ctx.sessions() as s:  # the prospect id (the keyset tie-break) of each item
        ids = {
            (c, p): i
            for c, p, i in s.execute(
                select(ClinicSite.site_code, Prospect.provider_id, Prospect.id).join(
                    ClinicSite, ClinicSite.id == Prospect.site_id
                )
            )
        }
    rows = [dict(p, _id=ids[(p["site_code"], p["provider_id"])]) for p in everything["items"]]
    lo, hi = ranges.get("min_drive_minutes"), ranges.get("max_drive_minutes")
    want = [
        p
        for p in rows
        if p["score"] >= ranges.get("min_score", 0)
        and (hi is None or (p["drive_minutes"] is not None and p["drive_minutes"] <= hi))
        and (lo is None or (p["drive_minutes"] is not None and p["drive_minutes"] >= lo))
    ]
    want.sort(key=_SORT_KEYS[sort])
    items, _ = _walk(client, "&".join(f"{k}={v}" for k, v in {**ranges, "sort": sort}.items()), 2)
    assert [(i["site_code"], i["provider_id"]) for i in items] == [
        (p["site_code"], p["provider_id"]) for p in want
    ]
    assert want, "each case selects something"


@pytest.mark.parametrize(
    "query",
    [
        {"site": "AGS-N", "limit": 3},
        {"sort": "drive_minutes", "limit": 500, "count": True},
        {"sort": "-drive_minutes", "min_score": 5, "limit": 4},
        {"specialty": "Internal Medicine", "sort": "name"},
    ],
)
def test_list_json_is_the_page_model_of_the_service(
    client: TestClient, api_db: SeededDB, query: dict
) -> None:
    """The endpoint serialises rows itself: it must be exactly the ``Page[ProspectPublic]`` of its rows."""
    from service.prospecting.listing import PAGE_FIELDS, _prospect_page
    from service.schemas import Page, ProspectFilter, ProspectPublic

    r = client.get("/v1/prospects", params=query, headers=VIEWER)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    Page[ProspectPublic].model_validate(body, strict=False)  # the documented schema
    filters = {k: v for k, v in query.items() if k not in ("sort", "limit", "count")}
    with api_db.ctx.sessions() as s:
        rows, total, nxt = _prospect_page(  # the same rows, through the models
            s,
            ProspectFilter(**filters),
            sort=query.get("sort", "-score"),
            limit=query.get("limit", 50),
            cursor=None,
            count=query.get("count", False),
            raw_components=False,
        )
    items = [ProspectPublic.model_validate(dict(zip(PAGE_FIELDS, row))) for row in rows]
    page = Page[ProspectPublic](items=items, next_cursor=nxt, total=total)
    assert body == page.model_dump(mode="json")
    assert body["items"] and all(
        isinstance(i["components"], list) and i["components"] for i in body["items"]
    )


def test_filters_are_documented_and_validated_one_by_one(client: TestClient) -> None:
    listed = {
        p["name"]: p
        for p in client.get("/openapi.json").json()["paths"]["/v1/prospects"]["get"]["parameters"]
    }
    # one query model, still one documented parameter per filter (not a single object named "query")
    assert {"site", "min_score", "postal_code", "organization_id", "sort", "cursor"} <= set(listed)
    assert "query" not in listed
    assert listed["postal_code"]["schema"]["anyOf"][0]["type"] == "array"
    bad = client.get(
        "/v1/prospects", params={"min_score": 101, "organization_id": 2**63}, headers=VIEWER
    )
    assert bad.status_code == 422
    fields = {p["field"] for p in bad.json()["errors"]}
    assert {"query.min_score", "query.organization_id"} <= fields  # named as before the model
