"""Suite-wide settings: PostGIS tests are required when PRM_REQUIRE_POSTGIS is set (CI);
property tests never fail for being slow (a busy 2-core machine is not a bug)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# No test depends on wall-clock speed: hypothesis's per-example deadline and its "too slow"
# health checks are off for the whole suite (speed is measured in bench/, never asserted here).
settings.register_profile(
    "prm",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "prm"))

_skipped_postgis: list[str] = []
_ran_postgis: list[str] = []


@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "postgis" not in report.keywords:
        return
    if report.skipped:
        _skipped_postgis.append(report.nodeid)
    elif report.when == "call" and report.passed:
        _ran_postgis.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not os.environ.get("PRM_REQUIRE_POSTGIS"):
        return
    if _skipped_postgis or not _ran_postgis:
        print(
            f"\nFAILED: PostGIS is required; {len(_ran_postgis)} PostGIS test(s) passed, "
            f"{len(_skipped_postgis)} skipped:"
        )
        for node in _skipped_postgis[:20]:
            print(f"  {node}")
        session.exitstatus = 1


# ----------------------------------------------------------------------------- databases

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgis", id="postgis", marks=pytest.mark.postgis),
]


def database_url(backend: str, tmp_path) -> str:
    """A fresh, empty database of the given backend (drops whatever the worker's had)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite'}"
    base = os.environ.get("PRM_TEST_POSTGIS_URL")
    if not base:
        pytest.skip("PRM_TEST_POSTGIS_URL not set")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    # one database per xdist worker, so parallel workers never share a schema
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    parsed = make_url(base)
    url = parsed.set(database=f"{parsed.database}_{worker}")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": url.database}
        ).first()
        if not exists:
            quoted = conn.dialect.identifier_preparer.quote(url.database)
            conn.execute(text("CREATE DATABASE " + quoted))  # identifiers cannot be bound
    admin.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def backend_url(request, tmp_path) -> str:
    """An empty database URL, once per backend (PostGIS only when configured)."""
    return database_url(request.param, tmp_path)


def schema_head() -> str:
    """The newest Alembic revision shipped with the code."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from data.db import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg).get_current_head()


# ----------------------------------------------------------------------------- browser

CHROMIUM = os.environ.get("PRM_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(
    os.environ.get(
        "PRM_SCREENSHOT_DIR", Path(__file__).resolve().parents[1] / "var" / "screenshots"
    )
)


def _no_browser(reason: str) -> None:
    # CI (.ci/run) sets PRM_REQUIRE_BROWSER: there a missing browser fails, never skips
    if os.environ.get("PRM_REQUIRE_BROWSER"):
        pytest.fail(f"a browser is required (PRM_REQUIRE_BROWSER): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium():
    """The system Chromium driven by Playwright (no browser is ever downloaded).

    Skipped when Playwright or ``/usr/bin/chromium`` (``PRM_CHROMIUM``) is missing,
    failed instead when ``PRM_REQUIRE_BROWSER`` is set.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("playwright is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).exists():
        _no_browser(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot of ``page`` under :data:`SCREENSHOTS` (for a human to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
