"""The liaison's app (``/app``): one page, every asset under ``/static``, data from the API.

The page is a static shell (no data in it): ``/static/app/app.js`` reads the
session (``GET /v1/session``), the sites and specialty groups, then the
prospects of the map's view (``GET /v1/prospects/viewport``, the prospect
list's filters and statement) for the clustered markers and the ranked list
beside them, and a provider's brief for the detail panel. Writes send the
session's CSRF token. The visit list and visit outcome plug in through the
hooks ``app.js`` documents (``window.PRM_APP``), with no change to this page
but a script tag.
"""

from __future__ import annotations

import html

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from api.deps import ContextDep, require_role
from api.problems import problem_responses
from maps.assets import ASSET_DIR

__all__ = ["app_page", "router"]

router = APIRouter(
    tags=["map"],
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(401, 403),
)

_STATUSES = ("new", "contacted", "meeting held", "referring", "not a fit")

#: The page shell, read once (placeholders: {tile_url}, {tile_attribution}, {statuses}).
_PAGE = (ASSET_DIR / "app" / "app.html").read_text(encoding="utf-8")


@router.get(
    "/app",
    response_class=HTMLResponse,
    summary="The liaison's app: map and ranked list of prospects (HTML)",
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
def app_page(ctx: ContextDep) -> HTMLResponse:
    """Filters, clustered map and ranked list in step, and a detail panel per provider.

    A shell only: the data comes from the API. A browser that is not signed in
    is sent to ``/signin``.
    """
    settings = ctx.settings
    page = (
        _PAGE.replace("{tile_url}", html.escape(settings.tile_url or ""))
        .replace("{tile_attribution}", html.escape(settings.tile_attribution or ""))
        .replace("{statuses}", "".join(f"<option>{s}</option>" for s in _STATUSES))
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})
