"""Saved, named prospect segments, their counts, and exports (CSV, XLSX, GeoJSON); the prospect
CSV files of ``prm prospects export``.

A segment is a stored :class:`~service.schemas.ProspectFilter`; it is
evaluated when read, so counts and exports follow re-scoring. Exports apply
the same exclusions as the prospect list. Text cells that a spreadsheet would
run as a formula (``= + - @``, tab, CR first) are prefixed with ``'`` in every
format (:func:`core.spreadsheet.neutralise_formula`); XLSX columns are typed
(numbers as numbers, booleans as booleans).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import ConflictError, NotFoundError, Problem
from core.spreadsheet import neutralise_formula
from data.models import Prospect
from data.models.prospecting import Segment
from service.context import AppContext
from service.ingest.groups import with_group_codes
from service.prospecting.listing import (
    CSV_COLUMNS,
    PROVIDER_CSV_COLUMNS,
    _prospect_public,
    csv_chunks,
    prospect_rows,
    provider_rows,
    score_breakdown,
)
from service.prospecting.prospect_sql import prospect_stmt
from service.prospecting.schemas import SegmentCreate, SegmentPublic
from service.queries import site_by_code
from service.schemas import ProspectFilter

__all__ = [
    "EXPORT_FORMATS",
    "ExportFile",
    "delete_segment",
    "export_segment",
    "list_segments",
    "save_segment",
    "segment_filters",
    "write_prospects_csv",
]

EXPORT_FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
}


class ExportFile(NamedTuple):
    """An export built in memory, with the number of records in it (for the audit log)."""

    body: bytes
    rows: int


#: XLSX number formats per typed column.
_NUMBER_COLUMNS = {
    "provider_id": "0",
    "score": "0.0",
    "drive_minutes": "0.0",
    "distance_km": "0.000",
}


def _count(session: Session, ctx: AppContext, filters: ProspectFilter) -> tuple[int, int]:
    """Prospects (one per provider and site) and distinct providers matching ``filters``.

    The providers are what the app's map and list show for the same filters
    (:func:`~service.prospecting.listing.map_points`: one row per provider).
    """
    stmt = prospect_stmt(with_group_codes(ctx, session, filters)).with_only_columns(
        Prospect.id, Prospect.provider_id
    )
    sub = stmt.subquery()
    rows, providers = session.execute(
        select(func.count(), func.count(sub.c.provider_id.distinct()))
    ).one()
    return int(rows or 0), int(providers or 0)


def save_segment(
    ctx: AppContext, item: SegmentCreate, *, created_by: str | None = None
) -> SegmentPublic:
    """Save (or replace, same name) a named segment and return it with its current count.

    ``created_by`` (the caller) is recorded when the body names no one.
    """
    filters = item.filters.model_dump(exclude_none=True, exclude={"group_codes"})
    with ctx.sessions.begin() as session:
        with_group_codes(ctx, session, item.filters)  # an unknown group fails now, not at export
        seg = session.scalars(select(Segment).where(Segment.name == item.name)).first()
        if seg is None:
            seg = Segment(name=item.name)
            session.add(seg)
        seg.description, seg.filters = item.description, filters
        seg.created_by = item.created_by or created_by
        try:
            session.flush()
        except IntegrityError as exc:  # a concurrent save of the same name
            raise ConflictError(f"segment {item.name!r} was saved concurrently") from exc
        return SegmentPublic(
            id=seg.id,
            name=seg.name,
            description=seg.description,
            filters=filters,
            created_by=seg.created_by,
            **_counts(session, ctx, item.filters),
        )


def _counts(session: Session, ctx: AppContext, filters: ProspectFilter) -> dict[str, int]:
    count, providers = _count(session, ctx, filters)
    return {"count": count, "providers": providers}


def segment_filters(session: Session, name: str) -> ProspectFilter:
    seg = session.scalars(select(Segment).where(Segment.name == name)).first()
    if seg is None:
        raise NotFoundError(f"no segment named {name!r}")
    return ProspectFilter(**seg.filters)


def list_segments(ctx: AppContext, *, counts: bool = True) -> list[SegmentPublic]:
    """Every saved segment with the number of prospects it matches now."""
    with ctx.sessions() as session:
        rows = session.scalars(select(Segment).order_by(Segment.name)).all()
        return [
            SegmentPublic(
                id=s.id,
                name=s.name,
                description=s.description,
                filters=s.filters,
                created_by=s.created_by,
                **(_counts(session, ctx, ProspectFilter(**s.filters)) if counts else {}),
            )
            for s in rows
        ]


def delete_segment(ctx: AppContext, name: str) -> None:
    with ctx.sessions.begin() as session:
        if session.execute(delete(Segment).where(Segment.name == name)).rowcount == 0:
            raise NotFoundError(f"no segment named {name!r}")


def _rows(session: Session, filters: ProspectFilter) -> Iterator[tuple]:
    from data.models import Provider

    stmt = prospect_stmt(filters).order_by(Prospect.score.desc(), Prospect.id)
    for row in session.execute(stmt.execution_options(yield_per=1000)):
        pub = _prospect_public(*row)
        breakdown = score_breakdown(pub.components)
        prov: Provider = row[1]
        yield [getattr(pub, c, None) for c in CSV_COLUMNS[:-1]] + [breakdown], prov.lat, prov.lon


def _csv(rows: Iterator[tuple]) -> bytes:
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for values, _, _ in rows:
        writer.writerow([neutralise_formula(v) for v in values])
    return buf.getvalue().encode("utf-8")


def _xlsx(rows: Iterator[tuple], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31] or "prospects")
    for i, name in enumerate(CSV_COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = 40 if name == "score_breakdown" else 16
    ws.append(list(CSV_COLUMNS))
    formats = [_NUMBER_COLUMNS.get(c) for c in CSV_COLUMNS]
    from openpyxl.cell import WriteOnlyCell

    for values, _, _ in rows:
        cells = []
        for value, fmt in zip(values, formats, strict=True):
            cell = WriteOnlyCell(ws, value=neutralise_formula(value))
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text
            if fmt and value is not None:
                cell.number_format = fmt
            cells.append(cell)
        ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _geojson(rows: Iterator[tuple]) -> bytes:
    features = []
    for values, lat, lon in rows:
        props = {k: neutralise_formula(v) for k, v in zip(CSV_COLUMNS, values, strict=True)}
        geometry = (
            None if lat is None or lon is None else {"type": "Point", "coordinates": [lon, lat]}
        )
        features.append({"type": "Feature", "geometry": geometry, "properties": props})
    return json.dumps(
        {"type": "FeatureCollection", "features": features}, separators=(",", ":")
    ).encode()


def export_segment(
    ctx: AppContext, *, fmt: str, name: str | None = None, filters: ProspectFilter | None = None
) -> ExportFile:
    """Every prospect of a saved segment (``name``) or of ad-hoc ``filters``, in ``fmt``.

    Parameters
    ----------
    fmt
        ``csv``, ``xlsx`` or ``geojson`` (RFC 7946 points, EPSG:4326).

    Returns
    -------
    ExportFile
        The file and the number of prospects in it.
    """
    if fmt not in EXPORT_FORMATS:
        from core.errors import InputError

        raise InputError(
            "unknown export format",
            problems=[
                Problem(f"use one of {', '.join(EXPORT_FORMATS)}", field="format", value=fmt)
            ],
        )
    with ctx.sessions() as session:
        if name is not None:
            filters = segment_filters(session, name)
        filters = with_group_codes(ctx, session, filters or ProspectFilter())
        count = [0]

        def rows() -> Iterator[tuple]:
            for row in _rows(session, filters):
                count[0] += 1
                yield row

        if fmt == "csv":
            body = _csv(rows())
        elif fmt == "xlsx":
            body = _xlsx(rows(), name or "prospects")
        else:
            body = _geojson(rows())
        return ExportFile(body=body, rows=count[0])


def write_prospects_csv(
    ctx: AppContext,
    path: Path,
    *,
    filters: ProspectFilter | None = None,
    one_per_provider: bool = False,
) -> int:
    """Write the prospects matching ``filters`` to a CSV file; the number of rows written.

    Parameters
    ----------
    ctx
        The application context.
    path
        The file written (replaced when it exists).
    filters
        The prospect list's filters (none: every prospect).
    one_per_provider
        One row per provider at its best site (:data:`~service.prospecting.listing.PROVIDER_CSV_COLUMNS`,
        :func:`~service.prospecting.listing.provider_rows`), instead of one per
        site and provider (:data:`~service.prospecting.listing.CSV_COLUMNS`).

    Raises
    ------
    NotFoundError
        ``filters`` name an unknown site or group.
    """
    count = [0]

    def counted(rows: Iterator[list]) -> Iterator[list]:
        for row in rows:
            count[0] += 1
            yield row

    with ctx.sessions() as session:
        filters = with_group_codes(ctx, session, filters or ProspectFilter())
        if filters.site:
            site_by_code(session, filters.site)
        if one_per_provider:
            header, rows = PROVIDER_CSV_COLUMNS, provider_rows(session, filters)
        else:
            header, rows = CSV_COLUMNS, prospect_rows(session, filters)
        with path.open("w", encoding="utf-8", newline="") as fh:
            for chunk in csv_chunks(header, counted(rows)):
                fh.write(chunk)
    return count[0]
