"""A real, migrated and seeded database per test module, and an HTTP client over the app.

The ``api_db`` fixture runs on a temporary SQLite file and, when
``PRM_TEST_POSTGIS_URL`` is set, also on PostgreSQL + PostGIS (schema ``public``
is dropped and recreated first; ``data.db.upgrade`` creates the extension).
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from core.settings import Settings
from data.models import (
    Catchment,
    CatchmentCell,
    ClinicSite,
    LoadBatch,
    Prospect,
    Provider,
    ReferrerStat,
    SourceRecord,
    Territory,
    TerritoryCell,
    TerritoryPlan,
)
from data.models.security import ApiKey
from geo.h3grid import cell_to_latlng, grid_disk, latlng_to_cells
from service.context import AppContext, open_context
from service.security.keys import hash_key
from tests.conftest import database_url

REPO = Path(__file__).resolve().parents[2]
OSM_FILE = REPO / "tests" / "fixtures" / "osm" / "aguascalientes.osm.bz2"
POSTGIS_URL = os.environ.get("PRM_TEST_POSTGIS_URL")

ADMIN_KEY = "test-admin"
VIEWER_KEY = "test-viewer"
ADMIN = {"X-API-Key": ADMIN_KEY}
VIEWER = {"X-API-Key": VIEWER_KEY}
# Stored keys (hashed in api_keys, as `prm keys create` makes them) for the middle roles.
LIAISON_KEY = "prm_test-liaison-key"
MARKETING_KEY = "prm_test-marketing-key"
INTEGRATION_KEY = "prm_test-integration-key"
LIAISON = {"X-API-Key": LIAISON_KEY}
MARKETING = {"X-API-Key": MARKETING_KEY}
INTEGRATION = {"X-API-Key": INTEGRATION_KEY}
LIAISON_PERSON = "Lia Moreno"
ROLE_HEADERS = {
    "viewer": VIEWER,
    "liaison": LIAISON,
    "marketing": MARKETING,
    "integration": INTEGRATION,
    "admin": ADMIN,
}

# Two sites inside the bundled Aguascalientes OSM extract.
SITES = {
    "AGS-N": (21.8745, -102.2700),
    "AGS-S": (21.8640, -102.2630),
}
EVIL_NAME = '=HYPERLINK("http://evil.example","x")'

BACKENDS = [
    "sqlite",
    pytest.param(
        "postgis",
        marks=[
            pytest.mark.postgis,
            pytest.mark.skipif(POSTGIS_URL is None, reason="PRM_TEST_POSTGIS_URL not set"),
        ],
    ),
]


@dataclass
class SeededDB:
    """The open context plus what the seed put in it."""

    ctx: AppContext
    backend: str
    prospect_ids: dict[str, list[int]] = field(default_factory=dict)
    provider_ids: list[int] = field(default_factory=list)
    inactive_provider_id: int = 0
    evil_provider_id: int = 0


def _components(score: float) -> list[dict]:
    fit = round(score * 0.6, 2)
    prox = round(score - fit, 2)
    return [
        {
            "name": "specialty",
            "value": fit / 60,
            "weight": 0.6,
            "points": fit,
            "reason": "refers to this service line often",
        },
        {
            "name": "proximity",
            "value": prox / 40,
            "weight": 0.4,
            "points": prox,
            "reason": "short drive",
        },
    ]


def _located(lat: float, lon: float) -> dict:
    return {
        "lat": lat,
        "lon": lon,
        **{f"h3_r{r}": int(latlng_to_cells(lat, lon, r)[0]) for r in (7, 8, 9)},
    }


def seed(ctx: AppContext, backend: str) -> SeededDB:
    """Insert 2 sites, 16 providers, catchments with cells and 15 prospects through the ORM."""
    db = SeededDB(ctx=ctx, backend=backend)
    with ctx.sessions.begin() as s:
        for name, person, key, role in (
            ("liaison test", LIAISON_PERSON, LIAISON_KEY, "liaison"),
            ("marketing test", "Mara Quinn", MARKETING_KEY, "marketing"),
            ("integration test", "Ivo Brandt", INTEGRATION_KEY, "integration"),
        ):
            s.add(
                ApiKey(name=name, person=person, prefix=key[:12], key_hash=hash_key(key), role=role)
            )
        sites = {}
        for code, (lat, lon) in SITES.items():
            site = ClinicSite(
                site_code=code,
                name=f"Clinic {code}",
                service_line="MRI",
                city="Aguascalientes",
                **_located(lat, lon),
            )
            s.add(site)
            sites[code] = site
        s.flush()

        # Catchments: AGS-N drive_time 5 and 10 and radius 2; AGS-S drive_time 10.
        for code, method, param, k in (
            ("AGS-N", "drive_time", 5.0, 1),
            ("AGS-N", "drive_time", 10.0, 2),
            ("AGS-N", "radius", 2.0, 2),
            ("AGS-S", "drive_time", 10.0, 1),
        ):
            centre = int(latlng_to_cells(*SITES[code], 8)[0])
            cells = grid_disk(centre, k)
            catchment = Catchment(
                site_id=sites[code].id,
                method=method,
                parameter=param,
                resolution=8,
                cell_count=len(cells),
            )
            s.add(catchment)
            s.flush()
            s.add_all(
                CatchmentCell(
                    catchment_id=catchment.id,
                    h3=int(c),
                    drive_minutes=float(i % 9) if method == "drive_time" else None,
                    distance_km=0.5 * i,
                )
                for i, c in enumerate(cells)
            )

        # Providers at the centres of cells around AGS-N (so cells have white space).
        ring = grid_disk(int(latlng_to_cells(*SITES["AGS-N"], 8)[0]), 2)
        lats, lons = cell_to_latlng(ring)
        providers = []
        for i in range(16):
            name = (
                EVIL_NAME if i == 3 else f"DOCTOR {chr(65 + i)} {'SMITH' if i % 2 else 'JONES'} MD"
            )
            prov = Provider(
                cluster_key=f"k{i:03d}",
                npi=f"{1000000000 + i:010d}",
                entity_type="individual",
                display_name=name,
                last_name="SMITH" if i % 2 else "JONES",
                taxonomy_code="207Q00000X" if i % 3 else "207R00000X",
                classification="Family Medicine" if i % 3 else "Internal Medicine",
                address_1=f"{100 + i} Calle Madero",
                city="Aguascalientes",
                postal_code="20000",
                is_active=i != 15,
                geocode_precision="street",
                **_located(float(lats[i % len(ring)]), float(lons[i % len(ring)])),
            )
            s.add(prov)
            providers.append(prov)
        s.flush()
        db.provider_ids = [p.id for p in providers]
        db.inactive_provider_id = providers[15].id
        db.evil_provider_id = providers[3].id
        s.add(
            ReferrerStat(
                provider_id=providers[0].id,
                as_of=date(2024, 6, 30),
                referrals_window=9,
                referrals_total=20,
                referring=True,
                tier="B",
            )
        )
        batch = LoadBatch(
            source="nppes",
            file_name="npidata.csv",
            file_hash="0" * 64,
            status="committed",
            finished_at=datetime(2026, 11, 1, tzinfo=UTC),
        )
        s.add(batch)
        s.flush()
        s.add(
            SourceRecord(
                source="nppes",
                source_key=providers[0].npi,
                batch_id=batch.id,
                file_name="npidata.csv",
                line=2,
                record_hash="1" * 64,
                npi=providers[0].npi,
                data={"npi": providers[0].npi},
                provider_id=providers[0].id,
            )
        )

        # Prospects: AGS-N gets providers 0..11 (scores with ties), AGS-S gets 12..14,
        # and the inactive provider 15 (never listed).
        plan = [
            ("AGS-N", i, [90, 80, 80, 75, 70, 70, 70, 55, 40, 30, 20, 10][i]) for i in range(12)
        ]
        plan += [("AGS-S", 12, 66), ("AGS-S", 13, 44), ("AGS-S", 14, 22), ("AGS-S", 15, 99)]
        for code, i, score in plan:
            prov = providers[i]
            p = Prospect(
                site_id=sites[code].id,
                provider_id=prov.id,
                profile="mri-default",
                score=float(score),
                segment="moderate-fit nearby" if i % 4 else "distant GP",
                taxonomy_code=prov.taxonomy_code,
                classification=prov.classification,
                drive_minutes=None if i == 9 else float(3 + i),
                distance_km=1.0 + i / 2,
                components=_components(float(score)),
            )
            s.add(p)
            s.flush()
            if prov.is_active:
                db.prospect_ids.setdefault(code, []).append(p.id)
    return db


@pytest.fixture(scope="module", params=BACKENDS)
def api_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SeededDB]:
    """A migrated, seeded database (SQLite file, or PostGIS when configured)."""
    tmp = tmp_path_factory.mktemp("api")
    url = database_url(request.param, tmp)  # per-xdist-worker PostGIS database
    # one client serves a whole module: not throttled (tests/api/test_security.py tests the limits)
    settings = Settings(
        database_url=url,
        admin_api_key=ADMIN_KEY,
        viewer_api_key=VIEWER_KEY,
        osm_file=OSM_FILE,
        cache_dir=tmp / "cache",
        rate_limit_per_second=1e6,
        rate_limit_burst=10**6,
    )
    ctx = open_context(settings)
    try:
        yield seed(ctx, request.param)
    finally:
        ctx.close()


def signed_in(app, headers: dict[str, str] = VIEWER) -> TestClient:
    """A client of its own holding a browser session made with ``headers``' key.

    Its CSRF token is sent with every request (as the app's pages do on writes).
    """
    c = TestClient(app)
    r = c.post("/v1/session", headers=headers)
    assert r.status_code == 201, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c


@pytest.fixture(scope="module")
def client(api_db: SeededDB) -> Iterator[TestClient]:
    """An HTTP client over an app serving the seeded database."""
    with TestClient(create_app(context=api_db.ctx)) as c:
        yield c


def put_status(client: TestClient, provider_id: int, body: dict, *, headers: dict[str, str]):
    """Change a prospect's status as a client does: read its ETag, send it in If-Match."""
    tag = client.get(f"/v1/prospects/{provider_id}/status", headers=headers).headers["ETag"]
    return client.put(
        f"/v1/prospects/{provider_id}/status", json=body, headers={**headers, "If-Match": tag}
    )


PRM = str(Path(sys.executable).with_name("prm"))  # the console script of the installed package


@contextmanager
def serve_process(
    db: SeededDB, tmp_path: Path, *, env: dict[str, str] | None = None, access_log: bool = False
) -> Iterator[tuple[subprocess.Popen, int, Path]]:
    """``prm serve`` (one worker) on a seeded database, in a process of its own, until ready.

    Yields the process, its port and its log file (stdout and stderr).
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = db.ctx.settings
    environment = {
        **os.environ,
        "PRM_DATABASE_URL": settings.database_url,
        "PRM_ADMIN_API_KEY": ADMIN_KEY,
        "PRM_VIEWER_API_KEY": VIEWER_KEY,
        "PRM_OSM_FILE": str(settings.osm_file),
        "PRM_CACHE_DIR": str(settings.cache_dir),
        "PRM_RATE_LIMIT_PER_SECOND": "1000000",
        "PRM_RATE_LIMIT_BURST": "1000000",
        **(env or {}),
    }
    log_path = tmp_path / "serve.log"
    log = log_path.open("w")  # a file, not a pipe nobody reads (it would fill and block)
    args = [PRM, "serve", "--port", str(port)] + ([] if access_log else ["--no-access-log"])
    proc = subprocess.Popen(args, env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()[-2000:]
            time.sleep(0.2)
        yield proc, port, log_path
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("openapi")
    app = create_app(
        Settings(
            database_url=f"sqlite:///{tmp / 'doc.sqlite'}",
            admin_api_key=ADMIN_KEY,
            viewer_api_key=VIEWER_KEY,
        )
    )
    return app.openapi()


def add_second_site_and_territory(session, db: SeededDB, *, plan: str, segment: str) -> None:
    """Provider 0 also becomes a weaker prospect of AGS-S, provider 1 lies in a one-cell territory
    of liaison 'Ana' (its id in ``db.territory_id``): what the list's site and territory filters
    need to tell rows apart."""
    south = session.query(ClinicSite).filter_by(site_code="AGS-S").one()
    session.add(
        Prospect(
            site_id=south.id,
            provider_id=db.provider_ids[0],
            profile="mri-default",
            score=50.0,
            segment=segment,
            taxonomy_code="207R00000X",
            classification="Internal Medicine",
            drive_minutes=7.0,
            distance_km=3.0,
            components=[],
        )
    )
    plan_row = TerritoryPlan(
        name=plan, version=1, measure="providers", k=1, resolution=8, region="x", compactness=1
    )
    session.add(plan_row)
    session.flush()
    terr = Territory(
        plan_id=plan_row.id,
        number=1,
        liaison="Ana",
        load=1,
        share=1,
        cell_count=1,
        compactness=1,
        contiguous=True,
    )
    session.add(terr)
    session.flush()
    one = session.get(Provider, db.provider_ids[1])
    session.add(TerritoryCell(plan_id=plan_row.id, h3=one.h3_r8, territory_id=terr.id, weight=1))
    db.territory_id = terr.id
