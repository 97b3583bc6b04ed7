"""Column types that differ between the embedded SQLite store and PostgreSQL + PostGIS.

:class:`UtcDateTime` is every stored point in time: written as UTC, read back
timezone-aware (UTC) on both backends, so what the service computes and what
the API answers (RFC 3339, with its offset) never depends on the backend.

:class:`GeometryColumn` is one SQLAlchemy type with a per-dialect implementation:

* on PostgreSQL it is a GeoAlchemy2 ``Geometry`` (SRID 4326), so QGIS and ``ST_``
  functions see a real geometry column (with a GiST index created by the migration);
* on every other dialect (the embedded SQLite default) it is a plain BLOB holding
  WKB. No SpatiaLite function is ever emitted.

Python code always sees shapely geometries. Spatial *selection* never uses this
column: it goes through the indexed H3 cell-id columns on both backends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import shapely
import shapely.wkb
from geoalchemy2 import Geometry
from geoalchemy2.elements import WKBElement
from geoalchemy2.shape import to_shape
from sqlalchemy import DateTime, LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UtcDateTime(TypeDecorator):
    """A point in time: ``TIMESTAMP WITH TIME ZONE``, always UTC in Python.

    PostgreSQL stores an instant and hands it back aware, in the session's time
    zone; SQLite stores text without an offset and hands back a naive datetime.
    Both are read back here as aware UTC datetimes. Writes are converted to UTC
    first (SQLite would otherwise keep an aware value's wall time and drop its
    offset); a naive value is taken as UTC, the service's one convention.
    The DDL is ``DateTime(timezone=True)``'s: no migration follows from it.
    """

    impl = DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    @property
    def python_type(self) -> type:
        return datetime

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        # SQLite's DATETIME text has no offset: store the UTC wall time
        return utc if dialect.name == "postgresql" else utc.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class GeometryColumn(TypeDecorator):
    """Shapely geometry stored as PostGIS geometry or as WKB bytes.

    Parameters
    ----------
    geometry_type
        PostGIS geometry type name, e.g. ``"POINT"`` or ``"MULTIPOLYGON"``
        (``"GEOMETRY"`` accepts any).
    """

    impl = LargeBinary
    cache_ok = True
    # Attributes GeoAlchemy2's DDL hooks read on PostgreSQL: the column is created
    # by CREATE TABLE (not AddGeometryColumn) and its GiST index by the migration.
    srid = 4326
    dimension = 2
    spatial_index = False
    use_N_D_index = False  # noqa: N815 (GeoAlchemy2's name)
    use_typmod = None
    management = False

    def __init__(self, geometry_type: str = "GEOMETRY") -> None:
        super().__init__()
        self.geometry_type = geometry_type

    def load_dialect_impl(self, dialect: Dialect | None) -> TypeEngine[Any]:
        # GeoAlchemy2's DDL hooks probe with dialect=None: report a plain column so
        # they leave it alone (the migration creates the GiST index itself).
        if dialect is not None and dialect.name == "postgresql":
            return dialect.type_descriptor(
                Geometry(self.geometry_type, srid=4326, spatial_index=False)
            )
        return LargeBinary() if dialect is None else dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, shapely.Geometry):
            raise TypeError(f"expected a shapely geometry, got {type(value).__name__}")
        if dialect.name == "postgresql":
            return WKBElement(shapely.to_wkb(value, include_srid=False), srid=4326)
        return shapely.to_wkb(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, WKBElement):
            return to_shape(value)
        return shapely.from_wkb(bytes(value))
