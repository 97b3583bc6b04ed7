"""Saved prospect segments with counts and exports (CSV, XLSX, GeoJSON)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, status
from fastapi.responses import Response

from api.audit import ExportDep
from api.deps import CallerDep, ContextDep, require_role
from api.geojson import GeoJSONResponse, SegmentPointCollection
from api.problems import problem_responses
from service.prospecting.schemas import SegmentCreate, SegmentPublic
from service.prospecting.segments import (
    EXPORT_FORMATS,
    delete_segment,
    export_segment,
    list_segments,
    save_segment,
)

__all__ = ["router"]

router = APIRouter(
    tags=["segments"],
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(401, 403, 404, 422),
)
Name = Annotated[str, Path(min_length=1, max_length=100)]


@router.get("/segments", response_model=list[SegmentPublic], summary="Saved segments with counts")
def segments(ctx: ContextDep) -> list[SegmentPublic]:
    return list_segments(ctx)


@router.put(
    "/segments",
    response_model=SegmentPublic,
    status_code=status.HTTP_200_OK,
    summary="Save (or replace) a named segment (marketing)",
    dependencies=[Depends(require_role("marketing"))],
)
def segment_save(ctx: ContextDep, caller: CallerDep, item: SegmentCreate) -> SegmentPublic:
    """Filters: the prospect list's and the app's (one filter model): site, specialty, group,
    segment, min_score, min/max_drive_minutes, tier, postal_codes, city, organization_id,
    status, assigned_to, service_line, history, territory_id, q. ``created_by`` is the
    signed-in person when the body names no one; ``providers`` counts what the app shows."""
    return save_segment(ctx, item, created_by=caller.who)


@router.delete(
    "/segments/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a segment (marketing)",
    dependencies=[Depends(require_role("marketing"))],
)
def segment_delete(ctx: ContextDep, name: Name) -> None:
    delete_segment(ctx, name)


# the GeoJSON export's schema is the route's (response_class and response_model); the others'
# are files: CSV text, an XLSX workbook
@router.get(
    "/segments/{name}/export.{fmt}",
    response_class=GeoJSONResponse,
    response_model=SegmentPointCollection,
    summary="Export a segment as CSV, XLSX or GeoJSON (marketing)",
    dependencies=[Depends(require_role("marketing"))],
    responses={
        200: {
            "description": "The segment's prospects in the format asked for.",
            "content": {
                EXPORT_FORMATS["csv"]: {"schema": {"type": "string"}},
                EXPORT_FORMATS["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
def segment_export(
    ctx: ContextDep, export: ExportDep, name: Name, fmt: Literal["csv", "xlsx", "geojson"]
) -> Response:
    """Every prospect of the segment, best score first; excluded providers never appear and
    text that a spreadsheet would run as a formula is prefixed with a quote. Written to the
    audit log (format, row count) before it is sent."""
    built = export_segment(ctx, fmt=fmt, name=name)
    export.record(rows=built.rows, format=fmt, segment=name)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return Response(
        built.body,
        media_type=EXPORT_FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{safe}.{fmt}"'},
    )
