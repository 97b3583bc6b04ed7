"""The prospect list's ``in_catchment`` filter over HTTP, on prospects the score stage stored.

The world of :mod:`tests.reachworld` scored for real: the doctor in the site's
catchment, the one 20 minutes down the road and the one off the network (an
estimate) are all listed; ``in_catchment`` tells them apart in the list, the
map's viewport and a saved segment. On both backends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from core.settings import Settings
from data.models.security import ApiKey
from service.context import open_context
from service.prospecting.scoring import score_sites
from service.security.keys import hash_key
from tests import reachworld
from tests.api.conftest import ADMIN_KEY, BACKENDS, MARKETING, MARKETING_KEY, VIEWER, VIEWER_KEY
from tests.conftest import database_url
from tests.reachworld import IN_REACH


@pytest.fixture(scope="module", params=BACKENDS)
def scored(request, tmp_path_factory) -> Iterator[tuple[TestClient, dict[str, int]]]:
    tmp = tmp_path_factory.mktemp("reach")
    settings = Settings(
        database_url=database_url(request.param, tmp),
        admin_api_key=ADMIN_KEY,
        viewer_api_key=VIEWER_KEY,
        cache_dir=tmp / "cache",
        rate_limit_per_second=1e6,
        rate_limit_burst=10**6,
    )
    ctx = open_context(settings)
    try:
        ids = reachworld.build(ctx)
        with ctx.sessions.begin() as s:  # a marketing key, for the segment below
            s.add(
                ApiKey(
                    name="marketing test",
                    person="Mara Quinn",
                    prefix=MARKETING_KEY[:12],
                    key_hash=hash_key(MARKETING_KEY),
                    role="marketing",
                )
            )
        score_sites(ctx)
        with TestClient(create_app(context=ctx)) as client:
            yield client, {v: k for k, v in ids.items()}
    finally:
        ctx.close()


def _listed(client: TestClient, name_of: dict[int, str], **params) -> dict[str, dict]:
    r = client.get("/v1/prospects", params={"site": "ROAD", **params}, headers=VIEWER)
    assert r.status_code == 200, r.text
    return {name_of[p["provider_id"]]: p for p in r.json()["items"]}


def test_the_list_filters_on_the_catchments_among_everyone_within_reach(scored) -> None:
    client, name_of = scored
    every = _listed(client, name_of)
    assert set(every) == IN_REACH
    assert {n: p["in_catchment"] for n, p in every.items()} == {
        "near": True,
        "twenty": False,
        "off": False,
    }
    assert every["twenty"]["drive_minutes"] == pytest.approx(20.0, abs=0.01)
    assert every["off"]["proximity_estimated"] and not every["twenty"]["proximity_estimated"]
    assert set(_listed(client, name_of, in_catchment="true")) == {"near"}
    outside = _listed(client, name_of, in_catchment="false", sort="drive_minutes")
    assert list(outside) == ["twenty", "off"]  # 20 minutes, then about 26.5
    # and the counted total, a later page and the map's viewport agree
    r = client.get(
        "/v1/prospects",
        params={"in_catchment": "false", "count": "true", "limit": 1},
        headers=VIEWER,
    )
    page = r.json()
    assert page["total"] == 2 and len(page["items"]) == 1 and page["next_cursor"]
    r = client.get(
        "/v1/prospects",
        params={"in_catchment": "false", "limit": 1, "cursor": page["next_cursor"]},
        headers=VIEWER,
    )
    assert len(r.json()["items"]) == 1
    view = client.get("/v1/prospects/viewport", params={"in_catchment": "false"}, headers=VIEWER)
    at = view.json()["fields"].index("provider_id")
    assert {name_of[row[at]] for row in view.json()["rows"]} == {"twenty", "off"}


def test_a_segment_saves_the_catchment_filter(scored) -> None:
    client, name_of = scored
    body = {"name": "outside the catchments", "filters": {"site": "ROAD", "in_catchment": False}}
    r = client.put("/v1/segments", json=body, headers=MARKETING)
    assert r.status_code == 200, r.text
    assert r.json()["count"] == 2
    r = client.get("/v1/segments/outside the catchments/export.geojson", headers=MARKETING)
    assert {name_of[f["properties"]["provider_id"]] for f in r.json()["features"]} == {
        "twenty",
        "off",
    }


def test_an_in_catchment_that_is_not_a_boolean_is_refused(scored) -> None:
    client, _ = scored
    r = client.get("/v1/prospects", params={"in_catchment": "maybe"}, headers=VIEWER)
    assert r.status_code == 422
    assert "in_catchment" in r.text
