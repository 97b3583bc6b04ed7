"""The ``prm`` command as a user runs it: exit codes, messages naming file/line/field."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from typer.testing import CliRunner

from cli.main import app
from tests.paths import FIXTURES

DATA = FIXTURES
NPPES = DATA / "npidata_pfile_sample_first10_v2024layout.csv"


@pytest.fixture
def run(tmp_path, monkeypatch):
    db = tmp_path / "cli.sqlite"
    monkeypatch.setenv("PRM_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("PRM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "250")  # no line wrapping in messages
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    invoke.db = db
    return invoke


def count(db: Path, table: str) -> int:
    with create_engine(f"sqlite:///{db}").connect() as conn:
        return conn.execute(select(text("count(*)")).select_from(text(table))).scalar_one()


def test_bad_layout_exits_2_naming_file_and_column(run, tmp_path) -> None:
    assert run("ingest", "nppes", str(NPPES)).exit_code == 0
    with NPPES.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    i = rows[0].index("Provider Enumeration Date")
    bad = tmp_path / "missing_column.csv"
    with bad.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL).writerows([r[:i] + r[i + 1 :] for r in rows])
    result = run("ingest", "nppes", str(bad))
    assert result.exit_code == 2
    assert "missing_column.csv" in result.output and "Provider Enumeration Date" in result.output
    assert count(run.db, "source_records") == 10  # what was stored is untouched


def test_missing_file_exits_2(run, tmp_path) -> None:
    result = run("ingest", "nppes", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2 and "no such file" in result.output


def test_referrer_columns_mapped_by_flag_and_file(run, tmp_path) -> None:
    sheet = tmp_path / "our_doctors.csv"
    sheet.write_text(
        "Médecin,Tel cabinet,CP\nDr. Bob Smith,(614) 555-0100,43215\n", encoding="utf-8"
    )
    # without help no name column is recognised: refused, naming the headers seen
    refused = run("ingest", "referrers", str(sheet))
    assert refused.exit_code == 2 and "Médecin" in refused.output
    assert count(run.db, "source_records") == 0
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"postal_code": "CP"}), encoding="utf-8")
    result = run(
        "ingest",
        "referrers",
        str(sheet),
        "--mapping",
        str(mapping),
        "--column",
        "phone=Tel cabinet",
        "--column",
        "full_name=Médecin",
    )
    assert result.exit_code == 0, result.output
    with create_engine(f"sqlite:///{run.db}").connect() as conn:
        phones = [
            json.loads(d)["phone"] for (d,) in conn.execute(text("select data from source_records"))
        ]
    assert "+16145550100" in phones


def test_bad_mapping_lists_every_problem(run, tmp_path) -> None:
    sheet = tmp_path / "list.csv"
    sheet.write_text("Name,Zip\nDr. Ann Lee,43215\n", encoding="utf-8")
    result = run("ingest", "referrers", str(sheet), "--column", "phone", "--column", "colour=Zip")
    assert result.exit_code == 2
    assert "expected FIELD=Header" in result.output


def test_link_review_explain_and_dedupe_commands(run, tmp_path) -> None:
    assert run("ingest", "nppes", str(NPPES)).exit_code == 0
    assert run("link").exit_code == 0
    inc = run("link", "--incremental")
    assert inc.exit_code == 0 and '"mode": "incremental"' in inc.output
    listed = run("review", "list")
    assert listed.exit_code == 0 and "open pair(s)" in listed.output
    bad = run("review", "list", "--cursor", "not-a-cursor")
    assert bad.exit_code == 2 and "invalid cursor" in bad.output
    assert run("review", "list", "--offset", "5").exit_code == 2  # no such option: --cursor now
    explained = run("explain", "pair", "1", "2")
    assert explained.exit_code == 0 and '"steps"' in explained.output
    assert run("explain", "pair", "1", "99999").exit_code == 1  # not found
    assert run("review", "decide", "1", "1", "accept").exit_code == 2  # same record twice
    src = tmp_path / "people.csv"
    src.write_text("id,first,last,zip\n1,Bob,Smith,43215\n2,Robert,Smith,43215\n", encoding="utf-8")
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        'id = "id"\n[columns]\nfirst_name = "first"\nlast_name = "last"\npostal_code = "zip"\n',
        encoding="utf-8",
    )
    out = run("dedupe", str(src), "--mapping", str(mapping), "--out", str(tmp_path / "o"))
    assert out.exit_code == 0, out.output
    assert (tmp_path / "o" / "clusters.csv").read_text().count("\n") == 3
    labels = tmp_path / "labels.csv"
    labels.write_text("left_id,right_id,match\n1,2,1\n", encoding="utf-8")
    us = run(
        "dedupe", str(src), "--mapping", str(mapping), "--out", str(tmp_path / "o2"),
        "--country", "US", "--min-probability", "0.2", "--pairs-format", "parquet",
        "--labels", str(labels),
    )  # fmt: skip
    assert us.exit_code == 0, us.output
    assert '"quality"' in us.output and (tmp_path / "o2" / "pairs.parquet").exists()
    assert run(
        "dedupe", str(src), "--mapping", str(mapping), "--out", str(tmp_path / "o3"),
        "--country", "Narnia",
    ).exit_code == 2  # fmt: skip
