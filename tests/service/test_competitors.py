"""The clinic's competitor list on both backends: a load, a bad row, a reload that replaces."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from core.errors import InputError, SchemaError
from core.notices import ROWS_REMOVED
from data.models import Competitor, LoadBatch
from service.ingest.competitors import load_competitors
from service.ingest.uploads import load_file


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def stored(ctx) -> list[tuple]:
    with ctx.sessions() as s:
        return [
            (c.code, c.name, c.service_line, c.lat, c.lon, c.h3_r9 is not None)
            for c in s.scalars(select(Competitor).order_by(Competitor.name))
        ]


GOOD = (
    "Code,Competitor,Service line,Address,ZIP,Latitude,Longitude",
    "C1,Downtown Imaging,MRI,,,39.962,-83.001",
    ",Open MRI North,,,,40.06,-82.87",
    "C3,Campus Radiology,CT,1 Main St,43215,,",
)


def test_a_competitor_file_loads_and_the_same_file_again_changes_nothing(ctx, tmp_path) -> None:
    path = write(tmp_path / "competitors.csv", *GOOD)
    report = load_competitors(ctx, path)
    assert (report.source, report.inserted, report.rejected, report.warnings) == (
        "competitors",
        3,
        0,
        [],
    )
    rows = stored(ctx)
    assert rows[:2] == [
        ("C3", "Campus Radiology", "CT", 39.9671, -83.0044, True),  # the ZIP's centre
        ("C1", "Downtown Imaging", "MRI", 39.962, -83.001, True),
    ]
    assert rows[2][:5] == (None, "Open MRI North", None, 40.06, -82.87)  # every line
    again = load_competitors(ctx, path)
    assert (again.inserted, again.updated, again.unchanged, again.warnings) == (0, 0, 3, [])


def test_a_reload_replaces_the_list(ctx, tmp_path) -> None:
    load_competitors(ctx, write(tmp_path / "competitors.csv", *GOOD))
    with ctx.sessions() as s:
        kept = s.scalar(select(Competitor.id).where(Competitor.code == "C1"))
    path = write(
        tmp_path / "competitors_2.csv",
        "code,name,service_line,lat,lon",
        "C1,Downtown Imaging Center,MRI,39.962,-83.001",  # renamed: matched on its code
        ",Open MRI North,,40.06,-82.87",  # no code: matched on name, line and place
    )
    report = load_competitors(ctx, path)
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 1)
    (removed,) = report.warnings
    assert (removed.code, removed.count, removed.examples) == (
        ROWS_REMOVED,
        1,
        ["Campus Radiology"],
    )
    assert [r[1] for r in stored(ctx)] == ["Downtown Imaging Center", "Open MRI North"]
    with ctx.sessions() as s:
        assert s.scalar(select(Competitor.id).where(Competitor.code == "C1")) == kept


def test_a_bad_row_refuses_the_file_naming_file_line_and_column(ctx, tmp_path) -> None:
    load_competitors(ctx, write(tmp_path / "competitors.csv", *GOOD))
    path = write(
        tmp_path / "bad.csv",
        "code,name,service_line,lat,Longitude,address_1,postal_code",
        "C1,Downtown Imaging,MRI,39.962,-83.001,,",
        "C2,Half Placed,MRI,39.9,,,",  # line 3: lat without lon
        "C1,Again,MRI,39.9,-83.0,,",  # line 4: a code repeated
        "C5,Nowhere,MRI,,,Nowhere Rd,",  # line 5: an address not found offline
    )
    with pytest.raises(InputError) as info:
        load_competitors(ctx, path, reject_dir=tmp_path / "rejects")
    found = [(p.file, p.line, p.field) for p in info.value.problems]
    assert found == [("bad.csv", 3, "Longitude")]  # the row is refused before any is placed
    assert "go together" in info.value.problems[0].message
    fixed = path.read_text(encoding="utf-8").replace("C2,Half Placed,MRI,39.9,,,", "")
    with pytest.raises(InputError) as info:
        load_competitors(ctx, write(path, *fixed.splitlines()))
    assert [(p.line, p.field) for p in info.value.problems] == [(4, "code"), (5, "address_1")]
    assert "first on line 2" in info.value.problems[0].message
    assert len(stored(ctx)) == 3  # nothing changed
    with ctx.sessions() as s:
        statuses = s.scalars(select(LoadBatch.status).order_by(LoadBatch.id)).all()
    assert statuses == ["committed", "failed", "failed"]
    assert list((tmp_path / "rejects").glob("*.csv"))  # the reject file of the first refusal


def test_a_row_must_say_where_and_the_name_column_is_required(ctx, tmp_path) -> None:
    nowhere = write(tmp_path / "c.csv", "name,service_line", "Somewhere Imaging,MRI")
    with pytest.raises(InputError) as info:
        load_competitors(ctx, nowhere)
    assert [(p.line, p.field) for p in info.value.problems] == [(2, "lon")]
    with pytest.raises(SchemaError) as info:
        load_competitors(ctx, write(tmp_path / "d.csv", "code,lat,lon", "C1,39.9,-83.0"))
    assert [p.field for p in info.value.problems] == ["name"]


def test_a_workbook_with_a_mapped_column_loads_as_an_upload_does(ctx, tmp_path) -> None:
    path = tmp_path / "rivals.xlsx"
    pd.DataFrame(
        {"Centre": ["Grove City Radiology"], "lat": ["39.885"], "lon": ["-83.08"], "Notes": ["x"]}
    ).to_excel(path, index=False)
    report = load_file(ctx, "competitors", path, mapping={"name": "Centre"})
    assert (report.inserted, [w.columns for w in report.warnings]) == (1, [["Notes"]])
    assert stored(ctx)[0][:5] == (None, "Grove City Radiology", None, 39.885, -83.08)


def test_a_header_only_file_changes_nothing(ctx, tmp_path) -> None:
    load_competitors(ctx, write(tmp_path / "competitors.csv", *GOOD))
    report = load_competitors(ctx, write(tmp_path / "empty.csv", GOOD[0]))
    assert [w.code for w in report.warnings] == ["header_only"]
    assert len(stored(ctx)) == 3
