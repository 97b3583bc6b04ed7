"""NUCC code-set versions side by side; the newest loaded one is in force."""

from __future__ import annotations

import csv

from sqlalchemy import func, select

from data.models import Taxonomy
from service.ingest.ingest import ingest_nucc
from service.ingest.taxonomy import classification_map, current_version, taxonomy_code
from tests.service.test_ingest import DATA

V22 = DATA / "nucc_taxonomy_220.csv"


def test_newer_version_wins_and_older_is_kept(ctx, tmp_path) -> None:
    first = ingest_nucc(ctx, V22)
    assert first.inserted == 868
    with V22.open(newline="", encoding="utf-8") as fh:
        header, *rows = list(csv.reader(fh))
    rows = [r for r in rows if r[0] != "207X00000X"]  # a code retired in the "new" version
    rows.append(
        [
            "999Z00000X",
            "Allopathic & Osteopathic Physicians",
            "Test Medicine",
            "",
            "",
            "",
            "Test",
            "Individual",
        ]
    )
    v23 = tmp_path / "nucc_taxonomy_230.csv"
    with v23.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])
    report = ingest_nucc(ctx, v23)
    assert report.inserted == 868 and report.unchanged == 0
    assert ingest_nucc(ctx, v23).unchanged == 868  # idempotent per version
    with ctx.sessions() as s:
        assert current_version(s) == "23.0"
        classes = classification_map(s)
        assert classes["999Z00000X"] == "Test Medicine" and "207X00000X" not in classes
        assert taxonomy_code(s, "207X00000X") is None  # retired in force, kept in history
        kept = s.scalar(
            select(func.count()).select_from(Taxonomy).where(Taxonomy.code == "207X00000X")
        )
        assert kept == 1
        assert s.scalar(select(func.count()).select_from(Taxonomy)) == 868 * 2
