"""The whole-pipeline bench's database guard (bench.__main__): it benches only an empty database."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect

from bench.__main__ import check_empty
from data.db import make_engine, upgrade


def test_an_empty_database_is_accepted_and_left_empty(backend_url: str) -> None:
    check_empty(backend_url)
    engine = create_engine(backend_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"spatial_ref_sys"}
    finally:
        engine.dispose()


def test_a_database_holding_tables_is_refused_by_name(backend_url: str) -> None:
    engine = make_engine(backend_url)
    try:
        upgrade(engine)  # the app's schema: what a real database would hold
    finally:
        engine.dispose()
    with pytest.raises(SystemExit) as info:
        check_empty(backend_url)
    assert "is not empty" in str(info.value) and "alembic_version" in str(info.value)
