"""The generic entry point: any CSV, a column mapping and a settings file."""

from __future__ import annotations

import pandas as pd
import pytest

from core.errors import InputError
from enrichment.dedupe import dedupe_files, read_mapping
from enrichment.link_settings import LinkSettings

ROWS = """rec,name,zip,tel
a1,"Dr. Robert Smith, MD",43215,(614) 555-0100
a2,"SMITH, BOB",43215,614-555-0100
a3,"Mary Jones",43215,
a4,"Jones Mary",43215,6145550199
"""


def test_dedupe_a_csv_with_a_mapping(tmp_path):
    src = tmp_path / "people.csv"
    src.write_text(ROWS, encoding="utf-8")
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        'id = "rec"\n[columns]\nfull_name = "name"\npostal_code = "zip"\nphone = "tel"\n',
        encoding="utf-8",
    )
    report = dedupe_files(
        [src],
        mapping=read_mapping(mapping),
        settings=LinkSettings.default(),
        out_dir=tmp_path / "out",
    )
    clusters = pd.read_csv(report["outputs"]["clusters"], dtype=str).set_index("record_id")
    assert clusters.loc["a1", "cluster_id"] == clusters.loc["a2", "cluster_id"]  # nickname
    assert clusters.loc["a3", "cluster_id"] == clusters.loc["a4", "cluster_id"]  # swapped
    assert clusters.loc["a1", "cluster_id"] != clusters.loc["a3", "cluster_id"]
    pairs = pd.read_csv(report["outputs"]["pairs"])
    assert {"match_probability", "decision", "level_first_name"} <= set(pairs.columns)
    assert report["records"] == 4 and report["total_s"] > 0


def test_mapping_problems_are_listed(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[columns]\nsurname = "x"\nfirst_name = 3\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_mapping(bad)
    assert {p.field for p in err.value.problems} == {"surname", "first_name"}
    src = tmp_path / "p.csv"
    src.write_text("a,b\n1,2\n", encoding="utf-8")
    mapping = {"id": None, "columns": {"first_name": "given", "last_name": "family"}}
    with pytest.raises(InputError) as err:
        dedupe_files([src], mapping=mapping, settings=LinkSettings.default(), out_dir=tmp_path)
    assert {p.field for p in err.value.problems} == {"given", "family"}
