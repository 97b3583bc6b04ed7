"""Cursor pagination of the review queue and the nearest-site assignment, over HTTP.

Both lists take ``limit`` + ``cursor`` and answer ``{items, next_cursor, total}``
like the provider and prospect lists; walking ``next_cursor`` must give
disjoint pages that together are the whole list, in the order of one big
page. Runs on SQLite and, when configured, PostGIS (the ``api_db`` fixture).
"""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient

from data.models import LoadBatch, SourceRecord
from data.models.matching import ReviewPair
from service.pagination import encode_cursor
from tests.api.conftest import VIEWER, SeededDB

#: match probabilities of the seeded review pairs: ties, so the id tiebreak matters
PROBABILITIES = [0.91, 0.75, 0.75, 0.75, 0.62, 0.5, 0.5, 0.33, 0.2]


@pytest.fixture(scope="module")
def review_ids(api_db: SeededDB) -> list[int]:
    """Review pairs over fresh source records; their ids in the queue's order."""
    with api_db.ctx.sessions.begin() as s:
        batch = LoadBatch(
            source="referrers", file_name="crm.csv", file_hash="2" * 64, status="committed"
        )
        s.add(batch)
        s.flush()
        records = [
            SourceRecord(
                source="referrers",
                source_key=f"crm-{i}",
                batch_id=batch.id,
                file_name="crm.csv",
                line=i + 2,
                record_hash=f"{i:064d}",
                data={"last_name": f"NAME{i}", "postal_code": "20000"},
            )
            for i in range(len(PROBABILITIES) + 1)
        ]
        s.add_all(records)
        s.flush()
        # inserted in an order unlike the queue's, so id order alone would be wrong
        pairs = [
            ReviewPair(
                left_record_id=records[i].id,
                right_record_id=records[i + 1].id,
                match_probability=p,
                match_weight=p * 10 - 5,
                explanation={"steps": [{"comparison": "name", "weight": p}]},
            )
            for i, p in reversed(list(enumerate(PROBABILITIES)))
        ]
        s.add_all(pairs)
        s.flush()
        return [r.id for r in sorted(pairs, key=lambda r: (-r.match_probability, r.id))]


def _walk(client: TestClient, path: str, limit: int) -> list[list[dict]]:
    """Every page of a list, following ``next_cursor``."""
    pages: list[list[dict]] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        r = client.get(path, params=params, headers=VIEWER)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"items", "next_cursor", "total"}
        assert len(body["items"]) <= limit
        pages.append(body["items"])
        cursor = body["next_cursor"]
        assert len(pages) < 100
        if cursor is None:
            return pages


@pytest.mark.parametrize("limit", [1, 2, 4, 9, 50])
def test_review_queue_pages_are_disjoint_and_complete(
    client: TestClient, review_ids: list[int], limit: int
) -> None:
    pages = _walk(client, "/v1/matching/review", limit)
    ids = [item["id"] for page in pages for item in page]
    assert len(ids) == len(set(ids))  # disjoint
    assert ids == review_ids  # complete, most probable first, ties by id
    assert all(len(p) == limit for p in pages[:-1])  # only the last page is short
    one = client.get("/v1/matching/review", params={"limit": 500}, headers=VIEWER).json()
    assert [i["id"] for i in one["items"]] == ids and one["next_cursor"] is None
    assert one["total"] == len(PROBABILITIES)
    probs = [i["match_probability"] for i in one["items"]]
    assert probs == sorted(PROBABILITIES, reverse=True)
    first = one["items"][0]
    assert first["left"]["id"] < first["right"]["id"] and first["explanation"]["steps"]


@pytest.mark.parametrize("limit", [1, 2, 4, 7, 15])
def test_assignment_pages_are_disjoint_and_complete(
    client: TestClient, api_db: SeededDB, limit: int
) -> None:
    pages = _walk(client, "/v1/assignment/providers", limit)
    ids = [item["provider_id"] for page in pages for item in page]
    assert len(ids) == len(set(ids)) == 15  # disjoint; the inactive provider left out
    assert set(ids) == set(api_db.provider_ids) - {api_db.inactive_provider_id}
    assert ids == sorted(ids)  # stable: provider id order
    one = client.get("/v1/assignment/providers", params={"limit": 5000}, headers=VIEWER).json()
    assert [i["provider_id"] for i in one["items"]] == ids and one["total"] == 15
    walked = [item for page in pages for item in page]
    assert walked == one["items"]  # same assignment whatever the page size


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("path", ["/v1/matching/review", "/v1/assignment/providers"])
@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",  # not base64
        _b64(b"not json"),
        _b64(b"[1, 2, 3]"),  # not a pair
        _b64(b'{"a": 1}'),
        _b64(json.dumps([0.5, "7"]).encode()),  # id not an integer
        _b64(json.dumps([0.5, 10**30]).encode()),  # id out of range
        _b64(json.dumps([[1], 7]).encode()),  # value not a scalar
        encode_cursor("DOCTOR A JONES MD", 3),  # a cursor of the name-sorted provider list
    ],
)
def test_tampered_cursor_is_a_422_problem(
    client: TestClient, review_ids: list[int], path: str, cursor: str
) -> None:
    r = client.get(path, params={"cursor": cursor}, headers=VIEWER)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == ["cursor"]


def test_cursor_of_one_list_is_refused_by_the_other(
    client: TestClient, review_ids: list[int]
) -> None:
    review = client.get("/v1/matching/review", params={"limit": 1}, headers=VIEWER).json()
    assign = client.get("/v1/assignment/providers", params={"limit": 1}, headers=VIEWER).json()
    crossed = (
        ("/v1/assignment/providers", review["next_cursor"]),  # holds a probability
        ("/v1/matching/review", assign["next_cursor"]),
    )  # holds no sort value
    for path, cursor in crossed:
        r = client.get(path, params={"cursor": cursor}, headers=VIEWER)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor", (path, r.text)
    # a review cursor holds a float: the prospect list sorted by name must refuse it
    # (PostgreSQL would otherwise compare a name with a number: a 500)
    r = client.get(
        "/v1/prospects", params={"sort": "name", "cursor": review["next_cursor"]}, headers=VIEWER
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize("path", ["/v1/matching/review", "/v1/assignment/providers"])
def test_offset_is_refused_not_ignored(client: TestClient, path: str) -> None:
    r = client.get(path, params={"offset": 10}, headers=VIEWER)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    [error] = r.json()["errors"]
    assert error["field"] == "offset" and "cursor" in error["message"]
