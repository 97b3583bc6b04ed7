"""The declarative base every table shares, and the columns and helpers of located rows."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    Index,
    MetaData,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from data.types import GeometryColumn

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {dict[str, Any]: JSON, list[Any]: JSON}


def gist_index(table: str, column: str = "geom") -> Index:
    """A GiST index that exists only on PostgreSQL."""
    return Index(f"ix_{table}_{column}gist_index", column, postgresql_using="gist").ddl_if(
        dialect="postgresql"
    )


#: H3 resolutions stored as indexed cell-id columns (``h3_r7`` ...) on every located row.
H3_RESOLUTIONS: tuple[int, ...] = (7, 8, 9)


def h3_column(model: type, res: int):  # noqa: ANN201
    """The cell-id column of ``model`` at resolution ``res`` (one of :data:`H3_RESOLUTIONS`)."""
    if res not in H3_RESOLUTIONS:
        raise ValueError(f"no stored H3 column at resolution {res}; stored: {H3_RESOLUTIONS}")
    return getattr(model, f"h3_r{res}")


class Located:
    """Columns shared by every row placed on the map."""

    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    h3_r7: Mapped[int | None] = mapped_column(BigInteger, index=True)
    h3_r8: Mapped[int | None] = mapped_column(BigInteger, index=True)
    h3_r9: Mapped[int | None] = mapped_column(BigInteger, index=True)
    geom: Mapped[Any | None] = mapped_column(GeometryColumn("POINT"))
