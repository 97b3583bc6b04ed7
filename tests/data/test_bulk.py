"""bulk_insert: every row written, in any grouping of rows per statement, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from data.bulk import _SQLITE_PARAMETERS, bulk_insert
from data.db import make_engine, session_factory, upgrade
from data.models import LoadBatch, Provider, SourceRecord

COLUMNS = ("source", "source_key", "batch_id", "file_name", "line", "record_hash", "npi", "data")


@pytest.mark.parametrize(
    "count", [0, 1, _SQLITE_PARAMETERS // len(COLUMNS), _SQLITE_PARAMETERS // len(COLUMNS) * 2 + 7]
)
def test_bulk_insert_writes_every_row(backend_url, count):
    engine = make_engine(backend_url)
    upgrade(engine)
    with session_factory(engine).begin() as session:
        batch = LoadBatch(source="nppes", file_name="f.csv", file_hash="0" * 64, status="running")
        session.add(batch)
        session.flush()
        rows = [
            (
                "nppes",
                f"k{i:05d}",
                batch.id,
                "f.csv",
                i + 2,
                f"{i:064x}",
                None if i % 3 else f"{i:010d}",
                f'{{"i": {i}}}',
            )
            for i in range(count)
        ]
        assert bulk_insert(session, SourceRecord.__table__, COLUMNS, rows) == count
        got = session.execute(
            select(*(getattr(SourceRecord, c) for c in COLUMNS)).order_by(SourceRecord.source_key)
        )
        assert [(*r[:7], r[7]) for r in got] == [(*r[:7], {"i": i}) for i, r in enumerate(rows)]
        # a table whose parameters the dialect orders otherwise than given
        cols = (
            "id",
            "cluster_key",
            "npi",
            "entity_type",
            "display_name",
            "taxonomy_code",
            "classification",
            "postal_code",
            "city",
            "is_active",
            "geocode_precision",
            "lat",
            "lon",
        )
        provs = [
            (
                i + 1,
                f"c{i}",
                f"{i:010d}",
                "individual",
                f"D {i}",
                "207Q00000X",
                "Family",
                "43001",
                "X",
                bool(i % 2),
                "street",
                1.5,
                -2.5,
            )
            for i in range(count)
        ]
        assert bulk_insert(session, Provider.__table__, cols, provs) == count
        got = session.execute(
            select(*(getattr(Provider, c) for c in cols)).order_by(Provider.id)
        ).all()
        assert [tuple(r) for r in got] == provs
    engine.dispose()


def test_bulk_insert_refuses_unknown_columns(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    upgrade(engine)
    with session_factory(engine).begin() as session, pytest.raises(KeyError):
        bulk_insert(session, SourceRecord.__table__, ("nope",), [(1,)])
    engine.dispose()


def test_bulk_insert_takes_an_iterator_and_refuses_short_rows(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    upgrade(engine)
    with session_factory(engine).begin() as session:
        batch = LoadBatch(source="nppes", file_name="f.csv", file_hash="0" * 64, status="running")
        session.add(batch)
        session.flush()
        rows = (("nppes", f"k{i}", batch.id, "f.csv", i, "h", None, "{}") for i in range(300))
        assert bulk_insert(session, SourceRecord.__table__, COLUMNS, rows) == 300
        with pytest.raises(ValueError):
            bulk_insert(session, SourceRecord.__table__, COLUMNS, [("nppes", "x", batch.id)])
    engine.dispose()


@pytest.mark.postgis
def test_postgresql_copies_in_binary_unless_a_column_has_no_binary_form(tmp_path):
    from sqlalchemy import func

    from data.bulk import _binary_copy_types
    from tests.conftest import database_url

    engine = make_engine(database_url("postgis", tmp_path))
    upgrade(engine)
    with session_factory(engine).begin() as session:
        connection = session.connection()
        assert _binary_copy_types(connection, SourceRecord.__table__, COLUMNS) == [
            "text",
            "text",
            "int4",
            "text",
            "int4",
            "text",
            "text",
            "text",
        ]  # the JSON column as its text
        assert _binary_copy_types(connection, Provider.__table__, ("id", "geom")) is None
        rows = [
            (
                i + 1,
                f"c{i}",
                "individual",
                f"D {i}",
                True,
                "street",
                40.0 + i / 10,
                -83.0,
                f"SRID=4326;POINT(-83 {40 + i / 10})",
            )
            for i in range(3)
        ]
        cols = (
            "id",
            "cluster_key",
            "entity_type",
            "display_name",
            "is_active",
            "geocode_precision",
            "lat",
            "lon",
            "geom",
        )
        assert (
            bulk_insert(session, Provider.__table__, cols, rows) == 3
        )  # text COPY: PostGIS parses EWKT
        got = session.execute(
            select(Provider.id, func.ST_Y(Provider.geom)).order_by(Provider.id)
        ).all()
        assert [(i, round(y, 6)) for i, y in got] == [(1, 40.0), (2, 40.1), (3, 40.2)]
    engine.dispose()


def _providers(session, n: int) -> list[int]:
    from data.bulk import bulk_insert as insert_rows

    cols = ("cluster_key", "entity_type", "display_name", "is_active", "geocode_precision")
    insert_rows(
        session,
        Provider.__table__,
        cols,
        [(f"c{i}", "individual", f"P{i}", True, "none") for i in range(n)],
    )
    return list(session.scalars(select(Provider.id).order_by(Provider.id)))


def test_bulk_update_sets_the_given_rows_only_and_survives_a_rolled_back_call(backend_url):
    import shapely
    from sqlalchemy import func

    from data.bulk import bulk_update, geometry_value

    engine = make_engine(backend_url)
    upgrade(engine)
    with session_factory(engine).begin() as session:
        ids = _providers(session, 1200)  # more rows than one SQLite statement takes
    before = {}
    with session_factory(engine).begin() as session:
        before = dict(session.execute(select(Provider.id, Provider.updated_at)).all())
    for attempt in ("rolled back", "kept"):
        session = session_factory(engine)()
        with session.begin():
            dialect = session.connection().dialect
            rows = [
                (
                    i,
                    40.0 + k / 1e4,
                    -83.0,
                    "street",
                    geometry_value(dialect, shapely.Point(-83, 40)),
                )
                for k, i in enumerate(ids[::2])
            ]
            columns = ("lat", "lon", "geocode_precision", "geom")
            assert (
                bulk_update(session, Provider.__table__, key="id", columns=columns, rows=rows)
                == 600
            )
            if attempt == "rolled back":
                session.rollback()
                continue
        session.close()
    with session_factory(engine)() as session:
        got = {
            r.id: r
            for r in session.execute(
                select(
                    Provider.id,
                    Provider.lat,
                    Provider.geocode_precision,
                    Provider.geom,
                    Provider.updated_at,
                )
            )
        }
        assert session.scalar(select(func.count()).where(Provider.lat.is_not(None))) == 600
    for k, i in enumerate(ids):
        row = got[i]
        if k % 2:
            assert (row.lat, row.geocode_precision, row.geom) == (None, "none", None)
            assert row.updated_at == before[i]
        else:
            assert row.lat == pytest.approx(40.0 + (k // 2) / 1e4)
            assert row.geocode_precision == "street"
            assert row.geom.equals(shapely.Point(-83, 40))
            assert row.updated_at >= before[i]


def test_bulk_update_refuses_an_unknown_column(backend_url):
    from data.bulk import bulk_update

    engine = make_engine(backend_url)
    upgrade(engine)
    with session_factory(engine).begin() as session, pytest.raises(KeyError, match="no_such"):
        bulk_update(session, Provider.__table__, key="id", columns=("no_such",), rows=[(1, 2)])
