"""Which database ``prm`` reads: the demo's after ``./dev demo``, and never an empty one in
silence; and ``prm segments create`` over a real database, as a user runs them."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from core import settings as core_settings
from core.settings import Settings, load_settings, write_demo_record
from service.context import open_context
from tests.api.conftest import seed
from tests.conftest import database_url


@pytest.fixture
def prm(monkeypatch, tmp_path):
    """``prm`` with the environment naming no database, and a demo record of its own."""
    monkeypatch.delenv("PRM_DATABASE_URL", raising=False)
    monkeypatch.delenv("PRM_AS_OF", raising=False)
    monkeypatch.setenv("PRM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "250")  # no line wrapping in messages
    monkeypatch.setattr(core_settings, "DEMO_RECORD", tmp_path / "demo" / "settings.json")
    runner = CliRunner()

    def invoke(*args: str, db: str | None = None):
        env = {"PRM_DATABASE_URL": db} if db else {}
        return runner.invoke(app, list(args), env=env, catch_exceptions=False)

    return invoke


@pytest.fixture(params=["sqlite", "postgis"])
def seeded(request, tmp_path):
    """A database holding the API tests' seed (2 sites, 16 providers, 15 prospects)."""
    url = database_url(request.param, tmp_path)
    ctx = open_context(Settings(database_url=url, cache_dir=tmp_path / "cache"))
    seed(ctx, request.param)
    ctx.close()
    return url


def test_a_read_on_a_missing_sqlite_file_names_it_and_creates_nothing(prm, tmp_path) -> None:
    db = tmp_path / "nothing-here.sqlite"
    result = prm("segments", "list", db=f"sqlite:///{db}")
    assert result.exit_code == 1, result.output
    assert str(db) in result.output and "no such database file" in result.output
    assert not db.exists()


@pytest.mark.parametrize("command", [("segments", "list"), ("alerts",), ("tiers",)])
def test_a_read_on_an_empty_database_says_so(prm, backend_url, tmp_path, command) -> None:
    open_context(Settings(database_url=backend_url, cache_dir=tmp_path / "cache")).close()
    result = prm(*command, db=backend_url)
    assert result.exit_code == 1, result.output
    assert "holds no data" in result.output
    shown = backend_url.rsplit("@", 1)[-1]  # the URL is named, its password (if any) is not
    assert shown in result.output


def test_a_read_on_a_database_with_no_schema_says_so(prm, backend_url) -> None:
    result = prm("batches", "list", db=backend_url)
    assert result.exit_code == 1, result.output
    assert "no prm schema" in result.output or "no such database file" in result.output


def test_the_demo_record_is_the_default_database(prm, seeded, monkeypatch) -> None:
    write_demo_record(database_url=seeded, as_of=date(2026, 11, 1))
    settings = load_settings()
    assert settings.database_url == seeded and settings.as_of == date(2026, 11, 1)
    listed = prm("segments", "list")
    assert listed.exit_code == 0, listed.output
    assert "the demo's" in listed.output
    # what the user sets wins, and production never reads the record
    assert load_settings(as_of=date(2025, 1, 1)).as_of == date(2025, 1, 1)
    monkeypatch.setenv("PRM_DATABASE_URL", "sqlite:///elsewhere.sqlite")
    assert load_settings().database_url == "sqlite:///elsewhere.sqlite"
    assert load_settings().as_of is None
    monkeypatch.delenv("PRM_DATABASE_URL")
    import secrets

    prod = load_settings(
        environment="production",
        admin_api_key=secrets.token_urlsafe(32),
        viewer_api_key=secrets.token_urlsafe(32),
        webhook_secret=secrets.token_urlsafe(32),
    )
    assert prod.database_url != seeded


def test_segments_create_list_export(prm, seeded, tmp_path) -> None:
    made = prm(
        "segments",
        "create",
        "north high",
        "site=AGS-N",
        "min_score=70",
        "--description",
        "north site, 70 and up",
        db=seeded,
    )
    assert made.exit_code == 0, made.output
    assert "north high" in made.output and "7 prospects" in made.output
    listed = prm("segments", "list", db=seeded)
    assert (
        listed.exit_code == 0 and "north high" in listed.output and "min_score=70" in listed.output
    )
    out = tmp_path / "north.csv"
    exported = prm("segments", "export", "north high", str(out), db=seeded)
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(Path(out).read_text(encoding="utf-8"))))
    assert len(rows) == 7 and all(float(r["score"]) >= 70 for r in rows)
    # saving the name again replaces it
    again = prm("segments", "create", "north high", "site=AGS-N", "min_score=80", db=seeded)
    assert again.exit_code == 0 and "3 prospects" in again.output


@pytest.mark.parametrize(
    ("words", "named"),
    [
        (["min_score=high"], "filter.min_score"),
        (["min_score=120"], "filter.min_score"),
        (["colour=red"], "colour=red"),
        (["site"], "site"),
        (["site=A", "site=B"], "site"),
        (["status=asleep"], "filter.status"),
    ],
)
def test_segments_create_refuses_a_bad_filter_naming_it(prm, tmp_path, words, named) -> None:
    url = database_url("sqlite", tmp_path)
    ctx = open_context(Settings(database_url=url, cache_dir=tmp_path / "cache"))
    seed(ctx, "sqlite")
    ctx.close()
    result = prm("segments", "create", "bad one", *words, db=url)
    assert result.exit_code == 2, result.output
    assert named in result.output
    assert "bad one" not in prm("segments", "list", db=url).output


def test_visits_list_and_export_a_liaisons_day(prm, seeded, tmp_path) -> None:
    from service.prospecting.visit_schemas import VisitDayUpdate, VisitStopUpdate
    from service.prospecting.visits import put_stop, set_day
    from tests.api.conftest import LIAISON_PERSON

    ctx = open_context(Settings(database_url=seeded, cache_dir=tmp_path / "cache"))
    day = date(2026, 12, 8)
    set_day(
        ctx,
        owner=LIAISON_PERSON,
        day=day,
        update=VisitDayUpdate.model_validate(
            {"start": {"kind": "site", "site_code": "AGS-N"}, "day_start": "09:00"}
        ),
    )
    with ctx.sessions() as s:
        from data.models import Provider

        pids = [p.id for p in s.query(Provider).filter(Provider.is_active).limit(2)]
    for pid in pids:
        put_stop(
            ctx,
            owner=LIAISON_PERSON,
            day=day,
            provider_id=pid,
            update=VisitStopUpdate.model_validate({"duration_min": 30}),
        )
    ctx.close()
    listed = prm("visits", "list", "--liaison", LIAISON_PERSON, db=seeded)
    assert listed.exit_code == 0 and "2026-12-08" in listed.output, listed.output
    assert "no visit day" in prm("visits", "list", "--liaison", "Nobody", db=seeded).output
    csv_out, ics_out = tmp_path / "day.csv", tmp_path / "day.ics"
    r = prm("visits", "export", "2026-12-08", str(csv_out), "--liaison", LIAISON_PERSON, db=seeded)
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(csv_out.read_text(encoding="utf-8"))))
    assert len(rows) == 2
    r = prm(
        "visits",
        "export",
        "2026-12-08",
        str(ics_out),
        "--liaison",
        LIAISON_PERSON,
        "--url",
        "https://prm.example",
        db=seeded,
    )
    assert r.exit_code == 0, r.output
    ics = ics_out.read_text(encoding="utf-8")
    assert ics.count("BEGIN:VEVENT") == 2 and "https://prm.example/v1/providers/" in ics
    # a day not saved, a bad day, a format not offered
    args = ("--liaison", LIAISON_PERSON)
    assert prm("visits", "export", "2026-12-09", str(csv_out), *args, db=seeded).exit_code == 1
    assert prm("visits", "export", "12/08", str(csv_out), *args, db=seeded).exit_code == 2
    bad = prm("visits", "export", "2026-12-08", str(tmp_path / "d.pdf"), *args, db=seeded)
    assert bad.exit_code == 2 and "d.pdf" in bad.output
