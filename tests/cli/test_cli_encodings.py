"""``prm ingest ... --encoding``: a UTF-16 registry file named or detected; unknown names refused."""

from __future__ import annotations

from tests.cli.test_cli import count, run  # noqa: F401 - the fixture
from tests.paths import FIXTURES

UTF16 = FIXTURES / "faulty" / "nppes_utf16.csv"


def test_ingest_nppes_with_encoding_utf16(run) -> None:  # noqa: F811
    result = run("ingest", "nppes", str(UTF16), "--encoding", "utf-16")
    assert result.exit_code == 0, result.output
    assert '"inserted": 4' in result.output and "warning:" not in result.output
    assert count(run.db, "source_records") == 4


def test_a_detected_encoding_is_a_warning_and_an_unknown_one_exit_2(run) -> None:  # noqa: F811
    detected = run("ingest", "nppes", str(UTF16))
    assert detected.exit_code == 0, detected.output
    assert "warning:" in detected.output and "UTF-16 (little-endian)" in detected.output
    unknown = run("ingest", "nppes", str(UTF16), "--encoding", "klingon")
    assert unknown.exit_code == 2 and "field '--encoding'" in unknown.output
    contradicted = run("ingest", "nppes", str(UTF16), "--encoding", "cp1252")
    assert contradicted.exit_code == 2 and "byte-order mark" in contradicted.output
    assert count(run.db, "source_records") == 4


def test_a_refused_load_names_its_reject_file(run, tmp_path) -> None:  # noqa: F811
    bad = FIXTURES / "faulty" / "nppes_one_bad_row.csv"
    result = run("ingest", "nppes", str(bad), "--reject-dir", str(tmp_path / "rejects"))
    assert result.exit_code == 2
    (written,) = (tmp_path / "rejects").iterdir()
    assert f"rejected rows written to {written}" in result.output
